"""Feature frames for conditioned streams: the feed a stream reads, and its projections a chunk at a time.

A conditioned stream reads one frame every ``cond_hop`` samples (:class:`wavenet.model.WaveNet`
says how). Its frames come in a :class:`FrameFeed`: all of them at once (vocoding a recording,
rendering a MIDI file), or a few at a time while the stream runs (text to speech), the caller
closing the feed after the last. A stream can generate sample t once the feed holds the frames
that sample reads, ``lookahead_frames`` past its own, or once the feed is closed.

Generation never upsamples a whole stream's features: for each chunk of steps,
:func:`project_windows` runs the conditioner over the few frames the chunk reads and projects
them into every block, at frame rate. Backends then interpolate between two of these frames at
every step (see :func:`wavenet.model.upsample`).
"""

from __future__ import annotations

import numpy as np
import torch

from wavenet.errors import WavenetError
from wavenet.excitation import frame_cycles, frame_filters, key_source, key_starts, sine_source
from wavenet.model import WaveNet, frame_span, frame_window
from wavenet.model_config import WaveNetConfig


class FrameFeed:
    """A stream's feature frames, (frames, channels) float32, which may grow until closed."""

    def __init__(self, channels: int, frames: np.ndarray | torch.Tensor | None = None, closed: bool = False) -> None:
        self.channels = channels
        self._frames = np.zeros((0, channels), dtype=np.float32)
        self._filters: np.ndarray | None = None  # source-filter predictors of the frames so far
        self._cycles: np.ndarray | None = None  # a periodic source's cycles before each frame so far, and after
        self._starts: np.ndarray | None = None  # a piano roll's note starts per key at each frame so far
        self._closed = False
        if frames is not None:
            self.extend(frames)
        if closed:
            self.close()

    @classmethod
    def complete(cls, frames: np.ndarray | torch.Tensor) -> FrameFeed:
        """All of a stream's frames, (frames, channels): the feed is closed."""
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim != 2:
            raise WavenetError(f"frames must have shape (frames, channels), got {frames.shape}")
        return cls(frames.shape[1], frames, closed=True)

    @property
    def available(self) -> int:
        return len(self._frames)

    @property
    def closed(self) -> bool:
        return self._closed

    def extend(self, frames: np.ndarray | torch.Tensor) -> None:
        """Append frames (frames, channels)."""
        if self._closed:
            raise WavenetError("the feed is closed: no more frames can be added")
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim != 2 or frames.shape[1] != self.channels:
            raise WavenetError(f"frames must have shape (frames, {self.channels}), got {tuple(frames.shape)}")
        if not np.isfinite(frames).all():
            raise WavenetError("frames hold NaN or infinite values")
        self._frames = np.concatenate([self._frames, frames])

    def close(self) -> None:
        """No more frames: the stream is ``available × hop`` samples long."""
        if not len(self._frames):
            raise WavenetError("a feed needs at least one frame before it is closed")
        self._closed = True

    def samples_ready(self, position: int, hop: int, lookahead: int) -> int:
        """How many samples from ``position`` on the frames fed so far allow (up to the stream's end, once closed)."""
        if self._closed:
            return max(0, self.available * hop - position)
        # Sample t reads frames up to t // hop + lookahead.
        return max(0, (self.available - lookahead) * hop - position)

    def filters(self, order: int, f0: bool = False) -> np.ndarray:
        """The source-filter predictors of every frame fed so far, (available, order + 1) (:mod:`wavenet.excitation`).

        ``f0``: the frames' last channel is F0, and the reflection coefficients come before it.
        Computed once per frame: a growing feed adds only its new frames' predictors."""
        done = 0 if self._filters is None else len(self._filters)
        if done < self.available:
            new = frame_filters(self._frames[done:], order, f0)
            self._filters = new if self._filters is None else np.concatenate([self._filters, new])
        return self._filters

    def sines(self, positions: np.ndarray, config: WaveNetConfig) -> np.ndarray:
        """The periodic source of a model with one (``config.source_harmonics`` > 0) at samples ``positions`` of
        the stream: (len(positions), harmonics) float32, from the F0 in the frames' last channel
        (:func:`wavenet.excitation.sine_source`) or from a piano roll's keys (``config.source_keys``:
        :func:`wavenet.excitation.key_source`).

        The phase at each frame is summed once: a growing feed adds its new frames' to the last."""
        hop, rate, harmonics = config.cond_hop, config.sample_rate, config.source_harmonics
        if config.source_keys:
            if self._starts is None or len(self._starts) < self.available:  # each row depends on those before it
                self._starts = key_starts(self._frames)
            return key_source(self._starts, positions, hop, rate, harmonics)
        done = 0 if self._cycles is None else len(self._cycles) - 1
        if done < self.available:
            before = 0.0 if self._cycles is None else float(self._cycles[-1])
            new = frame_cycles(self._frames[done:, -1], hop, rate, before)
            self._cycles = new if self._cycles is None else np.concatenate([self._cycles[:-1], new])
        return sine_source(self._frames[:, -1], self._cycles, positions, hop, rate, harmonics)

    def voiced(self, positions: np.ndarray, hop: int) -> np.ndarray:
        """Whether the frames' F0 (their last channel) is voiced at samples ``positions``: (n,) bool."""
        frame = np.minimum(np.asarray(positions) // hop, self.available - 1)
        return self._frames[frame, -1] > 0

    def window(self, a: int, b: int, context: int) -> np.ndarray:
        """Frames [a - context, b + context), clamped to the stream's: (channels, b - a + 2 context)."""
        index = frame_window(self.available, a, b, context).numpy()
        return self._frames[index].T


def project_windows(
    model: WaveNet, feeds: list[FrameFeed | None], positions: np.ndarray, steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every block's projection of the frames that the next ``steps`` samples of each stream read.

    Returns ``frames`` (k, F, layers, gate_channels) and ``offsets`` (k,) int64: stream s's step i
    interpolates between its frames (offsets[s] + i) // hop and the next, with weight
    ((offsets[s] + i) % hop) / hop on the next. ``F`` covers the longest need; a stream's rows past its
    own repeat its last; a slot without a stream gets zeros.
    """
    cfg = model.config
    hop, context = cfg.cond_hop, cfg.cond_layers
    param = next(model.parameters())
    weight = torch.cat([block.cond.weight[:, :, 0] for block in model.blocks])  # (layers * G, width)
    spans, projected = [], []
    with torch.no_grad():
        for feed, position in zip(feeds, positions, strict=True):
            if feed is None:  # a free slot: zeros, read from offset 0
                spans.append((0, (steps - 1) // hop + 2))
                projected.append(None)
                continue
            a, b = frame_span(int(position), int(position) + steps, hop)
            window = torch.from_numpy(feed.window(a, b, context)).to(param.device, param.dtype)[None]
            hidden = model.conditioner(window)[0]  # (width, b - a)
            projected.append((weight @ hidden).reshape(cfg.layers, cfg.gate_channels, -1).permute(2, 0, 1))
            spans.append((a, b))
    longest = max(b - a for a, b in spans)
    frames = torch.zeros(len(feeds), longest, cfg.layers, cfg.gate_channels, device=param.device, dtype=param.dtype)
    for s, p in enumerate(projected):
        if p is not None:
            frames[s, : len(p)] = p
            frames[s, len(p) :] = p[-1]  # past the stream's last frame, it holds
    offsets = torch.tensor(
        [0 if feed is None else int(pos) - a * hop for pos, feed, (a, _) in zip(positions, feeds, spans, strict=True)]
    )
    return frames, offsets
