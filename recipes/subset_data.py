"""Write a smaller copy of a prepared dataset (wavenet/data/subset.py): a share of every speaker.

    python recipes/subset_data.py work/piano_offline/data /tmp/piano_subset --share 0.13

For a lent GPU machine, bench/gpu_train.sh carries a share chosen to fit its 64 MiB, compressed
(``python -m wavenet.data.pack``); this writes one of a share you choose, uncompressed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from wavenet.data.dataset import PreparedData
from wavenet.data.subset import write_subset


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
    meta = write_subset(data, args.out, args.share, args.valid_share, args.window_above, args.seed)
    for name, info in meta["splits"].items():
        print(f"{name}: {info['seconds'] / 60:.1f} min of {data.split(name).samples / data.sample_rate / 60:.1f}")


if __name__ == "__main__":
    main()
