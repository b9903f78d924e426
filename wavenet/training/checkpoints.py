"""Training checkpoints: everything a run needs to continue exactly where it stopped.

A training checkpoint holds the model, optimiser, schedule, grad scaler, EMA weights, step,
RNG states and the best validation loss. It is written by this code and read back only by it,
with ``torch.load(weights_only=True)`` (tensors and plain containers, no arbitrary objects).
Release checkpoints, which others load, are made from it by ``wavenet export``.

Files in a run directory: ``checkpoints/step-00001000.pt`` (the last ``keep_last`` of them)
and ``checkpoints/best.pt``. Each is written to a temporary file and renamed, so a run killed
at any moment, even during a write, leaves only complete checkpoints behind.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

import torch

from wavenet.errors import WavenetError
from wavenet.files import atomic_write_bytes

log = logging.getLogger(__name__)

STEP_FILE = re.compile(r"^step-(\d{8})\.pt$")


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def step_checkpoints(run_dir: Path) -> list[Path]:
    """Step checkpoints, oldest first."""
    directory = checkpoint_dir(run_dir)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if STEP_FILE.match(p.name))


def remove_temporaries(run_dir: Path) -> None:
    """Delete temporary files left by writes that were killed (they never got a checkpoint's name)."""
    directory = checkpoint_dir(run_dir)
    if directory.is_dir():
        for leftover in directory.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)


def save(path: Path, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())


def save_step(run_dir: Path, step: int, state: dict[str, Any], keep_last: int) -> Path:
    """Write the checkpoint of ``step`` and delete all but the newest ``keep_last``."""
    path = checkpoint_dir(run_dir) / f"step-{step:08d}.pt"
    save(path, state)
    for old in step_checkpoints(run_dir)[:-keep_last]:
        old.unlink(missing_ok=True)
    return path


def load(path: Path) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WavenetError(f"{path}: no such checkpoint") from None
    except Exception as err:  # torch raises many types for a damaged file
        raise WavenetError(f"{path}: unreadable training checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(state, dict) or "model" not in state or "step" not in state:
        raise WavenetError(f"{path}: not a wavenet training checkpoint")
    return state


def load_latest(run_dir: Path) -> dict[str, Any] | None:
    """The newest readable step checkpoint, or None when the run has none."""
    for path in reversed(step_checkpoints(run_dir)):
        try:
            return load(path)
        except WavenetError as err:  # damaged by something other than us (a full disk, say): fall back
            log.warning("%s; trying the previous checkpoint", err)
    return None


def resolve(run_dir: Path, which: str) -> Path:
    """``best``, ``latest`` or a checkpoint file, for export."""
    if which == "latest":
        steps = step_checkpoints(run_dir)
        if not steps:
            raise WavenetError(f"{run_dir}: no step checkpoints in {checkpoint_dir(run_dir)}")
        return steps[-1]
    if which == "best":
        best = checkpoint_dir(run_dir) / "best.pt"
        if not best.is_file():
            raise WavenetError(f"{run_dir}: no best.pt yet (it is written at the first evaluation)")
        return best
    path = Path(which)
    if not path.is_file():
        raise WavenetError(f"{which}: no such checkpoint (use best, latest or a file)")
    return path
