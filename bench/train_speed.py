"""Training speed of two checkouts side by side: `wavenet train` of each, in turn, on the same data.

    python bench/train_speed.py --against /path/to/other/checkout [--config recipes/mel_vocoder/config.yaml]
        [--data work/mel_vocoder/data] [--steps 40] [--repeats 3] [--json bench/train-speed.json]

Each run is a real `wavenet train` of the config (no validation audio, one evaluation at the
end), from the checkout's own sources (PYTHONPATH), in a fresh run directory. Its speed is what
the trainer logs every ``--log-every`` steps (crop positions per second: batch × crop ×
steps / seconds), over every window but the first (the warm-up); the runs alternate A B A B so
that the machine's drift falls on both. Prints, and with ``--json`` writes, each checkout's
median and the ratio of the medians. Any checkout whose trainer logs ``samples_per_s`` in
metrics.jsonl works, so today's code can be measured against an older commit
(``git worktree add /tmp/old COMMIT``). For the figures of one checkout alone (outputs the loss
counts, peak memory, the arithmetic rate against the machine's peak): ``wavenet bench --train``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_once(checkout: Path, args: argparse.Namespace) -> list[float]:
    """One `wavenet train` from ``checkout``'s sources: the logged speeds after the first window."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable, "-m", "wavenet", "train", str(checkout / args.config),
            f"data.dir={Path(args.data).resolve()}", f"run_dir={tmp}/run", f"train.steps={args.steps}",
            f"train.log_every={args.log_every}", f"train.eval_every={args.steps}", f"train.checkpoint_every={args.steps}",
            "train.eval_audio_seconds=0", *args.overrides,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": f"{checkout}:{checkout / 'service'}"}
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=checkout)
        if done.returncode != 0:
            raise SystemExit(f"{checkout}: wavenet train failed:\n{done.stderr[-3000:]}")
        rows = [json.loads(line) for line in Path(tmp, "run", "metrics.jsonl").read_text().splitlines()]
    return [r["samples_per_s"] for r in rows if r["kind"] == "train"][1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, required=True, help="the other checkout (B)")
    parser.add_argument("--config", default="recipes/mel_vocoder/config.yaml", help="relative to each checkout")
    parser.add_argument("--data", default="work/mel_vocoder/data")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("overrides", nargs="*", help="dotted.key=value for both runs")
    args = parser.parse_args()
    speeds: dict[str, list[float]] = {"this checkout": [], "against": []}
    for repeat in range(args.repeats):
        for name, checkout in (("this checkout", REPO), ("against", args.against.resolve())):
            window = run_once(checkout, args)
            speeds[name] += window
            print(f"run {repeat + 1} {name}: {', '.join(f'{s:,.0f}' for s in window)} samples/s", flush=True)
    medians = {name: statistics.median(s) for name, s in speeds.items()}
    report = {
        "config": args.config,
        "overrides": args.overrides,
        "steps": args.steps,
        "repeats": args.repeats,
        "against": str(args.against),
        "median_samples_per_s": medians,
        "ratio": medians["this checkout"] / medians["against"],
        "windows": speeds,
    }
    print(f"median samples/s: this checkout {medians['this checkout']:,.0f}, against {medians['against']:,.0f}: "
          f"{report['ratio']:.2f}x")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
