"""The benchmark's code path on a tiny grid: it runs all three contenders and writes its
tables. No timing is asserted: timings belong to `make bench`, not to the test suite."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bench import overhead
from bench.common import Grid

pytestmark = pytest.mark.slow  # every test here trains or runs a search


def _columns(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open() as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_overhead_writes_both_tables(tmp_path):
    results = tmp_path / "results"
    overhead.run(Grid(steps=(2, 8), splits=(0.2,), epochs=1), repeats=1,
                 folder=tmp_path / "work", results=results)
    columns, rows = _columns(results / "overhead.csv")
    assert columns == ["variant", "repeat", "trials", "samples", "end_to_end_s", "trials_s",
                       "one_off_s", "steady_s_per_trial", "samples_per_s"]
    assert [r["variant"] for r in rows] == ["a_bare_fit", "b_keras_tuner", "c_steps_tuner"]
    assert {r["trials"] for r in rows} == {"2"}
    assert len({r["samples"] for r in rows}) == 1  # the same work for every contender
    columns, rows = _columns(results / "overhead_summary.csv")
    assert columns[0] == "measure" and {"c/a", "c/b", "b/a"} <= set(columns)
    assert [r["measure"] for r in rows] == ["end_to_end_s", "steady_s_per_trial"]
