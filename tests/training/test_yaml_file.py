from dataclasses import dataclass, field

import pytest

from wavenet.errors import WavenetError
from wavenet.training.yaml_file import apply_overrides, build, load_yaml


@dataclass
class Inner:
    rate: float = 1.0
    names: list[str] = field(default_factory=list)
    flag: bool = False


@dataclass
class Outer:
    size: int = 1
    inner: Inner = field(default_factory=Inner)


def test_base_layering_and_overrides(tmp_path):
    (tmp_path / "base.yaml").write_text("size: 3\ninner:\n  rate: 0.5\n  names: [a]\n")
    (tmp_path / "run.yaml").write_text("base: base.yaml\ninner:\n  flag: true\n")
    tree, locations = load_yaml(tmp_path / "run.yaml")
    assert tree == {"size": 3, "inner": {"rate": 0.5, "names": ["a"], "flag": True}}
    assert locations["inner.rate"].endswith("base.yaml:3")
    assert locations["inner.flag"].endswith("run.yaml:3")
    apply_overrides(tree, locations, ["inner.rate=2e-3", "inner.names=[x, y]"])
    config = build(Outer, tree, locations)
    assert config == Outer(size=3, inner=Inner(rate=0.002, names=["x", "y"], flag=True))


def test_unknown_key_names_file_and_line(tmp_path):
    (tmp_path / "c.yaml").write_text("size: 2\ninner:\n  rat: 1\n")
    tree, locations = load_yaml(tmp_path / "c.yaml")
    with pytest.raises(WavenetError, match=r"c.yaml:3: unknown key inner.rat \(known: flag, names, rate\)"):
        build(Outer, tree, locations)


@pytest.mark.parametrize(
    "override,message",
    [
        ("size=big", "override 'size=big': size must be an integer, got 'big'"),
        ("size=true", "size must be an integer"),
        ("inner.flag=1", "inner.flag must be true or false"),
        ("inner.rate=fast", "inner.rate must be a number"),
        ("inner=3", "inner must be a section"),
        ("nothing", "expected dotted.key=value"),
        ("inner.size.x=1", "unknown key inner.size"),
    ],
)
def test_bad_overrides(tmp_path, override, message):
    (tmp_path / "c.yaml").write_text("size: 2\n")
    tree, locations = load_yaml(tmp_path / "c.yaml")
    with pytest.raises(WavenetError, match=message):
        apply_overrides(tree, locations, [override])
        build(Outer, tree, locations)


def test_yaml_errors_name_the_line(tmp_path):
    (tmp_path / "c.yaml").write_text("size: 2\ninner:\n  rate: [1, 2\n")
    with pytest.raises(WavenetError, match=r"c.yaml:\d+: invalid YAML"):
        load_yaml(tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("base: d.yaml\n")
    with pytest.raises(WavenetError, match="cycle"):
        load_yaml(tmp_path / "d.yaml")
    with pytest.raises(WavenetError, match="cannot read config"):
        load_yaml(tmp_path / "missing.yaml")
