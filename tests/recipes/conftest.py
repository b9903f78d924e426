import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Tiny runs: the debug model, a few steps, short samples.
TINY = "model.preset=debug model.stacks=1 data.crop_seconds=0.01 data.batch_size=2 data.valid_crops=2 "
TINY += "train.steps=4 train.log_every=2 train.eval_every=4 train.checkpoint_every=4 train.eval_audio_seconds=0.002"


def run_recipe(name: str, work: Path, *stages: str, **env: str) -> subprocess.CompletedProcess:
    bin_dir = str(Path(sys.executable).parent)
    full_env = {**os.environ, "WORK": str(work), "PYTHON": sys.executable, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    full_env.update(env)
    result = subprocess.run(
        ["bash", str(ROOT / "recipes" / name / "run.sh"), *stages],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"{name} {stages} failed:\n{result.stderr[-4000:]}"
    return result


def require_tools(*tools: str) -> None:
    """Skip when a Debian tool is missing, except in CI (WAVENET_REQUIRE_RECIPE_TOOLS=1), where .ci/run installs them."""
    missing = [t for t in tools if shutil.which(t) is None and not Path(t).exists()]
    if missing:
        message = f"missing {', '.join(missing)}: run the recipe's deps stage (as root)"
        if os.environ.get("WAVENET_REQUIRE_RECIPE_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)
