"""The debug recipe, end to end, exactly as a user runs it (CI runs this)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
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


@pytest.mark.recipes
def test_the_gpu_training_script_runs_its_cpu_half(tmp_path):
    """bench/gpu_train.sh as a lease would run it, on the CPU: packed data in, a release and its log out."""
    work = tmp_path / "debug"
    env = recipe_env(work)
    subprocess.run(["bash", str(ROOT / "recipes/debug/run.sh"), "corpus", "manifest", "prepare"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    packed, out = tmp_path / "packed", tmp_path / "out"
    subprocess.run([sys.executable, "-m", "wavenet.data.pack", "pack", str(work / "data"), str(packed), "--max-mib", "1"],
                   check=True, capture_output=True)  # fmt: skip
    env = {**env, "GPU_TRAIN_CPU": "1", "PACKED": str(packed), "OUT": str(out), "TRAIN_OVERRIDES": "train.threads=1"}
    done = subprocess.run(["bash", str(ROOT / "bench/gpu_train.sh"), "debug", "0.25"], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
    assert "device: cpu" in done.stdout and "s a step" in (out / "probe.txt").read_text()
    release = load_release(out / "release")
    assert release.metadata["steps"] >= 10 and (out / "release" / "metrics.jsonl").is_file()
    assert (out / "train-log.txt").is_file() and not (out / "run" / "checkpoints").exists()
