"""Manifests: one row per utterance or piece, as a tab-separated file with a header.

    path                    speaker   duration   split
    p225/p225_001.wav       p225      2.13       train

``path`` is relative to the manifest's directory (or absolute), ``duration`` in seconds, and
``split`` (optional: train, valid or test) fixes the split where a corpus defines one, as
MAESTRO does. Anything wrong in a manifest is reported with its file and line.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from wavenet.errors import WavenetError

COLUMNS = ("path", "speaker", "duration")
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Utterance:
    path: Path
    speaker: str
    duration: float
    split: str = ""  # empty: preparation decides


def read_manifest(path: Path) -> list[Utterance]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise WavenetError(f"{path}: cannot read manifest ({err})") from None
    rows = list(csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        raise WavenetError(f"{path}:1: empty manifest (expected a header: {'<TAB>'.join(COLUMNS)}[<TAB>split])")
    header = rows[0]
    if tuple(header[:3]) != COLUMNS or header[3:] not in ([], ["split"]):
        raise WavenetError(f"{path}:1: header must be {'<TAB>'.join(COLUMNS)}[<TAB>split], got {'<TAB>'.join(header)}")
    utterances = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != len(header):
            raise WavenetError(f"{path}:{line}: expected {len(header)} tab-separated fields, got {len(row)}")
        audio, speaker, duration = row[0], row[1], row[2]
        split = row[3] if len(row) > 3 else ""
        if not audio or not speaker:
            raise WavenetError(f"{path}:{line}: path and speaker must not be empty")
        try:
            seconds = float(duration)
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds >= 0):
            raise WavenetError(f"{path}:{line}: duration must be a non-negative number of seconds, got {duration!r}")
        if split and split not in SPLITS:
            raise WavenetError(f"{path}:{line}: split must be one of {', '.join(SPLITS)}, got {split!r}")
        file = Path(audio)
        utterances.append(Utterance(file if file.is_absolute() else path.parent / file, speaker, seconds, split))
    if not utterances:
        raise WavenetError(f"{path}: no utterances listed")
    return utterances


def write_manifest(path: Path, utterances: list[Utterance]) -> None:
    """Write a manifest with paths relative to its own directory where possible."""
    path = Path(path)
    with_split = any(u.split for u in utterances)
    lines = ["\t".join(COLUMNS + (("split",) if with_split else ()))]
    for u in utterances:
        for field in (str(u.path), u.speaker):
            if "\t" in field or "\n" in field:
                raise WavenetError(f"{path}: a path or speaker holds a tab or newline: {field!r}")
        try:
            rel = Path(u.path).resolve().relative_to(path.parent.resolve())
        except ValueError:
            rel = Path(u.path).resolve()
        row = [str(rel), u.speaker, f"{u.duration:.3f}"] + ([u.split] if with_split else [])
        lines.append("\t".join(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
