"""``wavenet export RUN_DIR OUT_DIR``: a release checkpoint from a training run.

The release holds the EMA weights when the run kept an average, and records in its metadata
how the data was prepared (so ``wavenet eval`` reads audio the same way), where that data was
(for the n-gram baselines), and how long and how far the model was trained. The run's metrics up
to the exported step go along as ``metrics.jsonl``, so a model's training curves travel with it.

A run started with ``train.init_from`` continues another release's training, maybe on another
machine, batch size or data. Its release carries that whole history: the metadata lists every
stage (steps, samples per step, training time, data), and the training log holds every stage's
rows, each marked with its ``stage`` and the ``samples`` seen since the first stage began, so
that curves across stages of different batch sizes can be drawn on one axis.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import yaml

from wavenet.acoustic import AcousticConfig, AcousticModel
from wavenet.data.features import FeatureOptions
from wavenet.errors import WavenetError
from wavenet.files import atomic_write_text
from wavenet.model import WaveNet
from wavenet.model_config import WaveNetConfig
from wavenet.release import load_release, save_acoustic_release, save_release
from wavenet.training import checkpoints

log = logging.getLogger("wavenet")


def export(
    run_dir: Path,
    out_dir: Path,
    which: str = "best",
    temperature: float | None = None,
    voiced_scale: float | None = None,
    vocoder: Path | None = None,
) -> Path:
    """Write the release; ``temperature``: its default sampling temperature (metadata.temperature),
    for a model whose held-out output is measured better below 1; ``voiced_scale``: for a model with
    a periodic source, the factor on that temperature in voiced frames (metadata.voiced_temperature_scale);
    ``vocoder``: for an acoustic model (``task: acoustic``), the mel vocoder release that speaks its frames."""
    for name, value in (("--temperature", temperature), ("--voiced-scale", voiced_scale)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise WavenetError(f"{name}: must be a positive number, got {value}")
    path = checkpoints.resolve(Path(run_dir), which)
    state = checkpoints.load(path)
    if state.get("task", "wavenet") == "acoustic":
        if temperature is not None or voiced_scale is not None:
            raise WavenetError("--temperature, --voiced-scale: an acoustic release samples as its vocoder does")
        return _export_acoustic(Path(run_dir), path, state, Path(out_dir), vocoder)
    if vocoder is not None:
        raise WavenetError("--vocoder: only an acoustic model (task: acoustic) is spoken by a vocoder")
    model = WaveNet(WaveNetConfig.from_dict(state["model_config"], source=str(path)))
    if voiced_scale is not None and not model.config.f0_channel:
        raise WavenetError("--voiced-scale: only a model with a periodic source (frames with F0) knows what is voiced")
    use_ema = state.get("ema") is not None
    model.load_state_dict(state["ema"] if use_ema else state["model"])
    best = state["best_valid"]
    rows = [row for row in _read_log(Path(run_dir) / "metrics.jsonl") if row["step"] <= state["step"]]
    config = yaml.safe_load(state.get("config") or "{}") or {}
    data_config = config.get("data", {})
    world_size = next((row["world_size"] for row in reversed(rows) if row["kind"] == "sync"), 1)
    crop = round(data_config.get("crop_seconds", 0) * state["data"]["audio"]["sample_rate"])
    stage = {
        "source": f"{Path(run_dir).resolve().name}/{path.name}",
        "steps": state["step"],
        "samples_per_step": data_config.get("batch_size", 0) * crop * world_size,
        "train_seconds": round(state["train_seconds"], 1),
        "data_dir": state["data"]["dir"],
        "train_samples": state["data"]["splits"].get("train", {}).get("samples"),
        "machine": f"{state.get('machine', 'not recorded')}, {config.get('train', {}).get('precision', 'fp32')}",
    }
    earlier_stages, earlier_rows = _history(config.get("train", {}).get("init_from") or "")
    metadata = {
        "source": stage["source"],
        "exported": datetime.date.today().isoformat(),
        "steps": state["step"],
        "train_seconds": stage["train_seconds"],
        "weights": "ema" if use_ema else "last",
        "valid_bits_per_sample": round(best / math.log(2), 4) if math.isfinite(best) else None,
        "data_dir": state["data"]["dir"],
        "audio": state["data"]["audio"],
        "data_splits": state["data"]["splits"],
        "stages": [*earlier_stages, stage],
    }
    if temperature is not None:
        metadata["temperature"] = temperature
    if voiced_scale is not None:
        metadata["voiced_temperature_scale"] = voiced_scale
    features = state["data"].get("features")
    features = FeatureOptions.from_dict(features, str(path)) if features else None
    save_release(model, Path(out_dir), speakers=state["speakers"], metadata=metadata, features=features)
    shipped = Path(out_dir) / "metrics.jsonl"
    if rows or earlier_rows:
        number = len(earlier_stages)
        rows = [{**row, "stage": number} for row in rows]
        if all(s.get("samples_per_step") for s in earlier_stages):  # else the samples seen are unknown
            before = sum(s["steps"] * s["samples_per_step"] for s in earlier_stages)
            rows = [{**row, "samples": before + row["step"] * stage["samples_per_step"]} for row in rows]
        atomic_write_text(shipped, "".join(json.dumps(row) + "\n" for row in [*earlier_rows, *rows]))
    else:
        shipped.unlink(missing_ok=True)  # not an older export's log beside these weights
    return path


def _export_acoustic(run_dir: Path, path: Path, state: dict[str, Any], out_dir: Path, vocoder: Path | None) -> Path:
    """A two-stage text-to-speech release (:func:`wavenet.release.save_acoustic_release`), loaded once written to
    check that its vocoder fits."""
    if vocoder is None:
        raise WavenetError("--vocoder: an acoustic release names the mel vocoder release that speaks its frames")
    model = AcousticModel(AcousticConfig.from_dict(state["model_config"], str(path)))
    use_ema = state.get("ema") is not None
    model.load_state_dict(state["ema"] if use_ema else state["model"])
    best = state["best_valid"]
    config = yaml.safe_load(state.get("config") or "{}") or {}
    out_dir.mkdir(parents=True, exist_ok=True)
    metadata = {
        "source": f"{run_dir.resolve().name}/{path.name}",
        "exported": datetime.date.today().isoformat(),
        "steps": state["step"],
        "train_seconds": round(state["train_seconds"], 1),
        "weights": "ema" if use_ema else "last",
        "valid_loss": round(best, 4) if math.isfinite(best) else None,
        "data_dir": state["data"]["dir"],
        "data_audio": state["data"]["audio"],
        "data_splits": state["data"]["splits"],
        "machine": f"{state.get('machine', 'not recorded')}, {config.get('train', {}).get('precision', 'fp32')}",
        "vocoder": os.path.relpath(Path(vocoder).resolve(), out_dir.resolve()),
    }
    features = FeatureOptions.from_dict(state["data"]["features"], str(path))
    save_acoustic_release(model, out_dir, state["speakers"], metadata, features.hop)
    rows = [row for row in _read_log(run_dir / "metrics.jsonl") if row["step"] <= state["step"]]
    atomic_write_text(out_dir / "metrics.jsonl", "".join(json.dumps(row) + "\n" for row in rows))
    load_release(out_dir)  # the vocoder is there and fits: a WavenetError naming it otherwise
    return path


def _history(init_from: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The stages and training log of the release a run started from (none for a fresh run)."""
    if not init_from:
        return [], []
    try:
        meta = load_release(Path(init_from)).metadata
    except WavenetError as error:
        log.warning("the training history of %s is not carried over: %s", init_from, error)
        return [], []
    stages = meta.get("stages") or [
        {key: meta.get(key) for key in ("source", "steps", "train_seconds", "data_dir")} | {"samples_per_step": None}
    ]
    return stages, [{"stage": 0, **row} for row in _read_log(Path(init_from) / "metrics.jsonl")]


def _read_log(path: Path) -> list[dict[str, Any]]:
    """The rows of a metrics.jsonl (none when there is no log)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
