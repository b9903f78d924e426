"""Feature frames: piano rolls frame for frame, and each kind through preparation (log-mel: tests/test_dsp.py)."""

import numpy as np
import pytest

from tests.conftest import write_midi, write_tone
from wavenet.data.features import KEYS, FeatureOptions, Note, midi_beside, piano_roll, read_midi
from wavenet.data.manifest import Utterance, write_manifest
from wavenet.data.prepare import prepare
from wavenet.errors import WavenetError

RATE = 16000


def test_piano_roll_onsets_sustains_and_velocities():
    hop = 200  # 12.5 ms frames
    notes = [Note(60, 0.0, 0.1, 127), Note(64, 0.05, 0.06, 64), Note(10, 0.0, 1.0, 100), Note(108, 0.2, 0.3, 50)]
    roll = piano_roll(notes, 20, RATE, hop).reshape(20, 3, KEYS)
    c4, e4, c8 = 60 - 21, 64 - 21, 108 - 21
    assert roll[:, 0, c4].nonzero()[0].tolist() == [0]  # one onset, at the nearest frame
    assert roll[:, 1, c4].nonzero()[0].tolist() == list(range(8))  # sounding at frames 0 .. 7 (0 .. 87.5 ms)
    assert np.allclose(roll[:8, 2, c4], 1.0)
    assert roll[:, 0, e4].nonzero()[0].tolist() == [4]  # 50 ms: frame 4
    assert roll[4, 1, e4] == 1 and roll[4, 2, e4] == pytest.approx(64 / 127)
    assert roll[:, 0, c8].nonzero()[0].tolist() == [16]
    assert roll.sum() == roll[:, :, [c4, e4, c8]].sum()  # the note below A0 is left out


def test_midi_files_are_read_in_seconds(tmp_path):
    path = tmp_path / "a.mid"
    write_midi(path, [(60, 0.0, 0.5, 90), (67, 0.25, 1.0, 40)])
    notes = read_midi(path)
    assert [(n.key, round(n.start, 3), round(n.end, 3), n.velocity) for n in notes] == [
        (60, 0.0, 0.5, 90),
        (67, 0.25, 1.0, 40),
    ]
    (tmp_path / "bad.mid").write_bytes(b"MThd nonsense")
    with pytest.raises(WavenetError, match="bad.mid: not a readable MIDI file"):
        read_midi(tmp_path / "bad.mid")
    with pytest.raises(WavenetError, match=r"b.mid: missing \(pianoroll features read the MIDI file beside"):
        midi_beside(tmp_path / "b.wav")


def test_pianoroll_preparation_skips_files_without_midi_and_refuses_trimming(tmp_path):
    tones = [write_tone(tmp_path / f"{i}.wav", seconds=0.2) for i in range(3)]
    for tone in tones[:2]:
        write_midi(tone.with_suffix(".mid"), [(57, 0.0, 0.2, 80)])
    write_manifest(tmp_path / "m.tsv", [Utterance(t, "piano", 0.2) for t in tones])
    options = FeatureOptions("pianoroll")
    summary = prepare(tmp_path / "m.tsv", tmp_path / "data", features=options, workers=1)
    assert [s["path"] for s in summary.skipped] == [str(tones[2])] and "2.mid: missing" in summary.skipped[0]["reason"]
    from wavenet.data.audio import AudioOptions

    with pytest.raises(WavenetError, match="--trim-silence cannot be used with pianoroll"):
        prepare(tmp_path / "m.tsv", tmp_path / "d2", AudioOptions(trim_silence=True), features=options)
