"""Training: resumable to the bit, in step across processes, with clear errors."""

import json
import os
import random
import subprocess
import sys
import time

import pytest
import torch

from wavenet.errors import WavenetError
from wavenet.training import checkpoints
from wavenet.training.run_config import load_run_config
from wavenet.training.trainer import train


def run(config_file, run_dir, *overrides, resume=False):
    train(load_run_config(config_file, [f"run_dir={run_dir}", *overrides]), resume=resume)


def final_state(run_dir):
    return checkpoints.load(checkpoints.step_checkpoints(run_dir)[-1])


def assert_same_state(a, b):
    assert a["step"] == b["step"]
    for key in ("model", "ema"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name} differs"
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True):
        assert torch.equal(sa["exp_avg"], sb["exp_avg"]) and torch.equal(sa["exp_avg_sq"], sb["exp_avg_sq"])
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"]


def losses(run_dir):
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [(m["step"], m["kind"], m.get("loss")) for m in lines if m["kind"] in ("train", "valid")]


def test_n_steps_then_resume_then_n_steps_equals_2n_steps(tmp_path, config_file):
    config = config_file("constant")
    run(config, tmp_path / "straight", "train.steps=8")
    run(config, tmp_path / "resumed", "train.steps=4")
    run(config, tmp_path / "resumed", "train.steps=8", resume=True)
    assert_same_state(final_state(tmp_path / "straight"), final_state(tmp_path / "resumed"))
    assert losses(tmp_path / "straight") == losses(tmp_path / "resumed")


def test_run_directory_contents(tmp_path, config_file):
    run(config_file(), tmp_path / "run")
    names = sorted(p.name for p in checkpoints.step_checkpoints(tmp_path / "run"))
    assert names == ["step-00000006.pt", "step-00000008.pt"]  # keep_last: 2
    assert (tmp_path / "run" / "checkpoints" / "best.pt").is_file()
    assert "preset: debug" in (tmp_path / "run" / "config.yaml").read_text()
    assert list((tmp_path / "run" / "tensorboard").iterdir())
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    train_lines = [m for m in metrics if m["kind"] == "train"]
    assert [m["step"] for m in train_lines] == [2, 4, 6, 8]
    assert {"loss", "bits_per_sample", "lr", "grad_norm", "samples_per_s"} <= set(train_lines[0])
    assert [m["step"] for m in metrics if m["kind"] == "valid"] == [4, 8]


def test_killed_runs_resume_to_the_same_weights(tmp_path, config_file):
    """SIGKILL at random moments (some during checkpoint writes), resume each time, compare."""
    config = config_file("cosine")
    overrides = ["train.steps=40", "train.checkpoint_every=1", "train.log_every=1", "train.eval_every=10"]
    run(config, tmp_path / "straight", *overrides)
    command = [sys.executable, "-m", "wavenet", "train", str(config), "--resume", f"run_dir={tmp_path / 'killed'}"]
    command += overrides
    rng = random.Random(0)
    kills = 0
    for _ in range(20):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before = len(checkpoints.step_checkpoints(tmp_path / "killed"))
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            done = checkpoints.step_checkpoints(tmp_path / "killed")
            if done and done[-1].name > f"step-{kills * 8 + 3:08d}.pt" and len(done) >= before:
                time.sleep(rng.uniform(0, 0.05))
                process.kill()
                kills += 1
                break
            time.sleep(0.005)
        if process.wait(timeout=60) == 0:
            break
    assert kills >= 3
    assert not list((tmp_path / "killed" / "checkpoints").glob("*.tmp"))  # temp files of killed writes are gone
    assert_same_state(final_state(tmp_path / "straight"), final_state(tmp_path / "killed"))
    assert losses(tmp_path / "straight") == losses(tmp_path / "killed")


def test_two_cpu_processes_train_in_step(tmp_path, config_file):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    command += ["-m", "wavenet", "train", str(config_file()), f"run_dir={tmp_path / 'ddp'}", "train.device=cpu"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = [json.loads(line) for line in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    [sync] = [m for m in metrics if m["kind"] == "sync"]
    assert sync["world_size"] == 2 and len(set(sync["checksums"])) == 1
    assert "2 process(es)" in result.stderr
    # Each process saw its own crops: twice the samples per step of a single process.
    speeds = [m for m in metrics if m["kind"] == "train"]
    assert len(speeds) == 4
    state = final_state(tmp_path / "ddp")
    assert not any(k.startswith("module.") for k in state["model"])  # plain weights, exportable


def test_bf16_autocast_trains(tmp_path, config_file):
    run(config_file(), tmp_path / "bf16", "train.precision=bf16", "train.steps=4")
    assert final_state(tmp_path / "bf16")["step"] == 4


def test_errors(tmp_path, config_file):
    config = config_file()
    run(config, tmp_path / "run", "train.steps=2")
    with pytest.raises(WavenetError, match="already holds checkpoints.*--resume"):
        run(config, tmp_path / "run", "train.steps=2")
    with pytest.raises(WavenetError, match="model config differs"):
        run(config, tmp_path / "run", "train.steps=4", "model.residual_channels=4", resume=True)
    with pytest.raises(WavenetError, match="crop of 16 samples leaves no target"):
        run(config, tmp_path / "other", "data.crop_seconds=0.001")
    with pytest.raises(WavenetError, match="fp16 needs CUDA"):
        run(config, tmp_path / "other", "train.precision=fp16")
    with pytest.raises(WavenetError, match="train.steps must be positive"):
        load_run_config(config, ["run_dir=x", "train.steps=0"])
    with pytest.raises(WavenetError, match="model.layers is not a model setting"):
        load_run_config(config, ["run_dir=x", "model.layers=3"])
    with pytest.raises(WavenetError, match="run_dir must be set"):
        load_run_config(config)
    config.write_text(config.read_text().replace("schedule: cosine", "schedule: linear"))
    with pytest.raises(WavenetError, match=r"config-cosine.yaml:12: optim.schedule must be one of cosine, constant"):
        load_run_config(config, ["run_dir=x"])
