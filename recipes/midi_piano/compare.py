"""Free-running comparison of MIDI-to-piano releases on pieces that neither trained nor chose them:
the first N pieces of a folder of MIDI files with fluidsynth's renders beside them (render_corpus.py's
unseen/ folder), the first S seconds of each rendered from its MIDI file alone and measured as the
quality report measures the valid pieces (onset F-measure beside fluidsynth's, chroma similarity,
log-mel distance). One JSON line per call is appended to --out: the voice issue's piano lever table
(docs/quality/piano-levers.jsonl).

    python recipes/midi_piano/compare.py RELEASE PIECES_DIR --label "what changed" [--count 12] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from wavenet.data.audio import AudioOptions, load_audio
from wavenet.data.features import piano_roll, read_midi
from wavenet.evaluation.reports.common import resynthesise
from wavenet.evaluation.reports.conditioned import piano_measured
from wavenet.release import load_release


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("release", type=Path)
    parser.add_argument("pieces", type=Path, help="a folder of NAME.mid with fluidsynth's NAME.wav beside each")
    parser.add_argument("--label", required=True, help="what this row changes (the lever)")
    parser.add_argument("--count", type=int, default=12, help="how many pieces, in name order (default 12)")
    parser.add_argument("--seconds", type=float, default=30.0, help="of each piece, from its start (default 30)")
    parser.add_argument("--temperature", type=float, default=None, help="default: the release's")
    parser.add_argument("--out", type=Path, default=Path("docs/quality/piano-levers.jsonl"))
    args = parser.parse_args()
    ckpt = load_release(args.release)
    rate, hop = ckpt.config.sample_rate, ckpt.config.cond_hop
    midis = sorted(args.pieces.glob("*.mid"))[: args.count]
    reals, frames = [], []
    for midi in midis:
        audio = load_audio(midi.with_suffix(".wav"), AudioOptions(rate))[: round(args.seconds * rate)]
        count = -(-len(audio) // hop)
        reals.append(audio)
        frames.append(piano_roll(read_midi(midi), count, rate, hop))
    start = time.time()
    made = resynthesise(ckpt, frames, [0] * len(frames), temperature=args.temperature)
    row = {
        "label": args.label,
        "release": str(args.release),
        "steps": ckpt.metadata.get("steps"),
        "source_harmonics": ckpt.config.source_harmonics,
        "temperature": args.temperature or ckpt.default_temperature,
        "generate_seconds": round(time.time() - start, 1),
        "names": [m.stem for m in midis],
    } | piano_measured(midis, reals, made)
    print(json.dumps(row))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as out:
        out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
