"""Keep the memory one training step frees for the next, instead of handing it back to the system.

A CPU training step allocates and frees about a gigabyte of activations and gradients. glibc's
malloc gives large freed blocks back to the kernel (unmapping them, or trimming the heap) and
takes fresh pages for the next step, each zeroed by the kernel on its first touch: 2.4 million
page faults in 23 steps of the mel vocoder, about 400 MB of new pages a step. Asking malloc to
keep what it frees (a high trim threshold, the largest mmap threshold, a generous top pad) cut
that to 0.44 million and the step from 0.64 to 0.55-0.62 s on the 2-core machine
(``wavenet bench --train``, docs/BENCHMARKS.md), at about the same peak memory. The same
effect as setting MALLOC_TRIM_THRESHOLD_ and MALLOC_MMAP_THRESHOLD_ before start-up, done at
run time so that every way of starting a run gets it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # glibc's malloc.h
MMAP_THRESHOLD_MAX = 32 * 2**20  # glibc's largest on 64-bit systems
KEEP = 2**31 - 1  # bytes of freed memory kept at the top of the heap before any is trimmed
TOP_PAD = 2**30


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory for reuse; False (and nothing changed) elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    done = all(
        mallopt(option, value) == 1
        for option, value in ((M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX), (M_TRIM_THRESHOLD, KEEP), (M_TOP_PAD, TOP_PAD))
    )
    if not done:
        log.info("malloc does not take these settings: freed memory goes back to the system as usual")
    return done
