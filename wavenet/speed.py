"""Generation speed, measured side by side: every backend, the same model, the same run.

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
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

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
