"""The search's end for real: predictions kept beside each record, fresh-seed re-runs of the
recommended and tied configurations, the honest score printed and in summary.json, a resume
that keeps the re-runs already made, and repeats that give every score its spread."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli, spec_text

from tuning.records import predictions
from tuning.records.trials import read_table

pytestmark = pytest.mark.slow  # every test here trains or runs a search


def test_re_runs_state_the_score_on_test_rows_and_survive_a_resume(tmp_path):
    text = spec_text(source="sklearn:wine", steps=[2, 8], epochs=3, data={"test": 0.2},
                     search={"confirm_runs": 1, "repeats": 2})
    spec = tmp_path / "wine.toml"
    spec.write_text(text)
    out = tmp_path / "run"
    first = run_cli("run", str(spec), "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert "re-running" in first.stdout
    summary = json.loads((out / "summary.json").read_text())
    recommended = summary["recommended"]
    low, high = recommended["interval"]
    assert low <= recommended["score"] <= high
    assert "fresh training run(s)" in recommended["measured_on"]
    assert "36 test rows" in recommended["measured_on"]
    assert f"score: {recommended['score']:.4g}" in first.stdout
    assert "measured as: " in first.stdout and "folk rules: memory: " in first.stdout
    labels = predictions.load_labels(out)
    assert len(labels["holdout"]) == 36 and len(labels["test"]) == 36
    table = read_table(out / "trials.csv")
    # With repeats every score gets its spread, a loss objective's included.
    assert table["holdout_loss_std"].notna().all() and table["val_loss_std"].notna().all()
    for trial_id in table["trial_id"]:
        kept = predictions.load(out, f"trial_{trial_id}")
        assert kept["holdout_pred"].shape == (2, 36) and kept["test_pred"].shape == (2, 36)
        assert kept["holdout_pred"].dtype == np.int16
    reruns = sorted(p.name for p in (out / "records").glob("confirm_*"))
    assert reruns and all(name.endswith((".json", ".npz")) for name in reruns)
    again = run_cli("run", str(spec), "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "re-running" not in again.stdout
    assert sorted(p.name for p in (out / "records").glob("confirm_*")) == reruns
    assert json.loads((out / "summary.json").read_text()) == summary



def test_re_runs_start_on_a_worker_the_search_leaves_idle(tmp_path):
    """Two workers, three trials, the last far longer than the others: while it trains, the
    other worker re-runs the leaders so far instead of waiting for the search to end."""
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text(steps=[2, 4, 1024], epochs=3, data={"test": 0.2},
                              budget={"semantics": "stream", "batch_size": 32},
                              search={"confirm_runs": 1}, resources={"workers": 2}))
    done = run_cli("run", str(spec), "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "re-running" in out and "[    3/3]" in out
    assert out.index("re-running") < out.index("[    3/3]")
