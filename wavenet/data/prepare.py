"""Preparation: from a manifest of raw audio to μ-law codes that training memory-maps.

Every file is read, mixed to mono, resampled, optionally trimmed and normalised, and μ-law
encoded once, here; a file that cannot be read, or is empty or silent, is reported with its
path and skipped now rather than hours into a training run. The output directory holds::

    dataset.json         speakers (name → id), splits, audio options, what was skipped
    train.codes.npy      uint8 μ-law codes of all training utterances, concatenated
    train.index.npy      int64 (utterances, 3): offset, length, speaker id
    train.feats.npy      with --features: float16 (frames, channels) of all training utterances
    train.frames.npy     int64 (utterances, 2): offset, count of each utterance's frames
    train.mel.npy        with linguistic features: float16 (frames, n_mels), the recording's log-mel at the
                         same frames (what an acoustic model learns to predict from the linguistic frames)
    valid.* / test.*     the same for the other splits

With features (:mod:`wavenet.data.features`), dataset.json also holds their options and the
per-channel mean and standard deviation over the training frames, which a conditioned model
keeps with its weights.
    train.tsv, valid.tsv the utterances kept in each split, as manifests (``wavenet eval`` takes them)
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from wavenet import mulaw
from wavenet.data.audio import AudioOptions, load_audio, model_codes
from wavenet.data.features import FeatureOptions, features_for, mel_frames
from wavenet.data.manifest import Utterance, read_manifest, write_manifest
from wavenet.errors import WavenetError
from wavenet.files import atomic_write_text

log = logging.getLogger(__name__)

FORMAT = "wavenet-dataset"
VERSION = 1


@dataclass(frozen=True)
class SplitOptions:
    """How utterances without a split in the manifest are divided."""

    valid_fraction: float = 0.05  # of each speaker's utterances, at least one where a speaker has two
    valid_speakers: tuple[str, ...] = ()  # speakers held out whole (all their utterances go to valid)
    seed: int = 0


@dataclass
class PrepareSummary:
    speakers: dict[str, int]
    splits: dict[str, dict[str, float]]
    skipped: list[dict[str, str]] = field(default_factory=list)


# codes; the frames when features are asked for; the log-mel beside linguistic frames
Encoded = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]


def acoustic_targets(features: FeatureOptions) -> FeatureOptions:
    """The mel frames stored beside linguistic frames: a mel vocoder's bands at the same hop (the default mel settings)."""
    return FeatureOptions(kind="mel", hop=features.hop)


def _encode_file(job: tuple[Path, AudioOptions, int, FeatureOptions | None]) -> tuple[Encoded | None, str]:
    path, options, mu, features = job
    try:
        audio = load_audio(path, options)
        frames = mel = None
        if features is not None:
            frames = features_for(audio, options.sample_rate, features, path, options.preemphasis).astype(np.float16)
        if features is not None and features.kind == "linguistic":
            mel = mel_frames(audio, options.sample_rate, acoustic_targets(features)).astype(np.float16)
            if len(mel) != len(frames):
                raise WavenetError(f"{path}: {len(mel)} mel frames for {len(frames)} linguistic frames")
        return (model_codes(audio, options, mu).astype(np.uint8), frames, mel), ""
    except WavenetError as err:
        return None, str(err)


def assign_splits(utterances: list[Utterance], options: SplitOptions) -> list[str]:
    """A split for every utterance: the manifest's, else held-out speaker, else a seeded fraction per speaker."""
    if not 0 <= options.valid_fraction < 1:
        raise WavenetError(f"valid_fraction must be in [0, 1), got {options.valid_fraction}")
    speakers = {u.speaker for u in utterances}
    unknown = sorted(set(options.valid_speakers) - speakers)
    if unknown:
        raise WavenetError(f"held-out speaker(s) {', '.join(unknown)} not in the manifest")
    splits = [u.split for u in utterances]
    by_speaker: dict[str, list[int]] = defaultdict(list)
    for i, u in enumerate(utterances):
        if not u.split:
            if u.speaker in options.valid_speakers:
                splits[i] = "valid"
            else:
                by_speaker[u.speaker].append(i)
    rng = np.random.default_rng(options.seed)
    for speaker in sorted(by_speaker):
        indices = by_speaker[speaker]
        n_valid = round(options.valid_fraction * len(indices))
        if options.valid_fraction > 0 and len(indices) >= 2:
            n_valid = max(n_valid, 1)
        chosen = set(rng.permutation(len(indices))[:n_valid].tolist())
        for j, i in enumerate(indices):
            splits[i] = "valid" if j in chosen else "train"
    return splits


def feature_statistics(frames: list[np.ndarray], floor: float = 0.05) -> dict[str, list[float]]:
    """Per-channel mean and standard deviation (at least ``floor``: a piano key never played is no reason to divide by 0)."""
    total = sum(len(f) for f in frames)
    mean = sum(f.astype(np.float64).sum(axis=0) for f in frames) / total
    var = sum(((f.astype(np.float64) - mean) ** 2).sum(axis=0) for f in frames) / total
    return {"mean": mean.round(6).tolist(), "std": np.maximum(np.sqrt(var), floor).round(6).tolist()}


def prepare(
    manifest: Path,
    out_dir: Path,
    audio: AudioOptions = AudioOptions(),
    split: SplitOptions = SplitOptions(),
    mu: int = mulaw.MU,
    workers: int = 2,
    features: FeatureOptions | None = None,
) -> PrepareSummary:
    if features is not None and features.kind == "pianoroll" and audio.trim_silence:
        raise WavenetError(
            "--trim-silence cannot be used with pianoroll features: it would shift audio against its MIDI"
        )
    utterances = read_manifest(manifest)
    splits = assign_splits(utterances, split)
    speakers = {name: i for i, name in enumerate(sorted({u.speaker for u in utterances}))}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "dataset.json").unlink(missing_ok=True)  # until rewritten, the directory is unfinished

    jobs = [(u.path, audio, mu, features) for u in utterances]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_encode_file, jobs, chunksize=8))
    else:
        results = [_encode_file(job) for job in jobs]

    per_split: dict[str, list[tuple[np.ndarray, int, Utterance]]] = defaultdict(list)
    split_frames: dict[str, list[np.ndarray]] = defaultdict(list)
    split_mels: dict[str, list[np.ndarray]] = defaultdict(list)
    skipped = []
    for u, s, (encoded, error) in zip(utterances, splits, results, strict=True):
        if encoded is None:
            log.warning("skipped %s", error)
            skipped.append({"path": str(u.path), "reason": error})
        else:
            codes, frames, mel = encoded
            per_split[s].append((codes, speakers[u.speaker], u))
            if frames is not None:
                split_frames[s].append(frames)
            if mel is not None:
                split_mels[s].append(mel)
    if not per_split.get("train"):
        raise WavenetError(f"{manifest}: no usable training audio ({len(skipped)} file(s) skipped)")

    summary_splits = {}
    for name, items in sorted(per_split.items()):
        lengths = np.array([len(c) for c, _, _ in items], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        index = np.stack([offsets, lengths, np.array([sid for _, sid, _ in items], dtype=np.int64)], axis=1)
        np.save(out_dir / f"{name}.codes.npy", np.concatenate([c for c, _, _ in items]))
        np.save(out_dir / f"{name}.index.npy", index)
        summary_splits[name] = {
            "utterances": len(items),
            "samples": int(lengths.sum()),
            "seconds": round(float(lengths.sum()) / audio.sample_rate, 3),
            "speakers": len({sid for _, sid, _ in items}),
        }
        kept = [Utterance(u.path.resolve(), u.speaker, len(c) / audio.sample_rate, name) for c, _, u in items]
        write_manifest(out_dir / f"{name}.tsv", kept)
        if features is not None:
            counts = np.array([len(f) for f in split_frames[name]], dtype=np.int64)
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            np.save(out_dir / f"{name}.feats.npy", np.concatenate(split_frames[name]))
            np.save(out_dir / f"{name}.frames.npy", np.stack([starts, counts], axis=1))
        if split_mels.get(name):
            np.save(out_dir / f"{name}.mel.npy", np.concatenate(split_mels[name]))
    config = {
        "format": FORMAT,
        "version": VERSION,
        "mu": mu,
        "audio": asdict(audio),
        "split": asdict(split),
        "speakers": speakers,
        "splits": summary_splits,
        "skipped": skipped,
        "manifest": str(Path(manifest).resolve()),
    }
    if features is not None:
        config["features"] = {**features.to_dict(), **feature_statistics(split_frames["train"])}
    if split_mels:
        config["mel"] = {**acoustic_targets(features).to_dict(), **feature_statistics(split_mels["train"])}
    # Written last: a directory without dataset.json is an unfinished preparation.
    atomic_write_text(out_dir / "dataset.json", json.dumps(config, indent=2) + "\n")
    return PrepareSummary(speakers=speakers, splits=summary_splits, skipped=skipped)
