"""Imports run one way: no circle anywhere in `tuning`, and the execution layer's chain
(messages -> worker side -> pool -> drivers -> commands) never points back up.

The imports are read from the source with `ast`, those inside functions included: an import
hidden in a function body is still a dependency, only a later one.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "tuning"

#: The execution layer, bottom to top; a module may import only from its own layer or below.
LAYERS = {
    "messages": 0, "failures": 0, "memory": 0, "device": 0, "frontier": 0, "capacity": 0,
    "keras_stand_in": 0,
    "trial": 1, "worker": 1,
    "pool": 2,
    "search": 3, "probe": 3,
    "prepare": 4, "rerun": 4,
    "run": 5, "distributed": 5,
    "oracles": 3, "progress": 3, "validate": 4, "gpu_check": 6,
}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(path: Path, known: set[str], root: Path = ROOT) -> set[str]:
    """The `tuning` modules `path` imports, at any depth of its code."""
    found: set[str] = set()
    this = module_name(path, root)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    stack: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while stack:
        node = stack.pop()
        if _type_checking_only(node):
            continue
        stack.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1],
                                 *([base] if base else [])])
            for alias in node.names:  # `from tuning import records` imports a module
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {name for name in found if name in known and name != this}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, set(known)) for name, path in known.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_walker_sees_a_circle_hidden_in_a_function(tmp_path):
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(edges) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    source = tmp_path / "tuning" / "m.py"
    source.parent.mkdir()
    source.write_text("import os\n\ndef f():\n    from tuning.execution import run\n"
                      "    from . import records\n")
    known = {"tuning.execution.run", "tuning.records", "tuning", "tuning.m"}
    assert imports_of(source, known, tmp_path) == {"tuning.execution.run", "tuning.records"}


def test_no_import_circle_in_tuning():
    edges = graph()
    assert len(edges) > 40  # the walker found the package
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges))


def test_execution_imports_run_down_the_chain():
    edges = graph()
    execution = {n.rpartition(".")[2] for n in edges if n.startswith("tuning.execution.")}
    assert execution == set(LAYERS), "every execution module has a layer"
    upward = []
    for name, targets in edges.items():
        if not name.startswith("tuning.execution."):
            continue
        layer = LAYERS[name.rpartition(".")[2]]
        for target in targets:
            if target.startswith("tuning.execution.") and LAYERS[target.rpartition(".")[2]] > layer:
                upward.append(f"{name} -> {target}")
    assert not upward, upward


#: The stages of the pipeline, in the order they may import each other: a module imports only
#: from its own stage or an earlier one. Execution drives all the others, so it comes last.
STAGES = ("spec", "data", "records", "training", "verdicts", "report", "execution")
#: The ways in: the command line, the Python API, and the builders that specs name.
ENTRY_POINTS = {"tuning", "tuning.__main__", "tuning.cli", "tuning.api", "tuning.models"}


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in STAGES) else None


def test_every_module_belongs_to_a_stage_or_is_an_entry_point():
    loose = sorted(n for n in graph() if stage_of(n) is None and n not in ENTRY_POINTS)
    assert not loose, f"modules outside the stages: {loose}"
    assert {stage_of(n) for n in graph()} - {None} == set(STAGES)


def test_each_stage_imports_only_the_stages_before_it():
    edges = graph()
    later = []
    for name, targets in edges.items():
        here = stage_of(name)
        if here is None:
            continue
        for target in targets:
            there = stage_of(target)
            if target in ENTRY_POINTS - {"tuning.models"} or (
                    there is not None and STAGES.index(there) > STAGES.index(here)):
                later.append(f"{name} -> {target}")
    assert not later, later


def test_the_verdicts_and_the_report_package_load_no_plotting_library():
    verdicts = ", ".join(n for n in graph() if stage_of(n) == "verdicts")
    code = (f"import sys, tuning.report, {verdicts}; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
