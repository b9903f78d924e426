"""Prepared data as training reads it: memory-mapped codes and reproducible random crops.

A training example is a crop of one utterance, seen as ``[silence] + codes``: the code of
silence stands for "before the audio", as it does when generation starts, so the first sample
of an utterance is predicted the same way in training, evaluation and generation.

The crops of step s on rank r are a pure function of (seed, s, r). A resumed run therefore
continues with exactly the batches it would have seen, with no sampler state to save.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from wavenet import mulaw
from wavenet.data.audio import AudioOptions
from wavenet.errors import WavenetError

IGNORE = -100  # target value that the loss skips


@dataclass
class Split:
    name: str
    codes: np.ndarray  # (total,) uint8, memory-mapped
    index: np.ndarray  # (utterances, 3) int64: offset, length, speaker id

    @property
    def samples(self) -> int:
        return int(self.index[:, 1].sum())

    def utterance(self, i: int) -> np.ndarray:
        offset, length, _ = self.index[i]
        return self.codes[offset : offset + length]


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
        except (OSError, ValueError) as err:
            raise WavenetError(f"{self.directory}: {name} split is unreadable ({err})") from None
        return Split(name, codes, index)


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
        self, split: Split, length: int, receptive_field: int, mu: int, seed: int, skip_context: bool = True
    ) -> None:
        if length < 1:
            raise WavenetError(f"crop length must be at least one sample, got {length}")
        if len(split.index) == 0:
            raise WavenetError(f"split {split.name} holds no utterances")
        self.split = split
        self.length = length
        self.skip = receptive_field - 1 if skip_context else 0
        self.silence = mulaw.silence_code(mu)
        self.seed = seed
        lengths = split.index[:, 1].astype(np.float64)
        self._weights = lengths / lengths.sum()

    def batch(
        self, step: int, batch_size: int, rank: int = 0, stream: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(inputs (B, L) int64, targets (B, L) int64 with IGNORE where skipped, speakers (B,) int64).

        ``stream`` separates independent uses of one seed: 0 for training, 1 for validation.
        """
        rng = np.random.Generator(np.random.PCG64([self.seed, stream, step, rank]))
        picks = rng.choice(len(self._weights), size=batch_size, p=self._weights)
        starts = rng.random(batch_size)
        inputs = np.full((batch_size, self.length), self.silence, dtype=np.int64)
        targets = np.full((batch_size, self.length), IGNORE, dtype=np.int64)
        speakers = self.split.index[picks, 2].astype(np.int64)
        for b, (i, u) in enumerate(zip(picks, starts, strict=True)):
            codes = self.split.utterance(int(i))
            # The utterance as a sequence of n + 1 inputs: [silence] + codes; targets are codes.
            n = len(codes)
            start = int(u * (max(n - self.length, 0) + 1))  # first target index, in [0, n - length]
            take = min(self.length, n - start)
            targets[b, :take] = codes[start : start + take]
            if start == 0:
                inputs[b, 1:take] = codes[: take - 1]
            else:
                inputs[b, :take] = codes[start - 1 : start - 1 + take]
                targets[b, : self.skip] = IGNORE
        return torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(speakers)

    def fixed_batches(self, count: int, batch_size: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """The same ``count`` crops every time: a validation set whose loss can be compared across steps."""
        batches = []
        for i, start in enumerate(range(0, count, batch_size)):
            batches.append(self.batch(i, min(batch_size, count - start), stream=1))
        return batches
