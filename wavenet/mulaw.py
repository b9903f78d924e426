"""μ-law companding and 8-bit quantisation (ITU-T G.711 style, μ = 255).

WaveNet (van den Oord et al. 2016, section 2.2) models audio as a 256-way categorical
distribution over μ-law codes: companding spends the 256 levels where speech has most of
its energy, near zero, so 8 bits sound far better than linear 8-bit PCM.

Every function exists for numpy arrays and for torch tensors with identical arithmetic, so
data preparation (numpy) and training or generation (torch) agree code for code.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from wavenet.errors import WavenetError

MU = 255


def encode(audio: np.ndarray, mu: int = MU) -> np.ndarray:
    """Map float audio in [-1, 1] to integer codes in [0, mu]; values outside are clipped."""
    x = np.asarray(audio, dtype=np.float64)
    if not np.isfinite(x).all():
        raise WavenetError("audio holds NaN or infinite values")
    x = np.clip(x, -1.0, 1.0)
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    return np.floor((y + 1.0) / 2.0 * mu + 0.5).astype(np.int64)


def decode(codes: np.ndarray, mu: int = MU) -> np.ndarray:
    """Map integer codes in [0, mu] back to float audio in [-1, 1] (float32)."""
    y = 2.0 * np.asarray(codes, dtype=np.float64) / mu - 1.0
    x = np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu
    return x.astype(np.float32)


def encode_torch(audio: torch.Tensor, mu: int = MU) -> torch.Tensor:
    """Torch twin of :func:`encode` (computed in float64, returns int64)."""
    x = audio.to(torch.float64)
    if not torch.isfinite(x).all():
        raise WavenetError("audio holds NaN or infinite values")
    x = x.clamp(-1.0, 1.0)
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / np.log1p(mu)
    return torch.floor((y + 1.0) / 2.0 * mu + 0.5).to(torch.int64)


def decode_torch(codes: torch.Tensor, mu: int = MU) -> torch.Tensor:
    """Torch twin of :func:`decode` (computed in float64, returns float32)."""
    y = 2.0 * codes.to(torch.float64) / mu - 1.0
    x = torch.sign(y) * torch.expm1(y.abs() * np.log1p(mu)) / mu
    return x.to(torch.float32)


@functools.cache
def code_thresholds(mu: int = MU) -> np.ndarray:
    """The least float64 value of each code 1 .. mu: :func:`encode` of x is the number of them at or below x.

    A kernel that cannot call numpy's ``log1p`` (a GPU's differs from it in the last bit, now
    and then) counts thresholds instead, and gets :func:`encode`'s code exactly, clipping
    included; :func:`decode`'s values are a table of mu + 1. Found by bisection over the float64
    values in order (their bit patterns), so each is exact: its code is k, the float below it
    codes k - 1.
    """

    def ordered(x: np.ndarray) -> np.ndarray:  # float64 -> int64 keys in the floats' order
        bits = x.view(np.int64)
        return np.where(bits < 0, -(bits & 0x7FFFFFFFFFFFFFFF), bits)

    def value(key: np.ndarray) -> np.ndarray:
        bits = np.where(key < 0, -key | np.int64(-0x8000000000000000), key)
        return bits.view(np.float64)

    wanted = np.arange(1, mu + 1)
    lo = ordered(np.full(mu, -1.0))  # encodes 0, below every wanted code
    hi = ordered(np.full(mu, 1.0))  # encodes mu, at or above every wanted code
    while np.any(hi - lo > 1):
        mid = lo + (hi - lo) // 2
        above = encode(value(mid), mu) >= wanted
        hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
    return value(hi)


def silence_code(mu: int = MU) -> int:
    """The code of amplitude 0: the input that starts generation, like the silence before audio."""
    return int(encode(np.zeros(1), mu)[0])


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] to 16-bit PCM, rounding to nearest and clipping at full scale."""
    return np.clip(np.round(np.asarray(audio) * 32767.0), -32768, 32767).astype(np.int16)
