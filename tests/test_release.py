import json
import re

import pytest
import torch

from tests.conftest import SHAPES, random_model
from wavenet.errors import WavenetError
from wavenet.release import load_model, load_release, save_release

SPEAKERS = {"alice": 0, "bob": 1, "carol": 2}


@pytest.fixture
def saved(tmp_path):
    model = random_model(SHAPES["k3-2stacks"], seed=3)
    save_release(model, tmp_path / "ckpt", speakers=SPEAKERS, metadata={"steps": 12})
    return model, tmp_path / "ckpt"


def test_round_trip_gives_the_same_model(saved):
    model, path = saved
    ckpt = load_release(path)
    codes = torch.randint(0, 256, (2, 30))
    torch.testing.assert_close(ckpt.model(codes), model(codes), atol=0, rtol=0)
    assert ckpt.speakers == SPEAKERS
    assert ckpt.metadata == {"steps": 12}
    assert ckpt.config == model.config
    assert ckpt.trained
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]


def test_speaker_resolution(saved):
    ckpt = load_release(saved[1])
    assert ckpt.speaker_id("bob") == 1
    assert ckpt.speaker_id("2") == 2
    assert ckpt.speaker_id(0) == 0
    with pytest.raises(WavenetError, match=r"unknown speaker 'dave'; speakers: alice \(0\), bob \(1\), carol \(2\)"):
        ckpt.speaker_id("dave")
    with pytest.raises(WavenetError, match="unknown speaker"):
        ckpt.speaker_id("3")


@pytest.mark.parametrize("name", ["config.json", "model.safetensors"])
def test_missing_file_is_named(saved, name):
    (saved[1] / name).unlink()
    with pytest.raises(WavenetError, match=f"{name}: missing"):
        load_release(saved[1])


def test_truncated_weights_are_named(saved):
    weights = saved[1] / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(WavenetError, match="model.safetensors: not a readable safetensors file"):
        load_release(saved[1])


def test_garbage_weights_are_named(saved):
    (saved[1] / "model.safetensors").write_bytes(b"\x80\x03pickle? no thanks")
    with pytest.raises(WavenetError, match="model.safetensors: not a readable safetensors file"):
        load_release(saved[1])


def test_config_that_does_not_match_the_weights(saved):
    config_path = saved[1] / "config.json"
    config = json.loads(config_path.read_text())
    config["model"]["residual_channels"] = 7
    config_path.write_text(json.dumps(config))
    with pytest.raises(WavenetError, match=r"model.safetensors: tensor \S+: has shape .* but config.json implies"):
        load_release(saved[1])
    config["model"]["residual_channels"] = 6
    config["model"]["layers_per_stack"] = 4
    config_path.write_text(json.dumps(config))
    with pytest.raises(
        WavenetError, match="does not match config.json: missing tensors: blocks.5.residual.bias, .* and 9 more"
    ):
        load_release(saved[1])


def test_invalid_json_names_file_and_line(saved):
    (saved[1] / "config.json").write_text('{\n  "format": "wavenet-release",\n  "version": 1,,\n}')
    with pytest.raises(WavenetError, match=r"config.json:3: invalid JSON"):
        load_release(saved[1])


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda c: c.update(format="pickle"), "not a wavenet release config"),
        (lambda c: c.update(version=99), "unsupported version 99"),
        (lambda c: c.update(extra=1), "unknown key.*extra"),
        (lambda c: c["model"].update(dilation_cycle=4), "unknown key.*dilation_cycle"),
        (lambda c: c["model"].update(kernel_size=0), "config.json: model.kernel_size: must be a positive integer"),
        (lambda c: c["speakers"].update(dave=7), "speaker 'dave' has id 7, outside 0 to 2"),
        (lambda c: c["speakers"].update(dave=1), "config.json: speakers: 'bob' and 'dave' share id 1"),
    ],
)
def test_bad_config_is_explained(saved, edit, message):
    config_path = saved[1] / "config.json"
    config = json.loads(config_path.read_text())
    edit(config)
    config_path.write_text(json.dumps(config))
    with pytest.raises(WavenetError, match=message):
        load_release(saved[1])


def test_non_finite_weights_are_rejected(saved):
    from safetensors.torch import load_file, save_file

    weights = saved[1] / "model.safetensors"
    tensors = load_file(weights)
    tensors["head.out.bias"][0] = float("nan")
    save_file(tensors, weights)
    with pytest.raises(WavenetError, match="model.safetensors: tensor head.out.bias: holds NaN"):
        load_release(saved[1])


def test_presets_load_as_untrained_models_reproducibly():
    a, b = load_model("debug"), load_model("debug")
    assert not a.trained
    for pa, pb in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_unknown_checkpoint_says_what_exists(tmp_path):
    with pytest.raises(WavenetError, match=r"no checkpoint directory at .*presets: debug, ref20"):
        load_model(str(tmp_path / "nothing"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(WavenetError, match="not a directory"):
        load_model(tmp_path / "file")


def _edit_model(saved, **sizes):
    config_path = saved[1] / "config.json"
    config = json.loads(config_path.read_text())
    config["model"].update(sizes)
    config_path.write_text(json.dumps(config))


@pytest.fixture
def nothing_allocated(monkeypatch):
    """Fails the test if the loader builds a real model or reads the tensors."""
    import wavenet.release as checkpoint

    built = []

    class Spy(checkpoint.WaveNet):
        def __init__(self, config):
            built.append(torch.empty(0).device.type)
            super().__init__(config)

    def no_read(*args, **kwargs):
        raise AssertionError("the tensors were read")

    monkeypatch.setattr(checkpoint, "WaveNet", Spy)
    monkeypatch.setattr(checkpoint, "load_file", no_read)
    yield
    assert set(built) <= {"meta"}, built


@pytest.mark.parametrize(
    "sizes,message",
    [
        # 240 layers of 4096 x 8192 convolutions: 16 billion parameters (64 GB) declared.
        (
            {"layers_per_stack": 4, "stacks": 60, "residual_channels": 4096, "gate_channels": 8192},
            r"config.json: model: its sizes make [\d,]+ parameters, more than the limit of 500,000,000",
        ),
        ({"layers_per_stack": 10, "stacks": 30}, "config.json: model.stacks: 30 stacks of 10 layers make 300"),
        ({"residual_channels": 10**9}, r"config.json: model.residual_channels: must be in \[1, 4096\]"),
        ({"n_speakers": 10**7}, r"config.json: model.n_speakers: must be in \[1, 65536\]"),
        ({"residual_channels": 7}, r"model.safetensors: tensor \S+: has shape .* but config.json implies"),
        ({"layers_per_stack": 4}, "model.safetensors: does not match config.json: missing tensors"),
    ],
)
def test_declared_sizes_are_checked_before_anything_is_allocated(saved, nothing_allocated, sizes, message):
    _edit_model(saved, **sizes)
    with pytest.raises(WavenetError, match=message) as err:
        load_release(saved[1])
    assert "\n" not in str(err.value)


def test_integer_tensors_are_refused_from_the_header(saved, nothing_allocated):
    from safetensors.torch import save_file

    model = random_model(SHAPES["k3-2stacks"], seed=3)
    tensors = {k: v.to(torch.int32) for k, v in model.state_dict().items()}
    save_file(tensors, saved[1] / "model.safetensors")
    with pytest.raises(WavenetError, match=r"model.safetensors: tensor \S+: has dtype I32, expected a float type"):
        load_release(saved[1])


def test_an_oversized_config_file_is_refused_unread(saved):
    (saved[1] / "config.json").write_bytes(b" " * (17 * 2**20))
    with pytest.raises(WavenetError, match=r"config.json: 17,825,792 bytes, more than a release config may hold"):
        load_release(saved[1])


def test_deeply_nested_or_unreadable_config_is_one_line(saved):
    config_path = saved[1] / "config.json"
    config_path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(WavenetError, match="config.json: invalid JSON") as err:
        load_release(saved[1])
    assert "\n" not in str(err.value)
    config_path.unlink()
    config_path.mkdir()  # a directory where the file should be
    with pytest.raises(WavenetError, match="config.json: missing"):
        load_release(saved[1])


@pytest.mark.parametrize(
    ("prosody", "message"),
    [
        ({"ann": {"tempo": "fast"}}, "metadata.prosody.ann: prosody: could not convert"),
        ({"ann": {"tempo": 1.0, "f0_model": [1.0]}}, "metadata.prosody.ann: prosody: a trained model holds"),
        ({"bob": {"tempo": 1.0}}, "metadata.prosody: 'bob' is not a speaker of the model"),
        ([1, 2], "metadata.prosody: must be an object of voices"),
    ],
)
def test_a_text_to_speech_release_with_broken_voices_does_not_load(tmp_path, prosody, message):
    from tests.conftest import conditioned_release

    path = conditioned_release(tmp_path / "tts", "linguistic")
    raw = json.loads((path / "config.json").read_text())
    raw["metadata"] = {"prosody": {"ann": {"tempo": 1.2}}}
    (path / "config.json").write_text(json.dumps(raw))
    assert load_release(path).metadata["prosody"]["ann"]["tempo"] == 1.2
    raw["metadata"] = {"prosody": prosody}
    (path / "config.json").write_text(json.dumps(raw))
    with pytest.raises(WavenetError, match="config.json: " + re.escape(message)):
        load_release(path)
