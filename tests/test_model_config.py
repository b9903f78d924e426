import pytest

from wavenet.errors import WavenetError
from wavenet.model_config import PRESETS, WaveNetConfig, preset


def test_reference_model_receptive_field():
    cfg = preset("ref20")
    assert cfg.layers == 20
    assert cfg.dilations == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] * 2
    # 1 input-layer tap + 2 stacks x (1 + 2 + ... + 512) + the current sample.
    assert cfg.receptive_field == 1 + 2 * 1023 + 1 == 2048
    assert cfg.receptive_field_ms == 128.0


def test_receptive_field_with_wider_kernels():
    cfg = WaveNetConfig(layers_per_stack=3, stacks=2, kernel_size=3, input_kernel_size=3)
    assert cfg.receptive_field == 2 + 2 * 2 * (1 + 2 + 4) + 1


def test_round_trip_through_dict():
    for cfg in PRESETS.values():
        assert WaveNetConfig.from_dict(cfg.to_dict()) == cfg


def test_unknown_key_is_rejected_with_its_name():
    with pytest.raises(WavenetError, match="unknown key.*layerz"):
        WaveNetConfig.from_dict({"layerz": 3})


@pytest.mark.parametrize("field,value", [("kernel_size", 0), ("stacks", -1), ("skip_channels", 2.5), ("mu", True)])
def test_bad_sizes_are_rejected(field, value):
    with pytest.raises(WavenetError, match=field):
        WaveNetConfig(**{field: value})


def test_odd_gate_channels_are_rejected():
    with pytest.raises(WavenetError, match="model.gate_channels: must be even"):
        WaveNetConfig(gate_channels=7)


def test_unknown_preset_lists_presets():
    with pytest.raises(WavenetError, match="debug, ref20"):
        preset("nope")


@pytest.mark.parametrize(
    "sizes,message",
    [
        ({"residual_channels": 100_000}, r"model.residual_channels: must be in \[1, 4096\], got 100000"),
        ({"kernel_size": 1}, r"model.kernel_size: must be in \[2, 16\]"),
        ({"layers_per_stack": 30}, r"model.layers_per_stack: must be in \[1, 24\]"),
        ({"layers_per_stack": 10, "stacks": 26}, "model.stacks: 26 stacks of 10 layers make 260, more than the 256"),
        (
            {"layers_per_stack": 20, "stacks": 4, "residual_channels": 512},
            "model.layers_per_stack: a receptive field of 4194302 samples at 512 residual channels needs 8192 MiB",
        ),
    ],
)
def test_sizes_beyond_the_limits_are_refused_by_name(sizes, message):
    with pytest.raises(WavenetError, match=message):
        WaveNetConfig(**sizes)
    with pytest.raises(WavenetError, match="^release/config.json: " + message):
        WaveNetConfig.from_dict(sizes, source="release/config.json")
