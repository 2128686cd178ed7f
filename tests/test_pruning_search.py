"""A real pruned search: trials whose learning rate cannot learn in the budget stop early at
equal samples seen, are recorded and reported as `pruned`, and a resume keeps them."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import run_cli, spec_text

RATES = [0.01, 0.005, 0.003, 0.002, 1e-6, 2e-6]
HOPELESS = (1e-6, 2e-6)


def pruned_spec() -> str:
    """Stream semantics, 16 batches of 32 an epoch for 6 epochs (3,072 samples): judged from
    rung 512 (the first epoch) on; the last two rates barely move the weights in that budget."""
    return spec_text(epochs=6, steps=[16], budget={"semantics": "stream", "batch_size": 32},
                     search={"prune": "median", "space": {"learning_rate": RATES}},
                     resources={"workers": 1})


@pytest.mark.slow
def test_a_pruned_search_records_reports_and_resumes(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(pruned_spec())
    out = tmp_path / "run"
    first = run_cli("run", str(spec), "--out", str(out), "--max-trials", "5")
    assert first.returncode == 0, first.stderr
    trials = pd.read_csv(out / "trials.csv")
    pruned = trials[trials["status"] == "pruned"]
    assert list(pruned["learning_rate"]) == [1e-6]  # the 5th trial, with 4 peers before it
    assert (pruned["samples_seen"] < 3072).all() and (trials.loc[trials["status"] == "ok",
                                                               "samples_seen"] == 3072).all()
    assert pruned["message"].str.contains("pruned at 512 samples seen").all()
    curves = pd.read_csv(out / "curves.csv")
    assert curves.loc[curves["trial_id"].isin(pruned["trial_id"]), "samples_seen"].max() < 3072
    record = out / "records" / f"trial_{pruned['trial_id'].iloc[0]}.json"
    written = record.stat().st_mtime_ns

    second = run_cli("run", str(spec), "--out", str(out))
    assert second.returncode == 0, second.stderr
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == len(RATES) and record.stat().st_mtime_ns == written
    assert set(trials.loc[trials["status"] == "pruned", "learning_rate"]) == set(HOPELESS)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["recommended"]["hyperparameters"]["learning_rate"] not in HOPELESS
    assert not set(summary["tied"]) & set(trials.loc[trials["status"] == "pruned", "trial_id"]
                                           .astype(str))
    assert "pruned" in (out / "report.html").read_text(encoding="utf-8")
