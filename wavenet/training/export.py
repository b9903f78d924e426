"""``wavenet export RUN_DIR OUT_DIR``: a release checkpoint from a training run.

The release holds the EMA weights when the run kept an average, and records in its metadata
how the data was prepared (so ``wavenet eval`` reads audio the same way), where that data was
(for the n-gram baselines), and how long and how far the model was trained. The run's metrics up
to the exported step go along as ``metrics.jsonl``, so a model's training curves travel with it.
"""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path

from wavenet.checkpoint import save_release
from wavenet.config import WaveNetConfig
from wavenet.files import atomic_write_text
from wavenet.model import WaveNet
from wavenet.training import checkpoints


def export(run_dir: Path, out_dir: Path, which: str = "best") -> Path:
    path = checkpoints.resolve(Path(run_dir), which)
    state = checkpoints.load(path)
    model = WaveNet(WaveNetConfig.from_dict(state["model_config"], source=str(path)))
    use_ema = state.get("ema") is not None
    model.load_state_dict(state["ema"] if use_ema else state["model"])
    best = state["best_valid"]
    metadata = {
        "source": f"{Path(run_dir).resolve().name}/{path.name}",
        "exported": datetime.date.today().isoformat(),
        "steps": state["step"],
        "train_seconds": round(state["train_seconds"], 1),
        "weights": "ema" if use_ema else "last",
        "valid_bits_per_sample": round(best / math.log(2), 4) if math.isfinite(best) else None,
        "data_dir": state["data"]["dir"],
        "audio": state["data"]["audio"],
        "data_splits": state["data"]["splits"],
    }
    save_release(model, Path(out_dir), speakers=state["speakers"], metadata=metadata)
    metrics, shipped = Path(run_dir) / "metrics.jsonl", Path(out_dir) / "metrics.jsonl"
    if metrics.is_file():
        rows = [line for line in metrics.read_text(encoding="utf-8").splitlines() if line.strip()]
        kept = [line for line in rows if json.loads(line)["step"] <= state["step"]]
        atomic_write_text(shipped, "".join(f"{line}\n" for line in kept))
    else:
        shipped.unlink(missing_ok=True)  # not an older export's log beside these weights
    return path
