"""Free-running comparison of MIDI-to-piano releases on pieces that neither trained nor chose them:
excerpts of a folder of MIDI files with fluidsynth's renders beside them (render_corpus.py's
unseen/ folder), each rendered from its stretch of the piano roll alone and measured as the quality
report measures the valid pieces (onset F-measure beside fluidsynth's, chroma similarity, log-mel
distance). One JSON line per call is appended to --out: the voice issue's piano lever table
(docs/quality/piano-levers.jsonl).

    python recipes/midi_piano/compare.py RELEASE PIECES_DIR --label "what changed" \
        [--excerpts 6] [--seconds 30] [--temperature T]

Each piece gives --excerpts stretches of --seconds, evenly spaced from its start to its end.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from wavenet.data.audio import AudioOptions, load_audio
from wavenet.data.features import piano_roll, read_midi
from wavenet.evaluation.reports.common import resynthesise
from wavenet.evaluation.reports.conditioned import midi_onsets, piano_measured
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
    rate, hop = ckpt.config.sample_rate, ckpt.config.cond_hop
    count = round(args.seconds * rate / hop)  # frames of an excerpt
    references, reals, frames, names = [], [], [], []
    for midi in sorted(args.pieces.glob("*.mid")):
        audio = load_audio(midi.with_suffix(".wav"), AudioOptions(rate))
        roll = piano_roll(read_midi(midi), -(-len(audio) // hop), rate, hop)
        onsets = midi_onsets(midi)
        last = max(len(roll) - count, 0)
        for first in np.linspace(0, last, args.excerpts).round().astype(int) if last else [0]:
            start = first * hop / rate
            frames.append(roll[first : first + count])
            reals.append(audio[first * hop : (first + count) * hop])
            references.append(onsets[(onsets >= start) & (onsets < start + args.seconds)] - start)
            names.append(f"{midi.stem}@{start:.0f}s")
    began = time.time()
    made = resynthesise(ckpt, frames, [0] * len(frames), temperature=args.temperature)
    row = {
        "label": args.label,
        "release": str(args.release),
        "steps": ckpt.metadata.get("steps"),
        "source_harmonics": ckpt.config.source_harmonics,
        "temperature": args.temperature or ckpt.default_temperature,
        "generate_seconds": round(time.time() - began, 1),
        "excerpts": names,
    } | piano_measured(references, reals, made)
    print(json.dumps(row))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as out:
        out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
