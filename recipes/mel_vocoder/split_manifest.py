"""The vocoder's manifest: every voice of the offline speech corpus, with what is held out marked.

    python recipes/mel_vocoder/split_manifest.py CORPUS_DIR OUT.tsv [--held-out-speakers A,B] [--test-prompts 60]

Two things are held out of training and of model selection, as split "test":
- whole voices the vocoder never hears (default: the recorded Italian man, a MBROLA and a flite
  voice), to measure how it serves voices it never heard;
- a fixed random choice of English Asterisk prompts of en_US_f_Allison that have transcripts
  (seeded, so every run holds out the same ones), for the recogniser's word error rate.
Every other file gets no split: `wavenet prepare` holds out 5% of each voice for validation.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from wavenet.data.corpora import directory_manifest  # noqa: E402
from wavenet.data.manifest import Utterance, write_manifest  # noqa: E402

HELD_OUT_SPEAKERS = ("asterisk-it_IT_m_Carlo", "mbrola-mb-us2", "flite-awb")
TRANSCRIBED = "asterisk-en_US_f_Allison"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--held-out-speakers", default=",".join(HELD_OUT_SPEAKERS))
    parser.add_argument("--test-prompts", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    held_out = set(filter(None, args.held_out_speakers.split(",")))
    utterances = directory_manifest(args.corpus)
    missing = held_out - {u.speaker for u in utterances}
    if missing:
        sys.exit(f"held-out speaker(s) not in {args.corpus}: {', '.join(sorted(missing))}")
    prompts = sorted(u.path for u in utterances if u.speaker == TRANSCRIBED and u.path.with_suffix(".txt").is_file())
    chosen = set(random.Random(args.seed).sample(prompts, min(args.test_prompts, len(prompts))))
    rows = [
        Utterance(u.path, u.speaker, u.duration, "test" if u.speaker in held_out or u.path in chosen else "")
        for u in utterances
    ]
    write_manifest(args.out, rows)
    print(
        f"wrote {args.out}: {len(rows)} files; test: {len(chosen)} {TRANSCRIBED} prompts and the voices {', '.join(sorted(held_out))}"
    )


if __name__ == "__main__":
    main()
