"""A smaller copy of a prepared dataset, for a training machine that cannot hold (or be sent) it all.

A lent GPU machine can be sent at most 64 MiB of files, less than a prepared corpus. This keeps
a share of every speaker's audio, so that each speaker id stays in the data with the same
speaker map (a run started with ``train.init_from`` matches speakers by name): short utterances
are taken whole, in a random order per speaker, until the speaker's share is reached;
utterances longer than ``window_above`` samples (the piano's pieces) each give one window of
that share at a random place, so every piece is heard. A conditioned corpus keeps each kept
window's feature frames (windows start on a frame).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from wavenet.data.dataset import PreparedData, Split


def choose(index: np.ndarray, share: float, window_above: int, rng: np.random.Generator,
           hop: int = 1) -> list[tuple[int, int, int]]:  # fmt: skip
    """What to keep of a split: (utterance, start, length) rows in the order of the original index.

    ``hop``: windows of long utterances start on a multiple of it (a conditioned corpus's frames).
    """
    kept = []
    for speaker in np.unique(index[:, 2]):
        rows = np.flatnonzero(index[:, 2] == speaker)
        short = [int(i) for i in rows if index[i, 1] <= window_above]
        budget = share * index[short, 1].sum() if short else 0
        for i in rng.permutation(short):
            if budget <= 0:
                break
            kept.append((int(i), 0, int(index[i, 1])))
            budget -= index[i, 1]
        for i in rows:
            length = int(index[i, 1])
            if length > window_above:
                take = max(1, round(share * length))
                start = int(rng.integers(0, (length - take) // hop + 1)) * hop
                kept.append((int(i), start, take))
    return sorted(kept)


def write_split(split: Split, kept: list[tuple[int, int, int]], out: Path, hop: int) -> dict:
    """Write the kept windows of a split as a split of ``out``: codes, index and (with features) frames."""
    codes = np.concatenate([split.utterance(i)[start : start + n] for i, start, n in kept])
    lengths = np.array([n for _, _, n in kept], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    speakers = np.array([split.index[i, 2] for i, _, _ in kept], dtype=np.int64)
    np.save(out / f"{split.name}.codes.npy", codes)
    np.save(out / f"{split.name}.index.npy", np.stack([offsets, lengths, speakers], axis=1))
    if split.feats is not None:
        windows = [split.utterance_frames(i)[start // hop : start // hop + math.ceil(n / hop)] for i, start, n in kept]
        counts = np.array([len(w) for w in windows], dtype=np.int64)
        np.save(out / f"{split.name}.feats.npy", np.concatenate(windows))
        np.save(out / f"{split.name}.frames.npy", np.stack([np.concatenate([[0], np.cumsum(counts)[:-1]]), counts], 1))
    return {
        "utterances": len(kept),
        "samples": int(lengths.sum()),
        "speakers": len(set(speakers.tolist())),
    }


def write_subset(data: PreparedData, out: Path, share: float, valid_share: float | None = None,
                 window_above_seconds: float = 30.0, seed: int = 0, splits: tuple[str, ...] | None = None) -> dict:  # fmt: skip
    """Write ``share`` of the training split (``valid_share`` of the others) of ``data`` into ``out``; its meta.

    ``splits``: which splits to write (default: all).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    hop = data.features.hop if data.features is not None else 1
    meta = dict(data.meta)
    meta["splits"] = {}
    for name in data.split_names:
        if splits is not None and name not in splits:
            continue
        split = data.split(name)
        fraction = share if name == "train" or valid_share is None else valid_share
        kept = choose(split.index, fraction, int(window_above_seconds * data.sample_rate), rng, hop)
        info = write_split(split, kept, out, hop)
        info["seconds"] = round(info["samples"] / data.sample_rate, 3)
        meta["splits"][name] = info
    meta["subset_of"] = {"data": str(data.directory), "share": share, "valid_share": valid_share, "seed": seed}
    (out / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta
