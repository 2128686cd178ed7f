"""The built report: files, determinism, escaping, size, speed, no TensorFlow, a real browser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_report_data import make_run

from tuning.report import build_index, build_report

ROOT = Path(__file__).resolve().parents[1]
PLOTS = {"curves_samples.png", "curves_updates.png", "heatmap.png", "memory.png", "gap.png",
         "cost.png"}
CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"),
                             shutil.which("chromium-browser")) if p and Path(p).exists()), None)


def _outputs(run_dir: Path) -> dict[str, bytes]:
    files = [run_dir / "report.html", run_dir / "report.md",
             *sorted((run_dir / "plots").glob("*.png"))]
    return {p.name: p.read_bytes() for p in files}


def test_report_files_are_complete_self_contained_and_deterministic(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, n_trials=20, statuses={5: "error", 7: "nan", 8: "skipped_oom"})
    html_path = build_report(run_dir)
    assert html_path == run_dir / "report.html"
    assert {p.name for p in (run_dir / "plots").glob("*.png")} == PLOTS
    first = _outputs(run_dir)
    build_report(run_dir)
    assert _outputs(run_dir) == first

    html = html_path.read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == len(PLOTS)
    for outside in ("http://", "https://", "<script", "<link", "src=\"plots/"):
        assert outside not in html
    assert "2025-01-02T03:04:05" in html  # dates come from run.json only
    for trial_id in [f"{i:02d}" for i in range(20)]:
        assert f"<td>{trial_id}</td>" in html
    markdown = (run_dir / "report.md").read_text(encoding="utf-8")
    for name in PLOTS:
        assert f"(plots/{name})" in markdown
    assert "## Recommendation" in markdown and "| rank | trial | status |" in markdown


def test_user_strings_are_escaped(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, n_trials=8, name="<i>Tom & 'Jerry'", statuses={4: "error"})
    html = build_report(run_dir).read_text(encoding="utf-8")
    assert "<i>Tom" not in html and "<script>alert" not in html
    assert "&lt;i&gt;Tom &amp; &#x27;Jerry&#x27;" in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    markdown = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in markdown and r"\<script\>" in markdown


@pytest.mark.parametrize("statuses", [{i: "oom" for i in range(4)}, {}], ids=["all failed",
                                                                            "regression"])
def test_reports_build_for_failed_and_regression_runs(tmp_path: Path, statuses: dict) -> None:
    metric = "accuracy" if statuses else "mse"
    run_dir = make_run(tmp_path, n_trials=4, statuses=statuses, metric=metric, budget_mb=None,
                       n_holdout=None, executions=2)
    html = build_report(run_dir).read_text(encoding="utf-8")
    assert ("No trial produced a score" in html) == bool(statuses)


def test_report_path_never_imports_tensorflow(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, n_trials=6)
    code = ("import sys; import tuning.report as r; "
            f"r.build_report(__import__('pathlib').Path({str(run_dir)!r})); "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'; "
            "assert 'keras' not in sys.modules, 'keras imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_thousand_trials_build_in_seconds(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, n_trials=1000, executions=2)
    start = time.perf_counter()
    html = build_report(run_dir)
    seconds = time.perf_counter() - start
    print(f"report for 1,000 trials built in {seconds:.2f} s")
    assert seconds < 60
    assert html.read_text(encoding="utf-8").count("<tr") > 1000


def test_index_lists_every_run_and_survives_a_broken_one(tmp_path: Path) -> None:
    first = make_run(tmp_path, n_trials=6, name="alpha")
    build_report(first)
    make_run(tmp_path, n_trials=3, name="beta <b>", statuses={0: "oom", 1: "oom", 2: "oom"})
    broken = tmp_path / "gamma"
    broken.mkdir()
    (broken / "run.json").write_text("{}")
    (tmp_path / "not-a-run").mkdir()
    index = build_index(tmp_path)
    assert index == tmp_path / "index.html"
    html = index.read_text(encoding="utf-8")
    assert '<a href="alpha/report.html">report</a>' in html
    assert "beta &lt;b&gt;" in html and "3 oom" in html
    assert "gamma" in html and "unreadable" in html and "no such spec file" in html
    assert "not-a-run" not in html
    assert "steps_per_epoch = " in html
    assert build_index(tmp_path).read_bytes() == index.read_bytes()


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("STEPS_TUNER_BROWSER_TEST") != "required",
                    reason="no Chromium installed (.ci/run installs it and requires this test)")
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    from matplotlib.image import imread

    run_dir = make_run(tmp_path, n_trials=20, statuses={5: "error"})
    html = build_report(run_dir)
    shot = tmp_path / "shot.png"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", f"--screenshot={shot}",
               "--window-size=1280,2000", f"--user-data-dir={tmp_path / 'profile'}",
               html.as_uri()]
    subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert shot.is_file() and shot.stat().st_size > 0
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1280)
    dark = (pixels.mean(axis=2) < 0.5).mean()
    assert 0.005 < dark < 0.5, f"{dark:.3%} dark pixels: blank or broken page"


def test_a_run_with_no_trials_yet_still_gets_a_report(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, n_trials=2)
    (run_dir / "trials.csv").unlink()
    (run_dir / "curves.csv").unlink()
    html = build_report(run_dir).read_text(encoding="utf-8")
    assert "No trial has finished yet" in html


def test_text_and_boolean_hyperparameters_are_reported(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, n_trials=6)
    spec = run_dir / "spec.toml"
    extra = 'regularizer = ["none", "dropout"]\nshuffle = [true, false]\n'
    spec.write_text(spec.read_text() + extra)
    trials = run_dir / "trials.csv"
    table = pd.read_csv(trials, dtype={"trial_id": str})
    table["regularizer"] = ["none", "dropout"] * 3
    table["shuffle"] = [True, False, True] * 2
    table.to_csv(trials, index=False)
    html = build_report(run_dir).read_text(encoding="utf-8")
    assert "dropout" in html
    assert build_index(tmp_path).is_file()


def test_plots_a_failed_drawing_process_leaves_are_drawn_by_the_report(tmp_path: Path,
                                                                       monkeypatch) -> None:
    import tuning.report.plots as plots

    run_dir = make_run(tmp_path, n_trials=6)
    build_report(run_dir)
    drawn = _outputs(run_dir)
    for png in (run_dir / "plots").glob("*.png"):
        png.unlink()
    monkeypatch.setattr(plots, "_draw_all", lambda specs, folder: os._exit(3))
    build_report(run_dir)  # the forked child dies before drawing its half
    assert _outputs(run_dir) == drawn


def test_a_pruned_trial_keeps_its_row_but_is_never_recommended_or_tied(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, n_trials=12, budget_mb=None)
    trials = pd.read_csv(run_dir / "trials.csv", dtype={"trial_id": str})
    best = trials["holdout_accuracy"].idxmax()
    pruned_id = trials.loc[best, "trial_id"]
    trials.loc[best, "status"] = "pruned"
    trials.loc[best, "holdout_accuracy"] = 1.0  # its partial score would win if it counted
    trials.to_csv(run_dir / "trials.csv", index=False)
    build_report(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["recommended"]["trial_id"] != pruned_id
    assert pruned_id not in summary["tied"]
    assert f"<td>{pruned_id}</td>" in (run_dir / "report.html").read_text(encoding="utf-8")
