import json

import numpy as np
import pytest

from tests.conftest import write_tone
from wavenet import mulaw
from wavenet.data.audio import AudioOptions, load_audio
from wavenet.data.dataset import PreparedData
from wavenet.data.manifest import Utterance, read_manifest, write_manifest
from wavenet.data.prepare import SplitOptions, assign_splits, prepare
from wavenet.errors import WavenetError


def make_corpus(root, speakers=("ann", "ben", "cat"), per_speaker=5, rate=22050):
    utterances = []
    for s, name in enumerate(speakers):
        for i in range(per_speaker):
            path = write_tone(root / name / f"{i}.wav", seconds=0.25, rate=rate, f0=150 + 50 * s)
            utterances.append(Utterance(path, name, 0.25))
    return utterances


def test_prepare_writes_codes_speakers_and_splits(tmp_path):
    utterances = make_corpus(tmp_path / "corpus")
    write_manifest(tmp_path / "m.tsv", utterances)
    summary = prepare(tmp_path / "m.tsv", tmp_path / "data", workers=1)
    assert summary.speakers == {"ann": 0, "ben": 1, "cat": 2}
    data = PreparedData(tmp_path / "data")
    train, valid = data.split("train"), data.split("valid")
    assert len(train.index) + len(valid.index) == 15
    assert len(valid.index) == 3  # one per speaker: 5 % rounds to 0, but every speaker with 2+ gives one
    assert set(valid.index[:, 2]) == {0, 1, 2}
    assert train.samples == len(train.codes) == 12 * 4000  # resampled from 22.05 kHz
    assert train.codes.dtype == np.uint8
    # The codes are the μ-law encoding of the resampled file, in the order of train.tsv.
    first = read_manifest(tmp_path / "data" / "train.tsv")[0]
    expected = mulaw.encode(load_audio(first.path, AudioOptions()))
    assert np.array_equal(train.utterance(0), expected)
    assert first.duration == 0.25
    meta = json.loads((tmp_path / "data" / "dataset.json").read_text())
    assert meta["splits"]["train"]["utterances"] == 12 and meta["skipped"] == []
    kept = read_manifest(tmp_path / "data" / "valid.tsv")
    assert [u.split for u in kept] == ["valid"] * 3


def test_bad_files_are_reported_and_skipped(tmp_path, caplog):
    utterances = make_corpus(tmp_path / "corpus", per_speaker=3)
    (tmp_path / "corrupt.wav").write_bytes(b"not audio at all")
    (tmp_path / "silent.wav").write_bytes(b"")
    utterances += [Utterance(tmp_path / "corrupt.wav", "ann", 1.0), Utterance(tmp_path / "silent.wav", "ben", 1.0)]
    utterances.append(Utterance(tmp_path / "missing.wav", "cat", 1.0))
    write_manifest(tmp_path / "m.tsv", utterances)
    summary = prepare(tmp_path / "m.tsv", tmp_path / "data", workers=2)
    reasons = {entry["path"].split("/")[-1]: entry["reason"] for entry in summary.skipped}
    assert set(reasons) == {"corrupt.wav", "silent.wav", "missing.wav"}
    assert all("not audio that soundfile can read" in r for r in reasons.values())
    assert "corrupt.wav" in caplog.text
    assert sum(s["utterances"] for s in summary.splits.values()) == 9


def test_nothing_usable_is_an_error(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"junk")
    write_manifest(tmp_path / "m.tsv", [Utterance(tmp_path / "bad.wav", "x", 1.0)])
    with pytest.raises(WavenetError, match="no usable training audio"):
        prepare(tmp_path / "m.tsv", tmp_path / "data", workers=1)


def test_held_out_speakers_and_manifest_splits():
    u = [Utterance(f"{s}{i}.wav", s, 1.0) for s in "abc" for i in range(10)]
    splits = assign_splits(u, SplitOptions(valid_fraction=0.2, valid_speakers=("c",), seed=1))
    assert all(s == "valid" for s, x in zip(splits, u, strict=True) if x.speaker == "c")
    assert [s for s, x in zip(splits, u, strict=True) if x.speaker == "a"].count("valid") == 2
    assert splits == assign_splits(u, SplitOptions(valid_fraction=0.2, valid_speakers=("c",), seed=1))
    fixed = [Utterance("x.wav", "p", 1.0, "test"), Utterance("y.wav", "p", 1.0, "train")]
    assert assign_splits(fixed, SplitOptions()) == ["test", "train"]
    with pytest.raises(WavenetError, match="held-out speaker.*zed"):
        assign_splits(u, SplitOptions(valid_speakers=("zed",)))


def test_trim_and_normalize_options_are_recorded(tmp_path):
    write_manifest(tmp_path / "m.tsv", make_corpus(tmp_path / "corpus", per_speaker=2))
    options = AudioOptions(trim_silence=True, normalize=True, target_dbfs=-18.0)
    prepare(tmp_path / "m.tsv", tmp_path / "data", audio=options, workers=1)
    assert PreparedData(tmp_path / "data").audio == options


def test_a_pre_emphasised_corpus_stores_the_emphasised_signal_and_its_frames(tmp_path):
    """wavenet prepare --preemphasis: the codes are of x[t] - α x[t-1]; the frames are the recording's mel and
    F0 with the envelope of the emphasised signal; the option is recorded."""
    from wavenet.cli import main
    from wavenet.data.audio import emphasise
    from wavenet.data.features import FeatureOptions, mel_frames

    write_manifest(tmp_path / "m.tsv", make_corpus(tmp_path / "corpus", speakers=("ann",), per_speaker=2))
    out = tmp_path / "data"
    assert main(["prepare", str(tmp_path / "m.tsv"), str(out), "--normalize", "--preemphasis", "0.85",
                 "--features", "mel", "--n-mels", "20", "--lpc-order", "4", "--f0", "--workers", "1"]) == 0  # fmt: skip
    data = PreparedData(out)
    assert data.audio.preemphasis == 0.85
    path = read_manifest(tmp_path / "m.tsv")[0].path
    plain = load_audio(path, AudioOptions(normalize=True))
    train = data.split("train")
    i = next(i for i in range(len(train.index)) if train.index[i, 1] == len(plain))
    assert np.array_equal(np.asarray(train.utterance(i)), mulaw.encode(emphasise(plain, 0.85)))
    frames = mel_frames(plain, 16000, FeatureOptions("mel", n_mels=20, lpc_order=4, f0=True), preemphasis=0.85)
    np.testing.assert_allclose(np.asarray(train.utterance_frames(i), np.float32), frames, atol=0.02)
    assert main(["prepare", str(tmp_path / "m.tsv"), str(tmp_path / "bad"), "--preemphasis", "1"]) == 2


def test_missing_preparation(tmp_path):
    with pytest.raises(WavenetError, match="dataset.json: missing"):
        PreparedData(tmp_path)
