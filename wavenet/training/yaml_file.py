"""YAML config files layered on a base, dotted command-line overrides, and strict typed loading.

A config file may name another as its ``base`` (a path relative to itself); the file's keys
override the base's, section by section. Overrides such as ``optim.lr=3e-4`` are parsed as YAML
values. Every unknown key or wrongly typed value is an error naming the file and line it came
from (or the override), never silently ignored.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from wavenet.errors import WavenetError

Locations = dict[str, str]  # dotted key → "file:line" or "override 'key=value'"


def _key_lines(node: yaml.Node, source: str, prefix: str = "") -> Locations:
    found: Locations = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}{key_node.value}"
            found[key] = f"{source}:{key_node.start_mark.line + 1}"
            found.update(_key_lines(value_node, source, key + "."))
    return found


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_yaml(path: Path, _seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], Locations]:
    """A config file merged over its bases, with the location of every key."""
    path = Path(path)
    if path.resolve() in _seen:
        raise WavenetError(f"{path}: base files form a cycle")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise WavenetError(f"{path}: cannot read config ({err})") from None
    try:
        tree = yaml.safe_load(text) or {}
        node = yaml.compose(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise WavenetError(f"{where}: invalid YAML: {getattr(err, 'problem', None) or err}") from None
    if not isinstance(tree, dict):
        raise WavenetError(f"{path}:1: a config file must be a mapping of sections")
    locations = _key_lines(node, str(path)) if node is not None else {}
    base = tree.pop("base", None)
    if base is None:
        return tree, locations
    if not isinstance(base, str):
        raise WavenetError(f"{locations['base']}: base must be a path to another config file")
    base_tree, base_locations = load_yaml(path.parent / base, (*_seen, path.resolve()))
    locations.pop("base")
    return _merge(base_tree, tree), {**base_locations, **locations}


def apply_overrides(tree: dict[str, Any], locations: Locations, overrides: list[str]) -> None:
    """Apply ``dotted.key=value`` overrides in place; the value is read as YAML (``1e-3``, ``true``, ``[1, 2]``)."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise WavenetError(f"override {item!r}: expected dotted.key=value")
        try:
            value = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            value = raw
        parts = key.split(".")
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise WavenetError(f"override {item!r}: {part} is not a section")
            node = child
        node[parts[-1]] = value
        locations[key] = f"override {item!r}"


def _check_type(value: Any, hint: Any, where: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            if option is type(None) and value is None:
                return None
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _check_type(value, options[0], where, key)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise WavenetError(f"{where}: {key} must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise WavenetError(f"{where}: {key} must be an integer, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise WavenetError(f"{where}: {key} must be a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise WavenetError(f"{where}: {key} must be a string, got {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise WavenetError(f"{where}: {key} must be a list, got {value!r}")
        (item,) = typing.get_args(hint)[:1]
        return origin(_check_type(v, item, where, key) for v in value)
    if origin is dict or hint is Any:
        if origin is dict and not isinstance(value, dict):
            raise WavenetError(f"{where}: {key} must be a mapping, got {value!r}")
        return value
    raise TypeError(f"unsupported config type {hint!r} for {key}")  # a programming error, not a user's


def build(cls: type, tree: dict[str, Any], locations: Locations, prefix: str = "", source: str = "config") -> Any:
    """Construct dataclass ``cls`` from a mapping, recursing into dataclass-typed fields."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in tree:
        if key not in fields:
            where = locations.get(f"{prefix}{key}", source)
            raise WavenetError(f"{where}: unknown key {prefix}{key} (known: {', '.join(sorted(fields))})")
    values = {}
    for name, value in tree.items():
        hint = hints[name]
        dotted = f"{prefix}{name}"
        where = locations.get(dotted, source)
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise WavenetError(f"{where}: {dotted} must be a section (a mapping)")
            values[name] = build(hint, value, locations, dotted + ".", source)
        else:
            values[name] = _check_type(value, hint, where, dotted)
    return cls(**values)


def to_yaml(obj: Any) -> str:
    """The resolved config as YAML, to print at start-up and save beside a run's outputs."""
    return yaml.safe_dump(_plain(dataclasses.asdict(obj)), sort_keys=False)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
