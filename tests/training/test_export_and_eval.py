import json

import numpy as np
import pytest
import torch

from wavenet.cli import main
from wavenet.data.manifest import read_manifest
from wavenet.errors import WavenetError
from wavenet.evaluation.likelihood import evaluate, format_report, model_log2_probs
from wavenet.release import load_release
from wavenet.training.export import export
from wavenet.training.run_config import load_run_config
from wavenet.training.trainer import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory, prepared):
    from tests.training.conftest import CONFIG

    root = tmp_path_factory.mktemp("run")
    (root / "config.yaml").write_text(CONFIG.format(data=prepared, schedule="cosine"))
    train(load_run_config(root / "config.yaml", [f"run_dir={root / 'run'}", "train.steps=40", "optim.lr=0.01"]))
    export(root / "run", root / "model")
    return root / "model"


def test_export_writes_a_loadable_release_with_ema_weights(trained, prepared):
    ckpt = load_release(trained)
    assert ckpt.speakers == {"ann": 0, "ben": 1, "cat": 2}
    assert ckpt.config.n_speakers == 3
    meta = ckpt.metadata
    assert meta["steps"] == 40 and meta["weights"] == "ema" and meta["valid_bits_per_sample"] < 8
    assert meta["data_dir"] == str(prepared.resolve())
    assert meta["audio"]["sample_rate"] == 16000
    metrics = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert {"train", "valid"} <= {m["kind"] for m in metrics} and max(m["step"] for m in metrics) == 40


def test_export_choices(tmp_path, trained):
    run_dir = trained.parent / "run"
    export(run_dir, tmp_path / "latest", "latest")
    assert load_release(tmp_path / "latest").metadata["steps"] == 40
    with pytest.raises(WavenetError, match="no such checkpoint"):
        export(run_dir, tmp_path / "x", str(tmp_path / "nope.pt"))
    with pytest.raises(WavenetError, match="no step checkpoints"):
        export(tmp_path, tmp_path / "x", "latest")


def test_model_scores_every_sample_with_full_context(trained):
    ckpt = load_release(trained)
    codes = np.random.default_rng(0).integers(0, 256, 500)
    whole = model_log2_probs(ckpt.model, codes, speaker=1, chunk=10_000)
    chunked = model_log2_probs(ckpt.model, codes, speaker=1, chunk=37)  # chunks overlap by the receptive field
    assert whole.shape == (500,)
    np.testing.assert_allclose(whole, chunked, atol=1e-4)


def test_eval_reports_model_and_baselines(trained, prepared):
    ckpt = load_release(trained)
    report = evaluate(ckpt, [str(prepared / "valid.tsv")], ngram_order=3)
    assert len(report.files) == 3
    assert {f.speaker for f in report.files} == {0, 1, 2}  # speakers from the manifest
    total = report.as_dict()["bits_per_sample"]
    assert total["model_bits"] < total["unigram_bits"]  # 40 steps learn something on tones
    assert 0 < total["ngram_bits"] < total["unigram_bits"] <= 8
    assert "3-gram" in format_report(report)


def test_eval_cli_json_and_errors(trained, prepared, capsys, tmp_path):
    files = [u.path for u in read_manifest(prepared / "valid.tsv")]
    assert main(["eval", str(trained), str(files[0]), str(files[0].parent), "--json", "--speaker", "ben"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["files"][0]["speaker"] == 1 and report["samples"] > 0
    assert main(["eval", str(trained), str(tmp_path / "none.wav")]) == 2
    assert "none.wav: no such file or directory" in capsys.readouterr().err
    assert main(["eval", "debug", str(files[0])]) == 2
    assert "no data to fit the baselines on" in capsys.readouterr().err


def test_a_new_run_can_start_from_a_release(tmp_path, trained, prepared):
    """train.init_from: the weights of a shipped model start a new run (of another shape: what fits of them)."""
    from tests.training.conftest import CONFIG
    from wavenet.training.trainer import Trainer

    (tmp_path / "config.yaml").write_text(CONFIG.format(data=prepared, schedule="cosine"))

    def trainer(*overrides: str) -> Trainer:
        return Trainer(load_run_config(tmp_path / "config.yaml", [f"run_dir={tmp_path / 'run'}", *overrides]))

    release = load_release(trained).model.state_dict()
    started = trainer(f"train.init_from={trained}")
    for name, tensor in started.model.state_dict().items():
        assert torch.equal(tensor, release[name]), name
    assert all(torch.equal(t, release[n]) for n, t in started.ema.state_dict().items())
    first = next(iter(release))
    assert not torch.equal(trainer().model.state_dict()[first], release[first])  # without it: a fresh start
    narrower = trainer(f"train.init_from={trained}", "model.residual_channels=6")  # a warm start: what fits
    state = narrower.model.state_dict()
    assert torch.equal(state["head.out.weight"], release["head.out.weight"])
    assert state["input.conv.weight"].shape != release["input.conv.weight"].shape
    with pytest.raises(WavenetError, match="train.init_from: .*nope"):
        trainer(f"train.init_from={tmp_path / 'nope'}")


def test_a_release_carries_the_history_of_the_runs_it_continues(tmp_path, trained, prepared):
    """Stages, and a training log whose rows say their stage and the samples seen since the start."""
    from tests.training.conftest import CONFIG

    (tmp_path / "config.yaml").write_text(CONFIG.format(data=prepared, schedule="cosine"))
    overrides = [f"run_dir={tmp_path / 'run'}", f"train.init_from={trained}", "train.steps=6", "data.batch_size=3"]
    train(load_run_config(tmp_path / "config.yaml", overrides))
    export(tmp_path / "run", tmp_path / "model", "latest")
    first, second = load_release(trained).metadata, load_release(tmp_path / "model").metadata
    assert first["stages"] == second["stages"][:1]
    assert [s["steps"] for s in second["stages"]] == [40, 6]
    assert [s["samples_per_step"] for s in second["stages"]] == [2 * 160, 3 * 160]  # 0.01 s crops at 16 kHz
    assert second["steps"] == 6 and second["stages"][1]["train_seconds"] == second["train_seconds"]
    assert second["stages"][1]["machine"].endswith("1 threads, fp32")  # where and how it trained
    rows = [json.loads(line) for line in (tmp_path / "model" / "metrics.jsonl").read_text().splitlines()]
    logged = [(r["stage"], r["step"], r["samples"]) for r in rows if r["kind"] == "train"]
    assert logged[0] == (0, 2, 2 * 320) and (0, 40, 40 * 320) in logged
    assert logged[-1] == (1, 6, 40 * 320 + 6 * 480)
    assert [r for r in rows if r["stage"] == 0] == [
        {**r, "stage": 0, "samples": r["step"] * 320}
        for r in map(json.loads, (trained / "metrics.jsonl").read_text().splitlines())
    ]
