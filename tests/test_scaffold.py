"""`new NAME` must hand a user a spec that runs as written and whose comments do not lie."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tuning.execution.validate import describe
from tuning.spec.errors import UserError
from tuning.spec.scaffold import write_spec
from tuning.spec.schema import load_spec


def test_written_spec_validates_as_written(tmp_path: Path) -> None:
    path = write_spec("my-search", tmp_path)
    assert path == tmp_path / "my-search.toml"
    spec = load_spec(path)
    assert spec.name == "my-search"
    assert describe(spec).endswith("ok: spec and data are valid")


def test_commented_examples_are_valid_once_uncommented(tmp_path: Path) -> None:
    path = write_spec("full", tmp_path)
    examples = ("# learning_rate =", "# units =", "# activation =", "# dropout =",
                "# max_steps =", "# memory_budget =")
    lines = [
        line.removeprefix("# ") if line.startswith(examples) else line
        for line in path.read_text().splitlines()
    ]
    path.write_text("\n".join(lines))
    spec = load_spec(path)
    dropout = spec.search.dimension("dropout")
    assert dropout is not None and dropout.when is not None
    assert dropout.when.parent == "activation"
    assert spec.budget.max_steps == 2000
    assert spec.resources.memory_budget == 2 * 2**30


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    existing = tmp_path / "taken.toml"
    existing.write_text("# mine\n")
    with pytest.raises(UserError, match="already exists"):
        write_spec("taken", tmp_path)
    assert existing.read_text() == "# mine\n"


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "with space", "-dash"])
def test_refuses_bad_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(UserError) as caught:
        write_spec(name, tmp_path)
    assert caught.value.where == name
    assert list(tmp_path.iterdir()) == []


def test_command_line_writes_then_refuses(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "tuning", "new", "cli-made", "--dir", str(tmp_path)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "cli-made.toml").is_file()
    second = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert second.returncode == 2
    assert second.stderr.startswith("error: ") and "already exists" in second.stderr
    assert "Traceback" not in second.stderr
