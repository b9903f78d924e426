"""The slot interface every generation backend shares: B independent streams stepping together.

A slot holds one stream, with its own speaker, temperature and seed; :meth:`SlotGenerator.reset`
starts a new stream in a slot between steps while the other slots keep running, which is how
the server batches many requests into one loop. Work can be limited to the first k slots
(``generate(n, active=k)``), and :meth:`SlotGenerator.move` copies a stream from one slot to
another, so a server keeps its streams packed at the front and pays only for those.
:meth:`SlotGenerator.suspend` takes a stream out of its slot with everything it needs to go on
(a :class:`SuspendedStream`), and :meth:`SlotGenerator.resume` puts it back, in any slot and
after any number of other steps: a server pauses a stream whose client reads slowly and gives
its slot to another.

A conditioned model's streams also read feature frames (:mod:`.conditioning`): a slot is reset
with its frames, or with a :class:`FrameFeed` that the caller extends while the stream runs;
:meth:`SlotGenerator.samples_ready` says how far the frames fed so far allow a stream to go.

A source-filter model's streams (``lpc_order`` > 0) also keep their last samples and prediction
(:class:`wavenet.excitation.SourceState`): each step gives the network the codes of the next
sample's prediction and the last excitation, the network's logits are over the excitation, and
the sampled excitation becomes the sample's code. A model with a periodic source
(``source_harmonics`` > 0) is also given, at each step, the sines at the sample it predicts,
from its stream's frames (:meth:`FrameFeed.sines`). Every backend takes those inputs.

Every backend starts a stream from the code of silence, as if the audio were preceded by zeros,
and matches :class:`wavenet.model.WaveNet`'s forward pass, whose causal convolutions see zeros
before the first sample. The backends themselves live beside this module: the reference
(:mod:`.naive`), the cached "Fast WaveNet" generator in torch (:mod:`.cached`), in C
(:mod:`.native`) and in CUDA graphs (:mod:`.cuda_graph`); :mod:`.registry` names them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from wavenet.errors import WavenetError
from wavenet.excitation import SourceState
from wavenet.generation.conditioning import FrameFeed
from wavenet.generation.sampling import UniformStream, check_seed, check_temperature, random_seed, sample_codes
from wavenet.model import WaveNet
from wavenet.mulaw import silence_code


@dataclass
class SuspendedStream:
    """A stream out of its slot: its random stream, settings, last code and the backend's state.

    ``state`` holds the backend's per-stream tensors in time order (oldest first), not in the
    order of a ring buffer's positions, so the stream can resume at any step of any slot.
    """

    uniforms: UniformStream
    speaker: int
    temperature: float
    last: int
    state: dict[str, torch.Tensor]
    feed: FrameFeed | None = None  # a conditioned stream's frames
    position: int = 0  # samples generated so far
    source: np.ndarray | None = None  # a source-filter stream's last samples and prediction
    voiced_scale: float = 1.0  # a periodic-source stream's temperature factor on voiced frames

    @property
    def nbytes(self) -> int:
        """Memory held by the saved state (what a server pays for each paused stream)."""
        return sum(t.numel() * t.element_size() for t in self.state.values())


class SlotGenerator:
    """B stream slots generating together; subclasses say how one step turns inputs into logits."""

    name = "base"

    def __init__(self, model: WaveNet, batch_size: int = 1) -> None:
        if batch_size < 1:
            raise WavenetError(f"batch size must be at least 1, got {batch_size}")
        param = next(model.parameters())
        self.model = model.eval()
        self.config = model.config
        self.batch_size = batch_size
        self.device = param.device
        self.dtype = param.dtype
        self._streams: list[UniformStream | None] = [None] * batch_size
        self._temperature = torch.ones(batch_size, device=self.device, dtype=self.dtype)
        self._voiced_scale = np.ones(batch_size, dtype=np.float32)  # see reset
        self._speaker = torch.zeros(batch_size, device=self.device, dtype=torch.long)
        self._silence = silence_code(self.config.mu)
        self._last = torch.full((batch_size,), self._silence, device=self.device, dtype=torch.long)
        self._feeds: list[FrameFeed | None] = [None] * batch_size
        self._pos = np.zeros(batch_size, dtype=np.int64)  # samples each slot's stream has generated
        self._source: SourceState | None = None  # a backend may keep it on its device (DeviceSourceState)
        if self.config.lpc_order:
            self._source = SourceState(batch_size, self.config.lpc_order, self.config.mu)

    @property
    def active(self) -> list[bool]:
        """Which slots hold a stream (inactive slots still compute, but nobody reads them)."""
        return [s is not None for s in self._streams]

    def _check_slot(self, slot: int) -> None:
        if not 0 <= slot < self.batch_size:
            raise WavenetError(f"slot must be in [0, {self.batch_size - 1}], got {slot}")

    @torch.inference_mode()
    def reset(
        self,
        slot: int,
        speaker: int = 0,
        temperature: float = 1.0,
        seed: int | None = None,
        frames: FrameFeed | np.ndarray | torch.Tensor | None = None,
        voiced_scale: float = 1.0,
    ) -> int:
        """Start a new stream in ``slot`` and return its seed (drawn at random when None).

        A conditioned model's stream needs ``frames``: all of them, (frames, cond_channels), or a
        :class:`FrameFeed` to extend while the stream runs. A model whose frames carry F0 (a
        periodic source) may draw the samples of voiced frames at ``voiced_scale`` × ``temperature``
        (LPCNet's and FFTNet's lower temperature where the signal is periodic).
        """
        self._check_slot(slot)
        feed = self._feed(frames)
        if not 0 <= speaker < self.config.n_speakers:
            raise WavenetError(f"speaker id must be in [0, {self.config.n_speakers - 1}], got {speaker}")
        temperature = check_temperature(temperature)
        if voiced_scale != 1.0:
            if not self.config.f0_channel:
                raise WavenetError("voiced_scale needs frames that say what is voiced: a model with a periodic source")
            check_temperature(voiced_scale * temperature)
        seed = check_seed(random_seed() if seed is None else seed)
        self._streams[slot] = UniformStream(seed)
        self._temperature[slot] = temperature
        self._voiced_scale[slot] = voiced_scale
        self._speaker[slot] = speaker
        self._last[slot] = self._silence
        self._feeds[slot], self._pos[slot] = feed, 0
        if self._source is not None:
            self._source.reset(slot)
        self._reset_state(slot)
        return seed

    def _feed(self, frames: FrameFeed | np.ndarray | torch.Tensor | None) -> FrameFeed | None:
        cfg = self.config
        if not cfg.conditioned:
            if frames is not None:
                raise WavenetError("this model takes no feature frames (it is not locally conditioned)")
            return None
        if frames is None:
            raise WavenetError(f"this model is conditioned: a stream needs frames of {cfg.cond_channels} channels")
        feed = frames if isinstance(frames, FrameFeed) else FrameFeed.complete(frames)
        if feed.channels != cfg.cond_channels:
            raise WavenetError(f"frames must have {cfg.cond_channels} channels, got {feed.channels}")
        return feed

    def samples_ready(self, slot: int) -> int | None:
        """How many samples the stream in ``slot`` can generate with the frames it has; None: no limit."""
        feed = self._feeds[slot]
        if feed is None:
            return None
        return feed.samples_ready(int(self._pos[slot]), self.config.cond_hop, self.config.lookahead_frames)

    def release(self, slot: int) -> None:
        """Mark a slot free; it keeps computing until reset, but draws no more uniforms."""
        self._streams[slot] = None
        self._feeds[slot] = None

    @torch.inference_mode()
    def move(self, src: int, dst: int) -> None:
        """Move the stream in slot ``src`` to slot ``dst`` (which loses its stream); ``src`` becomes free.

        The stream continues in ``dst`` exactly as it would have in ``src``.
        """
        for slot in (src, dst):
            self._check_slot(slot)
        if src == dst:
            return
        self._streams[dst], self._streams[src] = self._streams[src], None
        for tensor in (self._temperature, self._speaker, self._last, self._voiced_scale):
            tensor[dst] = tensor[src]
        self._feeds[dst], self._feeds[src] = self._feeds[src], None
        self._pos[dst] = self._pos[src]
        if self._source is not None:
            self._source.move(src, dst)
        self._move_state(src, dst)

    @torch.inference_mode()
    def suspend(self, slot: int) -> SuspendedStream:
        """Take the stream out of ``slot`` (which becomes free); :meth:`resume` continues it exactly."""
        self._check_slot(slot)
        uniforms = self._streams[slot]
        if uniforms is None:
            raise WavenetError(f"slot {slot} holds no stream to suspend")
        saved = SuspendedStream(
            uniforms=uniforms,
            speaker=int(self._speaker[slot]),
            temperature=float(self._temperature[slot]),
            last=int(self._last[slot]),
            state={k: v.clone() for k, v in self._save_state(slot).items()},
            feed=self._feeds[slot],
            position=int(self._pos[slot]),
            source=None if self._source is None else self._source.save(slot),
            voiced_scale=float(self._voiced_scale[slot]),
        )
        self._streams[slot] = None
        self._feeds[slot] = None
        return saved

    @torch.inference_mode()
    def resume(self, slot: int, saved: SuspendedStream) -> None:
        """Continue a suspended stream in ``slot`` (which loses its stream), as if it had never left."""
        self._check_slot(slot)
        self._streams[slot] = saved.uniforms
        self._speaker[slot] = saved.speaker
        self._temperature[slot] = saved.temperature
        self._voiced_scale[slot] = saved.voiced_scale
        self._last[slot] = saved.last
        self._feeds[slot], self._pos[slot] = saved.feed, saved.position
        if self._source is not None:
            self._source.load(slot, saved.source)
        self._load_state(slot, saved.state)

    def draw_uniforms(self, n: int, active: int | None = None) -> torch.Tensor:
        """The next n uniforms of the first ``active`` slots, (active, n) on the device; 0.5 for free slots."""
        active = self.batch_size if active is None else active
        uniforms = np.full((active, n), 0.5, dtype=np.float32)
        for slot, stream in enumerate(self._streams[:active]):
            if stream is not None:
                uniforms[slot] = stream.draw(n)
        return torch.from_numpy(uniforms).to(self.device, non_blocking=True)

    @torch.inference_mode()
    def generate(self, n: int, active: int | None = None) -> np.ndarray:
        """Advance the first ``active`` slots (default: all) by n samples; returns their codes, (active, n) int64.

        Slots beyond ``active`` must hold no stream: they do not compute, and their state is
        lost (a reset restores it; suspend a stream to keep it).
        """
        if n < 1:
            raise WavenetError(f"number of samples must be at least 1, got {n}")
        active = self.batch_size if active is None else active
        if not 1 <= active <= self.batch_size:
            raise WavenetError(f"active slots must be in [1, {self.batch_size}], got {active}")
        if any(stream is not None for stream in self._streams[active:]):
            raise WavenetError(f"slots from {active} on hold streams; move them below {active} or release them")
        if not self.config.conditioned:
            return self.run(self.draw_uniforms(n, active)).cpu().numpy()
        # A conditioned chunk reads its frames' projections, (steps / hop) x layers x gate: keep it small.
        pieces = [self.run(self.draw_uniforms(m, active)) for m in _pieces(n, CONDITIONED_PIECE)]
        return torch.cat(pieces, dim=1).cpu().numpy()

    def run(self, uniforms: torch.Tensor) -> torch.Tensor:
        """Sample (k, n) codes on the device for the first k slots from (k, n) uniforms, one step at a time."""
        k, n = uniforms.shape
        self._prepare(n, k)
        out = torch.empty(k, n, dtype=torch.long, device=self.device)
        temperature = self._temperature[:k]
        per_step = self._step_temperatures(k, n)
        for i in range(n):
            if per_step is not None:
                temperature = torch.from_numpy(per_step[:, i]).to(self.device, self.dtype)
            last = self._last[:k]
            source = self._advance_source(last)
            codes = sample_codes(self._step(last, source, self._sines(k)), temperature, uniforms[:, i], self._silence)
            if self._source is not None:  # the excitation drawn, and the prediction: the sample
                codes = torch.from_numpy(self._source.sample(codes.cpu().numpy())).to(self.device)
            self._last[:k] = codes
            out[:, i] = codes
            self._pos[:k] += 1
        return out

    def _advance_source(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """A source-filter model's inputs for the next step of the first k slots, given their newest codes."""
        if self._source is None:
            return None
        filters = self._filter_values(len(codes), 1)[:, 0]
        predicted, excitation = self._source.advance(codes.cpu().numpy(), filters)
        return torch.from_numpy(predicted).to(self.device), torch.from_numpy(excitation).to(self.device)

    def _filter_values(self, k: int, steps: int) -> np.ndarray:
        """A source-filter model's predictors at the next ``steps`` samples of the first k slots, (k, steps,
        lpc_order + 1) float64; no prediction (1, 0, ..., 0) for a free slot."""
        order, hop = self.config.lpc_order, self.config.cond_hop
        out = np.zeros((k, steps, order + 1))
        out[:, :, 0] = 1.0
        for s, feed in enumerate(self._feeds[:k]):
            if feed is not None:
                frame = np.minimum((int(self._pos[s]) + np.arange(steps)) // hop, feed.available - 1)
                out[s] = feed.filters(order, self.config.f0_channel)[frame]
        return out

    def _step_temperatures(self, k: int, steps: int) -> np.ndarray | None:
        """Each of the first k slots' temperature at its next ``steps`` samples, (k, steps) float32, where a
        slot draws voiced frames at another (``voiced_scale``); None where none does."""
        scales = self._voiced_scale[:k]
        if np.all(scales == 1.0):
            return None
        temperature = self._temperature[:k].float().cpu().numpy()
        out = np.repeat(temperature[:, None], steps, axis=1)
        for s, feed in enumerate(self._feeds[:k]):
            if feed is not None and scales[s] != 1.0:
                voiced = feed.voiced(np.arange(int(self._pos[s]), int(self._pos[s]) + steps), self.config.cond_hop)
                out[s, voiced] = temperature[s] * scales[s]
        return out

    def _sine_values(self, k: int, steps: int) -> np.ndarray:
        """A periodic source's values at the next ``steps`` samples of the first k slots, (k, steps, harmonics)
        float32; zeros for a free slot."""
        harmonics = self.config.source_harmonics
        out = np.zeros((k, steps, harmonics), dtype=np.float32)
        for s, feed in enumerate(self._feeds[:k]):
            if feed is not None:
                positions = np.arange(int(self._pos[s]), int(self._pos[s]) + steps)
                out[s] = feed.sines(positions, self.config)
        return out

    def _sines(self, k: int) -> torch.Tensor | None:
        """The first k slots' periodic source at the sample each predicts next, (k, harmonics); None without one."""
        if not self.config.source_harmonics:
            return None
        return torch.from_numpy(self._sine_values(k, 1)[:, 0]).to(self.device, self.dtype)

    @torch.inference_mode()
    def step(self, codes: torch.Tensor) -> torch.Tensor:
        """Feed one input code to each of the first k slots, (k,) int64; returns next-sample logits (k, classes)."""
        k = codes.shape[0]
        self._prepare(1, k)
        logits = self._step(codes, self._advance_source(codes), self._sines(k))
        self._pos[:k] += 1
        return logits

    def _prepare(self, steps: int, k: int) -> None:
        """Before ``steps`` steps of the first k slots: check that their frames allow it, then load them."""
        if not self.config.conditioned:
            return
        for slot in range(k):
            ready = self.samples_ready(slot)
            if ready is not None and ready < steps:
                raise WavenetError(
                    f"slot {slot}: its frames allow {ready} more sample(s), not {steps} "
                    "(feed more frames, or close the feed at the stream's end)"
                )
        self._load_conditioning(steps, k)

    def _load_conditioning(self, steps: int, k: int) -> None:
        """Make the first k slots' frames for the next ``steps`` steps available to :meth:`_step`."""

    def _step(
        self,
        codes: torch.Tensor,
        source: tuple[torch.Tensor, torch.Tensor] | None = None,
        sines: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One step of the first k slots (conditioning loaded): (k,) input codes → (k, classes) logits.

        ``source``: a source-filter model's (prediction codes, last excitation codes), (k,) each;
        ``sines``: a periodic source's values at the sample each slot predicts, (k, harmonics).
        """
        raise NotImplementedError

    def _reset_state(self, slot: int) -> None:
        raise NotImplementedError

    def _move_state(self, src: int, dst: int) -> None:
        raise NotImplementedError

    def _save_state(self, slot: int) -> dict[str, torch.Tensor]:
        """The slot's per-stream state, independent of where the generator's step counter stands."""
        raise NotImplementedError

    def _load_state(self, slot: int, state: dict[str, torch.Tensor]) -> None:
        raise NotImplementedError


CONDITIONED_PIECE = 4096  # samples per run of a conditioned generator, whatever generate() is asked


def _pieces(n: int, size: int) -> list[int]:
    return [min(size, n - start) for start in range(0, n, size)]


def ring_order(size: int, clock: int, device: torch.device) -> torch.Tensor:
    """Positions of a ring buffer of ``size`` entries, oldest first, before step ``clock``.

    Step t writes its input at position t % size, so before step t the ring holds the inputs of
    steps t - size .. t - 1, the oldest at position t % size.
    """
    return (clock + torch.arange(size, device=device)) % size
