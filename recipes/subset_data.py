"""Write a smaller copy of a prepared dataset, for a training machine that cannot hold it all.

The bundled models were trained further on a lent GPU machine to which at most 64 MiB of files
can be sent, less than the prepared corpora. This keeps a share of every speaker's audio, so
that each speaker id stays in the data with the same speaker map (a run started with
``train.init_from`` checks it): short utterances are taken whole, in a random order per speaker,
until the speaker's share is reached; utterances longer than ``--window-above`` seconds (the
piano's pieces) each give one window of that share at a random place, so every piece is heard.

    python recipes/subset_data.py work/piano_offline/data /tmp/piano_subset --share 0.13
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from wavenet.data.dataset import PreparedData


def subset(index: np.ndarray, share: float, window_above: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """(offset, length, speaker) of the kept audio, in the order of the original index."""
    kept = []
    for speaker in np.unique(index[:, 2]):
        rows = np.flatnonzero(index[:, 2] == speaker)
        short = [int(i) for i in rows if index[i, 1] <= window_above]
        budget = share * index[short, 1].sum() if short else 0
        for i in rng.permutation(short):
            if budget <= 0:
                break
            kept.append(tuple(int(v) for v in index[i]))
            budget -= index[i, 1]
        for i in rows:
            offset, length, sid = (int(v) for v in index[i])
            if length > window_above:
                take = max(1, round(share * length))
                start = int(rng.integers(0, length - take + 1))
                kept.append((offset + start, take, sid))
    return sorted(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="a directory written by `wavenet prepare`")
    parser.add_argument("out", type=Path)
    parser.add_argument("--share", type=float, required=True, help="share of the training audio to keep")
    parser.add_argument(
        "--valid-share", type=float, default=None, help="share of the validation audio (default: --share)"
    )
    parser.add_argument("--window-above", type=float, default=30.0, help="seconds; longer utterances give a window")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = PreparedData(args.data)
    rng = np.random.default_rng(args.seed)
    meta = dict(data.meta)
    meta["splits"] = {}
    args.out.mkdir(parents=True, exist_ok=True)
    for name in data.split_names:
        split = data.split(name)
        share = args.share if name == "train" or args.valid_share is None else args.valid_share
        kept = subset(split.index, share, int(args.window_above * data.sample_rate), rng)
        codes = np.concatenate([split.codes[o : o + n] for o, n, _ in kept])
        lengths = np.array([n for _, n, _ in kept], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        index = np.stack([offsets, lengths, np.array([s for _, _, s in kept], dtype=np.int64)], axis=1)
        np.save(args.out / f"{name}.codes.npy", codes)
        np.save(args.out / f"{name}.index.npy", index)
        meta["splits"][name] = {
            "utterances": len(kept),
            "samples": int(lengths.sum()),
            "seconds": round(float(lengths.sum()) / data.sample_rate, 3),
            "speakers": len(set(index[:, 2].tolist())),
        }
        print(f"{name}: {meta['splits'][name]['seconds'] / 60:.1f} min of {split.samples / data.sample_rate / 60:.1f}")
    meta["subset_of"] = {
        "data": str(args.data),
        "share": args.share,
        "valid_share": args.valid_share,
        "seed": args.seed,
    }
    (args.out / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
