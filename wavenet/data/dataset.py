"""Prepared data as training reads it: memory-mapped codes and reproducible random crops.

A training example is a crop of one utterance, seen as ``[silence] + codes``: the code of
silence stands for "before the audio", as it does when generation starts, so the first sample
of an utterance is predicted the same way in training, evaluation and generation.

The crops of step s on rank r are a pure function of (seed, s, r). A resumed run therefore
continues with exactly the batches it would have seen, with no sampler state to save.

With features, a crop starts on a frame boundary and comes with the window of frames its
positions read (:func:`wavenet.model.frame_span`, :func:`wavenet.model.frame_window`), so that
training sees every sample's conditioning exactly as generation computes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from wavenet import mulaw
from wavenet.data.audio import AudioOptions
from wavenet.data.features import FeatureOptions
from wavenet.errors import WavenetError
from wavenet.excitation import (
    PHASE_WINDOW_SECONDS,
    SINE_PHASES,
    crop_source,
    frame_cycles,
    frame_filters,
    key_source,
    key_starts,
    recording_phase,
    sample_phase,
    sine_source,
    sines_at,
)  # fmt: skip
from wavenet.model import frame_span, frame_window

IGNORE = -100  # target value that the loss skips


@dataclass
class Split:
    name: str
    codes: np.ndarray  # (total,) uint8, memory-mapped
    index: np.ndarray  # (utterances, 3) int64: offset, length, speaker id
    feats: np.ndarray | None = None  # (frames, channels) float16, memory-mapped
    frames: np.ndarray | None = None  # (utterances, 2) int64: offset, count
    mel: np.ndarray | None = None  # beside linguistic frames: (frames, n_mels) float16, memory-mapped

    @property
    def samples(self) -> int:
        return int(self.index[:, 1].sum())

    def utterance(self, i: int) -> np.ndarray:
        offset, length, _ = self.index[i]
        return self.codes[offset : offset + length]

    def utterance_frames(self, i: int) -> np.ndarray:
        """Utterance i's feature frames, (frames, channels) float16."""
        offset, count = self.frames[i]
        return self.feats[offset : offset + count]


@dataclass
class Batch:
    """Crops for one step: inputs and targets (B, L), speakers (B,), and with features their frames (B, C, W).

    ``first``: the first position whose target any crop counts (before it, every target is
    IGNORE): the model need not compute the logits before it. A source-filter model's crops
    also carry ``source``, the codes of each position's prediction and last excitation (B, L)
    each (:mod:`wavenet.excitation`), and their targets are excitation codes. A model with a
    periodic source's crops carry ``sines`` (B, harmonics, L) float32: the source at each
    position's target sample.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    speakers: torch.Tensor
    frames: torch.Tensor | None = None
    first: int = 0
    source: tuple[torch.Tensor, torch.Tensor] | None = None
    sines: torch.Tensor | None = None

    def to(self, device: torch.device) -> Batch:
        frames = None if self.frames is None else self.frames.to(device)
        source = None if self.source is None else tuple(s.to(device) for s in self.source)
        sines = None if self.sines is None else self.sines.to(device)
        return Batch(
            self.inputs.to(device), self.targets.to(device), self.speakers.to(device), frames, self.first, source,
            sines,
        )  # fmt: skip


class PreparedData:
    """A directory written by :func:`wavenet.data.prepare.prepare`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        meta_path = self.directory / "dataset.json"
        if not meta_path.is_file():
            raise WavenetError(f"{meta_path}: missing (prepare the data first with `wavenet prepare`)")
        try:
            self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise WavenetError(f"{meta_path}:{err.lineno}: invalid JSON: {err.msg}") from None
        self.speakers: dict[str, int] = self.meta["speakers"]
        self.mu: int = self.meta["mu"]
        self.audio = AudioOptions(**self.meta["audio"])
        saved = dict(self.meta.get("features") or {})
        self.feature_stats = {k: saved.pop(k) for k in ("mean", "std") if k in saved}
        self.features = FeatureOptions.from_dict(saved, f"{meta_path}: features") if saved else None
        mel = dict(self.meta.get("mel") or {})  # beside linguistic frames: the recordings' log-mel
        self.mel_stats = {k: mel.pop(k) for k in ("mean", "std") if k in mel}
        self.mel = FeatureOptions.from_dict(mel, f"{meta_path}: mel") if mel else None

    @property
    def sample_rate(self) -> int:
        return self.audio.sample_rate

    @property
    def split_names(self) -> list[str]:
        return list(self.meta["splits"])

    def split(self, name: str) -> Split:
        if name not in self.meta["splits"]:
            raise WavenetError(f"{self.directory}: no {name!r} split (splits: {', '.join(self.split_names)})")
        try:
            codes = np.load(self.directory / f"{name}.codes.npy", mmap_mode="r")
            index = np.load(self.directory / f"{name}.index.npy")
            feats = frames = mel = None
            if self.features is not None:
                feats = np.load(self.directory / f"{name}.feats.npy", mmap_mode="r")
                frames = np.load(self.directory / f"{name}.frames.npy")
            if self.mel is not None:
                mel = np.load(self.directory / f"{name}.mel.npy", mmap_mode="r")
        except (OSError, ValueError) as err:
            raise WavenetError(f"{self.directory}: {name} split is unreadable ({err})") from None
        return Split(name, codes, index, feats, frames, mel)


class CropSampler:
    """Batches of random crops: inputs, targets shifted by one, and speaker ids.

    A crop has ``length`` positions. Utterances are chosen with probability proportional to
    their length, so every sample is equally likely to be seen. Where ``skip_context`` is set,
    the first ``receptive_field - 1`` targets of a crop that starts inside an utterance are
    ignored by the loss: their context is cut off by the crop and replaced by zero padding,
    which never happens in generation. Crops that start at the utterance's beginning keep
    them, since there the padding is the truth. Utterances shorter than a crop are padded with
    silence and the padded targets ignored.
    """

    def __init__(
        self,
        split: Split,
        length: int,
        receptive_field: int,
        mu: int,
        seed: int,
        skip_context: bool = True,
        hop: int = 0,
        context: int = 0,
        speaker_dropout: float = 0.0,
        any_speaker: int = 0,
        lpc_order: int = 0,
        source_noise: float = 0.0,
        harmonics: int = 0,
        sample_rate: int = 16000,
        sine_phase: str = "frames",
        source_keys: bool = False,
    ) -> None:
        """``hop`` and ``context`` (a conditioned model's cond_hop and cond_layers) ask for frames with the crops;
        a ``speaker_dropout`` share of crops gets speaker id ``any_speaker`` instead of its own;
        ``lpc_order`` > 0 (a source-filter model) asks for source inputs and excitation targets, and
        ``source_noise`` (in μ-law codes: a Gaussian's standard deviation, rounded) perturbs what
        such a model hears of the signal (:func:`wavenet.excitation.crop_source`'s ``heard``);
        ``harmonics`` > 0 (a periodic source) asks for the sines at each crop's samples, from the F0
        in the frames' last channel at ``sample_rate``, at the phase integrated from that F0
        (``sine_phase`` "frames", what generation does) or moved onto the recording's fundamental
        ("recording": :func:`wavenet.excitation.recording_phase`); with ``source_keys``, the
        frames are a piano roll and the sines are at its sounding keys (:func:`wavenet.excitation.key_source`)."""
        if length < 1:
            raise WavenetError(f"crop length must be at least one sample, got {length}")
        if len(split.index) == 0:
            raise WavenetError(f"split {split.name} holds no utterances")
        self.split = split
        self.length = length
        self.skip = receptive_field - 1 if skip_context else 0
        self.silence = mulaw.silence_code(mu)
        self.seed = seed
        self.hop, self.context = hop, context
        self.speaker_dropout, self.any_speaker = speaker_dropout, any_speaker
        self.lpc_order, self.mu, self.source_noise = lpc_order, mu, source_noise
        self.harmonics, self.sample_rate = harmonics, sample_rate
        if sine_phase not in SINE_PHASES:
            raise WavenetError(f"sine phase must be one of {', '.join(SINE_PHASES)}, got {sine_phase!r}")
        if sine_phase != "frames" and source_keys:
            raise WavenetError("a piano roll's sines start with each note: they have no recording phase to follow")
        self.sine_phase, self.source_keys = sine_phase, source_keys
        if hop and split.feats is None:
            raise WavenetError(f"split {split.name} holds no feature frames (prepare the data with --features)")
        lengths = split.index[:, 1].astype(np.float64)
        self._weights = lengths / lengths.sum()

    def batch(self, step: int, batch_size: int, rank: int = 0, stream: int = 0) -> Batch:
        """Inputs (B, L) int64, targets (B, L) int64 with IGNORE where skipped, speakers (B,), frames (B, C, W).

        ``stream`` separates independent uses of one seed: 0 for training, 1 for validation.
        """
        rng = np.random.Generator(np.random.PCG64([self.seed, stream, step, rank]))
        picks = rng.choice(len(self._weights), size=batch_size, p=self._weights)
        starts = rng.random(batch_size)
        inputs = np.full((batch_size, self.length), self.silence, dtype=np.int64)
        targets = np.full((batch_size, self.length), IGNORE, dtype=np.int64)
        speakers = self.split.index[picks, 2].astype(np.int64)
        frames = []
        source = np.zeros((2, batch_size, self.length), dtype=np.int64) if self.lpc_order else None
        sines = np.zeros((batch_size, self.harmonics, self.length), dtype=np.float32) if self.harmonics else None
        noise_rng = np.random.Generator(np.random.PCG64([self.seed, stream, step, rank, 2]))  # crops unchanged
        for b, (i, u) in enumerate(zip(picks, starts, strict=True)):
            codes = self.split.utterance(int(i))
            # The utterance as a sequence of n + 1 inputs: [silence] + codes; targets are codes.
            n = len(codes)
            if self.hop:  # first target index on a frame boundary, in [0, n - length]
                start = self.hop * int(u * (max(n - self.length, 0) // self.hop + 1))
                frames.append(self._frames(int(i), start))
            else:  # first target index, in [0, n - length]
                start = int(u * (max(n - self.length, 0) + 1))
            take = min(self.length, n - start)
            heard = None
            if source is not None and self.source_noise > 0:  # what the network hears: the crop and its history, noisy
                lo = max(0, start - 1 - self.lpc_order)
                heard = np.array(codes, dtype=np.int64)
                noise = np.rint(noise_rng.normal(0.0, self.source_noise, start + take - lo)).astype(np.int64)
                heard[lo : start + take] = np.clip(heard[lo : start + take] + noise, 0, self.mu)
            targets[b, :take] = codes[start : start + take]
            if source is not None:  # the targets become excitation codes; their inputs, the source's codes
                filters = frame_filters(
                    self.split.utterance_frames(int(i)),
                    self.lpc_order,
                    f0=bool(self.harmonics) and not self.source_keys,
                )
                source[0, b], source[1, b], excitation = crop_source(
                    codes, start, self.length, filters, self.hop, self.mu, heard
                )
                targets[b, :take] = excitation[:take]
            if sines is not None:
                sines[b] = self._sines(int(i), codes, start).T
            said = codes if heard is None else heard  # the last sample's code, as the network hears it
            if start == 0:
                inputs[b, 1:take] = said[: take - 1]
            else:
                inputs[b, :take] = said[start - 1 : start - 1 + take]
                targets[b, : self.skip] = IGNORE
        if self.speaker_dropout:  # from a generator of its own: the crops stay those of no dropout
            drop = np.random.Generator(np.random.PCG64([self.seed, stream, step, rank, 1])).random(batch_size)
            speakers[drop < self.speaker_dropout] = self.any_speaker
        stacked = torch.from_numpy(np.stack(frames)).float() if frames else None
        counted = np.flatnonzero((targets != IGNORE).any(axis=0))
        first = int(counted[0]) if len(counted) else 0
        pair = None if source is None else (torch.from_numpy(source[0]), torch.from_numpy(source[1]))
        return Batch(
            torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(speakers), stacked, first, pair,
            None if sines is None else torch.from_numpy(sines),
        )  # fmt: skip

    def _sines(self, utterance: int, codes: np.ndarray, start: int) -> np.ndarray:
        """The periodic source at positions start .. start + length - 1: (length, harmonics)."""
        if self.source_keys:
            starts = key_starts(self.split.utterance_frames(utterance))
            positions = np.arange(start, start + self.length)
            return key_source(starts, positions, self.hop, self.sample_rate, self.harmonics)
        f0 = self.split.utterance_frames(utterance)[:, -1]
        cycles = frame_cycles(f0, self.hop, self.sample_rate)
        if self.sine_phase == "frames":
            positions = np.arange(start, start + self.length)
            return sine_source(f0, cycles, positions, self.hop, self.sample_rate, self.harmonics)
        window = round(PHASE_WINDOW_SECONDS * self.sample_rate)
        lo = max(start - window, 0)  # the window's reach on either side of the crop
        span = np.arange(lo, start + self.length + window)
        signal = np.zeros(len(span))
        known = codes[lo : span[-1] + 1]
        signal[: len(known)] = mulaw.decode(np.asarray(known), self.mu)
        phase, f = sample_phase(f0, cycles, span, self.hop, self.sample_rate)
        phase = recording_phase(signal, phase, window)
        crop = slice(start - lo, start - lo + self.length)
        return sines_at(phase[crop], f[crop], self.sample_rate, self.harmonics)

    def _frames(self, utterance: int, start: int) -> np.ndarray:
        """The frames that positions start .. start + length - 1 read, with context: (C, W)."""
        frames = self.split.utterance_frames(utterance)
        a, b = frame_span(start, start + self.length, self.hop)
        return frames[frame_window(len(frames), a, b, self.context).numpy()].T

    def fixed_batches(self, count: int, batch_size: int) -> list[Batch]:
        """The same ``count`` crops every time: a validation set whose loss can be compared across steps."""
        batches = []
        for i, start in enumerate(range(0, count, batch_size)):
            batches.append(self.batch(i, min(batch_size, count - start), stream=1))
        return batches


@dataclass
class FrameBatch:
    """Frame-level crops for an acoustic model: linguistic frames (B, T, C), the recordings' log-mel (B, T, n_mels),
    speakers (B,) and a mask (B, T) of the frames that count (shorter utterances are padded)."""

    frames: torch.Tensor
    mel: torch.Tensor
    speakers: torch.Tensor
    mask: torch.Tensor

    def to(self, device: torch.device) -> FrameBatch:
        return FrameBatch(self.frames.to(device), self.mel.to(device), self.speakers.to(device), self.mask.to(device))


class FrameSampler:
    """Crops of at most ``crop`` frames of linguistic frames and their log-mel, a pure function of (seed, step, rank).

    Utterances are drawn in proportion to their length (as :class:`CropSampler` draws samples), and a
    crop starts anywhere in its utterance that leaves it whole where it fits."""

    def __init__(self, split: Split, crop: int, seed: int) -> None:
        if split.mel is None or split.feats is None:
            raise WavenetError(
                f"{split.name} split: an acoustic model trains on linguistic frames and their log-mel "
                "(prepare the data with --features linguistic)"
            )
        self.split, self.crop, self.seed = split, crop, seed
        counts = split.frames[:, 1].astype(np.float64)
        self.weights = counts / counts.sum()

    def batch(self, step: int, batch_size: int, rank: int = 0) -> FrameBatch:
        rng = np.random.default_rng([self.seed, step, rank, 1])
        chosen = rng.choice(len(self.weights), size=batch_size, p=self.weights)
        starts = [int(rng.integers(0, max(1, self.split.frames[u, 1] - self.crop + 1))) for u in chosen]
        return self._batch(list(zip(chosen.tolist(), starts, strict=True)))

    def fixed_batches(self, count: int, batch_size: int) -> list[FrameBatch]:
        """The first ``count`` utterances' first ``crop`` frames (all of them where fewer), for validation."""
        items = [(u, 0) for u in range(min(count, len(self.split.frames)))]
        return [self._batch(items[i : i + batch_size]) for i in range(0, len(items), batch_size)]

    def _batch(self, items: list[tuple[int, int]]) -> FrameBatch:
        split = self.split
        lengths = [min(self.crop, int(split.frames[u, 1]) - start) for u, start in items]
        width = max(lengths)
        frames = np.zeros((len(items), width, split.feats.shape[1]), np.float32)
        mel = np.zeros((len(items), width, split.mel.shape[1]), np.float32)
        mask = np.zeros((len(items), width), bool)
        for b, ((u, start), n) in enumerate(zip(items, lengths, strict=True)):
            offset = int(split.frames[u, 0]) + start
            frames[b, :n] = split.feats[offset : offset + n]
            mel[b, :n] = split.mel[offset : offset + n]
            mask[b, :n] = True
        speakers = torch.tensor([int(split.index[u, 2]) for u, _ in items])
        return FrameBatch(torch.from_numpy(frames), torch.from_numpy(mel), speakers, torch.from_numpy(mask))
