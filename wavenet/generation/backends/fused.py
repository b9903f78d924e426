"""The fused GPU backend: a whole chunk of generation (every step, layer, head and sample) in one Triton kernel.

The CUDA-graph backend replays a few hundred small kernels per step; on a GPU their launch and
synchronisation cost, not arithmetic, sets its speed (0.13× real time for ref20 on an H100, see
docs/BENCHMARKS.md). Here one kernel launch runs a whole chunk: each program owns 16 streams
and loops over steps and layers (:mod:`._fused_kernel`), reading the weights from L2 at every
step and the per-layer ring buffers from global memory. It keeps the torch backend's state
tensors (ring buffers, past codes, speaker and frame terms) and only replaces the step, so
resets, moves, suspends and conditioning are the torch backend's.

A source-filter model's filter runs inside the kernel too, on :class:`wavenet.excitation.DeviceSourceState`'s
tensors and with its arithmetic (float64, μ-law by table, no fused multiply-adds), so it draws
the other backends' samples; a chunk's predictors, periodic source and per-step temperatures are
computed on the host before its launch, as the CUDA-graph backend does for a block.

``triton`` keeps float32 weights and float32 products (IEEE, not TF32) and matches the torch
backend to float32 rounding; ``triton-f16`` stores the weights as half floats and multiplies in
half precision on tensor cores (float32 sums), within the tolerance the tests state.

On a CUDA device the kernel is compiled; on a CPU it runs only under Triton's interpreter
(``TRITON_INTERPRET=1`` set before the first use), which is how the tests check it without a
GPU, at about 0.1 s a step on small models.
"""

from __future__ import annotations

import logging
import math
import os
import weakref

import numpy as np
import torch

from wavenet.errors import WavenetError
from wavenet.excitation import DeviceSourceState
from wavenet.generation.backends.cached import CachedGenerator
from wavenet.model import WaveNet

log = logging.getLogger(__name__)

STREAMS_PER_PROGRAM = 16  # tl.dot's smallest tile; fewer streams leave rows idle


def available() -> bool:
    """Whether Triton is installed (the kernel also needs a CUDA device, or the interpreter)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def interpreted() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0").lower() in ("1", "true", "on", "yes")


SELF_CHECK_STEPS = 32
# How far a kernel's teacher-forced logits may stray from the torch backend's, relative to the
# largest logit, and (half weights) the largest KL divergence of a step's distribution, in nats.
# A broken kernel is off by whole units; rounding by far less than these.
SELF_CHECK_TOLERANCE = {"triton": (2e-3, None), "triton-f16": (5e-2, 1e-2)}
_checked: weakref.WeakKeyDictionary[WaveNet, dict[tuple[str, int], str | None]] = weakref.WeakKeyDictionary()


def self_check(model: WaveNet, backend: type[FusedGenerator], batch_size: int) -> str | None:
    """None if ``backend`` runs this model at this batch size and computes the torch backend's logits; else why not.

    The registry offers a fused backend for a model only once this has passed for it, so that a
    GPU, driver, Triton version or shape the kernel was never run on falls back to another
    backend with a warning, not to wrong audio. Each kernel is compiled for the model's shapes
    and the batch size, so the check runs on exactly those, with the model's own weights:
    :data:`SELF_CHECK_STEPS` teacher-forced steps of random codes (and random frames, for a
    conditioned model) in every slot, whose logits must agree with the torch backend's within
    :data:`SELF_CHECK_TOLERANCE`, then as many sampled steps, whose codes must be in range.
    The result is kept for the model's life.
    """
    results = _checked.setdefault(model, {})
    key = (backend.name, batch_size)
    if key not in results:
        results[key] = _run_self_check(model, backend, batch_size)
        if results[key] is not None:
            log.warning("the %s backend cannot run %s here (%s): it is not offered", backend.name,
                        _shape(model.config), results[key])  # fmt: skip
    return results[key]


def _run_self_check(model: WaveNet, backend: type[FusedGenerator], batch: int) -> str | None:
    cfg = model.config
    device = next(model.parameters()).device
    rng = np.random.default_rng(0)
    codes = torch.from_numpy(rng.integers(0, cfg.classes, (batch, SELF_CHECK_STEPS))).to(device)
    frames = [_random_frames(cfg, rng) if cfg.conditioned else None for _ in range(batch)]
    try:
        logits = []
        for make in (backend, CachedGenerator):
            generator = make(model, batch)
            for slot in range(batch):
                generator.reset(slot, speaker=slot % cfg.n_speakers, seed=slot, frames=frames[slot])
            logits.append(torch.stack([generator.step(codes[:, t]) for t in range(SELF_CHECK_STEPS)]).float())
        found, expected = logits
        if not torch.isfinite(found).all():
            return "its logits are not all finite"
        relative, kl_limit = SELF_CHECK_TOLERANCE[backend.name]
        difference = (found - expected).abs().max().item()
        if difference > relative * max(1.0, expected.abs().max().item()):
            return f"its logits differ from the torch backend's by {difference:.3g}"
        if kl_limit is not None:
            p, q = torch.log_softmax(expected, -1), torch.log_softmax(found, -1)
            kl = (p.exp() * (p - q)).sum(-1).max().item()
            if kl > kl_limit:
                return f"its distributions differ from the torch backend's by {kl:.3g} nats"
        generator = backend(model, batch)
        for slot in range(batch):
            generator.reset(slot, speaker=slot % cfg.n_speakers, seed=slot, frames=frames[slot])
        sampled = generator.generate(SELF_CHECK_STEPS)
        if not ((sampled >= 0) & (sampled < cfg.classes)).all():
            return "it sampled codes out of range"
    except Exception as err:  # noqa: BLE001 - any failure means "do not use it here"
        return f"{type(err).__name__}: {err}".splitlines()[0][:300]
    return None


def _random_frames(cfg, rng: np.random.Generator) -> np.ndarray:
    """Frames for the self-check: normal noise, with stable filters (reflection coefficients within ±0.9)
    and an F0 of 50 to 800 Hz where the model reads them."""
    frames = rng.standard_normal((SELF_CHECK_STEPS // cfg.cond_hop + 2 + cfg.lookahead_frames, cfg.cond_channels))
    end = cfg.cond_channels - int(cfg.f0_channel)
    if cfg.lpc_order:
        frames[:, end - cfg.lpc_order : end] = 0.9 * np.tanh(frames[:, end - cfg.lpc_order : end])
    if cfg.f0_channel:
        frames[:, -1] = rng.uniform(50.0, 800.0, len(frames))
    return frames.astype(np.float32)


def _shape(cfg) -> str:
    return f"a model of {cfg.layers} layers, residual {cfg.residual_channels}, gate {cfg.gate_channels}, skip {cfg.skip_channels}"


def _pow2(n: int, least: int = 16) -> int:
    return max(least, 1 << max(0, n - 1).bit_length())


class FusedGenerator(CachedGenerator):
    """The slot generator of :mod:`wavenet.generation.slots`, one Triton kernel launch per chunk."""

    name = "triton"
    half_weights = False

    def __init__(self, model: WaveNet, batch_size: int = 1, gate_tile: int = 32, head_tile: int = 32) -> None:
        if not available():
            raise WavenetError("the triton backend needs Triton (pip install triton)")
        param = next(model.parameters())
        if param.dtype != torch.float32:
            raise WavenetError("the triton backend runs float32 models")
        if param.device.type != "cuda" and not interpreted():
            raise WavenetError(
                "the triton backend runs on a CUDA device; on a CPU only through Triton's interpreter "
                "(TRITON_INTERPRET=1), which is for tests"
            )
        super().__init__(model, batch_size)
        from wavenet.generation.backends import _fused_kernel

        self._kernel = _fused_kernel.chunk_kernel
        cfg = self.config
        self.rp, self.hp, self.sp = (_pow2(n) for n in (cfg.residual_channels, self._half, cfg.skip_channels))
        self.cp = _pow2(cfg.classes)
        self.hc, self.sc = min(self.hp, _pow2(gate_tile)), min(self.sp, _pow2(head_tile))
        self._pack()
        # One flat ring for every layer, so the kernel reaches them all; the torch backend's
        # per-layer buffers become views of it, and its resets, moves and suspends work unchanged.
        sizes = [buf.shape[0] for buf in self._buffers]
        self._ring = torch.zeros(sum(sizes), batch_size, cfg.residual_channels, device=self.device)
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        self._buffers = [self._ring[a : a + n] for a, n in zip(starts, sizes, strict=True)]
        as_int = {"device": self.device, "dtype": torch.int64}
        self._dilations = torch.tensor(cfg.dilations, **as_int)
        self._ring_starts = torch.tensor(starts, **as_int)
        self._ring_sizes = torch.tensor(sizes, **as_int)
        self._period = math.lcm(*sizes)  # ring positions repeat with this period: the kernel's clock stays small
        self._nothing = torch.zeros(1, device=self.device)
        self._no_codes = torch.zeros(1, device=self.device, dtype=torch.long)
        self._no_values = torch.zeros(1, device=self.device, dtype=torch.float64)
        if cfg.lpc_order:  # the filter's state on the device, where the kernel reads and writes it
            self._source = DeviceSourceState(batch_size, cfg.lpc_order, cfg.mu, self.device)
            self._thresholds = torch.full((self.cp,), float("inf"), dtype=torch.float64, device=self.device)
            self._thresholds[: cfg.classes - 1] = self._source.thresholds
            self._values = torch.zeros(self.cp, dtype=torch.float64, device=self.device)
            self._values[: cfg.classes] = self._source.values

    def _pack(self) -> None:
        """The weights in the kernel's layouts, padded with zeros to powers of two (at least 16)."""
        cfg, model = self.config, self.model
        r, h, s, c, k = cfg.residual_channels, self._half, cfg.skip_channels, cfg.classes, cfg.kernel_size
        rp, hp, sp, cp, n = self.rp, self.hp, self.sp, self.cp, cfg.layers
        f32 = {"dtype": torch.float32, "device": self.device}
        with torch.no_grad():
            self._in_taps = torch.zeros(cfg.input_kernel_size, c + 1, rp, **f32)
            self._in_taps[:, :, :r] = model.input.taps()
            self._in_b = torch.zeros(rp, **f32)
            self._in_b[:r] = model.input.conv.bias
            wf, wg = torch.zeros(n, k, rp, hp, **f32), torch.zeros(n, k, rp, hp, **f32)
            self._bf, self._bg = torch.zeros(n, hp, **f32), torch.zeros(n, hp, **f32)
            skip_w, self._skip_b = torch.zeros(n, hp, sp, **f32), torch.zeros(n, sp, **f32)
            res_w, self._res_b = torch.zeros(n, hp, rp, **f32), torch.zeros(n, rp, **f32)
            for i, block in enumerate(model.blocks):
                w = block.conv.weight  # (G, R, K): output rows [filters; gates], tap 0 the oldest
                wf[i, :, :r, :h] = w[:h].permute(2, 1, 0)
                wg[i, :, :r, :h] = w[h:].permute(2, 1, 0)
                self._bf[i, :h], self._bg[i, :h] = block.conv.bias[:h], block.conv.bias[h:]
                skip_w[i, :h, :s] = block.skip.weight[:, :, 0].t()
                self._skip_b[i, :s] = block.skip.bias
                if block.residual is not None:
                    res_w[i, :h, :r] = block.residual.weight[:, :, 0].t()
                    self._res_b[i, :r] = block.residual.bias
            h1_w = torch.zeros(sp, sp, **f32)
            h1_w[:s, :s] = model.head.hidden.weight[:, :, 0].t()
            self._h1_b = torch.zeros(sp, **f32)
            self._h1_b[:s] = model.head.hidden.bias
            h2_w = torch.zeros(sp, cp, **f32)
            h2_w[:s, :c] = model.head.out.weight[:, :, 0].t()
            self._h2_b = torch.full((cp,), float("-inf"), **f32)  # padded classes are never drawn
            self._h2_b[:c] = model.head.out.bias
            if cfg.lpc_order:  # the prediction's and the last excitation's embeddings, (classes, RP)
                self._pred_tab, self._exc_tab = torch.zeros(c, rp, **f32), torch.zeros(c, rp, **f32)
                self._pred_tab[:, :r] = model.prediction_input.weight
                self._exc_tab[:, :r] = model.excitation_input.weight
            if cfg.source_harmonics:  # the periodic source's projection, (harmonics, RP)
                self._sine_w = torch.zeros(cfg.source_harmonics, rp, **f32)
                self._sine_w[:, :r] = model.sine_input.weight[:, :, 0].t()
        dtype = torch.float16 if self.half_weights else torch.float32
        self._wf, self._wg, self._skip_w, self._res_w, self._h1_w, self._h2_w = (
            x.to(dtype).contiguous() for x in (wf, wg, skip_w, res_w, h1_w, h2_w)
        )

    def _source_inputs(self, k: int, n: int, sample: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The next n steps' predictors (k, n, p + 1) float64, sines (k, n, harmonics) and (when sampling, and
        a stream draws voiced frames at another temperature) temperatures (k, n) of the first k slots."""
        cfg, dev = self.config, self.device
        filters = self._no_values
        if cfg.lpc_order:
            filters = torch.from_numpy(self._filter_values(k, n)).to(dev).contiguous()
        sines = self._nothing
        if cfg.source_harmonics:
            sines = torch.from_numpy(self._sine_values(k, n)).to(dev).contiguous()
        per_step = self._step_temperatures(k, n) if sample and cfg.f0_channel else None
        temperatures = None if per_step is None else torch.from_numpy(per_step).to(dev, torch.float32).contiguous()
        return filters, sines, temperatures

    def _launch(self, k: int, n: int, sample: bool, uniforms=None, codes_in=None, codes_out=None, logits=None) -> None:
        cfg = self.config
        filters, sines, temperatures = self._source_inputs(k, n, sample)
        lpc = self._source is not None
        conditioned = cfg.conditioned
        cond = self._cond_frames if conditioned else self._nothing
        cond_off = self._cond_offset if conditioned else self._no_codes
        grid = (_cdiv(k, STREAMS_PER_PROGRAM),)
        self._kernel[grid](
            self._ring, self._past_codes, self._last, self._speaker_bias, self._temperature,
            self._dilations, self._ring_starts, self._ring_sizes,
            self._in_taps, self._in_b, self._wf, self._wg, self._bf, self._bg, self._skip_w, self._skip_b,
            self._res_w, self._res_b, self._h1_w, self._h1_b, self._h2_w, self._h2_b,
            cond, cond_off, cond.shape[1] if conditioned else 0,
            self._nothing if uniforms is None else uniforms,
            self._no_codes if codes_in is None else codes_in,
            self._no_codes if codes_out is None else codes_out,
            self._nothing if logits is None else logits,
            self._source.history if lpc else self._no_values, self._source.predicted if lpc else self._no_values,
            filters, self._thresholds if lpc else self._no_values, self._values if lpc else self._no_values,
            self._pred_tab if lpc else self._nothing, self._exc_tab if lpc else self._nothing,
            sines, self._sine_w if cfg.source_harmonics else self._nothing,
            self._nothing if temperatures is None else temperatures,
            k, n, self._t % self._period,
            B=self.batch_size, L=cfg.layers, KSZ=cfg.kernel_size, KIN=cfg.input_kernel_size,
            KP=_pow2(cfg.input_kernel_size - 1, least=2), R=cfg.residual_channels, H=self._half, CLS=cfg.classes,
            RP=self.rp, HP=self.hp, SP=self.sp, CP=self.cp, HC=self.hc, SC=self.sc, BB=STREAMS_PER_PROGRAM,
            HOP=cfg.cond_hop if conditioned else 1, CONDITIONED=conditioned, SAMPLE=sample,
            WT=_operand_type(self.half_weights), SILENCE=self._silence,
            P=cfg.lpc_order, PP=_pow2(cfg.lpc_order, least=2), HARM=cfg.source_harmonics,
            STEP_TEMPS=temperatures is not None,
            # float32 products in IEEE precision (not TF32); half products as Triton's default
            PRECISION="tf32" if self.half_weights else "ieee",
            num_warps=4, num_stages=1,  # no software pipelining: one stage of tiles in shared memory
            enable_fp_fusion=not lpc,  # the filter's float64 sums rounded as numpy's, not fused into FMAs
        )  # fmt: skip
        self._t += n
        if conditioned:
            self._cond_offset[:k] += n

    @torch.inference_mode()
    def run(self, uniforms: torch.Tensor) -> torch.Tensor:
        k, n = uniforms.shape
        self._prepare(n, k)
        out = torch.empty(k, n, dtype=torch.long, device=self.device)
        self._launch(k, n, True, uniforms=uniforms.to(self.device, torch.float32).contiguous(), codes_out=out)
        self._pos[:k] += n
        return out

    @torch.inference_mode()
    def step(self, codes: torch.Tensor) -> torch.Tensor:
        k = codes.shape[0]
        self._prepare(1, k)
        logits = torch.empty(k, 1, self.config.classes, device=self.device)
        self._launch(k, 1, False, codes_in=codes.to(self.device, torch.long).contiguous(), logits=logits)
        self._pos[:k] += 1
        return logits[:, 0]


def _operand_type(half: bool):
    """The products' operand type: the weights' (the activations are cast to it)."""
    import triton.language as tl

    return tl.float16 if half else tl.float32


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


class FusedHalfGenerator(FusedGenerator):
    name = "triton-f16"
    half_weights = True
