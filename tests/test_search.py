"""A whole search through the command line: tables, resume, parallel workers, other tuners."""

from __future__ import annotations

import shutil

import pytest
from conftest import run_cli, spec_text

from tuning.records.trials import TRIAL_COLUMNS, read_table

pytestmark = pytest.mark.slow  # every test here trains or runs a search

SPEC_COLUMNS = [c.format(metric="accuracy") for c in TRIAL_COLUMNS]


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """One small grid searched twice: with one worker and with two."""
    folder = tmp_path_factory.mktemp("search")
    spec = folder / "grid.toml"
    spec.write_text(spec_text(steps=[2, 8], splits=[0.1, 0.3], epochs=3))
    runs = {}
    for workers in (1, 2):
        out = folder / f"run{workers}"
        result = run_cli("run", str(spec), "--out", str(out), "--workers", str(workers))
        assert result.returncode == 0, result.stderr
        runs[workers] = (out, result)
    # A worker replaced after every trial (as one that has grown too much is) changes nothing:
    # three trials, the third on a worker that replaced the one of the second.
    out = folder / "recycled"
    result = run_cli("run", str(spec), "--out", str(out), "--max-trials", "3",
                     env={"STEPS_TUNER_RECYCLE_MB": "0"})
    assert result.returncode == 0, result.stderr
    runs["recycled"] = (out, result)
    return spec, runs


def test_tables_hold_the_spec_columns_and_one_row_per_trial(searched):
    _, runs = searched
    out, result = runs[1]
    table = read_table(out / "trials.csv")
    assert list(table.columns[: len(SPEC_COLUMNS)]) == SPEC_COLUMNS
    assert len(table) == 4 and (table.status == "ok").all()
    assert (table.updates == table.effective_steps_per_epoch * 3).all()
    curves = read_table(out / "curves.csv")
    assert list(curves.columns) == ["trial_id", "execution", "epoch", "updates", "samples_seen",
                                    "loss", "val_loss", "accuracy", "val_accuracy",
                                    "train_loss_end"]
    assert len(curves) == 4 * 3 and curves.train_loss_end.notna().all()
    assert (table.gap - (table.val_loss - table.train_loss_end)).abs().max() < 1e-9
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    # The runs' folder holds the user's spec: not a results folder the tool made, no index.
    assert not (out.parent / "index.html").exists()
    assert "report: " in result.stdout and result.stdout.count(" ok ") == 4


@pytest.mark.parametrize("other", [2, "recycled"])
def test_two_workers_or_fresh_workers_give_the_results_of_one(searched, other):
    _, runs = searched
    one = read_table(runs[1][0] / "trials.csv").set_index("trial_id")
    two = read_table(runs[other][0] / "trials.csv").set_index("trial_id")
    if other == 2:
        assert set(two.worker) == {0, 1}
    assert len(two) == (4 if other == 2 else 3)
    for column in ("steps_per_epoch", "validation_split", "batch_size", "holdout_accuracy"):
        assert two[column].tolist() == pytest.approx(one.loc[two.index, column].tolist())


def test_a_finished_run_resumes_without_training(searched):
    spec, runs = searched
    out, _ = runs[1]
    before = {p.name: p.stat().st_mtime_ns for p in (out / "records").iterdir()}
    again = run_cli("run", str(spec), "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "resuming: 4 finished trial(s) kept" in again.stdout
    assert " ok " not in again.stdout  # no trial ran
    assert {p.name: p.stat().st_mtime_ns for p in (out / "records").iterdir()} == before
    skip = run_cli("run", str(spec), "--out", str(out), "--if-unfinished")
    assert skip.returncode == 0 and "finished already" in skip.stdout


def test_a_changed_spec_is_not_mixed_into_an_old_run(searched, tmp_path):
    spec, runs = searched
    out, _ = runs[1]
    changed = tmp_path / "grid.toml"
    changed.write_text(spec.read_text().replace("epochs = 3", "epochs = 4"))
    result = run_cli("run", str(changed), "--out", str(out))
    assert result.returncode == 2
    assert "holds a search of a different spec" in result.stderr


@pytest.mark.parametrize("tuner", ["random", "bayesian", "hyperband"])
def test_other_tuners_run_to_the_end(tmp_path, tuner):
    text = spec_text(steps=[2, 8, 32], epochs=2, search={"tuner": tuner, "max_trials": 3})
    spec = tmp_path / f"{tuner}.toml"
    spec.write_text(text)
    result = run_cli("run", str(spec), "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    table = read_table(tmp_path / "run" / "trials.csv")
    assert len(table) >= 2 and (table.status == "ok").all()
    if tuner == "hyperband":  # budgets are passes over the data, equal for every steps value
        assert (table.samples_seen == table.tuner_epochs * 1150).all()


def test_a_damaged_record_is_named_left_out_and_its_trial_run_again(searched, tmp_path):
    spec, runs = searched
    out = tmp_path / "copy"
    shutil.copytree(runs[1][0], out)
    record = out / "records" / "trial_1.json"
    # Everything but the damaged trial's own files (its record and its predictions) is kept.
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "records").iterdir()
            if p.stem != record.stem}
    record.write_text(record.read_text()[:100])  # cut off, as by a full disk
    (out / "trials.csv").write_bytes(b"\x00garbage,\n\xff\xfe\n")

    report = run_cli("report", str(out))
    assert report.returncode == 0, report.stderr
    assert f"warning: {record}: damaged record (not JSON" in report.stderr
    table = read_table(out / "trials.csv")  # rebuilt from the records, not the garbage
    assert sorted(table.trial_id) == ["0", "2", "3"]

    again = run_cli("run", str(spec), "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert f"warning: {record}: damaged record" in again.stderr and "runs again" in again.stderr
    assert again.stdout.count(" ok ") == 1  # that trial alone trained
    table = read_table(out / "trials.csv")
    assert sorted(table.trial_id) == ["0", "1", "2", "3"] and (table.status == "ok").all()
    assert {p.name: p.stat().st_mtime_ns for p in (out / "records").iterdir()
            if p.stem != record.stem} == kept
