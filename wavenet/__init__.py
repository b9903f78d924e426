"""WaveNet: a dilated, causal, gated-convolution generative model of raw audio, with exact fast generation."""

from wavenet.checkpoint import Checkpoint, load_model, load_release, save_release
from wavenet.config import PRESETS, WaveNetConfig
from wavenet.errors import WavenetError
from wavenet.generation import CachedGenerator, NaiveGenerator, SlotGenerator, make_generator
from wavenet.model import WaveNet

__all__ = [
    "PRESETS",
    "CachedGenerator",
    "Checkpoint",
    "NaiveGenerator",
    "SlotGenerator",
    "WaveNet",
    "WaveNetConfig",
    "WavenetError",
    "load_model",
    "load_release",
    "make_generator",
    "save_release",
]
