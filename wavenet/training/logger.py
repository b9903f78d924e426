"""What a run reports: a progress bar, ``metrics.jsonl``, and TensorBoard scalars and audio.

TensorBoard is optional (``pip install 'wavenet-service[tensorboard]'``): without it the run says
so once and logs to ``metrics.jsonl`` only; the evaluation audio then goes nowhere.

Only the main process reports. On resume, everything logged after the resumed step (by a run
that was killed before its next checkpoint) is dropped, so the curves continue without
duplicated or diverging points.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from wavenet.files import atomic_write_text

log = logging.getLogger(__name__)


class RunLogger:
    def __init__(self, run_dir: Path, start_step: int, total_steps: int, enabled: bool) -> None:
        self.enabled = enabled
        self.metrics_path = Path(run_dir) / "metrics.jsonl"
        self._tb = None
        self._bar = None
        if not enabled:
            return
        self._truncate_after(start_step)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            log.info("TensorBoard is not installed (pip install 'wavenet-service[tensorboard]'): logging to %s only",
                     self.metrics_path)  # fmt: skip
        else:
            self._tb = SummaryWriter(str(Path(run_dir) / "tensorboard"), purge_step=start_step or None)
        self._bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True, file=sys.stderr)

    def _truncate_after(self, step: int) -> None:
        if not self.metrics_path.exists():
            return
        kept = [
            line
            for line in self.metrics_path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line)["step"] <= step
        ]
        atomic_write_text(self.metrics_path, "".join(f"{line}\n" for line in kept))

    def scalars(self, step: int, kind: str, values: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.metrics_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"step": step, "kind": kind, **values}) + "\n")
        for key, value in values.items():
            if self._tb is not None and isinstance(value, (int, float)):
                self._tb.add_scalar(f"{kind}/{key}", value, step)

    def audio(self, step: int, tag: str, audio: np.ndarray, sample_rate: int) -> None:
        if self._tb is not None:
            self._tb.add_audio(tag, audio[None, :], step, sample_rate=sample_rate)

    def progress(self, steps: int, **postfix: str) -> None:
        if self.enabled:
            self._bar.set_postfix(postfix, refresh=False)
            self._bar.update(steps)

    def message(self, text: str) -> None:
        if self.enabled:
            self._bar.write(text, file=sys.stderr)

    def close(self) -> None:
        if self.enabled:
            self._bar.close()
        if self._tb is not None:
            self._tb.close()
