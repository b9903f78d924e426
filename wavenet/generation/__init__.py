"""Generation: every backend behind one slot interface, the registry that picks one, and sampling.

| module          | what it holds                                                           |
|-----------------|-------------------------------------------------------------------------|
| ``slots``       | the slot interface (:class:`SlotGenerator`) and suspended streams       |
| ``sampling``    | inverse-CDF sampling from per-stream uniforms; the NaN rule             |
| ``naive``       | the reference: a full forward pass per sample                           |
| ``cached``      | "Fast WaveNet" ring buffers in torch                                    |
| ``native``      | the same in C (``_native.c``), float32 or half-float weights            |
| ``cuda_graph``  | the same captured in CUDA graphs                                        |
| ``fused``       | a whole chunk in one Triton kernel (``_fused_kernel``), on a GPU        |
| ``registry``    | backends by name; ``auto`` picks the fastest for the device             |
| ``synthesis``   | one stream of a checkpoint as PCM chunks or a WAV file                  |
| ``bench``       | every backend's speed, measured side by side                            |
"""

from wavenet.generation.cached import CachedGenerator
from wavenet.generation.naive import NaiveGenerator
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
