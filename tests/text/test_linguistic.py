"""Linguistic frames: the same function for aligned recordings (training) and timed phones (synthesis)."""

import numpy as np
import pytest
import soundfile as sf

from wavenet.text.align import Segment
from wavenet.text.linguistic import CHANNELS, INDEX, N_PHONES, PHONES, SCALARS, frames, timed_phones

HOP, RATE = 200, 16000


def rendered(text, voice="en-us"):
    from wavenet.text.espeak import phonemize, render

    rendering = render(text, voice=voice)
    segments = [Segment(*s) for s in rendering.segments()]
    return rendering, timed_phones(phonemize(text), segments)


def column(name):
    return 3 * N_PHONES + SCALARS.index(name)


def test_frames_say_which_phone_sounds_with_its_neighbours_stress_and_boundaries():
    rendering, phones = rendered("hello there, my friend. is it?")
    seconds = len(rendering.audio) / rendering.sample_rate
    n = int(seconds * RATE / HOP) + 5  # a few frames past the end
    f = frames(phones, n, HOP, RATE)
    assert f.shape == (n, CHANNELS) and f.dtype == np.float32
    for block in range(3):  # exactly one phone in each of the three one-hot blocks
        assert (f[:, block * N_PHONES : (block + 1) * N_PHONES].sum(1) == 1).all()
    assert f[-1, INDEX["_"]] == 1  # after the last phone, a pause
    oU = next(p for p in phones if p.name == "oU")  # hello's stressed vowel
    i = int((oU.start + oU.end) / 2 * RATE / HOP)
    assert f[i, INDEX["oU"]] == 1 and f[i, N_PHONES + INDEX["l"]] == 1 and f[i, 2 * N_PHONES + INDEX["_"]] == 0
    assert f[i, column("primary")] == 1 and f[i, column("word_end")] == 1 and 0 < f[i, column("position")] < 1
    assert f[i, column("log_duration")] == pytest.approx(np.log(oU.end - oU.start), abs=1e-5)
    questions = [p for p in phones if p.question]
    assert questions and all(p.name in ("I", "z", "t") for p in questions)  # "is it?"
    assert sum(p.clause_end_word and p.word_start for p in phones) == 3  # "there", "friend", "it"


def test_f0_gives_log_f0_where_voiced():
    _, phones = rendered("hello")
    f0 = np.array([np.nan, 0.0, 100.0, 200.0, 50.0])
    f = frames(phones, 5, HOP, RATE, f0)
    assert f[:, column("voiced")].tolist() == [0, 0, 1, 1, 1]
    assert f[:, column("log_f0")].tolist() == pytest.approx([0, 0, 0, 1, -1])


def test_phones_must_match_the_text():
    from wavenet.text.espeak import phonemize

    with pytest.raises(ValueError):
        timed_phones(phonemize("hello"), [Segment("x", 0, 1)])


def test_prepare_aligns_each_recording_to_its_text(tmp_path):
    """`wavenet prepare --features linguistic`: frames timed by aligning espeak-ng's reading to the audio."""
    from wavenet.data.dataset import PreparedData
    from wavenet.data.features import FeatureOptions
    from wavenet.data.manifest import Utterance, write_manifest
    from wavenet.data.prepare import prepare

    texts = ["Please leave a message.", "Dr. Smith paid $12.50.", "Is it 3:05 pm?", "Hello there."]
    utterances = []
    for i, text in enumerate(texts):
        from wavenet.text.normalize import normalize

        rendering, _ = rendered(normalize(text), voice="en-us+f3")
        path = tmp_path / "ann" / f"{i}.wav"
        path.parent.mkdir(exist_ok=True)
        sf.write(path, rendering.audio, rendering.sample_rate)
        path.with_suffix(".txt").write_text(text)
        utterances.append(Utterance(path, "ann", len(rendering.audio) / rendering.sample_rate))
    (tmp_path / "ann" / "4.wav").write_bytes((tmp_path / "ann" / "0.wav").read_bytes())  # no text beside it
    utterances.append(Utterance(tmp_path / "ann" / "4.wav", "ann", 1.0))
    write_manifest(tmp_path / "m.tsv", utterances)
    summary = prepare(tmp_path / "m.tsv", tmp_path / "data", workers=1, features=FeatureOptions("linguistic"))
    assert [s["path"].split("/")[-1] for s in summary.skipped] == ["4.wav"]
    assert "4.txt" in summary.skipped[0]["reason"]
    data = PreparedData(tmp_path / "data")
    assert data.features.kind == "linguistic" and data.features.channels == CHANNELS
    split = data.split("train")
    for u in range(len(split.index)):
        f = np.asarray(split.utterance_frames(u), dtype=np.float32)
        assert f.shape == (-(-int(split.index[u, 1]) // HOP), CHANNELS)
        assert (f[:, :N_PHONES].sum(1) == 1).all()
        speaking = 1 - f[:, INDEX["_"]]
        assert speaking.mean() > 0.5  # phones, not just pauses
        assert f[:, column("voiced")].mean() > 0.3  # F0 from the recording


def test_the_phone_set_is_fixed():
    assert PHONES[0] == "_" and len(set(PHONES)) == len(PHONES) == N_PHONES - 1
