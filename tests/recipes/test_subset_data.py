"""recipes/subset_data.py: a share of every speaker, whole short utterances, windows of long ones."""

import json
import subprocess
import sys

import numpy as np

from tests.recipes.conftest import ROOT
from wavenet.data.dataset import PreparedData


def write_prepared(directory, lengths, speakers):
    directory.mkdir()
    rng = np.random.default_rng(0)
    meta = {"format": "wavenet-dataset", "version": 1, "mu": 255, "audio": {"sample_rate": 100}}
    meta["speakers"] = {f"s{i}": i for i in sorted(set(speakers))}
    meta["splits"] = {}
    for name in ("train", "valid"):
        codes = rng.integers(0, 256, sum(lengths)).astype(np.uint8)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        np.save(directory / f"{name}.codes.npy", codes)
        np.save(directory / f"{name}.index.npy", np.stack([offsets, lengths, speakers], axis=1).astype(np.int64))
        meta["splits"][name] = {"utterances": len(lengths), "samples": int(sum(lengths))}
    (directory / "dataset.json").write_text(json.dumps(meta))
    return PreparedData(directory)


def test_subset_keeps_every_speaker_and_a_window_of_every_long_utterance(tmp_path):
    # Speakers 0 and 1 have twenty short utterances each (1 s); speaker 2 has two long ones (60 s).
    lengths = [100] * 40 + [6000, 6000]
    speakers = [0] * 20 + [1] * 20 + [2, 2]
    full = write_prepared(tmp_path / "full", lengths, speakers)
    subprocess.run(
        [sys.executable, str(ROOT / "recipes/subset_data.py"), str(tmp_path / "full"), str(tmp_path / "part")]
        + ["--share", "0.25", "--valid-share", "0.5", "--window-above", "30"],
        check=True,
        capture_output=True,
    )
    part = PreparedData(tmp_path / "part")
    assert part.speakers == full.speakers
    train = part.split("train")
    kept = {s: train.index[train.index[:, 2] == s] for s in (0, 1, 2)}
    assert len(kept[0]) == len(kept[1]) == 5 and set(kept[0][:, 1]) == {100}  # a quarter, whole
    assert kept[2][:, 1].tolist() == [1500, 1500]  # a quarter of each long one
    original = full.split("train")
    for i in range(len(train.index)):
        window = train.utterance(i).tobytes()
        assert any(window in original.utterance(j).tobytes() for j in range(len(original.index)))
    assert part.split("valid").samples == 2 * 10 * 100 + 2 * 3000  # half of each
    assert part.meta["splits"]["train"]["samples"] == train.samples
