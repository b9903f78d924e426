"""The classic resyntheses that the vocoder's report measures the network against (wavenet/evaluation/classic.py)."""

import numpy as np
import pytest
from scipy.signal import lfilter

from wavenet.dsp import MelSpec, log_mel
from wavenet.evaluation.classic import griffin_lim, lpc_synthesis, pulses, resyntheses, world
from wavenet.evaluation.quality import levels, median_f0, mel_distance_db

SPEC = MelSpec()  # the vocoder's: hop 200, 80 bands, n_fft 1024, win 800


def vowel(seconds: float = 1.0, f0: float = 140.0, rate: int = 16000) -> np.ndarray:
    """Pulses at f0 (NaN: white noise, a whisper) through two resonances (700 and 1,200 Hz): a crude, steady 'a'."""
    rng = np.random.default_rng(0)
    x = pulses(np.full(int(seconds * rate) // SPEC.hop, f0), SPEC.hop, rng, rate)
    for centre, width in ((700, 90), (1200, 110)):
        r, theta = np.exp(-np.pi * width / rate), 2 * np.pi * centre / rate
        x = lfilter([1.0], [1.0, -2 * r * np.cos(theta), r * r], x)
    return (0.1 * x / np.sqrt(np.mean(x**2))).astype(np.float32)


def test_pulses_follow_f0_and_fall_back_to_noise_where_unvoiced():
    rng = np.random.default_rng(1)
    f0 = np.array([100.0] * 20 + [np.nan] * 20)
    x = pulses(f0, 200, rng)
    voiced, unvoiced = x[:4000], x[4000:]
    at = np.flatnonzero(voiced)
    assert len(at) == 25 and set(np.diff(at)) <= {159, 160, 161}  # one every 160 samples (100 Hz), to the sample
    assert np.mean(voiced**2) == pytest.approx(1.0, rel=0.05) and np.mean(unvoiced**2) == pytest.approx(1.0, rel=0.1)


@pytest.mark.parametrize("excitation", ["pulses", "noise"])
def test_lpc_synthesis_from_the_frames_alone_keeps_their_envelope_and_level(excitation):
    audio = vowel(f0=140.0 if excitation == "pulses" else np.nan)
    frames = log_mel(audio, 16000, SPEC)
    rng = np.random.default_rng(2)
    source = (
        pulses(np.full(len(frames), 140.0), SPEC.hop, rng)
        if excitation == "pulses"
        else rng.standard_normal(len(frames) * SPEC.hop)
    )
    made = lpc_synthesis(frames, source, SPEC)
    assert len(made) == len(frames) * SPEC.hop
    # The envelope: as close as another stretch of the same sound (the vowel reversed) for noise, within 3 dB for pulses.
    other = mel_distance_db(audio, audio[::-1].copy()) + 0.5 if excitation == "noise" else 3.0
    assert mel_distance_db(audio, made) < other
    assert abs(levels(made).rms_dbfs - levels(audio).rms_dbfs) < 3.0  # the level, from the prediction error
    if excitation == "pulses":
        assert median_f0(made) == pytest.approx(140.0, rel=0.03)


def test_griffin_lim_and_world_resynthesise_the_vowel():
    audio = vowel()
    frames = log_mel(audio, 16000, SPEC)
    made = griffin_lim(frames, SPEC, iterations=16)
    assert len(made) == len(frames) * SPEC.hop and mel_distance_db(audio, made) < 3.0
    again = world(audio)
    assert len(again) == len(audio) and median_f0(again) == pytest.approx(140.0, rel=0.03)
    assert set(resyntheses(audio, frames, SPEC)) == {
        "Griffin-Lim", "WORLD (from the waveform)", "LPC from the mel, pulses at F0", "LPC from the mel, noise"
    }  # fmt: skip
