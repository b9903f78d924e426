"""What a training run teaches: the model, its batches, its loss; the trainer owns everything else.

The trainer's machinery (config, progress, checkpoints, exact resume, time limit, several
processes, export) is the same for every model this project trains. A task holds what differs:

- :class:`WaveNetTask` (``task: wavenet``, the default): crops of μ-law codes and their frames,
  the cross-entropy of each sample, reported in bits per sample too.
- :class:`AcousticTask` (``task: acoustic``): text to speech's first stage
  (:mod:`wavenet.acoustic`), crops of linguistic frames and the recordings' log-mel, the loss of
  :func:`wavenet.acoustic.acoustic_loss` per frame.

A task's batches, like the crops before them, are a pure function of (seed, step, rank), so a
resumed run sees the batches it would have seen.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from wavenet.acoustic import INPUT_CHANNELS, AcousticConfig, AcousticModel, acoustic_loss
from wavenet.data.audio import decoded
from wavenet.data.dataset import IGNORE, Batch, CropSampler, FrameBatch, FrameSampler, PreparedData
from wavenet.errors import WavenetError
from wavenet.generation.registry import make_generator
from wavenet.model import WaveNet
from wavenet.model_config import WaveNetConfig

log = logging.getLogger(__name__)

LN2 = math.log(2)
TASKS = ("wavenet", "acoustic")


def loss_sum(model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed cross-entropy in nats over the targets that count, and how many there were.

    Only the logits from the batch's first counted target on are computed (crops start on a frame).
    """
    logits = model(
        batch.inputs, batch.speakers, batch.frames, first=batch.first, source=batch.source, sines=batch.sines
    )  # (B, C, T - first)
    targets = batch.targets[:, batch.first :]
    total = F.cross_entropy(logits.float(), targets, ignore_index=IGNORE, reduction="sum")
    return total, (targets != IGNORE).sum()


class WaveNetTask:
    """A WaveNet on crops of samples: ``unit`` samples, ``units_per_crop`` of them in a crop."""

    unit = "samples"

    def __init__(self, config: Any, data: PreparedData, speakers: dict[str, int]) -> None:
        self.config, self.data = config, data
        self.model_config = config.model_config(len(speakers), data.sample_rate, data.mu, data.features)
        rf = self.model_config.receptive_field
        self.units_per_crop = round(config.data.crop_seconds * data.sample_rate)
        if config.data.skip_context and self.units_per_crop <= rf:
            raise WavenetError(
                f"data.crop_seconds: a crop of {self.units_per_crop} samples leaves no target with its full receptive "
                f"field of {rf} samples; make crops longer than {rf / data.sample_rate:.3f} s"
            )
        seed = config.train.seed
        frames = (self.model_config.cond_hop, self.model_config.cond_layers)
        dropout = (config.data.speaker_dropout, len(data.speakers))
        lpc = self.model_config.lpc_order
        periodic = {"harmonics": self.model_config.source_harmonics, "sample_rate": data.sample_rate}
        periodic["sine_phase"] = config.data.sine_phase
        periodic["source_keys"] = bool(self.model_config.source_keys)
        crop = self.units_per_crop
        self.sampler = CropSampler(
            data.split("train"), crop, rf, data.mu, seed, config.data.skip_context, *frames, *dropout,
            lpc_order=lpc, source_noise=config.data.source_noise, **periodic,
        )  # fmt: skip
        valid_name = "valid" if "valid" in data.split_names else "train"
        valid_sampler = CropSampler(
            data.split(valid_name), crop, rf, data.mu, seed, config.data.skip_context, *frames, lpc_order=lpc,
            **periodic,
        )  # fmt: skip
        self.valid_batches = valid_sampler.fixed_batches(config.data.valid_crops, config.data.batch_size)
        self.valid_split = valid_sampler.split
        if valid_name == "train":
            log.warning("the data has no valid split; validation uses fixed crops of the training split")

    def build_model(self) -> WaveNet:
        model = WaveNet(self.model_config)
        if model.conditioner is not None:  # the features' statistics travel with the weights
            with torch.no_grad():
                model.conditioner.mean.copy_(torch.tensor(self.data.feature_stats["mean"]))
                model.conditioner.std.copy_(torch.tensor(self.data.feature_stats["std"]))
        return model

    def saved_config(self, saved: dict[str, Any]) -> WaveNetConfig:
        return WaveNetConfig.from_dict(saved)

    def describe(self, model: nn.Module) -> str:
        return f"{model.parameter_count()} parameters, receptive field {self.model_config.receptive_field} samples"

    def batch(self, step: int, batch_size: int, rank: int) -> Batch:
        return self.sampler.batch(step, batch_size, rank)

    loss_sum = staticmethod(loss_sum)

    def scalars(self, loss: float) -> dict[str, float]:
        return {"loss": loss, "bits_per_sample": loss / LN2}

    def summary(self, loss: float) -> str:
        return f"{loss / LN2:.4f} bits/sample"

    def sample_audio(self, model: nn.Module, seconds: float, seed: int) -> np.ndarray | None:
        """Audio for TensorBoard, from the fastest backend where the model is (eager steps took 20 s on a GPU)."""
        generator = make_generator(model, 1)
        samples = round(seconds * self.data.sample_rate)
        frames, speaker = None, 0
        if self.model_config.conditioned:  # the first validation utterance's frames, and its speaker
            frames = np.asarray(self.valid_split.utterance_frames(0), dtype=np.float32)
            speaker = int(self.valid_split.index[0, 2])
            samples = min(samples, len(frames) * self.model_config.cond_hop)
        generator.reset(0, speaker=speaker, seed=seed, frames=frames)
        codes = generator.generate(samples)[0]
        return decoded(codes, self.data.mu, self.data.audio.preemphasis)


class AcousticTask:
    """An acoustic model on crops of frames: linguistic frames in, the recording's log-mel, log F0 and voicing out."""

    unit = "frames"

    def __init__(self, config: Any, data: PreparedData, speakers: dict[str, int]) -> None:
        self.config, self.data = config, data
        if data.features is None or data.features.kind != "linguistic" or data.mel is None:
            raise WavenetError(
                f"{data.directory}: task acoustic trains on linguistic frames and their log-mel "
                "(prepare the data with --features linguistic)"
            )
        if config.data.speaker_dropout:
            raise WavenetError("data.speaker_dropout: an acoustic model is always told its speaker")
        values = {"n_speakers": len(speakers), "n_mels": data.mel.n_mels, **config.model}
        self.model_config = AcousticConfig.from_dict(values, "the config's model section")
        if self.model_config.n_speakers < len(speakers) or self.model_config.n_mels != data.mel.n_mels:
            raise WavenetError(
                f"model n_speakers/n_mels ({self.model_config.n_speakers}/{self.model_config.n_mels}) do not fit "
                f"the data's {len(speakers)} speakers and {data.mel.n_mels} mel bands"
            )
        self.units_per_crop = max(1, round(config.data.crop_seconds * data.sample_rate / data.features.hop))
        self.sampler = FrameSampler(data.split("train"), self.units_per_crop, config.train.seed)
        valid_name = "valid" if "valid" in data.split_names else "train"
        valid = FrameSampler(data.split(valid_name), self.units_per_crop, config.train.seed)
        self.valid_batches = valid.fixed_batches(config.data.valid_crops, config.data.batch_size)

    def build_model(self) -> AcousticModel:
        model = AcousticModel(self.model_config)
        with torch.no_grad():  # the data's statistics travel with the weights
            model.input_mean.copy_(torch.tensor(self.data.feature_stats["mean"][:INPUT_CHANNELS]))
            model.input_std.copy_(torch.tensor(self.data.feature_stats["std"][:INPUT_CHANNELS]))
            model.mel_mean.copy_(torch.tensor(self.data.mel_stats["mean"]))
            model.mel_std.copy_(torch.tensor(self.data.mel_stats["std"]))
        return model

    def saved_config(self, saved: dict[str, Any]) -> AcousticConfig:
        return AcousticConfig.from_dict(saved)

    def describe(self, model: nn.Module) -> str:
        return f"an acoustic model of {model.parameter_count()} parameters"

    def batch(self, step: int, batch_size: int, rank: int) -> FrameBatch:
        return self.sampler.batch(step, batch_size, rank)

    @staticmethod
    def loss_sum(model: nn.Module, batch: FrameBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss times the frames that count, and that count (so that batches average by frames)."""
        loss, _ = acoustic_loss(model, batch.frames, batch.mel, batch.speakers, batch.mask)
        count = batch.mask.sum()
        return loss * count, count

    def scalars(self, loss: float) -> dict[str, float]:
        return {"loss": loss}

    def summary(self, loss: float) -> str:
        return f"loss {loss:.4f}"

    def sample_audio(self, model: nn.Module, seconds: float, seed: int) -> np.ndarray | None:
        return None  # frames, not audio: a vocoder speaks them (wavenet say)


def make_task(config: Any, data: PreparedData, speakers: dict[str, int]) -> WaveNetTask | AcousticTask:
    return (AcousticTask if config.task == "acoustic" else WaveNetTask)(config, data, speakers)
