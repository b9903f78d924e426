"""The manifest of a recipe on the offline speech corpus, with what is held out marked as split "test".

    python recipes/speech_offline/split_manifest.py CORPUS_DIR OUT.tsv [--held-out-speakers A,B]
        [--english-with-texts] [--test-prompts 60] [--seed 0]

The one chooser of held-out data for every recipe on this corpus (mel_vocoder, tts), so that
they hold out the same prompts. Held out as split "test", never trained on and never used to
choose a checkpoint:
- a fixed random choice of the transcribed en_US_f_Allison prompts (seeded: every run and every
  recipe holds out the same ones), never more than half of them, so that she keeps some to be
  trained on in a small corpus: her synthesised prompts are compared with her recordings;
- ``--held-out-speakers``: whole voices, to measure how a model serves voices it never heard.
Her transcripts repeat some sentences (``confbridge-only-one`` and ``conf-onlyone`` say the same
words), so every other file, in any voice not held out whole, that says a held-out prompt's text (compared after
:func:`wavenet.text.normalize.normalize`, ignoring case and punctuation) is left out of the
manifest: no held-out text is trained on, and the held-out prompts stay the same ones.
``--english-with-texts`` keeps only the English voices whose files have a text beside them
(X.txt beside X.wav), for text to speech. Every other file gets no split: ``wavenet prepare``
holds out 5% of each voice for validation.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from wavenet.data.corpora import directory_manifest  # noqa: E402
from wavenet.data.manifest import Utterance, write_manifest  # noqa: E402
from wavenet.text.normalize import normalize  # noqa: E402

TRANSCRIBED = "asterisk-en_US_f_Allison"
ENGLISH = (TRANSCRIBED, "espeak-en", "mbrola-mb-", "flite-")  # the voices that read English


def held_out_prompts(utterances: list[Utterance], count: int, seed: int) -> set[Path]:
    """The held-out Allison prompts: ``count`` of her transcribed files at random, at most half of them."""
    prompts = sorted(u.path for u in utterances if u.speaker == TRANSCRIBED and u.path.with_suffix(".txt").is_file())
    return set(random.Random(seed).sample(prompts, min(count, len(prompts) // 2)))


def spoken_text(audio: Path) -> str | None:
    """The words of the text beside ``audio`` (X.txt beside X.wav) as a reader says them, lower case, no
    punctuation: two files with the same are the same sentence. None where there is no text."""
    text = audio.with_suffix(".txt")
    if not text.is_file():
        return None
    return " ".join(re.findall(r"[\w']+", normalize(text.read_text(encoding="utf-8")).lower()))


def same_texts(utterances: list[Utterance], chosen: set[Path]) -> set[Path]:
    """The files besides ``chosen`` that say one of their texts, in any voice."""
    held = {spoken_text(path) for path in chosen}
    return {u.path for u in utterances if u.path not in chosen and spoken_text(u.path) in held}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--held-out-speakers", default="", help="comma-separated voices held out whole")
    parser.add_argument("--english-with-texts", action="store_true", help="only English voices' files with texts")
    parser.add_argument("--test-prompts", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    held_out = set(filter(None, args.held_out_speakers.split(",")))
    utterances = directory_manifest(args.corpus)
    missing = held_out - {u.speaker for u in utterances}
    if missing:
        sys.exit(f"held-out speaker(s) not in {args.corpus}: {', '.join(sorted(missing))}")
    chosen = held_out_prompts(utterances, args.test_prompts, args.seed)
    if args.english_with_texts:
        utterances = [u for u in utterances if u.speaker.startswith(ENGLISH) and u.path.with_suffix(".txt").is_file()]
        if not utterances:
            sys.exit(f"{args.corpus}: no English voice with texts (run recipes/speech_offline/run.sh corpus)")
    repeats = same_texts([u for u in utterances if u.speaker not in held_out], chosen)  # (whole voices: all test)
    rows = [
        Utterance(u.path, u.speaker, u.duration, "test" if u.speaker in held_out or u.path in chosen else "")
        for u in utterances
        if u.path not in repeats
    ]
    write_manifest(args.out, rows)
    voices = len({u.speaker for u in rows})
    whole = f" and the voices {', '.join(sorted(held_out))}" if held_out else ""
    print(
        f"wrote {args.out}: {len(rows)} files of {voices} voices; test: {len(chosen)} {TRANSCRIBED} prompts{whole}; "
        f"left out: {len(repeats)} other files saying a held-out prompt's text"
    )


if __name__ == "__main__":
    main()
