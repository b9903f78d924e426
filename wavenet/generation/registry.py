"""Generation backends by name, and the choice of the fastest one for a device.

Every backend is a :class:`wavenet.generation.slots.SlotGenerator`: the same slots, the same uniforms,
the same samples (up to each backend's stated numerical tolerance).

| name          | device | what it is                                                      |
|---------------|--------|-----------------------------------------------------------------|
| ``naive``     | any    | full forward pass per sample: the reference                     |
| ``torch``     | any    | ring-buffer cached generation, one torch call per operation     |
| ``native``    | CPU    | the cached generation in C, a chunk per call, float32 weights   |
| ``native-f16``| CPU    | the same with weights stored as half floats (arithmetic float32)|
| ``cuda-graph``| CUDA   | the cached generation captured in CUDA graphs, replayed in blocks |
| ``triton``    | CUDA   | a whole chunk in one Triton kernel launch, float32 weights      |
| ``triton-f16``| CUDA   | the same with half-float weights and tensor-core products       |

Each Triton backend is offered on a GPU only once its self-check has passed there, on the model
it will run at the batch size it will run (:func:`wavenet.generation.backends.fused.self_check`);
``auto`` takes ``triton-f16`` where it passed, else ``triton``, else ``cuda-graph``.
"""

from __future__ import annotations

from wavenet.errors import WavenetError
from wavenet.generation.backends import fused, native
from wavenet.generation.backends.cached import CachedGenerator
from wavenet.generation.backends.cuda_graph import GraphGenerator
from wavenet.generation.backends.naive import NaiveGenerator
from wavenet.generation.slots import SlotGenerator
from wavenet.model import WaveNet

BACKENDS: dict[str, type[SlotGenerator]] = {
    g.name: g
    for g in (
        NaiveGenerator,
        CachedGenerator,
        native.NativeGenerator,
        native.NativeHalfGenerator,
        GraphGenerator,
        fused.FusedGenerator,
        fused.FusedHalfGenerator,
    )
}


def available_backends(model: WaveNet, batch_size: int = 1) -> list[str]:
    """Backends that can run this model where it is, at this batch size, slowest first."""
    names = [NaiveGenerator.name, CachedGenerator.name]
    device = next(model.parameters()).device
    if device.type == "cpu" and native.available():
        names += [native.NativeGenerator.name, native.NativeHalfGenerator.name]
    if device.type == "cuda":
        names += [GraphGenerator.name, *checked_fused_backends(model, batch_size)]
    return names


def checked_fused_backends(model: WaveNet, batch_size: int) -> list[str]:
    """The fused backends that pass their self-check on this model at this batch size (each compiles its own kernel)."""
    if not fused.available():
        return []
    return [
        b.name
        for b in (fused.FusedGenerator, fused.FusedHalfGenerator)
        if fused.self_check(model, b, batch_size) is None
    ]


def resolve_backend(backend: str, model: WaveNet, batch_size: int = 1) -> str:
    """``auto`` becomes the fastest backend available for the model's device; other names are checked.

    A fused backend is available only once it has passed its self-check on this model at this
    batch size: ``auto`` never takes a kernel that was not run on what it will run.
    """
    usable = available_backends(model, batch_size)
    if backend == "auto":
        return usable[-1]
    if backend not in BACKENDS:
        raise WavenetError(f"unknown generation backend {backend!r}; backends: auto, {', '.join(BACKENDS)}")
    if backend not in usable:
        raise WavenetError(f"backend {backend!r} cannot run here; available: {', '.join(usable)}")
    return backend


def make_generator(model: WaveNet, batch_size: int = 1, backend: str = "auto") -> SlotGenerator:
    """A slot generator by backend name; ``auto`` takes the fastest available."""
    return BACKENDS[resolve_backend(backend, model, batch_size)](model, batch_size)
