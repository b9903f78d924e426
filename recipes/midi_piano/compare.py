"""Free-running comparison of MIDI-to-piano releases on pieces that neither trained nor chose them:
excerpts of a folder of MIDI files with fluidsynth's renders beside them (render_corpus.py's
unseen/ folder), each rendered from its stretch of the piano roll alone and measured as the quality
report measures the valid pieces (onset F-measure beside fluidsynth's, chroma similarity, log-mel
distance). One JSON line per call is appended to --out: the voice issue's piano lever table
(docs/quality/piano-levers.jsonl).

    python recipes/midi_piano/compare.py RELEASE PIECES_DIR --label "what changed" \
        [--excerpts 6] [--seconds 30] [--temperature T]

Each piece gives --excerpts stretches of --seconds, evenly spaced from its start to its end (the
quality report's :func:`wavenet.evaluation.reports.conditioned.unseen_excerpts`, whose defaults are 6 of 30 s).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from wavenet.evaluation.reports.common import resynthesise
from wavenet.evaluation.reports.conditioned import piano_measured, unseen_excerpts
from wavenet.release import load_release


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("release", type=Path)
    parser.add_argument("pieces", type=Path, help="a folder of NAME.mid with fluidsynth's NAME.wav beside each")
    parser.add_argument("--label", required=True, help="what this row changes (the lever)")
    parser.add_argument("--excerpts", type=int, default=6, help="per piece (default 6)")
    parser.add_argument("--seconds", type=float, default=30.0, help="each excerpt's length (default 30)")
    parser.add_argument("--temperature", type=float, default=None, help="default: the release's")
    parser.add_argument("--out", type=Path, default=Path("docs/quality/piano-levers.jsonl"))
    args = parser.parse_args()
    ckpt = load_release(args.release)
    pieces = unseen_excerpts(args.pieces, ckpt.config.cond_hop, args.excerpts, args.seconds, ckpt.config.sample_rate)
    began = time.time()
    made = resynthesise(ckpt, pieces["frames"], [0] * len(pieces["frames"]), temperature=args.temperature)
    row = {
        "label": args.label,
        "release": str(args.release),
        "steps": ckpt.metadata.get("steps"),
        "source_harmonics": ckpt.config.source_harmonics,
        "temperature": args.temperature or ckpt.default_temperature,
        "generate_seconds": round(time.time() - began, 1),
        "excerpts": pieces["names"],
    } | piano_measured(pieces["onsets"], pieces["audio"], made)
    print(json.dumps(row))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as out:
        out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
