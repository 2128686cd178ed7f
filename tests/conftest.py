"""Shared helpers: write specs into a temporary folder and run the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Searches cache their prepared data; the tests' cache is their own, never the user's.
os.environ.setdefault("STEPS_TUNER_CACHE", tempfile.mkdtemp(prefix="steps-tuner-test-cache-"))
sys.path.insert(0, str(Path(__file__).parent))

BASE_SPEC = """
[experiment]
name = "{name}"
seed = 3

[data]
source = "{source}"
holdout = 0.2
test = 0.0

[model]
builder = "{builder}"

[budget]
semantics = "partition"
epochs = {epochs}

[search]
tuner = "grid"
confirm_runs = 0

[search.space]
steps_per_epoch = {steps}
validation_split = {splits}
"""


def spec_text(
    name: str = "t",
    source: str = "sklearn:digits",
    builder: str = "tuning.models:mlp",
    epochs: int = 2,
    steps: str = "[4, 8]",
    splits: str = "[0.2]",
    extra: str = "",
) -> str:
    return BASE_SPEC.format(
        name=name, source=source, builder=builder, epochs=epochs, steps=steps, splits=splits
    ) + extra


@pytest.fixture
def write_spec(tmp_path: Path):
    """Write a spec file in tmp_path and return its path."""

    def write(text: str | None = None, filename: str = "spec.toml", **kwargs) -> Path:
        path = tmp_path / filename
        path.write_text(text if text is not None else spec_text(**kwargs))
        return path

    return write


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m tuning ARGS` in a fresh process, as a user runs it."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tuning", *args],
        cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout, env=full_env,
    )
