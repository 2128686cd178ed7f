"""summary.json: what the report recommends, machine-readable, rebuilt with the report."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tuning.records.trials import BATCH_SIZE, EPOCHS_RUN, TRIAL_ID, UPDATES, atomic_write
from tuning.verdicts.folk import Judged, judge_rules
from tuning.verdicts.ranking import Run
from tuning.verdicts.text import fmt
from tuning.verdicts.warnings import warnings

SUMMARY = "summary.json"


@dataclass(frozen=True)
class Verdicts:
    """Everything the report's first section says, computed once."""

    summary: dict[str, Any]
    rules: dict[str, Judged]
    warnings: list[str]


def verdicts(run: Run) -> Verdicts:
    rules = judge_rules(run)
    found = warnings(run, rules)
    return Verdicts(summarise(run, rules, found), rules, found)


def summarise(run: Run, rules: dict[str, Judged], found: list[str]) -> dict[str, Any]:
    """The summary as a plain dict (see SPEC.md: summary.json)."""
    choice = run.choice
    summary: dict[str, Any] = {
        "objective": run.objective,
        "direction": run.goal.direction,
        "recommended": None,
        "tied": [],
        "tie_test": None,
        "runner_up": None,
        "rules": {name: {"verdict": j.verdict.verdict, "evidence": j.verdict.evidence}
                  for name, j in rules.items()},
        "warnings": found,
    }
    if choice is None:
        return summary
    row = run.trials[run.trials[TRIAL_ID].astype(str) == choice.trial_id].iloc[0]
    stated = choice.statement
    summary["recommended"] = {
        "trial_id": choice.trial_id,
        "hyperparameters": {n: _plain(row.get(n)) for n in run.hp_names if n != "batch_size"},
        "batch_size": _plain(row.get(BATCH_SIZE)),
        "epochs": _plain(row.get(EPOCHS_RUN)),
        "updates": _plain(row.get(UPDATES)),
        "score": _plain(stated.score),
        "interval": [_plain(stated.low), _plain(stated.high)],
        "measured_on": stated.measured_on,
        "search_score": _plain(row.get(run.objective)),
    }
    summary["tied"] = list(choice.tied)
    summary["tie_test"] = choice.tie_test
    if choice.runner_up is not None:
        runner = choice.runner_up
        summary["runner_up"] = {"trial_id": runner.trial_id, "score": _plain(runner.score),
                                "wall_s": _plain(runner.wall_s), "margin": choice.margin,
                                "worst_case": _plain(runner.worst_case)}
    return summary


def headline(run_dir: Path) -> str:
    """What the command prints when a search ends: the recommendation, its score with the
    interval and where it was measured, the rules, the number of warnings."""
    path = Path(run_dir) / SUMMARY
    if not path.is_file():
        return "recommended: nothing yet (no summary)"
    summary = json.loads(path.read_text(encoding="utf-8"))
    recommended = summary.get("recommended")
    if not recommended:
        return "recommended: nothing, no trial produced a score (see the report)"
    low, high = recommended["interval"]
    rules = "; ".join(f"{name}: {rule['verdict']}" for name, rule in summary["rules"].items())
    lines = [
        f"recommended: trial {recommended['trial_id']} ({described(recommended)})",
        f"  score: {fmt(recommended['score'], 4)}, 95% interval [{fmt(low, 3)}, {fmt(high, 3)}]",
        f"  measured as: {recommended['measured_on']}",
        f"  tied with it: {', '.join(summary['tied']) or 'none'} ({summary['tie_test']})",
        f"  folk rules: {rules}",
    ]
    lines += [f"  warning: {w}" for w in summary["warnings"]]
    return "\n".join(lines)


def described(recommended: dict[str, Any]) -> str:
    """`steps_per_epoch = 8, validation_split = 0.2, batch size 144` from the summary."""
    values = [f"{k} = {fmt(v, 4)}" for k, v in recommended["hyperparameters"].items()]
    return ", ".join([*values, f"batch size {fmt(recommended['batch_size'])}"])


def write_summary(run_dir: Path, summary: dict[str, Any]) -> Path:
    path = Path(run_dir) / SUMMARY
    atomic_write(path, json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    return path


def _plain(value: Any) -> Any:
    """JSON-friendly: numpy scalars as Python numbers, NaN as null, whole floats as ints."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and pd.notna(value) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value
