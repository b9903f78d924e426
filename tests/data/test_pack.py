"""Prepared data packed to travel (wavenet/data/pack.py): within budget, every speaker, frames aligned, restored exactly."""

import numpy as np
import pytest
import soundfile as sf

from wavenet.data.dataset import PreparedData
from wavenet.data.features import FeatureOptions
from wavenet.data.manifest import Utterance, write_manifest
from wavenet.data.pack import main, pack, unpack
from wavenet.data.prepare import SplitOptions, prepare


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Two speakers' noise (which compresses as little as audio does) with log-mel frames, some long enough to be windowed."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    utterances = []
    for name in ("ann", "ben"):
        for i in range(6):
            seconds = 0.3 if i < 5 else 2.0
            path = root / name / f"{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, (0.2 * rng.standard_normal(int(seconds * 16000))).astype(np.float32), 16000)
            utterances.append(Utterance(path, name, seconds))
    write_manifest(root / "manifest.tsv", utterances)
    features = FeatureOptions("mel", hop=40, n_mels=8, n_fft=256, win=200)
    prepare(root / "manifest.tsv", root / "data", split=SplitOptions(valid_fraction=0.2), features=features, workers=1)
    return root / "data"


def test_pack_fits_the_budget_keeps_every_speaker_and_unpacks_exactly(prepared, tmp_path):
    full = PreparedData(prepared)
    whole = pack(prepared, tmp_path / "whole", max_bytes=10**6)
    assert whole["share"] == 1.0
    summary = pack(prepared, tmp_path / "packed", max_bytes=whole["bytes"] // 2)
    assert summary["bytes"] <= whole["bytes"] // 2 and 0 < summary["share"] < 1
    data = unpack(tmp_path / "packed", tmp_path / "data")
    train = data.split("train")
    assert set(train.index[:, 2].tolist()) == set(full.split("train").index[:, 2].tolist())  # every speaker
    assert data.speakers == full.speakers and data.features == full.features
    original = full.split("train")
    hop = full.features.hop
    for i in range(len(train.index)):  # each kept window's codes and frames are the original's, aligned
        codes, frames = train.utterance(i), train.utterance_frames(i)
        assert len(frames) == -(-len(codes) // hop)
        source = next(j for j in range(len(original.index)) if codes.tobytes() in original.utterance(j).tobytes())
        start = original.utterance(source).tobytes().index(codes.tobytes())
        assert start % hop == 0
        np.testing.assert_array_equal(
            frames, original.utterance_frames(source)[start // hop : start // hop + len(frames)]
        )
    assert "test" not in data.split_names or not (tmp_path / "packed" / "test.codes.npy.xz").exists()


def test_the_command_line(prepared, tmp_path, capsys):
    assert main(["pack", str(prepared), str(tmp_path / "p"), "--max-mib", "0.1"]) == 0
    assert "packed" in capsys.readouterr().out
    assert main(["unpack", str(tmp_path / "p"), str(tmp_path / "d")]) == 0
    assert main(["unpack", str(tmp_path / "nothing"), str(tmp_path / "d2")]) == 2
    assert "not a packed dataset" in capsys.readouterr().err
