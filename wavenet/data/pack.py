"""Prepared data, packed to travel: as large a share as fits a byte budget, xz-compressed, and back.

    python -m wavenet.data.pack pack DATA_DIR PACKED_DIR [--max-mib 56] [--valid-share 0.25]
    python -m wavenet.data.pack unpack PACKED_DIR DATA_DIR

A lent GPU machine can be sent 64 MiB of files with the code. μ-law codes compress to about
60% with xz (measured on the offline speech corpus), float16 feature frames to about 85%: about
1.3 bytes a sample for the mel vocoder's data. ``pack`` measures the ratio on the data itself,
takes the share of every speaker that fits (:mod:`wavenet.data.subset`), compresses each array
and checks the total, shrinking the share until it fits. Only the training and validation splits
travel: the test split is never trained on, nor used to choose a checkpoint. The frames travel as they were prepared
(float16), not recomputed from the codes: training there reads exactly what it reads here.
``unpack`` restores a directory that ``wavenet train`` reads as usual.
"""

from __future__ import annotations

import argparse
import json
import lzma
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from wavenet.data.dataset import PreparedData
from wavenet.data.subset import write_subset
from wavenet.errors import WavenetError

PRESET = 6  # xz's default level: 1.0 MB/s here, 4% smaller than level 1
SAMPLE_BYTES = 4 * 2**20  # what the compression ratio is measured on, per array
TRAVEL = ("train", "valid")


def compressed_ratio(array: np.ndarray) -> float:
    """xz's ratio on (a piece of) the array's bytes."""
    raw = np.ascontiguousarray(array.reshape(-1)[: SAMPLE_BYTES // array.itemsize]).tobytes()
    return len(lzma.compress(raw, preset=PRESET)) / max(1, len(raw))


def estimate(data: PreparedData, share: float, valid_share: float) -> float:
    """Bytes that ``share`` of the training split and ``valid_share`` of the others would take, compressed."""
    total = 0.0
    for name in (n for n in TRAVEL if n in data.split_names):
        split = data.split(name)
        fraction = share if name == "train" else valid_share
        arrays = [split.codes] + ([split.feats] if split.feats is not None else [])
        total += fraction * sum(a.nbytes * compressed_ratio(a) for a in arrays)
    return total


def pack(data_dir: Path, out: Path, max_bytes: int, valid_share: float = 0.25, seed: int = 0) -> dict:
    """Write the largest share of ``data_dir`` that fits ``max_bytes`` into ``out``, compressed; a summary."""
    data = PreparedData(data_dir)
    share = min(1.0, max_bytes / max(1.0, estimate(data, 1.0, valid_share)))
    out = Path(out)
    for _ in range(6):
        with tempfile.TemporaryDirectory() as tmp:
            meta = write_subset(data, Path(tmp), share, valid_share, seed=seed, splits=TRAVEL)
            if out.exists():
                shutil.rmtree(out)
            out.mkdir(parents=True)
            for array in sorted(Path(tmp).glob("*.npy")):
                (out / f"{array.name}.xz").write_bytes(lzma.compress(array.read_bytes(), preset=PRESET))
            shutil.copy(Path(tmp) / "dataset.json", out / "dataset.json")
        size = sum(p.stat().st_size for p in out.iterdir())
        if size <= max_bytes:
            return {"share": share, "bytes": size, "splits": meta["splits"]}
        share *= 0.97 * max_bytes / size
    raise WavenetError(f"{data_dir}: no share of it fits {max_bytes:,} bytes")


def unpack(packed: Path, out: Path) -> PreparedData:
    """The prepared data that :func:`pack` wrote into ``packed``, restored into ``out``."""
    packed, out = Path(packed), Path(out)
    if not (packed / "dataset.json").is_file():
        raise WavenetError(f"{packed}: no dataset.json (not a packed dataset)")
    out.mkdir(parents=True, exist_ok=True)
    for array in sorted(packed.glob("*.npy.xz")):
        (out / array.name.removesuffix(".xz")).write_bytes(lzma.decompress(array.read_bytes()))
    shutil.copy(packed / "dataset.json", out / "dataset.json")
    return PreparedData(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wavenet.data.pack", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="compress the largest share that fits")
    p.add_argument("data", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--max-mib", type=float, default=56.0, help="the budget (default 56: room for the code beside it)")
    p.add_argument("--valid-share", type=float, default=0.25, help="of the validation and test splits")
    p.add_argument("--seed", type=int, default=0)
    u = sub.add_parser("unpack", help="restore a packed dataset")
    u.add_argument("packed", type=Path)
    u.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "pack":
            summary = pack(args.data, args.out, int(args.max_mib * 2**20), args.valid_share, args.seed)
            seconds = {k: v["samples"] / PreparedData(args.data).sample_rate / 60 for k, v in summary["splits"].items()}
            print(f"packed {summary['share']:.1%} of the training audio into {args.out}: {summary['bytes'] / 2**20:.1f} MiB; "
                  + ", ".join(f"{k} {m:.1f} min" for k, m in seconds.items()))  # fmt: skip
        else:
            data = unpack(args.packed, args.out)
            print(
                f"unpacked {args.packed} into {args.out}: "
                + json.dumps({k: v["samples"] for k, v in data.meta["splits"].items()})
            )
    except WavenetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
