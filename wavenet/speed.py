"""Speed, measured: generation (every backend side by side, the same model, the same run) and training.

Speed claims in this project are ratios measured in one run on one machine; this module makes
them. For each backend and batch size it warms up, then times several repetitions and reports
the median as samples/s (total and per stream) and the real-time factor (per-stream samples/s
over the sample rate: above 1 is faster than real time). Each repetition generates about
``seconds_per_repeat`` of wall time's worth of samples, as estimated from the warm-up, so that
fast and slow backends are timed over comparable spans.

The naive generator costs a full forward pass over the receptive field per sample, so it is
timed over a few steps at its steady state (a full receptive field of history).

Several models are timed in one run, each row then also given relative to the first model at the
same backend and batch: ``wavenet bench --model ref20,ref20-mel`` is what local conditioning
costs. A conditioned model's streams read random frames (their values do not change the work).

Training (:func:`train_speed`, ``wavenet bench --train CONFIG``) runs the real trainer on a
recipe's prepared data for some steps and reports, per second, the crop positions (what the
trainer logs), the logits computed and the targets the loss counts; the process's peak memory;
and the arithmetic rate (multiply-adds of the forward and backward passes, counted from the
model's sizes) against this machine's float32 matrix-product rate, measured in the same run.
"""

from __future__ import annotations

import json
import resource
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from wavenet.errors import WavenetError
from wavenet.generation.backends import native
from wavenet.generation.backends.naive import NaiveGenerator
from wavenet.generation.registry import available_backends, make_generator
from wavenet.machine import machine_description
from wavenet.release import Checkpoint


@dataclass
class BenchResult:
    model: str
    backend: str
    batch: int
    samples_per_stream: int
    seconds_median: float
    seconds_all: list[float]
    samples_per_s: float  # all streams together
    samples_per_s_per_stream: float
    real_time_factor: float  # per stream; > 1 is faster than real time


def bench_machine(device: torch.device) -> dict[str, str | int]:
    """The machine, with the native backend's thread count (it decides the CPU figures)."""
    return machine_description(device) | {"native_threads": native.default_threads()}


def bench_backend(
    checkpoint: Checkpoint, backend: str, batch: int, repeats: int, seconds_per_repeat: float, naive_steps: int
) -> BenchResult:
    cfg = checkpoint.config
    generator = make_generator(checkpoint.model, batch, backend)
    for slot in range(batch):
        generator.reset(slot, speaker=slot % cfg.n_speakers, seed=slot, frames=_random_frames(cfg, slot, repeats))
    if isinstance(generator, NaiveGenerator):
        generator.fill_history(torch.randint(0, checkpoint.config.classes, (batch, checkpoint.config.receptive_field)))
        samples = naive_steps
        generator.generate(1)  # warm-up
    else:
        generator.generate(32)  # warm-up: allocations, caches, lazy initialisation
        start = time.perf_counter()
        generator.generate(256)
        per_second = 256 / (time.perf_counter() - start)
        samples = int(min(max(256, per_second * seconds_per_repeat), 10 * checkpoint.config.sample_rate))
    times = []
    for _ in range(repeats):
        _synchronize(generator.device)
        start = time.perf_counter()
        generator.generate(samples)  # returns codes on the host, so the device work is finished
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    per_stream = samples / median
    return BenchResult(
        model=checkpoint.name,
        backend=backend,
        batch=batch,
        samples_per_stream=samples,
        seconds_median=median,
        seconds_all=times,
        samples_per_s=per_stream * batch,
        samples_per_s_per_stream=per_stream,
        real_time_factor=per_stream / checkpoint.config.sample_rate,
    )


def _random_frames(cfg, slot: int, repeats: int) -> np.ndarray | None:
    """Frames for everything a bench run generates (at most 10 s per repetition, the warm-up and a margin)."""
    if not cfg.conditioned:
        return None
    samples = (repeats + 2) * 10 * cfg.sample_rate
    rng = np.random.default_rng(slot)
    return rng.standard_normal((samples // cfg.cond_hop + 1, cfg.cond_channels)).astype(np.float32)


def run_bench(
    checkpoints: list[Checkpoint],
    batches: list[int],
    seconds_per_repeat: float = 2.0,
    repeats: int = 5,
    naive_steps: int = 8,
    backends: list[str] | None = None,
) -> list[BenchResult]:
    """Every backend (or those named) at every batch size, for each model in turn."""
    results = []
    for checkpoint in checkpoints:
        for backend in backends or available_backends(checkpoint.model):
            for batch in batches:
                results.append(bench_backend(checkpoint, backend, batch, repeats, seconds_per_repeat, naive_steps))
    return results


def format_table(results: list[BenchResult]) -> str:
    """A Markdown table: speed relative to plain torch at the same batch, and to the first model when several."""
    first = results[0].model
    several = any(r.model != first for r in results)
    torch_speed = {(r.model, r.batch): r.samples_per_s for r in results if r.backend == "torch"}
    first_speed = {(r.backend, r.batch): r.samples_per_s for r in results if r.model == first}
    head = "| model " if several else ""
    lines = [
        f"{head}| backend | batch | samples/s (total) | samples/s per stream | real-time factor | vs torch |"
        + (f" vs {first} |" if several else ""),
        ("|---" if several else "") + "|---|---:|---:|---:|---:|---:|" + ("---:|" if several else ""),
    ]
    for r in results:
        ratio = torch_speed.get((r.model, r.batch))
        row = (f"| {r.model} " if several else "") + (
            f"| {r.backend} | {r.batch} | {r.samples_per_s:,.0f} | {r.samples_per_s_per_stream:,.1f} "
            f"| {r.real_time_factor:.4g} | {f'{r.samples_per_s / ratio:.3g}x' if ratio else '-'} |"
        )
        if several:
            base = first_speed.get((r.backend, r.batch))
            row += f" {f'{r.samples_per_s / base:.3g}x' if base else '-'} |"
        lines.append(row)
    return "\n".join(lines)


def write_json(path: Path, checkpoints: list[Checkpoint], results: list[BenchResult], device: torch.device) -> None:
    report = {
        "model": checkpoints[0].name,
        "config": checkpoints[0].config.to_dict(),
        "receptive_field": checkpoints[0].config.receptive_field,
        "models": {c.name: c.config.to_dict() for c in checkpoints},
        "machine": bench_machine(device),
        "results": [asdict(r) for r in results],
    }
    Path(path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class TrainSpeed:
    steps: int
    batch: int
    crop: int  # samples per crop
    seconds_per_step: float  # median
    positions_per_s: float  # batch × crop a second: every position of the crops (what the trainer logs)
    computed_per_s: float  # logits computed a second (from each batch's first counted target on)
    counted_per_s: float  # targets the loss counts, a second
    peak_rss_mb: float  # the process's peak resident memory
    gflop_per_step: float  # 2 × multiply-adds of the forward pass, × 3 for the backward
    gflop_per_s: float
    peak_gflop_per_s: float  # a float32 matrix product of 2048 × 2048, same threads, same run
    share_of_peak: float


def training_flops(model, batch: int, crop: int, first: int) -> float:
    """Floating-point operations of one training step: the forward's multiply-adds × 2 × 3 (backward twice the forward).

    Counted from the sizes over the positions each layer computes (:meth:`wavenet.model.WaveNet.first_outputs`):
    the dilated convolutions, the residual and skip convolutions, the head; the input lookups,
    the gates and the frame-rate conditioner are left out (no products, or a few).
    """
    cfg = model.config
    half = cfg.gate_channels // 2
    macs = 0
    for block, out in zip(model.blocks, model.first_outputs(first), strict=True):
        n = crop - out
        macs += n * cfg.gate_channels * cfg.residual_channels * cfg.kernel_size  # dilated convolution
        macs += n * (cfg.residual_channels * half if block.residual is not None else 0)
    n = crop - first
    macs += n * cfg.skip_channels * half * cfg.layers  # the skips
    macs += n * (cfg.skip_channels * cfg.skip_channels + cfg.classes * cfg.skip_channels)  # the head
    return 6.0 * macs * batch


def matmul_peak(size: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of a float32 matrix product here (the best of ``repeats``), with torch's current threads."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def train_speed(config, steps: int = 20, warmup: int = 3) -> TrainSpeed:
    """Time ``steps`` training steps of a run config (:class:`wavenet.training.run_config.RunConfig`) after ``warmup``.

    The trainer runs in a temporary directory, with no evaluation: only its steps are timed.
    """
    from wavenet.data.dataset import IGNORE
    from wavenet.training.trainer import Trainer

    if config.task != "wavenet":
        raise WavenetError(f"task {config.task}: the training benchmark times WaveNet runs (samples, FLOPs)")
    with tempfile.TemporaryDirectory() as tmp:
        config = replace(config, run_dir=str(Path(tmp) / "run"), train=replace(config.train, eval_audio_seconds=0.0))
        trainer = Trainer(config)
        batch_size, crop = config.data.batch_size, trainer.task.units_per_crop
        times, computed, counted, flops = [], 0, 0, 0.0
        for i in range(warmup + steps):
            batch = trainer.task.batch(trainer.step, batch_size, trainer.ctx.rank)  # what train_step will draw
            start = time.perf_counter()
            trainer.train_step()
            elapsed = time.perf_counter() - start
            trainer.step += 1
            if i >= warmup:
                times.append(elapsed)
                computed += batch_size * (crop - batch.first)
                counted += int((batch.targets != IGNORE).sum())
                flops += training_flops(trainer.model, batch_size, crop, batch.first)
    total = sum(times)
    peak = matmul_peak()
    rate = flops / total / 1e9
    return TrainSpeed(
        steps=steps,
        batch=batch_size,
        crop=crop,
        seconds_per_step=statistics.median(times),
        positions_per_s=batch_size * crop * steps / total,
        computed_per_s=computed / total,
        counted_per_s=counted / total,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        gflop_per_step=flops / steps / 1e9,
        gflop_per_s=rate,
        peak_gflop_per_s=peak,
        share_of_peak=rate / peak,
    )


def format_train_speed(r: TrainSpeed) -> str:
    return "\n".join([
        f"{r.steps} steps of {r.batch} crops of {r.crop} samples: {r.seconds_per_step:.3f} s a step (median)",
        f"  crop positions: {r.positions_per_s:,.0f}/s; logits computed: {r.computed_per_s:,.0f}/s; "
        f"targets counted by the loss: {r.counted_per_s:,.0f}/s",
        f"  arithmetic: {r.gflop_per_step:.1f} GFLOP a step, {r.gflop_per_s:.1f} GFLOP/s = {r.share_of_peak:.0%} of "
        f"this machine's float32 matrix product ({r.peak_gflop_per_s:.0f} GFLOP/s)",
        f"  peak memory of the process: {r.peak_rss_mb:,.0f} MB",
    ])  # fmt: skip
