"""Prosody from espeak-ng rescaled to a speaker: measured on a speaker whose tempo and pitch are known."""

import numpy as np
import pytest

from wavenet.errors import WavenetError
from wavenet.text.linguistic import CHANNELS, N_PHONES, SCALARS
from wavenet.text.normalize import normalize
from wavenet.text.prosody import Voice, log_f0, measure_voice, plan, speaking_time

pytest.importorskip("espeakng_loader")

TEXTS = [normalize(t) for t in (
    "Please leave a message after the tone.", "Your call is important to us.", "Goodbye, and thank you for calling!",
)]  # fmt: skip


def test_a_slower_higher_speaker_is_measured_so_and_planned_so():
    from wavenet.text.espeak import render

    speaker = [render(t, voice="en-us+f3", rate=120) for t in TEXTS]  # slower than espeak-ng's 175, and female
    voice = measure_voice([(r.audio, r.sample_rate, t) for r, t in zip(speaker, TEXTS, strict=True)])
    assert 1.2 < voice.tempo < 1.7
    assert voice.f0_mean > voice.espeak_f0_mean + 0.5  # more than half an octave higher
    text = normalize("Thank you for your message.")
    truth = render(text, voice="en-us+f3", rate=120)
    planned = plan(text, voice, hop=200, sample_rate=16000)
    assert planned.frames.shape[1] == CHANNELS
    planned_time, true_time = speaking_time(planned.segments), speaking_time(truth.segments())
    assert abs(planned_time / true_time - 1) < 0.15
    voiced = planned.f0[np.isfinite(planned.f0)]
    truth_f0 = 100 * 2 ** np.nanmedian(log_f0(truth.audio, truth.sample_rate))
    assert abs(np.log2(np.median(voiced) / truth_f0)) < 0.25  # within a quarter octave
    assert planned.frames[:, 3 * N_PHONES + SCALARS.index("voiced")].mean() > 0.3


def test_rate_and_pitch_adjust_the_plan():
    voice = Voice()
    text = normalize("Hello there.")
    base = plan(text, voice, 200, 16000)
    fast = plan(text, voice, 200, 16000, rate=2.0, pitch=1.5)
    assert len(fast.frames) == pytest.approx(len(base.frames) / 2, abs=2)
    assert np.nanmedian(fast.f0) == pytest.approx(1.5 * np.nanmedian(base.f0), rel=0.1)
    with pytest.raises(WavenetError, match="positive"):
        plan(text, voice, 200, 16000, rate=0)


def test_a_voice_round_trips_and_bad_values_are_errors():
    voice = Voice(1.1, 0.5, 0.2, 0.1, 0.3)
    assert Voice.from_dict(voice.to_dict()) == voice
    with pytest.raises(WavenetError, match="prosody"):
        Voice.from_dict({"tempo": -1})
    with pytest.raises(WavenetError, match="prosody"):
        Voice.from_dict({"nonsense": 1})
