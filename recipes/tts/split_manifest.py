"""The text-to-speech manifest: every English voice of the offline speech corpus whose files have texts.

    python recipes/tts/split_manifest.py CORPUS_DIR OUT.tsv [--test-prompts 60] [--seed 0]

Held out as split "test", never trained on and never used to choose a checkpoint: a fixed random
choice of the transcribed en_US_f_Allison prompts (seeded: the same 60 as the mel vocoder's), so
that her synthesised prompts can be compared with her recordings. Each voice's files are read
with the text in X.txt beside each X.wav. Other splits: `wavenet prepare` holds out 5% per voice.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from wavenet.data.corpora import directory_manifest  # noqa: E402
from wavenet.data.manifest import Utterance, write_manifest  # noqa: E402

TRANSCRIBED = "asterisk-en_US_f_Allison"
ENGLISH = (TRANSCRIBED, "espeak-en", "mbrola-mb-", "flite-")  # the voices that read English


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--test-prompts", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    everything = directory_manifest(args.corpus)
    prompts = sorted(u.path for u in everything if u.speaker == TRANSCRIBED and u.path.with_suffix(".txt").is_file())
    # Never more than half of her prompts: she must keep some to be trained on (a small corpus).
    chosen = set(random.Random(args.seed).sample(prompts, min(args.test_prompts, len(prompts) // 2)))
    rows = [
        Utterance(u.path, u.speaker, u.duration, "test" if u.path in chosen else "")
        for u in everything
        if u.speaker.startswith(ENGLISH) and u.path.with_suffix(".txt").is_file()
    ]
    if not rows:
        sys.exit(f"{args.corpus}: no English voice with texts (run recipes/speech_offline/run.sh corpus)")
    write_manifest(args.out, rows)
    voices = len({u.speaker for u in rows})
    print(f"wrote {args.out}: {len(rows)} files of {voices} voices; test: {len(chosen)} {TRANSCRIBED} prompts")


if __name__ == "__main__":
    main()
