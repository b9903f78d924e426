"""The training loop: ``wavenet train CONFIG [--resume] [dotted.key=value ...]``.

Launch commands:

    wavenet train recipes/debug/config.yaml data.dir=DATA run_dir=RUN            # CPU or one GPU
    torchrun --standalone --nproc_per_node=8 -m wavenet train CONFIG ...         # 8 GPUs, NCCL
    torchrun --standalone --nproc_per_node=2 -m wavenet train CONFIG train.device=cpu   # 2 CPU processes, gloo
    torchrun --nnodes=2 --node_rank=N --rdzv_endpoint=HOST:29500 --nproc_per_node=8 -m wavenet train CONFIG

Each process trains on its own crops (``data.batch_size`` per process); DistributedDataParallel
averages the gradients, so all processes hold the same weights after every step. Only the main
process logs and writes checkpoints.

A run is a pure function of its config: the crops of every step derive from (seed, step, rank),
and ``--resume`` restores the model, optimiser, schedule, grad scaler, EMA, step and RNG states,
so a run killed at any point and resumed reaches the same weights as one never interrupted.
"""

from __future__ import annotations

import logging
import math
import random
import time
import zlib
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from wavenet.data.dataset import PreparedData
from wavenet.errors import WavenetError
from wavenet.files import atomic_write_text
from wavenet.machine import machine_description
from wavenet.release import load_release
from wavenet.training import checkpoints, distributed
from wavenet.training.allocator import keep_freed_memory
from wavenet.training.logger import RunLogger
from wavenet.training.optim import EMA, build_optimizer, build_scheduler
from wavenet.training.run_config import RunConfig, parse_duration
from wavenet.training.tasks import LN2, make_task
from wavenet.training.yaml_file import to_yaml

log = logging.getLogger(__name__)

ANY_SPEAKER = "any"  # the speaker name of the extra id that data.speaker_dropout trains
DATA_STATISTICS = ("input_mean", "input_std", "mel_mean", "mel_std")  # an acoustic model's: its data's, kept


def rng_state() -> dict[str, Any]:
    """Global RNG states, as tensors and plain values (what ``weights_only`` loading accepts)."""
    kind, key, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    state = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {"kind": kind, "key": torch.from_numpy(key.astype(np.int64)), "pos": pos, "gauss": (has_gauss, gauss)},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    numpy = state["numpy"]
    np.random.set_state((numpy["kind"], numpy["key"].numpy().astype(np.uint32), numpy["pos"], *numpy["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def parameter_checksum(model: torch.nn.Module) -> int:
    """A CRC of every weight's bytes: equal across processes exactly when they train in step."""
    crc = 0
    for p in model.parameters():
        crc = zlib.crc32(p.detach().cpu().numpy().tobytes(), crc)
    return crc


def warm_start(
    model: torch.nn.Module, source: dict[str, torch.Tensor], speakers: dict[str, int], source_speakers: dict[str, int]
) -> tuple[list[str], list[str]]:
    """Copy into ``model`` what of ``source`` (a state dict) fits it; return (loaded, initialised) names.

    A tensor is loaded when its name and shape match; one that has grown along one dimension (the
    conditioner's first convolution when the frames gain channels) takes the source in its leading
    part and zeros in the rest, so the new inputs start silent. The speaker table is loaded row by row:
    each of this model's speakers takes the row of the source's speaker of the same name (of the
    same id where either has no names); a speaker the source lacks keeps its fresh row, and is
    listed as ``speaker_embedding.weight[name]``. The conditioner's feature statistics (an acoustic
    model's input and mel statistics) are the data's, never the source's.
    """
    own = model.state_dict()
    loaded, initialised = [], []
    with torch.no_grad():
        for name, tensor in own.items():
            theirs = source.get(name)
            if name.startswith("conditioner.") and name.split(".")[-1] in ("mean", "std") or name in DATA_STATISTICS:
                continue  # the statistics of this run's data
            if name == "speaker_embedding.weight" and theirs is not None and theirs.shape[1:] == tensor.shape[1:]:
                if speakers and source_speakers:
                    pairs = [(i, source_speakers[n]) for n, i in speakers.items() if n in source_speakers]
                else:
                    pairs = [(i, i) for i in range(min(len(tensor), len(theirs)))]
                pairs = [(i, j) for i, j in pairs if i < len(tensor) and j < len(theirs)]
                for i, j in pairs:
                    tensor[i] = theirs[j]
                matched = {i for i, _ in pairs}
                names = {i: n for n, i in speakers.items()}
                loaded.append(f"{name} ({len(matched)} of {len(tensor)} speakers)")
                initialised += [f"{name}[{names.get(i, i)}]" for i in range(len(tensor)) if i not in matched]
            elif theirs is not None and theirs.shape == tensor.shape:
                tensor.copy_(theirs)
                loaded.append(name)
            elif theirs is not None and _grown(theirs.shape, tensor.shape):
                tensor.zero_()
                tensor[tuple(slice(0, n) for n in theirs.shape)] = theirs
                loaded.append(f"{name} (its {tuple(theirs.shape)} into {tuple(tensor.shape)}, the rest zero)")
            else:
                initialised.append(name)
    return loaded, initialised


def _grown(old: torch.Size, new: torch.Size) -> bool:
    """Whether ``new`` is ``old`` grown along exactly one dimension."""
    return (
        len(old) == len(new)
        and all(n >= o for o, n in zip(old, new, strict=True))
        and sum(n != o for o, n in zip(old, new, strict=True)) == 1
    )


class Trainer:
    def __init__(self, config: RunConfig, resume: bool = False) -> None:
        self.config = config
        self.ctx = distributed.setup(config.train.device)
        if self.ctx.device.type == "cpu":
            keep_freed_memory()  # a step's freed activations serve the next (wavenet/training/allocator.py)
        if config.train.threads:
            torch.set_num_threads(config.train.threads)
        # Where this process trains, saved with each checkpoint for the release's history.
        info = machine_description(self.ctx.device)
        where = info.get("gpu") or f"{info['cpu']}, {info['torch_threads']} threads"
        self.machine = f"{self.ctx.world_size} x {where}" if self.ctx.world_size > 1 else str(where)
        self.run_dir = Path(config.run_dir)
        self.data = PreparedData(Path(config.data.dir))
        self.speakers = dict(self.data.speakers)
        if config.data.speaker_dropout:  # one more id, for any voice
            self.speakers[ANY_SPEAKER] = len(self.data.speakers)
        self.task = make_task(config, self.data, self.speakers)
        self.model_config = self.task.model_config
        self.valid_batches = self.task.valid_batches
        torch.manual_seed(config.train.seed)
        self.model = self.task.build_model().to(self.ctx.device)
        self.ema = EMA(self.model, config.train.ema_decay) if config.train.ema_decay > 0 else None
        self.optimizer = build_optimizer(self.model, config.optim)
        self.scheduler = build_scheduler(self.optimizer, config.train.steps, config.optim)
        precision = config.train.precision
        if precision == "fp16" and self.ctx.device.type != "cuda":
            raise WavenetError("train.precision fp16 needs CUDA; on CPU use bf16 or fp32")
        self.autocast_dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
        self.scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
        self.step = 0
        self.best_valid = math.inf
        self.train_seconds = 0.0
        self._resume_or_start(resume)
        self.net = (
            DistributedDataParallel(
                self.model, device_ids=[self.ctx.device.index] if self.ctx.device.type == "cuda" else None
            )
            if self.ctx.distributed
            else self.model
        )

    def _resume_or_start(self, resume: bool) -> None:
        existing = checkpoints.step_checkpoints(self.run_dir)
        if existing and not resume:
            raise WavenetError(
                f"{self.run_dir} already holds checkpoints (newest {existing[-1].name}); "
                "pass --resume to continue that run, or choose another run_dir"
            )
        if resume and self.ctx.is_main:
            checkpoints.remove_temporaries(self.run_dir)
        state = checkpoints.load_latest(self.run_dir) if resume else None
        if state is None:
            if resume:
                log.info("nothing to resume in %s: starting from step 0", self.run_dir)
            if self.config.train.init_from:
                self._init_from(Path(self.config.train.init_from))
            return
        if (
            state.get("task", "wavenet") != self.config.task
            or self.task.saved_config(state["model_config"]) != self.model_config
        ):
            raise WavenetError(
                f"{self.run_dir}: the checkpoint's model config differs from this config's model section"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        set_rng_state(state["rng"])
        self.step = state["step"]
        self.best_valid = state["best_valid"]
        self.train_seconds = state["train_seconds"]
        log.info("resumed %s at step %d", self.run_dir, self.step)

    def _init_from(self, path: Path) -> None:
        """Start from a release's weights: to train a shipped model further, to fine-tune it on new
        data, or to warm-start a different model from what it shares with one (an unconditioned
        model under a conditioned one, a smaller speaker table), when the run that made it is not
        at hand. Every tensor whose name and shape match is loaded; speaker rows are matched by
        name (by id where either side has no names); the rest keeps this run's initialisation.
        Both lists are logged."""
        try:
            release = load_release(path)
        except WavenetError as error:
            raise WavenetError(f"train.init_from: {error}") from None
        acoustic = self.config.task == "acoustic"
        if acoustic != (release.acoustic is not None):
            wanted = "a two-stage (acoustic) release" if acoustic else "a WaveNet release"
            raise WavenetError(f"train.init_from: {path}: task {self.config.task} starts from {wanted}")
        source = release.acoustic.model if acoustic else release.model
        loaded, initialised = warm_start(self.model, source.state_dict(), self.speakers, release.speakers)
        if not loaded:
            raise WavenetError(f"train.init_from: {path}: no tensor of it fits this run's model")
        if self.ema is not None:
            self.ema = EMA(self.model, self.config.train.ema_decay)
        log.info("initialised from %s: loaded %s", path, ", ".join(loaded))
        if initialised:
            log.info("initialised afresh (not in %s, or of another shape): %s", path.name, ", ".join(initialised))

    def state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "task": self.config.task,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "rng": rng_state(),
            "best_valid": self.best_valid,
            "train_seconds": self.train_seconds,
            "model_config": self.model_config.to_dict(),
            "speakers": self.speakers,
            "data": {
                "dir": str(self.data.directory.resolve()),
                "audio": self.data.meta["audio"],
                "splits": self.data.meta["splits"],
                "features": self.data.features.to_dict() if self.data.features else None,
            },
            "config": to_yaml(self.config),
            "machine": self.machine,
        }

    def _autocast(self):
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(self.ctx.device.type, dtype=self.autocast_dtype)

    def train_step(self) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        batch = self.task.batch(self.step, cfg.data.batch_size, self.ctx.rank).to(self.ctx.device)
        self.net.train()
        with self._autocast():
            total, count = self.task.loss_sum(self.net, batch)
        loss = total / count.clamp(min=1)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        max_norm = cfg.optim.grad_clip if cfg.optim.grad_clip > 0 else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update(self.model)
        return loss.detach(), grad_norm.detach()

    @torch.no_grad()
    def validate(self) -> float:
        """Mean validation loss over the fixed crops (a WaveNet's in nats per sample), with the weights export would use."""
        model = self.ema.model if self.ema is not None else self.model
        model.eval()
        total = torch.zeros((), device=self.ctx.device, dtype=torch.float64)
        count = torch.zeros((), device=self.ctx.device, dtype=torch.float64)
        for batch in self.valid_batches:
            with self._autocast():
                batch_total, batch_count = self.task.loss_sum(model, batch.to(self.ctx.device))
            total += batch_total
            count += batch_count
        return (total / count.clamp(min=1)).item()

    def sample_audio(self) -> np.ndarray | None:
        """Audio for TensorBoard (None where the task's model makes frames, not audio)."""
        model = self.ema.model if self.ema is not None else self.model
        return self.task.sample_audio(model, self.config.train.eval_audio_seconds, self.config.train.seed)

    def save_checkpoint(self) -> None:
        if self.ctx.is_main:
            checkpoints.save_step(self.run_dir, self.step, self.state(), self.config.train.keep_last)
        distributed.barrier(self.ctx)

    def run(self) -> None:
        cfg = self.config
        if self.ctx.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            resolved = to_yaml(cfg)
            atomic_write_text(self.run_dir / "config.yaml", resolved)
            log.info("resolved config (saved in %s):\n%s", self.run_dir / "config.yaml", resolved.rstrip())
            log.info(
                "model: %s; %d process(es) on %s; %d speakers",
                self.task.describe(self.model),
                self.ctx.world_size,
                self.ctx.device,
                len(self.data.speakers),
            )
        logger = RunLogger(self.run_dir, self.step, cfg.train.steps, self.ctx.is_main)
        units_per_step = cfg.data.batch_size * self.task.units_per_crop * self.ctx.world_size
        unit = self.task.unit
        window_loss = torch.zeros((), device=self.ctx.device, dtype=torch.float64)
        window_steps, window_start = 0, time.perf_counter()
        deadline = time.monotonic() + parse_duration(cfg.train.time_limit) if cfg.train.time_limit else None
        try:
            while self.step < cfg.train.steps:
                if deadline is not None and self._out_of_time(deadline):
                    self.train_seconds += time.perf_counter() - window_start
                    self.save_checkpoint()
                    logger.message(
                        f"step {self.step}: train.time_limit {cfg.train.time_limit} reached; checkpoint saved, "
                        "--resume goes on from here"
                    )
                    return
                loss, grad_norm = self.train_step()
                self.step += 1
                window_loss += loss
                window_steps += 1
                if self.step % cfg.train.log_every == 0 or self.step == cfg.train.steps:
                    mean = distributed.mean_across(window_loss / window_steps, self.ctx).item()
                    if not math.isfinite(mean):
                        raise WavenetError(
                            f"the training loss became {mean} by step {self.step}; resume from the last "
                            "checkpoint with a lower optim.lr or a smaller optim.grad_clip"
                        )
                    elapsed = time.perf_counter() - window_start
                    self.train_seconds += elapsed
                    speed = units_per_step * window_steps / elapsed
                    lr = self.scheduler.get_last_lr()[0]
                    logger.scalars(
                        self.step,
                        "train",
                        {**self.task.scalars(mean), "lr": lr, "grad_norm": grad_norm.item(), f"{unit}_per_s": speed},
                    )
                    shown = {"bits": f"{mean / LN2:.3f}"} if unit == "samples" else {}
                    logger.progress(window_steps, loss=f"{mean:.3f}", **shown, speed=f"{speed:,.0f} {unit}/s")
                    window_loss.zero_()
                    window_steps, window_start = 0, time.perf_counter()
                if self.step % cfg.train.eval_every == 0 or self.step == cfg.train.steps:
                    self.evaluate(logger)
                if self.step % cfg.train.checkpoint_every == 0 or self.step == cfg.train.steps:
                    self.save_checkpoint()
            self.report_sync(logger)
            # Every process leaves together: gloo aborts a process (SIGABRT, "terminate called without an
            # active exception") whose peer tore the group down first, as CI once saw.
            distributed.barrier(self.ctx)
        finally:
            logger.close()
            distributed.teardown(self.ctx)

    def _out_of_time(self, deadline: float) -> bool:
        """Whether the time limit has passed on any process: then every process stops at the same step."""
        late = torch.tensor(float(time.monotonic() >= deadline), device=self.ctx.device)
        return bool(distributed.max_across(late, self.ctx).item())

    def evaluate(self, logger: RunLogger) -> None:
        valid = self.validate()  # every process evaluates the same crops with the same weights
        if not self.ctx.is_main:
            return
        improved = valid < self.best_valid
        if improved:
            self.best_valid = valid
        scalars = self.task.scalars(valid)
        if "bits_per_sample" in scalars:
            scalars["best_bits_per_sample"] = self.best_valid / LN2
        else:
            scalars["best_loss"] = self.best_valid
        logger.scalars(self.step, "valid", scalars)
        logger.message(f"step {self.step}: validation {self.task.summary(valid)}{' (best)' if improved else ''}")
        if improved:
            checkpoints.save(checkpoints.checkpoint_dir(self.run_dir) / "best.pt", self.state())
        audio = self.sample_audio() if self.config.train.eval_audio_seconds > 0 else None
        if audio is not None:
            logger.audio(self.step, "generated/speaker0", audio, self.data.sample_rate)

    def report_sync(self, logger: RunLogger) -> None:
        """Log every process's weight checksum: under DDP they must all be equal."""
        sums = distributed.gather_objects(parameter_checksum(self.model), self.ctx)
        logger.scalars(self.step, "sync", {"world_size": self.ctx.world_size, "checksums": sums})
        if len(set(sums)) > 1:
            raise WavenetError(f"processes ended with different weights (checksums {sums})")


def train(config: RunConfig, resume: bool = False) -> None:
    Trainer(config, resume).run()
