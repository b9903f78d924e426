"""WaveNet: a dilated, causal, gated-convolution generative model of raw audio, with exact fast generation.

From a model to audio in three lines (:mod:`wavenet.synthesizer`)::

    from wavenet import Request, Synthesizer
    synth = Synthesizer.load("checkpoints/speech-small")
    synth.synthesize(Request(seconds=2, speaker="asterisk-en_US_f_Allison", seed=1)).write("out.wav")
"""

from wavenet.errors import RequestError, WavenetError
from wavenet.generation import CachedGenerator, NaiveGenerator, SlotGenerator, make_generator
from wavenet.model import WaveNet
from wavenet.model_config import PRESETS, WaveNetConfig
from wavenet.release import Checkpoint, load_model, load_release, save_release
from wavenet.synthesizer import Limits, Plan, Request, Synthesis, Synthesizer

__all__ = [
    "PRESETS",
    "CachedGenerator",
    "Checkpoint",
    "Limits",
    "NaiveGenerator",
    "Plan",
    "Request",
    "RequestError",
    "SlotGenerator",
    "Synthesis",
    "Synthesizer",
    "WaveNet",
    "WaveNetConfig",
    "WavenetError",
    "load_model",
    "load_release",
    "make_generator",
    "save_release",
]
