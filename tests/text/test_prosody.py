"""Prosody from espeak-ng made a speaker's (rescaled, then corrected by trained models): measured on speakers whose tempo and pitch are known."""

import numpy as np
import pytest

from wavenet.errors import WavenetError
from wavenet.text.linguistic import CHANNELS, N_PHONES, SCALARS
from wavenet.text.normalize import normalize
from wavenet.text.prosody import (
    N_CONTEXT,
    Voice,
    accuracy,
    cross_validate,
    fit_voice,
    log_f0,
    measure_voice,
    plan,
    read,
    ridge,
    speaking_time,
)

TEXTS = [normalize(t) for t in (
    "Please leave a message after the tone.", "Your call is important to us.", "Goodbye, and thank you for calling!",
)]  # fmt: skip


def test_a_slower_higher_speaker_is_measured_so_and_planned_so():
    from wavenet.text.espeak import render

    speaker = [render(t, voice="en-us+f3", rate=120) for t in TEXTS]  # slower than espeak-ng's 175, and female
    voice = measure_voice([read(r.audio, r.sample_rate, t) for r, t in zip(speaker, TEXTS, strict=True)])
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
    with pytest.raises(WavenetError, match="finite"):
        Voice.from_dict({"f0_mean": float("nan")})


def test_trained_models_move_durations_and_pitch_as_their_weights_say():
    text = normalize("Hello there, how are you?")
    base = plan(text, Voice(), 200, 16000)
    constant = lambda value: tuple([0.0] * (N_CONTEXT - 1) + [value])  # noqa: E731
    slow_high = Voice(duration_model=constant(float(np.log(2))), f0_model=constant(1.0))
    changed = plan(text, slow_high, 200, 16000)
    assert speaking_time(changed.segments) == pytest.approx(2 * speaking_time(base.segments), rel=1e-6)
    pauses = [s.end - s.start for s in changed.segments if s.phone == "_"]
    assert pauses == pytest.approx([s.end - s.start for s in base.segments if s.phone == "_"])
    assert np.nanmedian(changed.f0) == pytest.approx(2 * np.nanmedian(base.f0), rel=0.05)  # an octave up
    assert Voice.from_dict(slow_high.to_dict()) == slow_high
    assert slow_high.rescaled() == Voice()
    with pytest.raises(WavenetError, match="weights"):
        Voice.from_dict({**slow_high.to_dict(), "f0_model": [1.0, 2.0]})


def test_ridge_recovers_a_linear_rule_and_shrinks_toward_the_constant():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=(500, 5)), np.ones((500, 1))], axis=1)
    w = np.array([0.5, -1.0, 0.0, 2.0, 0.25, 3.0])
    assert ridge(x, x @ w, 1e-6) == pytest.approx(w, abs=1e-6)
    shrunk = ridge(x, x @ w, 1e9)
    assert np.abs(shrunk[:-1]).max() < 1e-3 and shrunk[-1] == pytest.approx(3.0, abs=0.2)


def test_trained_models_learn_a_speaker_and_are_measured_against_held_out_readings():
    """A speaker that is espeak-ng's en-us+f2 at 140 words a minute: trained on 10 sentences, tried on 2 others."""
    from wavenet.text.espeak import render

    texts = [normalize(t) for t in (
        "The quick brown fox jumps over the lazy dog.", "She sells sea shells by the sea shore.",
        "Please call back later.", "The meeting starts at nine in the morning.", "Thank you for waiting.",
        "How much wood would a woodchuck chuck?", "It was the best of times.", "Turn left at the next light.",
        "We are sorry, all lines are busy.", "Goodbye and have a nice day.",
    )] + TEXTS[:2]  # fmt: skip
    spoken = [(r.audio, r.sample_rate, t) for t in texts for r in [render(t, voice="en-us+f2", rate=140)]]
    readings = [read(*s) for s in spoken[:10]]
    scores = cross_validate([readings], [1.0, 1000.0], folds=5)
    assert all(np.isfinite(v).all() for v in scores.values())
    voice = fit_voice(readings, 10.0, 10.0)
    assert len(voice.duration_model) == len(voice.f0_model) == N_CONTEXT
    assert 1.1 < voice.tempo < 1.5 and voice.f0_mean > voice.espeak_f0_mean + 0.5  # slower, and higher
    result = accuracy(spoken[10:], {"espeak-ng": Voice(), "rescaled": voice.rescaled(), "trained": voice})
    assert result["trained"]["phones"] > 20 and result["trained"]["frames"] > 20
    assert result["rescaled"]["duration_rmse_ms"] < result["espeak-ng"]["duration_rmse_ms"]
    assert result["rescaled"]["f0_rmse_cents"] < result["espeak-ng"]["f0_rmse_cents"]
    assert result["trained"]["duration_rmse_ms"] < 1.5 * result["rescaled"]["duration_rmse_ms"]
