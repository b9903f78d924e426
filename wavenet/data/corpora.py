"""Manifests for public corpora, from a local copy laid out as the corpus ships.

- VCTK (Yamagishi et al.; 109 speakers, 48 kHz): release 0.92 (``wav48_silence_trimmed/pNNN/
  pNNN_MMM_mic1.flac``) and the older 0.80 (``wav48/pNNN/pNNN_MMM.wav``).
- MAESTRO v3 (Hawthorne et al. 2019): ``maestro-v3.0.0.csv`` beside the year folders; its own
  train/validation/test split is kept.
- Any folder of audio files: the speaker is the first folder below the root, or one given name.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import soundfile as sf

from wavenet.data.manifest import Utterance
from wavenet.errors import WavenetError

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au", ".w64", ".rf64", ".caf"}


def duration_of(path: Path) -> float:
    """Duration from the file header; 0 for unreadable files, which preparation then reports."""
    try:
        return float(sf.info(str(path)).duration)
    except (sf.LibsndfileError, RuntimeError, OSError):
        return 0.0


def _find_dir(root: Path, names: tuple[str, ...]) -> Path | None:
    for candidate in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        for name in names:
            if (candidate / name).is_dir():
                return candidate / name
    return None


def vctk_manifest(root: Path, mic: int = 1) -> list[Utterance]:
    """Utterances of VCTK 0.92 (one microphone, mic1 by default) or 0.80, speaker = pNNN folder."""
    root = Path(root)
    if not root.is_dir():
        raise WavenetError(f"{root}: not a directory")
    wav_dir = _find_dir(root, ("wav48_silence_trimmed", "wav48"))
    if wav_dir is None:
        raise WavenetError(f"{root}: no wav48_silence_trimmed/ (VCTK 0.92) or wav48/ (VCTK 0.80) folder found")
    if wav_dir.name == "wav48_silence_trimmed":
        files = sorted(wav_dir.glob(f"*/*_mic{mic}.flac"))
    else:
        files = sorted(wav_dir.glob("*/*.wav"))
    if not files:
        raise WavenetError(f"{wav_dir}: no VCTK audio files found")
    return [Utterance(f, f.parent.name, duration_of(f)) for f in files]


def maestro_manifest(root: Path) -> list[Utterance]:
    """Pieces of MAESTRO with its split (validation → valid); one speaker, 'piano'."""
    root = Path(root)
    tables = sorted(root.glob("maestro-v*.csv")) if root.is_dir() else []
    if not tables:
        raise WavenetError(f"{root}: no maestro-v*.csv found (expected the MAESTRO root folder)")
    table = tables[-1]
    utterances = []
    splits = {"train": "train", "validation": "valid", "test": "test"}
    with open(table, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"audio_filename", "split", "duration"} - set(reader.fieldnames or [])
        if missing:
            raise WavenetError(f"{table}:1: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            if row["split"] not in splits:
                raise WavenetError(f"{table}:{line}: unknown split {row['split']!r}")
            try:
                duration = float(row["duration"])
            except ValueError:
                raise WavenetError(f"{table}:{line}: duration is not a number: {row['duration']!r}") from None
            utterances.append(Utterance(root / row["audio_filename"], "piano", duration, splits[row["split"]]))
    if not utterances:
        raise WavenetError(f"{table}: no pieces listed")
    return utterances


def directory_manifest(root: Path, speaker: str | None = None) -> list[Utterance]:
    """Every audio file below ``root``; speaker = the first folder below root unless one is given."""
    root = Path(root)
    if not root.is_dir():
        raise WavenetError(f"{root}: not a directory")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        raise WavenetError(f"{root}: no audio files found ({', '.join(sorted(AUDIO_SUFFIXES))})")
    utterances = []
    for f in files:
        parts = f.relative_to(root).parts
        name = speaker or (parts[0] if len(parts) > 1 else root.name)
        utterances.append(Utterance(f, name, duration_of(f)))
    return utterances
