"""The layout's promises: the library's packages import one another in one direction, and the library
needs none of the server's packages."""

import ast
import subprocess
import sys
from pathlib import Path

import wavenet

LIBRARY = Path(wavenet.__file__).parent
SERVER_PACKAGES = ("fastapi", "starlette", "uvicorn", "pydantic_settings", "prometheus_client", "tensorboard")


def _unit(module: str) -> str | None:
    """The package or top-level module of the library that ``module`` belongs to: wavenet.data, wavenet.dsp, ..."""
    parts = module.split(".")
    if parts[0] != "wavenet":
        return None
    return ".".join(parts[:2]) if len(parts) > 1 else "wavenet"


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of its code (imports inside functions too)."""
    package = ".".join(path.relative_to(LIBRARY.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from wavenet import mulaw` is a module
    return found


def import_graph() -> dict[str, set[str]]:
    """Unit → the other units it imports (wavenet/__init__.py, the public API on top of everything, left out)."""
    graph: dict[str, set[str]] = {}
    for path in LIBRARY.rglob("*.py"):
        source = _unit(".".join(path.relative_to(LIBRARY.parent).with_suffix("").parts).removesuffix(".__init__"))
        if source == "wavenet":
            continue
        units = {_unit(m) for m in _imports(path)} - {None, source, "wavenet"}
        graph.setdefault(source, set()).update(units)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [node, nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, node])):
                return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node, [])):
            return found
    return None


def test_the_library_packages_import_each_other_without_a_circle():
    graph = import_graph()
    assert {"wavenet.dsp", "wavenet.data", "wavenet.text", "wavenet.evaluation", "wavenet.generation"} <= set(graph)
    assert _cycle(graph) is None, f"import circle: {' -> '.join(_cycle(graph))}"
    assert graph["wavenet.dsp"] <= {"wavenet.errors"}, "the DSP floor imports nothing above it"
    for package in ("wavenet.data", "wavenet.text", "wavenet.evaluation"):
        assert "wavenet.dsp" in graph[package], f"{package} does its signal processing through wavenet.dsp"


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) is not None
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


BLOCK_SERVER = f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {SERVER_PACKAGES!r}:
            raise ImportError(f"{{name}} is blocked: the library must not need it")
sys.meta_path.insert(0, Block())
"""


def test_the_library_and_its_command_work_without_the_servers_packages(tmp_path):
    """What ``pip install wavenet-service`` gives (no [serve], no [tensorboard]) imports, generates and trains."""
    script = (
        BLOCK_SERVER
        + f"""
import pkgutil, importlib, wavenet
for info in pkgutil.walk_packages(wavenet.__path__, "wavenet."):
    if info.name != "wavenet.__main__":  # that one runs the command
        importlib.import_module(info.name)
from wavenet.cli import main
assert main(["generate", "debug", "-o", {str(tmp_path / "a.wav")!r}, "--seconds", "0.05", "--seed", "1"]) == 0
assert main(["serve", "debug"]) == 2  # a one-line error naming the extra, not a traceback
"""
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.wav").is_file()
    assert "pip install 'wavenet-service[serve]'" in done.stderr
