"""Generation: one slot interface, the registry that picks a backend, sampling, and the backends.

| module                  | what it holds                                                    |
|-------------------------|------------------------------------------------------------------|
| ``slots``               | the interface (:class:`SlotGenerator`) and suspended streams     |
| ``sampling``            | inverse-CDF sampling from per-stream uniforms; seeds, temperature|
| ``conditioning``        | frame feeds and their per-chunk projections                      |
| ``registry``            | backends by name; ``auto`` picks the fastest for the device      |
| ``backends/naive``      | the reference: a full forward pass per sample                    |
| ``backends/cached``     | "Fast WaveNet" ring buffers in torch                             |
| ``backends/native``     | the same in C (``_native.c``), float32 or half-float weights     |
| ``backends/cuda_graph`` | the same captured in CUDA graphs                                 |
| ``backends/fused``      | a whole chunk in one Triton kernel (``_fused_kernel``), on a GPU |

A checkpoint and a request become audio one level up, in :mod:`wavenet.synthesizer`.
"""

from wavenet.generation.backends.cached import CachedGenerator
from wavenet.generation.backends.naive import NaiveGenerator
from wavenet.generation.registry import available_backends, make_generator, resolve_backend
from wavenet.generation.slots import SlotGenerator, SuspendedStream

__all__ = [
    "CachedGenerator",
    "NaiveGenerator",
    "SlotGenerator",
    "SuspendedStream",
    "available_backends",
    "make_generator",
    "resolve_backend",
]
