"""Alignment by warping espeak-ng's reading onto a recording: measured where the truth is known."""

import numpy as np
import pytest

from wavenet.text.align import Segment, align, boundary_errors, dtw_path
from wavenet.text.normalize import normalize

TEXTS = [
    "Dr. Smith paid $12.50 on Jan. 3rd, 1999.",
    "Please leave a message after the tone, and we will return your call.",
]


def test_dtw_finds_the_warp_of_a_stretched_sequence():
    a = np.sin(np.linspace(0, 6, 50))[:, None]
    b = np.repeat(a, 2, axis=0)  # every frame twice
    path = dtw_path(b, a)
    assert path[0].tolist() == [0, 0] and path[-1].tolist() == [99, 49]
    assert (np.diff(path, axis=0) >= 0).all()
    assert all(abs(i // 2 - j) <= 1 for i, j in path)


MEASURE = """
import json, sys
import numpy as np
from wavenet.text.align import Segment, align, boundary_errors
from wavenet.text.espeak import render
from wavenet.text.normalize import normalize
voice, rate, texts = json.loads(sys.argv[1])
errors = []
for text in map(normalize, texts):
    truth = render(text, voice=voice, rate=rate)
    found = align(truth.audio, truth.sample_rate, text)
    errors.append(boundary_errors(found, [Segment(*s) for s in truth.segments()]))
print(json.dumps(np.concatenate(errors).tolist()))
"""


@pytest.mark.parametrize(("voice", "rate"), [("en-us+f3", None), ("en-us+m7", 130)])
def test_phone_starts_of_another_voice_at_another_rate_are_found_within_20_ms(voice, rate):
    """The truth: espeak-ng's own phone times when a different voice reads the text at a different rate.

    Measured in a fresh process: a variant voice keeps espeak-ng's pitch jitter, whose phase runs on
    from every reading before it in the process, so in the suite the readings (and the score: 90% to
    97% of starts within 20 ms) would depend on which tests ran first."""
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps([voice, rate, TEXTS])], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    errors = np.array(json.loads(done.stdout))
    assert len(errors) > 60
    assert np.median(errors) <= 0.01 and np.mean(errors <= 0.02) >= 0.9


def test_segments_cover_the_recording_in_order():
    from wavenet.text.espeak import render

    text = normalize(TEXTS[1])
    recording = render(text, voice="en-us+f2", rate=150)
    segments = align(recording.audio, recording.sample_rate, text)
    starts = [s.start for s in segments]
    assert starts == sorted(starts) and all(s.end >= s.start for s in segments)
    assert segments[-1].end == pytest.approx(len(recording.audio) / recording.sample_rate, abs=0.011)


def test_different_phones_cannot_be_compared():
    with pytest.raises(ValueError):
        boundary_errors([Segment("a", 0, 1)], [Segment("b", 0, 1)])
