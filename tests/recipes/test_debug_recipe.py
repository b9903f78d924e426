"""The debug recipe, end to end, exactly as a user runs it (CI runs this)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import soundfile as sf

from wavenet.release import load_release

ROOT = Path(__file__).resolve().parents[2]


def recipe_env(work: Path) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "WORK": str(work), "PYTHON": sys.executable, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_debug_recipe_end_to_end(tmp_path):
    work = tmp_path / "debug"
    result = subprocess.run(
        ["bash", str(ROOT / "recipes/debug/run.sh")], env=recipe_env(work), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    ckpt = load_release(work / "model")
    assert ckpt.metadata["steps"] == 400 and len(ckpt.speakers) == 4
    bits = json.loads((work / "eval.json").read_text())["bits_per_sample"]
    assert bits["model_bits"] < bits["unigram_bits"] - 2  # the model learned the voices' structure
    for name in ("speaker-0.wav", "speaker-voice3.wav"):
        audio, rate = sf.read(work / "samples" / name)
        assert rate == 16000 and len(audio) == 8000


def test_stages_run_one_at_a_time_and_unknown_stages_fail(tmp_path):
    work = tmp_path / "debug"
    env = recipe_env(work)
    for stage in ("corpus", "manifest"):
        subprocess.run(["bash", str(ROOT / "recipes/debug/run.sh"), stage], env=env, check=True, capture_output=True)
    assert (work / "manifest.tsv").is_file() and not (work / "data").exists()
    bad = subprocess.run(["bash", str(ROOT / "recipes/debug/run.sh"), "fly"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown stage 'fly'" in bad.stderr
