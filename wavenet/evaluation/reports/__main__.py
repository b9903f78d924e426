"""python -m wavenet.evaluation.reports: see the package's docstring."""

from __future__ import annotations

import argparse
from pathlib import Path

from wavenet.evaluation.reports import conditioned, tts, tts_voices, unconditioned

SECTIONS = {"unconditioned": unconditioned, "conditioned": conditioned, "tts": tts, "tts-voices": tts_voices}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m wavenet.evaluation.reports", description=__doc__)
    parser.add_argument("sections", nargs="*", metavar="SECTION",
                        help="all (default), unconditioned, conditioned, tts or tts-voices")  # fmt: skip
    parser.add_argument(
        "--render-only", action="store_true", help="render QUALITY.md from the JSON files, measure nothing"
    )
    parser.add_argument("--prompts", type=int, default=60, help="tts: held-out prompts to use (a quick check: fewer)")
    parser.add_argument("--extra", type=int, default=40, help="tts: unread sentences of Debian's fortunes")
    parser.add_argument("--voices", default=",".join(tts.VOICES), help="tts: comma-separated voices, or all")
    parser.add_argument("--models", default=None,
                        help="tts: comma-separated releases measured side by side, the first the bundled default "
                        "(default: checkpoints/tts-acoustic,checkpoints/tts-small); tts-voices: the releases whose "
                        "every voice is measured (default: checkpoints/tts-acoustic)")  # fmt: skip
    parser.add_argument("--sentences", type=int, default=100,
                        help="tts-voices: how many of the 100 held-out sentences each voice says (evenly spread)")  # fmt: skip
    parser.add_argument("--minutes", type=float, default=None,
                        help="tts-voices: stop starting voices after this many minutes (the next run goes on)")  # fmt: skip
    parser.add_argument("--limit", type=int, default=None,
                        help="conditioned: at most this many files of each unheard voice and piano pieces (a quicker run)")  # fmt: skip
    parser.add_argument("--only", choices=("vocoder", "piano"), default=None,
                        help="conditioned: measure one model, keep the other's figures")  # fmt: skip
    parser.add_argument("--vocoder-data", type=Path, default=conditioned.ROOT / "work" / "mel_vocoder" / "data",
                        help="conditioned: the mel vocoder recipe's prepared data (default work/mel_vocoder/data)")  # fmt: skip
    args = parser.parse_args()
    unknown = set(args.sections) - {"all", *SECTIONS}
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; sections: all, {', '.join(SECTIONS)}")
    names = list(SECTIONS) if not args.sections or "all" in args.sections else args.sections
    for name in names:
        print(f"== {name}", flush=True)
        if name == "tts":
            models = tuple(Path(m) for m in args.models.split(",")) if args.models else tts.MODELS
            tts.run(args.render_only, models=models, prompts=args.prompts, extra=args.extra, voices=args.voices)
        elif name == "tts-voices":
            models = tuple(Path(m) for m in args.models.split(",")) if args.models else tts.MODELS[:1]
            tts_voices.run(args.render_only, models=models, sentences=args.sentences, minutes=args.minutes)
        elif name == "conditioned":
            conditioned.run(args.render_only, args.limit, args.only, args.vocoder_data)
        else:
            SECTIONS[name].run(args.render_only)


if __name__ == "__main__":
    main()
