"""The built report: files, determinism, escaping, size, speed, no TensorFlow, a real browser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import types
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
    assert markdown.index("## Answer") < markdown.index("## How the pick was made")
    assert "| rank | trial | status |" in markdown


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


#: Measures the page as a reader sees it, run by Chromium in a copy of the report (the
#: report itself carries no script): page-level horizontal overflow, where the answer's
#: values and score end, and whether every image decoded.
PROBE = """<script>
window.addEventListener("load", () => {
  const dd = [...document.querySelectorAll(".answer dd")];
  const bottom = (i) => dd[i] ? dd[i].getBoundingClientRect().bottom + window.scrollY : 1e9;
  const images = [...document.images];
  document.body.insertAdjacentHTML("beforeend", "<pre id='probe'>" + JSON.stringify({
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    use_bottom: bottom(0), expect_bottom: bottom(1),
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).length,
    images: images.length}) + "</pre>");
});
</script>"""


def browse(html: Path, width: int, height: int, folder: Path) -> dict:
    """Screenshot `html` at one window size (kept in `folder`) and measure it."""
    import json
    import re

    shot = folder / f"screen_{width}x{height}.png"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
              "--disable-background-networking", f"--window-size={width},{height}",
              f"--user-data-dir={folder / 'profile'}"]
    subprocess.run([*common, f"--screenshot={shot}", html.as_uri()], capture_output=True,
                   timeout=120, check=False)
    probe = folder / f"probe_{width}.html"
    probe.write_text(html.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    dom = subprocess.run([*common, "--dump-dom", probe.as_uri()], capture_output=True,
                         text=True, timeout=120, check=False).stdout
    found = re.search(r"<pre id=\"probe\">(.*?)</pre>", dom)
    assert found, f"no measurement at {width} px: {dom[-300:]!r}"
    return {**json.loads(found.group(1)), "shot": shot}


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("STEPS_TUNER_BROWSER_TEST") != "required",
                    reason="no Chromium installed (.ci/run installs it and requires this test)")
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    """At a phone's, a tablet's and a laptop's width: no sideways scroll of the page, the
    recommended values and the score on the first 800 px, every figure shown. The
    screenshots stay in the test's run directory (screens/)."""
    from matplotlib.image import imread

    run_dir = make_run(tmp_path, n_trials=20, statuses={5: "error"})
    html = build_report(run_dir)
    screens = run_dir / "screens"
    screens.mkdir()
    for width in (390, 800, 1280):
        seen = browse(html, width, 800, screens)
        assert seen["overflow"] <= 0, f"the page scrolls sideways at {width} px: {seen}"
        assert seen["images"] == len(PLOTS) and seen["broken"] == 0, seen
        assert seen["use_bottom"] <= 800 and seen["expect_bottom"] <= 800, (width, seen)
        pixels = imread(seen["shot"])[..., :3]
        assert pixels.shape[:2] == (800, width)
        dark = (pixels.mean(axis=2) < 0.5).mean()
        assert 0.005 < dark < 0.5, f"{dark:.3%} dark pixels at {width} px: blank or broken"


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
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)  # as in a search's process
    forked = []
    real_fork = plots._draw_in_child
    monkeypatch.setattr(plots, "_draw_in_child",
                        lambda specs, folder: forked.append(real_fork(specs, folder)) or forked[-1])
    build_report(run_dir)  # the forked child dies before drawing its half
    assert forked and forked[0] is not None and forked[0].exitcode == 3
    assert _outputs(run_dir) == drawn


def test_a_process_with_tensorflow_draws_every_plot_itself(tmp_path: Path, monkeypatch) -> None:
    """A fork of a process holding TensorFlow crashes when it collects TensorFlow's objects
    (a notebook's, through the Python API): no child is forked there."""
    import tuning.report.plots as plots

    monkeypatch.setitem(sys.modules, "tensorflow", types.ModuleType("tensorflow"))
    assert plots._draw_in_child([("never", "", "", None)], tmp_path) is None


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
    for rule in summary["rules"].values():  # each rule says what pruning left out of it
        assert "1 pruned trial(s) are left out" in rule["evidence"]
