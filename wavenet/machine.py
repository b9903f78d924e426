"""What machine this process runs on, in words: for benchmark reports and a release's training history."""

from __future__ import annotations

import os
import platform

import torch


def machine_description(device: torch.device) -> dict[str, str | int]:
    """CPU model, cores, torch and Python versions, and the GPU's name when ``device`` is one."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info: dict[str, str | int] = {
        "cpu": cpu,
        "cpu_cores": os.cpu_count() or 0,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
