import pytest

from wavenet.config import PRESETS, WaveNetConfig, preset
from wavenet.errors import WavenetError


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
    with pytest.raises(WavenetError, match="gate_channels must be even"):
        WaveNetConfig(gate_channels=7)


def test_unknown_preset_lists_presets():
    with pytest.raises(WavenetError, match="debug, ref20"):
        preset("nope")
