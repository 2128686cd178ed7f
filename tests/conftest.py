"""Shared helpers: write specs into a temporary folder and run the real command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tuning.spec.tomlwrite import to_toml

ROOT = Path(__file__).resolve().parents[1]
# Searches cache their prepared data; the tests' cache is their own, never the user's.
os.environ.setdefault("STEPS_TUNER_CACHE", tempfile.mkdtemp(prefix="steps-tuner-test-cache-"))
sys.path.insert(0, str(Path(__file__).parent))


def spec_dict(
    name: str = "t",
    source: str = "sklearn:digits",
    builder: str = "tuning.models:mlp",
    epochs: Any = 2,
    steps: Any = (4, 8),
    splits: Any = (0.2,),
    **tables: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """The tests' base spec as tables: a two-point grid on digits that trains in seconds.

    `tables` add or replace keys of a table (`data={"test": 0.1}`), `search={"space": ...}`
    included; values may be wrong on purpose, to test what the spec reader says."""
    raw: dict[str, dict[str, Any]] = {
        "experiment": {"name": name, "seed": 3},
        "data": {"source": source, "holdout": 0.2, "test": 0.0},
        "model": {"builder": builder},
        "budget": {"semantics": "partition", "epochs": epochs},
        # One worker: a test's search shares two cores with another test's. Before
        # [search], so that [search.space] stays the last table (see `spec_text`).
        "resources": {"workers": 1},
        "search": {"tuner": "grid", "confirm_runs": 0,
                   "space": {"steps_per_epoch": steps, "validation_split": splits}},
    }
    for table, values in tables.items():
        current = raw.setdefault(table, {})
        for key, value in values.items():
            inner = current.get(key)
            current[key] = {**inner, **value} if isinstance(inner, dict) else value
    return raw


def spec_text(extra: str = "", **kwargs: Any) -> str:
    """`spec_dict(**kwargs)` written through the tool's own TOML writer, then `extra` (text
    appended to the last table, `[search.space]`, or new tables after it)."""
    return to_toml(spec_dict(**kwargs)) + extra


def default_sigint() -> None:
    """For `preexec_fn`: Ctrl-C (SIGINT) reaches the child as it reaches a program started
    from a terminal, even when the tests themselves run as a background job of a script,
    which inherits SIGINT ignored (and Python then installs no KeyboardInterrupt for it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def ctrl_c_raises():
    """Ctrl-C raises KeyboardInterrupt in this process for the test, as in a program started
    from a terminal, wherever the tests run (see `default_sigint`)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


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


def trial_arrays(dataset, validation_split: float) -> tuple:
    """(x_train, y_train, x_val, y_val, x_holdout, y_holdout) as a trial reads them from the
    store: float32 features, scaled where standardization applies."""
    import numpy as np

    rows = dataset.trial_rows(validation_split)
    out: list = []
    for reader in (rows.train, rows.val, rows.holdout):
        out += reader.read(np.arange(len(reader)))
    return tuple(out)
