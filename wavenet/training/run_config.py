"""The configuration of a training run: model, data, optimiser and loop, one dataclass each.

Recipes are YAML files over ``recipes/base.yaml``; ``wavenet train CONFIG key=value ...``
overrides any key. The resolved config is printed at start-up and saved in the run directory.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wavenet.acoustic import AcousticConfig
from wavenet.data.features import FeatureOptions
from wavenet.errors import WavenetError
from wavenet.excitation import SINE_PHASES
from wavenet.model_config import PRESETS, WaveNetConfig
from wavenet.training.tasks import TASKS
from wavenet.training.yaml_file import Locations, apply_overrides, build, load_yaml


@dataclass
class DataConfig:
    dir: str = ""  # a directory written by `wavenet prepare`
    crop_seconds: float = 0.5  # length of each training crop
    batch_size: int = 8  # crops per step and per process
    skip_context: bool = True  # ignore targets whose receptive field a crop cuts off
    valid_crops: int = 64  # fixed validation crops, evaluated every eval_every steps
    # Share of crops whose speaker is replaced by one more id, "any": the model then also serves
    # with no speaker given, and voices it never heard (a vocoder, whose frames carry the voice).
    speaker_dropout: float = 0.0
    # A source-filter model (model.lpc_order > 0) hears the signal with this much noise (a Gaussian's
    # standard deviation in μ-law codes, rounded; LPCNet's noise injection): 0 hears it clean.
    source_noise: float = 0.0
    # A periodic source's phase in training crops: "frames" integrates the frames' F0 (as generation
    # does); "recording" moves it onto the recording's own fundamental, so that the sines tell
    # where the pitch pulses fall and generation places them where its sines say.
    sine_phase: str = "frames"


@dataclass
class OptimConfig:
    optimizer: str = "adamw"  # adam or adamw
    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    weight_decay: float = 0.0
    warmup_steps: int = 200  # linear warm-up from 0
    schedule: str = "cosine"  # after warm-up: cosine decay to min_lr_ratio * lr, or constant
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0  # max global gradient norm (Pascanu et al. 2013); 0 turns clipping off


@dataclass
class LoopConfig:
    steps: int = 10000
    precision: str = "fp32"  # fp32, bf16 (autocast, CPU or CUDA) or fp16 (autocast + grad scaler, CUDA)
    ema_decay: float = 0.0  # exponential moving average of the weights; 0 turns it off
    seed: int = 0
    device: str = "auto"  # auto (cuda when available), cpu or cuda
    threads: int = 0  # torch intra-op threads per process; 0 keeps torch's default
    log_every: int = 50
    eval_every: int = 500
    checkpoint_every: int = 500
    keep_last: int = 3  # training checkpoints kept besides the best one
    eval_audio_seconds: float = 0.5  # audio generated at each evaluation for TensorBoard; 0 turns it off
    init_from: str = ""  # a release (all its weights, or what fits of them) starts a new run; not used on --resume
    # Wall time after which the run stops cleanly with a checkpoint, for --resume to go on exactly
    # where it stopped: "150m", "2h", "90s" or seconds; "" runs to train.steps.
    time_limit: str = ""


DEFAULT_HARMONICS = 8  # a periodic source's sines, when the data's frames carry F0 and the model section says nothing


@dataclass
class RunConfig:
    run_dir: str = ""
    # What the run trains (wavenet.training.tasks): "wavenet", or "acoustic" (text to speech's frame-rate first stage)
    task: str = "wavenet"
    # WaveNetConfig fields, or preset: NAME plus changes; for task acoustic, AcousticConfig fields
    model: dict[str, Any] = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: LoopConfig = field(default_factory=LoopConfig)

    def model_config(
        self, n_speakers: int, sample_rate: int, mu: int, features: FeatureOptions | None = None
    ) -> WaveNetConfig:
        """The model's sizes; speakers, rate, μ and the features' channels and hop come from the data
        unless the config fixes them."""
        values = dict(self.model)
        preset = values.pop("preset", None)
        base = PRESETS[preset].to_dict() if preset else {}
        merged = {**base, **values}
        from_data = [("n_speakers", n_speakers), ("sample_rate", sample_rate), ("mu", mu)]
        if features is not None:
            from_data += [("cond_channels", features.channels), ("cond_hop", features.hop)]
            from_data += [("lpc_order", features.lpc_order)]
            if features.f0:  # frames with F0 make a periodic source of this many harmonics, unless the config says
                from_data += [("source_harmonics", DEFAULT_HARMONICS)]
        for key, value in from_data:
            if key not in values:
                merged[key] = value
        if features is not None and features.kind == "pianoroll" and merged.get("source_harmonics"):
            merged.setdefault("source_keys", 1)  # a roll's periodic source is its keys' sines
        config = WaveNetConfig.from_dict(merged)
        if features is None and config.conditioned:
            raise WavenetError("model.cond_channels: the data has no feature frames (prepare it with --features)")
        if features is not None and config.lpc_order != features.lpc_order:
            raise WavenetError(
                f"model.lpc_order ({config.lpc_order}) differs from the data's features ({features.lpc_order})"
            )
        if features is not None and features.kind != "pianoroll" and bool(config.source_harmonics) != features.f0:
            raise WavenetError(
                f"model.source_harmonics ({config.source_harmonics}) needs frames with F0 (prepare --f0), and "
                f"frames with F0 need it > 0; the data's features {'have' if features.f0 else 'have no'} F0"
            )
        if features is not None and (config.cond_channels, config.cond_hop) != (features.channels, features.hop):
            raise WavenetError(
                f"model cond_channels/cond_hop ({config.cond_channels}/{config.cond_hop}) differ from the data's "
                f"features ({features.channels}/{features.hop})"
            )
        if config.n_speakers < n_speakers:
            raise WavenetError(f"model.n_speakers is {config.n_speakers} but the data has {n_speakers} speakers")
        if (config.sample_rate, config.mu) != (sample_rate, mu):
            raise WavenetError(
                f"model sample_rate/mu ({config.sample_rate}/{config.mu}) differ from the data's ({sample_rate}/{mu})"
            )
        return config


CHOICES = {
    "task": TASKS,
    "optim.optimizer": ("adam", "adamw"),
    "optim.schedule": ("cosine", "constant"),
    "train.precision": ("fp32", "bf16", "fp16"),
    "train.device": ("auto", "cpu", "cuda"),
    "data.sine_phase": SINE_PHASES,
}
POSITIVE = ("data.crop_seconds", "data.batch_size", "data.valid_crops", "optim.lr", "train.steps")
POSITIVE += ("train.log_every", "train.eval_every", "train.checkpoint_every", "train.keep_last")
NON_NEGATIVE = ("optim.warmup_steps", "optim.grad_clip", "optim.weight_decay", "train.threads", "data.source_noise")
NON_NEGATIVE += ("train.eval_audio_seconds", "optim.min_lr_ratio")


def parse_duration(text: str) -> float:
    """Seconds from "150m", "2h", "90s", "1.5h" or a plain number of seconds; a WavenetError otherwise."""
    units = {"s": 1, "m": 60, "h": 3600}
    text = text.strip().lower()
    scale = units.get(text[-1:], None)
    number = text[:-1] if scale else text
    try:
        seconds = float(number) * (scale or 1)
    except ValueError:
        raise WavenetError(f"not a duration: {text!r} (use e.g. 150m, 2h, 90s)") from None
    if not seconds > 0 or seconds == float("inf"):
        raise WavenetError(f"a duration must be positive and finite, got {text!r}")
    return seconds


def _get(config: RunConfig, dotted: str) -> Any:
    if "." not in dotted:
        return getattr(config, dotted)
    section, key = dotted.split(".")
    return getattr(getattr(config, section), key)


def load_run_config(path: Path, overrides: list[str] | None = None) -> RunConfig:
    tree, locations = load_yaml(path)
    apply_overrides(tree, locations, overrides or [])
    config = build(RunConfig, tree, locations, source=str(path))
    _validate(config, locations, str(path))
    return config


def _validate(config: RunConfig, locations: Locations, source: str) -> None:
    def fail(key: str, message: str) -> None:
        raise WavenetError(f"{locations.get(key, source)}: {key} {message}")

    for key, allowed in CHOICES.items():
        if _get(config, key) not in allowed:
            fail(key, f"must be one of {', '.join(allowed)}, got {_get(config, key)!r}")
    for key in POSITIVE:
        if not _get(config, key) > 0:
            fail(key, f"must be positive, got {_get(config, key)}")
    for key in NON_NEGATIVE:
        if _get(config, key) < 0:
            fail(key, f"must not be negative, got {_get(config, key)}")
    if not 0 <= config.data.speaker_dropout < 1:
        fail("data.speaker_dropout", f"must be in [0, 1), got {config.data.speaker_dropout}")
    if not 0 <= config.train.ema_decay < 1:
        fail("train.ema_decay", f"must be in [0, 1), got {config.train.ema_decay}")
    if len(config.optim.betas) != 2 or not all(0 <= b < 1 for b in config.optim.betas):
        fail("optim.betas", f"must be two numbers in [0, 1), got {config.optim.betas}")
    if not config.run_dir:
        fail("run_dir", "must be set (the directory for checkpoints and logs)")
    if config.train.time_limit:
        try:
            parse_duration(config.train.time_limit)
        except WavenetError as err:
            fail("train.time_limit", str(err))
    if not config.data.dir:
        fail("data.dir", "must be set (a directory written by `wavenet prepare`)")
    if config.task == "acoustic":
        known = {f.name for f in dataclasses.fields(AcousticConfig)}
    else:
        known = {f.name for f in dataclasses.fields(WaveNetConfig)} | {"preset"}
    for key in config.model:
        if key not in known:
            fail(f"model.{key}", f"is not a model setting (known: {', '.join(sorted(known))})")
    preset = config.model.get("preset")
    if preset is not None and preset not in PRESETS:
        fail("model.preset", f"must be one of {', '.join(PRESETS)}, got {preset!r}")
