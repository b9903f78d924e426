"""Build a multi-speaker speech corpus offline, from Debian packages.

Real voices: the Asterisk telephone prompts (asterisk-core-sounds-*-g722: four professional
voice talents in five folders, true 16 kHz G.722; CC BY-SA 3.0). Synthetic voices: espeak-ng
accents and variants, MBROLA diphone voices (through espeak-ng) and flite voices, reading
sentences from Debian's fortunes (or, without it, Python's own documentation).

    python recipes/speech_offline/build_corpus.py OUT_DIR [--synthetic-minutes 3] [--asterisk-minutes 0]

Writes OUT_DIR/SPEAKER/NNNN.wav, with NNNN.txt beside it holding its text where it is known
(every synthetic sentence; the Asterisk prompts whose package ships transcripts: English),
OUT_DIR/voices.tsv (speaker, kind, engine, voice, files, minutes) and OUT_DIR/ATTRIBUTION.md.
Voices whose engine is not installed are skipped with a message; the build fails only when
fewer than --min-speakers voices result.
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

ASTERISK = Path("/usr/share/asterisk/sounds")
ASTERISK_FOLDERS = ["en_US_f_Allison", "es_MX_f_Allison", "fr_CA_f_June", "it_IT_m_Carlo", "ru_RU_f_IvrvoiceRU"]
ASTERISK_SKIP = re.compile(r"(^|/)silence/|beep|tone|tt-monkeys")
TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz")
FORTUNES = Path("/usr/share/games/fortunes")

# espeak-ng: two accents times male and female variants, plus four more accents. (en-gb+fN
# silently ignores the variant, so British variants are written en+fN.)
ESPEAK = [
    f"{accent}+{v}"
    for accent in ("en-us", "en")
    for v in [f"m{i}" for i in range(1, 8)] + [f"f{i}" for i in range(1, 6)]
]
ESPEAK += ["en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc"]
MBROLA = ["mb-us1", "mb-us2", "mb-us3", "mb-en1"]  # packages mbrola-us1 ... (Debian contrib/non-free)
FLITE = ["slt", "awb", "rms", "kal16"]


def log(message: str) -> None:
    print(f"[corpus] {message}", file=sys.stderr, flush=True)


def sentences() -> list[str]:
    """Short, plain English sentences to read aloud."""
    texts: list[str] = []
    if FORTUNES.is_dir():
        for path in sorted(FORTUNES.iterdir()):
            if path.suffix or not path.is_file() or path.name.startswith("."):
                continue
            texts += path.read_text(encoding="utf-8", errors="ignore").split("\n%\n")
    if len(texts) < 1000:
        import pydoc_data.topics

        texts += re.split(r"(?<=[.!?])\s+", " ".join(pydoc_data.topics.topics.values()))
    found = []
    for text in texts:
        text = re.sub(r"\s--\s.*$", "", text, flags=re.S)  # attributions; festival also chokes on "--"
        text = " ".join(text.replace('"', "").split())
        if 30 <= len(text) <= 200 and text.isascii() and re.fullmatch(r"[A-Za-z0-9 ,.;:!?'()-]+", text):
            found.append(text)
    return sorted(set(found))


def prompt_texts(folder: str) -> dict[str, str]:
    """Prompt name (its path without .g722) → text, from the package's transcripts; {} where none ship."""
    path = Path(str(TRANSCRIPTS).format(lang=folder[:2]))
    if not path.is_file():
        return {}
    texts = {}
    for line in gzip.open(path, "rt", encoding="utf-8", errors="ignore"):
        name, sep, text = line.partition(":")
        if sep and not line.startswith(";") and not text.strip().startswith("["):
            texts[name.strip()] = " ".join(text.split())
    return texts


def decode_asterisk(out: Path, max_minutes: float) -> list[tuple[str, str, str, str, int, float]]:
    try:
        import G722
    except ImportError:
        log("the G722 package is missing (pip install G722): skipping the Asterisk voices")
        return []
    voices = []
    for folder in ASTERISK_FOLDERS:
        source = ASTERISK / folder
        if not source.is_dir():
            log(f"{source} is missing (apt-get install asterisk-core-sounds-{folder[:2]}-g722): skipped")
            continue
        speaker = f"asterisk-{folder}"
        (out / speaker).mkdir(parents=True, exist_ok=True)
        texts = prompt_texts(folder)
        seconds, files = 0.0, 0
        for path in sorted(source.rglob("*.g722")):
            rel = path.relative_to(source).as_posix()
            if ASTERISK_SKIP.search(rel):
                continue
            pcm = np.asarray(G722.G722(16000, 64000).decode(path.read_bytes()), dtype=np.int16)
            if len(pcm) < 1600:  # under 0.1 s: a click, not a prompt
                continue
            sf.write(out / speaker / f"{files:04d}.wav", pcm, 16000, subtype="PCM_16")
            text = texts.get(rel.removesuffix(".g722"))
            if text:
                (out / speaker / f"{files:04d}.txt").write_text(text + "\n", encoding="utf-8")
            seconds += len(pcm) / 16000
            files += 1
            if max_minutes and seconds >= 60 * max_minutes:
                break
        voices.append((speaker, "recorded", "asterisk", folder, files, seconds / 60))
        log(f"{speaker}: {files} prompts, {seconds / 60:.1f} min")
    return voices


def synthesize(engine: str, voice: str, text: str, path: Path) -> bool:
    if engine == "flite":
        command = ["flite", "-voice", voice, "-t", text, "-o", str(path)]
    else:
        command = ["espeak-ng", "-v", voice, "-w", str(path), text]
    result = subprocess.run(command, capture_output=True, timeout=60)
    return result.returncode == 0 and path.exists() and path.stat().st_size > 1000


def synthetic_voice(engine: str, voice: str, pool: list[str], out: Path, minutes: float):
    speaker = f"{engine}-{voice.replace('+', '-')}"
    folder = out / speaker
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(speaker)
    order = rng.sample(pool, len(pool))
    seconds, files = 0.0, 0
    for text in order:
        path = folder / f"{files:04d}.wav"
        if not synthesize(engine, voice, text, path):
            if files == 0:
                shutil.rmtree(folder)
                return None
            continue
        path.with_suffix(".txt").write_text(text + "\n", encoding="utf-8")
        seconds += sf.info(str(path)).duration
        files += 1
        if seconds >= 60 * minutes:
            break
    return (speaker, "synthetic", engine, voice, files, seconds / 60)


def available(engine: str, voice: str) -> bool:
    if engine == "flite":
        return shutil.which("flite") is not None
    if shutil.which("espeak-ng") is None:
        return False
    if engine == "mbrola":
        with tempfile.TemporaryDirectory() as tmp:  # espeak-ng lists MBROLA voices whose data is missing
            return synthesize(engine, voice, "A test.", Path(tmp) / "t.wav")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--synthetic-minutes", type=float, default=3.0, help="audio per synthetic voice")
    parser.add_argument("--asterisk-minutes", type=float, default=0.0, help="cap per Asterisk voice (0: all)")
    parser.add_argument("--min-speakers", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)

    voices = decode_asterisk(args.out_dir, args.asterisk_minutes)
    pool = sentences()
    log(f"{len(pool)} sentences to read")
    wanted = [("espeak", v) for v in ESPEAK] + [("mbrola", v) for v in MBROLA] + [("flite", v) for v in FLITE]
    usable = [(e, v) for e, v in wanted if available(e, v)]
    for engine, voice in sorted(set(wanted) - set(usable)):
        log(f"{engine} voice {voice} is not installed: skipped")
    with ThreadPoolExecutor(args.jobs) as pool_exec:
        results = pool_exec.map(lambda ev: synthetic_voice(*ev, pool, args.out_dir, args.synthetic_minutes), usable)
        for result in results:
            if result:
                voices.append(result)
                log(f"{result[0]}: {result[4]} sentences, {result[5]:.1f} min")
    rows = ["speaker\tkind\tengine\tvoice\tfiles\tminutes"] + [
        "\t".join(map(str, v[:5])) + f"\t{v[5]:.2f}" for v in voices
    ]
    (args.out_dir / "voices.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (args.out_dir / "ATTRIBUTION.md").write_text(ATTRIBUTION, encoding="utf-8")
    total = sum(v[5] for v in voices)
    log(f"{len(voices)} voices, {total:.0f} minutes in {args.out_dir}")
    if len(voices) < args.min_speakers:
        sys.exit(f"only {len(voices)} voices could be built (fewer than --min-speakers {args.min_speakers}); see above")


ATTRIBUTION = """# Sources of this corpus

- Recorded speech: Asterisk core sound prompts (Debian packages asterisk-core-sounds-en-g722,
  -es-, -fr-, -it-, -ru-), by Allison Smith (en_US, es_MX), June Wallack (fr_CA), Carlo
  (it_IT) and IvrvoiceRU (ru_RU), Copyright Digium, Inc. and contributors, licensed under the
  Creative Commons Attribution-ShareAlike 3.0 licence (CC BY-SA 3.0). Models trained on these
  recordings carry this attribution.
- Synthetic speech: generated here with espeak-ng (GPL-3.0+), MBROLA voices us1, us2, us3, en1
  (non-commercial, non-military use licence of the MBROLA project) and flite (BSD-like), reading
  sentences from Debian's fortunes-min/fortunes (public domain and fair-use quotations) or from
  the Python documentation (PSF licence).
"""


if __name__ == "__main__":
    main()
