"""Baselines for bits per sample: a μ-law unigram and an interpolated Kneser-Ney n-gram.

A WaveNet's likelihood means little alone. Beside it, the same audio scored by the code
distribution (unigram) and by a smoothed n-gram over codes shows how much the model learned
beyond "which levels are common" and "the next sample is near the last": a WaveNet that does
not clearly beat the n-gram is broken.

The n-gram is interpolated Kneser-Ney (Chen & Goodman 1998) with one absolute discount per
order, D = n1 / (n1 + 2 n2), interpolated down to a uniform distribution, so every code has
non-zero probability. Every sequence is preceded by the code of silence, as in training and
generation. n-grams are stored as sorted arrays of base-V integers and looked up with
``searchsorted``: fitting an hour of audio takes seconds and little memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from wavenet.errors import WavenetError

BLOCK = 8_000_000  # samples counted at once while fitting


def _padded(codes: np.ndarray, pad: int, silence: int) -> np.ndarray:
    return np.concatenate([np.full(pad, silence, dtype=np.int64), np.asarray(codes, dtype=np.int64)])


def _keys(seq: np.ndarray, n: int, vocab: int) -> np.ndarray:
    """Base-``vocab`` keys of every n-gram ending at each of seq[n-1:], oldest symbol most significant."""
    keys = np.zeros(len(seq) - n + 1, dtype=np.int64)
    for j in range(n):
        keys = keys * vocab + seq[j : len(seq) - n + 1 + j]
    return keys


def _merge_counts(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.concatenate([k for k, _ in parts])
    counts = np.concatenate([c for _, c in parts])
    order = np.argsort(keys, kind="stable")
    keys, counts = keys[order], counts[order]
    unique, start = np.unique(keys, return_index=True)
    return unique, np.add.reduceat(counts, start) if len(keys) else counts


@dataclass
class _Order:
    keys: np.ndarray  # sorted n-gram keys
    counts: np.ndarray  # raw counts (highest order) or continuation counts
    contexts: np.ndarray  # sorted context keys (key // vocab)
    totals: np.ndarray  # sum of counts per context
    types: np.ndarray  # number of distinct next codes per context
    discount: float

    @classmethod
    def build(cls, keys: np.ndarray, counts: np.ndarray, vocab: int) -> _Order:
        contexts, start, types = np.unique(keys // vocab, return_index=True, return_counts=True)
        totals = np.add.reduceat(counts, start)
        n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
        discount = n1 / (n1 + 2 * n2) if n1 + n2 > 0 else 0.5
        return cls(keys, counts, contexts, totals, types, min(max(discount, 0.05), 0.95))

    def lookup(self, keys: np.ndarray, vocab: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(count of each n-gram, total and distinct-successor count of its context); 0 where unseen."""
        count = _find(self.keys, self.counts, keys)
        ctx = keys // vocab
        return count, _find(self.contexts, self.totals, ctx), _find(self.contexts, self.types, ctx)


def _find(sorted_keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(sorted_keys, queries)
    idx = np.minimum(idx, len(sorted_keys) - 1)
    hit = sorted_keys[idx] == queries if len(sorted_keys) else np.zeros(len(queries), dtype=bool)
    return np.where(hit, values[idx] if len(sorted_keys) else 0, 0)


class KneserNey:
    def __init__(self, order: int, vocab: int, silence: int) -> None:
        if order < 1:
            raise WavenetError(f"n-gram order must be at least 1, got {order}")
        if vocab**order >= 2**62:
            raise WavenetError(f"n-gram order {order} is too high for {vocab} codes")
        self.order, self.vocab, self.silence = order, vocab, silence
        self.orders: list[_Order] = []

    def fit(self, sequences: Iterable[np.ndarray]) -> KneserNey:
        n, v = self.order, self.vocab
        parts, block, size = [], [], 0
        for seq in sequences:
            block.append(_keys(_padded(seq, n - 1, self.silence), n, v))
            size += len(block[-1])
            if size >= BLOCK:
                parts.append(np.unique(np.concatenate(block), return_counts=True))
                block, size = [], 0
        if block:
            parts.append(np.unique(np.concatenate(block), return_counts=True))
        if not parts:
            raise WavenetError("no data to fit the n-gram on")
        keys, counts = _merge_counts(parts)
        levels = [(keys, counts)]
        for m in range(n - 1, 0, -1):  # continuation counts: distinct left extensions of each (m)-gram
            suffixes = levels[0][0] % (v**m)
            unique, extensions = np.unique(suffixes, return_counts=True)
            levels.insert(0, (unique, extensions))
        self.orders = [_Order.build(k, c, v) for k, c in levels]
        return self

    def log2_probs(self, codes: np.ndarray) -> np.ndarray:
        """log2 P(code_t | previous codes) for every code of one sequence."""
        if not self.orders:
            raise WavenetError("the n-gram is not fitted")
        n, v = self.order, self.vocab
        seq = _padded(codes, n - 1, self.silence)
        prob = np.full(len(codes), 1.0 / v)
        for m, level in enumerate(self.orders, start=1):
            keys = _keys(seq[n - m :], m, v)  # the m-grams ending at each target
            count, total, types = level.lookup(keys, v)
            d = level.discount
            with np.errstate(divide="ignore", invalid="ignore"):
                interpolated = (np.maximum(count - d, 0) + d * types * prob) / total
            prob = np.where(total > 0, interpolated, prob)
        return np.log2(prob)

    def next_distribution(self, history: np.ndarray) -> np.ndarray:
        """P(code | the last order - 1 codes of history) for every code (silence before the start)."""
        n, v = self.order, self.vocab
        recent = np.asarray(history, dtype=np.int64)[-(n - 1) :] if n > 1 else np.zeros(0, dtype=np.int64)
        context = np.concatenate([np.full(n - 1 - len(recent), self.silence, dtype=np.int64), recent])
        codes = np.arange(v, dtype=np.int64)
        prob = np.full(v, 1.0 / v)
        for m, level in enumerate(self.orders, start=1):
            prefix = 0
            for c in context[n - m :]:  # the m - 1 most recent codes
                prefix = prefix * v + int(c)
            count, total, types = level.lookup(prefix * v + codes, v)
            if total[0] > 0:
                prob = (np.maximum(count - level.discount, 0) + level.discount * types * prob) / total
        return prob

    def sample(self, samples: int, seed: int = 0) -> np.ndarray:
        """Codes drawn one after another from the model, starting after silence."""
        rng = np.random.default_rng(seed)
        out = np.zeros(samples, dtype=np.int64)
        for t in range(samples):
            p = self.next_distribution(out[max(0, t - self.order + 1) : t])
            out[t] = min(int(np.searchsorted(np.cumsum(p), rng.random(), side="right")), self.vocab - 1)
        return out


class Unigram:
    """The distribution of μ-law codes, with add-one smoothing."""

    def __init__(self, vocab: int) -> None:
        self.vocab = vocab
        self.log2_p = np.full(vocab, -np.log2(vocab))

    def fit(self, sequences: Iterable[np.ndarray]) -> Unigram:
        counts = np.ones(self.vocab)
        for seq in sequences:
            counts += np.bincount(np.asarray(seq, dtype=np.int64), minlength=self.vocab)
        self.log2_p = np.log2(counts / counts.sum())
        return self

    def log2_probs(self, codes: np.ndarray) -> np.ndarray:
        return self.log2_p[np.asarray(codes, dtype=np.int64)]
