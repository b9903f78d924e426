"""Sampling μ-law codes from logits by the inverse CDF of uniforms drawn per stream.

Every generation backend draws sample i of a stream as the first code whose cumulative
probability exceeds u_i, where u_i is the i-th float32 uniform from that stream's own
``numpy`` PCG64 generator. Given the same logits, every backend therefore draws the same
codes, whatever the batch, the chunking or the device; the uniforms are drawn on the host a
chunk at a time, so the device never waits on the host for a single sample.

Logits for which the softmax is undefined (a NaN, a +inf, or every logit -inf: a broken or
overflowing model) give the code of silence, in every backend: the stream goes quiet for that
step instead of jumping to full scale, and the next step continues from silence.
"""

from __future__ import annotations

import math
import secrets

import numpy as np
import torch

from wavenet.errors import RequestError

MAX_SEED = 2**63  # seeds are integers in [0, MAX_SEED)
RANDOM_SEED_BITS = 53  # a seed chosen at random is below 2**53, exact as a JavaScript number (the X-Seed header)


def random_seed() -> int:
    """A new random seed: the one rule wherever a stream is given none."""
    return secrets.randbits(RANDOM_SEED_BITS)


def check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < MAX_SEED:
        raise RequestError("seed", f"must be an integer from 0 to 2**63 - 1, got {seed!r}")
    return int(seed)


def check_temperature(temperature: float, maximum: float | None = None) -> float:
    """Temperatures must be positive and finite (0 would divide by zero, not mean "greedy"), at most ``maximum``."""
    if isinstance(temperature, bool) or not (
        isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0
    ):
        raise RequestError("temperature", f"must be a positive number, got {temperature}")
    if maximum is not None and temperature > maximum:
        raise RequestError("temperature", f"Input should be less than or equal to {maximum:g}")
    return float(temperature)


def sample_codes(logits: torch.Tensor, temperature: torch.Tensor, uniforms: torch.Tensor, silence: int) -> torch.Tensor:
    """Inverse-CDF sampling: logits (B, C), temperature (B,), uniforms (B,) in [0, 1) → codes (B,) int64.

    A row whose softmax is undefined (see the module's docstring) gives ``silence``.
    """
    probs = torch.softmax(logits / temperature[:, None], dim=-1)
    cdf = torch.cumsum(probs, dim=-1)  # (B, C); a NaN anywhere in a row makes its last entry NaN
    codes = (cdf < uniforms[:, None]).sum(dim=-1)
    # Rounding can leave cdf[-1] a hair below a uniform close to 1: that is the last class.
    codes = codes.clamp_(max=logits.shape[-1] - 1)
    return torch.where(torch.isnan(cdf[:, -1]), silence, codes)


class UniformStream:
    """The float32 uniforms of one stream, reproducible from its seed and independent of chunking."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed))

    def draw(self, n: int) -> np.ndarray:
        return self._rng.random(n, dtype=np.float32)
