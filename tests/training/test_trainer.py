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


def test_a_warm_start_loads_what_fits_and_lists_the_rest():
    """An unconditioned release under a conditioned model with one more speaker: blocks, head and the
    shared speakers' rows come from it; the conditioning and the new speaker start fresh."""
    import dataclasses

    from tests.conftest import random_model
    from wavenet.model_config import PRESETS
    from wavenet.training.trainer import warm_start

    plain = random_model(dataclasses.replace(PRESETS["debug"], n_speakers=2), seed=1)
    conditioned = dataclasses.replace(PRESETS["debug"], n_speakers=3, cond_channels=5, cond_hop=4, cond_layers=1,
                                      cond_hidden=6)  # fmt: skip
    model = random_model(conditioned, seed=2)
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    speakers, theirs = {"ann": 0, "ben": 1, "any": 2}, {"ben": 0, "ann": 1}
    loaded, initialised = warm_start(model, plain.state_dict(), speakers, theirs)
    state, source = model.state_dict(), plain.state_dict()
    for name in ("input.conv.weight", "blocks.0.conv.weight", "blocks.3.skip.bias", "head.out.weight"):
        assert name in loaded and torch.equal(state[name], source[name])
    for name in ("blocks.0.cond.weight", "conditioner.convs.0.weight"):
        assert name in initialised and torch.equal(state[name], fresh[name])
    # Frames that gain channels: the conditioner's first convolution keeps what it had, the new inputs start silent.
    wider = random_model(dataclasses.replace(conditioned, cond_channels=7), seed=3)
    loaded, _ = warm_start(wider, model.state_dict(), speakers, speakers)
    weight = wider.state_dict()["conditioner.convs.0.weight"]
    assert torch.equal(weight[:, :5], state["conditioner.convs.0.weight"]) and not weight[:, 5:].any()
    assert any(name.startswith("conditioner.convs.0.weight (") for name in loaded)
    table = state["speaker_embedding.weight"]
    assert torch.equal(table[0], source["speaker_embedding.weight"][1])  # ann, by name
    assert torch.equal(table[1], source["speaker_embedding.weight"][0])  # ben
    assert (
        torch.equal(table[2], fresh["speaker_embedding.weight"][2]) and "speaker_embedding.weight[any]" in initialised
    )
    assert torch.equal(state["conditioner.mean"], fresh["conditioner.mean"])  # the data's statistics, kept


def test_a_time_boxed_run_stops_with_a_checkpoint_and_resumes_exactly(tmp_path, config_file, monkeypatch):
    """train.time_limit (wavenet train --time-limit): stop cleanly, then --resume goes on as if never stopped."""
    import wavenet.training.trainer as trainer

    config = config_file("constant")
    run(config, tmp_path / "straight", "train.steps=8")
    clock = iter(range(1000))  # one second passes at every look at the clock
    monkeypatch.setattr(trainer.time, "monotonic", lambda: float(next(clock)))
    run(config, tmp_path / "boxed", "train.steps=8", "train.time_limit=4s")
    stopped = checkpoints.step_checkpoints(tmp_path / "boxed")[-1]
    assert stopped.name == "step-00000003.pt"  # the limit struck before step 4: its checkpoint is there
    monkeypatch.undo()
    run(config, tmp_path / "boxed", "train.steps=8", resume=True)
    assert_same_state(final_state(tmp_path / "straight"), final_state(tmp_path / "boxed"))


@pytest.mark.parametrize(("text", "seconds"), [("150m", 9000), ("2h", 7200), ("90s", 90), ("1.5h", 5400), ("42", 42)])
def test_durations(text, seconds):
    from wavenet.training.run_config import parse_duration

    assert parse_duration(text) == seconds


def test_a_bad_time_limit_names_the_key(tmp_path, config_file):
    with pytest.raises(WavenetError, match="train.time_limit not a duration: 'soon'"):
        load_run_config(config_file(), [f"run_dir={tmp_path}", "train.time_limit=soon"])


def test_the_training_benchmark(tmp_path, config_file, capsys):
    """wavenet bench --train: positions, logits computed and targets counted a second, memory, arithmetic."""
    from wavenet.cli import main

    out = tmp_path / "speed.json"
    assert (
        main(["bench", "--train", str(config_file()), "data.crop_seconds=0.05", "--steps", "3", "--json", str(out)])
        == 0
    )
    report = json.loads(out.read_text())
    assert report["steps"] == 3 and report["batch"] == 2 and report["crop"] == 800
    assert report["counted_per_s"] <= report["computed_per_s"] <= report["positions_per_s"]
    assert report["gflop_per_step"] > 0 and 0 < report["share_of_peak"] < 2 and report["peak_rss_mb"] > 0
    assert "targets counted by the loss" in capsys.readouterr().out
    assert not list(tmp_path.glob("bench*"))  # it trained in a temporary directory
