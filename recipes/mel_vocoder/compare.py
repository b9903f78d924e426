"""Free-running comparison of vocoder releases: the first N held-out en_US_f_Allison prompts of the
test split, resynthesised with her own speaker id and measured as the quality report measures them
(WER, log-mel distance, F0 RMSE, voicing error, STOI, PESQ, DNSMOS). One JSON line per call is
appended to --out: the voice issue's lever table (docs/quality/vocoder-levers.jsonl).

    python recipes/mel_vocoder/compare.py RELEASE DATA_DIR --label "what changed" [--prompts 12] [--temperature T]
        [--float-reference] [--voice flite-awb]

``--voice`` measures another held-out voice instead: one held out whole (never heard) is
resynthesised with the release's default ('any') id, and its WER only where its files have texts.

DATA_DIR is the recipe's prepared data in the release's own features (a source-filter release
needs frames prepared with its --lpc-order, one with a periodic source with --f0).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from wavenet.data.audio import decoded, load_audio
from wavenet.data.dataset import PreparedData
from wavenet.evaluation.reports.common import resynthesise
from wavenet.evaluation.reports.conditioned import TRANSCRIBED, measured
from wavenet.release import load_release


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("release", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--label", required=True, help="what this row changes (the lever)")
    parser.add_argument("--prompts", type=int, default=12, help="how many held-out prompts (default 12)")
    parser.add_argument("--temperature", type=float, default=None, help="default: the release's")
    parser.add_argument(
        "--voiced-scale", type=float, default=None, help="default: the release's (1 unless it names one)"
    )
    parser.add_argument(
        "--float-reference", action="store_true",
        help="measure against the recordings read from their files (float, as prepared: trimmed, levelled) instead "
        "of the prepared data's 8-bit mu-law, whose noise floor depends on how the data was prepared (pre-emphasis)",
    )  # fmt: skip
    parser.add_argument(
        "--voice", default=TRANSCRIBED,
        help=f"the held-out voice to measure (default {TRANSCRIBED}, with her own id); a voice held out whole "
        "(one the vocoder never heard, e.g. flite-awb) is resynthesised with the 'any' id",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("docs/quality/vocoder-levers.jsonl"))
    args = parser.parse_args()
    ckpt, data = load_release(args.release), PreparedData(args.data)
    test = data.split("test")
    names = {sid: name for name, sid in ckpt.speakers.items()}
    files = [line.split("\t")[0] for line in (data.directory / "test.tsv").read_text().splitlines()[1:]]
    picks = [i for i in range(len(files)) if names[int(test.index[i, 2])] == args.voice][: args.prompts]
    if not picks:
        sys.exit(f"{args.data}: no held-out files of the voice {args.voice!r}")
    speaker = ckpt.speakers[args.voice] if args.voice == TRANSCRIBED else ckpt.default_speaker
    frames = [np.asarray(test.utterance_frames(i), np.float32) for i in picks]
    if args.float_reference:
        recordings = [load_audio(Path(files[i]), data.audio) for i in picks]
        if [len(r) for r in recordings] != [int(test.index[i, 1]) for i in picks]:
            sys.exit(f"{args.data}: its test files are not the length they were prepared at (changed since?)")
    else:
        recordings = [decoded(test.utterance(i), data.mu, data.audio.preemphasis) for i in picks]
    text_files = [Path(files[i]).with_suffix(".txt") for i in picks]
    texts = [t.read_text().strip() for t in text_files] if all(t.is_file() for t in text_files) else None
    start = time.time()
    made = resynthesise(
        ckpt, frames, [speaker] * len(frames), temperature=args.temperature,
        voiced_scale=args.voiced_scale,
    )  # fmt: skip
    row = {
        "label": args.label,
        "release": str(args.release),
        "steps": ckpt.metadata.get("steps"),
        "temperature": args.temperature or ckpt.default_temperature,
        "voiced_scale": args.voiced_scale or ckpt.voiced_scale,
        "generate_seconds": round(time.time() - start, 1),
        "reference": "float recordings" if args.float_reference else "prepared mu-law",
        "voice": args.voice,
    } | measured(recordings, made, texts)
    print(json.dumps(row))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as out:
        out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
