"""The study tool on its quick design: real searches through the command line, findings
written from them, and a second run that resumes instead of training again."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from study.claims import gap_at, lower_bound, memory
from study.design import QUICK
from study.measures import Measured, equal_point

ROOT = Path(__file__).resolve().parents[1]
VERDICT = r"\*\*(held|did not hold|cannot tell)\*\*"


def _study(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "study", "--quick", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    args = ("--results", str(folder / "results"), "--docs", str(folder / "docs"))
    first = _study(*args)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    return folder, args, first


@pytest.mark.slow
def test_quick_study_writes_findings_from_its_runs(quick):
    folder, _, first = quick
    assert re.search(r"should take about \d", first.stdout)  # the estimate comes first
    assert first.stdout.index("should take about") < first.stdout.index("[1/2]")
    text = (folder / "docs" / "findings.md").read_text()
    for heading in ("## 1. Memory", "## 2. Overfitting", "## 3. The lower bound"):
        section = text.split(heading, 1)[1].split("\n## ", 1)[0]
        assert section.lstrip().startswith("\n**Answer.**") or "**Answer.**" in section[:400]
        assert re.search(VERDICT, section), heading
    for figure in ("memory.png", "gap_updates.png", "best_epoch.png"):
        path = folder / "docs" / "findings" / figure
        assert path.stat().st_size > 5000 and f"findings/{figure}" in text
    # the bound's count is the runs' own: every ok trial of the run, none made up
    trials = pd.read_csv(folder / "results" / "overfit-partition" / "trials.csv")
    ok = trials[trials.status == "ok"]
    asked = 4 * ok.effective_steps_per_epoch
    assert (ok.updates == asked.clip(upper=16)).all()
    assert f"{len(ok)} of {len(ok)} trials ran exactly" in text
    memory = pd.read_csv(folder / "results" / "memory-partition" / "trials.csv")
    assert set(memory.status) == {"oom", "ok"}  # the budget binds at the large batch


@pytest.mark.slow
def test_second_run_resumes_without_training(quick):
    folder, args, _ = quick
    again = _study(*args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "all 2 runs finished already" in again.stdout
    assert " trial 0 " not in again.stdout
    assert "**Answer.**" in (folder / "docs" / "findings.md").read_text()


def _curves(rows: list[tuple[int, int, int, int]]) -> Measured:
    """Hand-made curves: (seed, steps_per_epoch, epoch, updates) with a gap of updates/100."""
    frame = pd.DataFrame(rows, columns=["seed", "steps_per_epoch", "epoch", "updates"])
    frame = frame.assign(trial_id=frame.seed.astype(str) + "-" + frame.steps_per_epoch.astype(str),
                         samples_seen=frame.epoch * 100, gap=frame.updates / 100,
                         batch_size=100 // frame.steps_per_epoch)
    return Measured(QUICK.experiments[0], pd.DataFrame(), frame)


def test_equal_point_is_the_furthest_value_every_seed_reaches():
    rows = [(seed, steps, epoch, steps * epoch) for seed in (1, 2) for steps in (1, 2, 4)
            for epoch in range(1, 5)]
    rows.remove((2, 4, 4, 16))  # seed 2 stopped early at 4 steps per epoch
    measured = _curves(rows)
    by_epoch = equal_point(measured, "epoch")
    assert by_epoch.value == 3 and by_epoch.steps == (1, 2, 4)
    by_updates = equal_point(measured, "updates")  # 4 is the last all three reach
    assert by_updates.value == 4 and len(by_updates.rows) == 6
    assert equal_point(measured, "updates", at_least=2).value == 8


def test_lower_bound_counts_a_trial_that_ran_past_it():
    experiment = QUICK.experiments[0]  # 4 epochs or 16 steps
    trials = pd.DataFrame({"trial_id": ["0", "1", "2"], "status": "ok",
                           "steps_per_epoch": [2, 8, 8], "effective_steps_per_epoch": [2, 8, 8],
                           "updates": [8, 16, 32], "epochs_run": [4, 2, 4],
                           "samples_seen": [1, 2, 3]})
    check = lower_bound(Measured(experiment, trials, pd.DataFrame()))
    assert (check.trials, check.agreeing, check.by_max_steps) == (3, 2, 2)
    assert check.verdict == "did not hold"


def test_the_study_judges_memory_through_the_reports_judge():
    """Five seeds whose own slopes straddle zero: the interval reaches zero, so through the
    report's judge (its noise, and `unresolved` for a measurement's resolution) this reads
    "cannot tell"; the study's own judge (the median seed SD as the noise, no `unresolved`)
    read "did not hold"."""
    experiment = next(e for e in QUICK.experiments if e.claim == "memory")
    trials = pd.DataFrame([
        {"trial_id": f"{seed}-{steps}", "status": "ok", "steps_per_epoch": steps,
         "batch_size": 512 // steps, "peak_memory_mb": 100 + slope * np.log2(steps),
         "memory_budget_mb": 400.0, "seed": seed}
        for seed, slope in enumerate((0.8, -0.2, 0.6, 0.0, 0.3)) for steps in (2, 4, 8, 16)])
    verdict = memory(Measured(experiment, trials, pd.DataFrame())).verdict
    assert verdict.verdict == "cannot tell"
    assert verdict.interval[0] < 0 < verdict.interval[1]
    assert "measurement noise 1.04 MiB per doubling" in verdict.evidence  # 1.96·√2 pooled SD
    assert "the interval reaches zero" in verdict.evidence


def test_a_gap_without_a_second_seed_cannot_tell_as_in_the_report():
    """One seed: the seeds' noise is unmeasured, not zero, so even a perfect trend over six
    settings is "cannot tell" (the study once took the noise as zero and read "held")."""
    rows = [(1, steps, epoch, steps * epoch) for steps in (1, 2, 4, 8, 16, 32)
            for epoch in range(1, 5)]
    comparison = gap_at(_curves(rows), "epoch")
    assert comparison.verdict.verdict == "cannot tell"
    assert "the noise was not measured" in comparison.verdict.evidence


def test_the_literature_paragraph_claims_no_more_than_the_verdicts():
    """At equal epochs under stream semantics more steps meant more updates and more
    samples at once: "held" there cannot credit the number of updates alone."""
    from study.literature import overfitting

    text = overfitting("held", "held", "did not hold", "did not hold", {15: 192, 960: 55})
    assert "what widened the gap was the number of updates" not in text
    assert "do not separate the number of updates from the samples seen" in text
    assert "(did not hold for the rule)" in text
