"""results/index.html: every run directory at a glance, with a link to its report.

Each row is read from what the run's own report already wrote (summary.json), never
recomputed: the index is rebuilt after every search, and a folder of many runs must not make
each search pay for all the others' statistics. A run that cannot be read (a half-written
directory, a spec from another version) gets a row saying so instead of taking the whole
index down.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from tuning.records.rundir import is_results_folder, is_run_dir, read_state
from tuning.records.trials import atomic_write, read_table
from tuning.report.content import status_counts
from tuning.report.render import CSS
from tuning.spec.errors import UserError
from tuning.spec.schema import load_spec
from tuning.verdicts.summary import SUMMARY, described
from tuning.verdicts.text import fmt

HEADER = ("run", "experiment", "state", "started", "trials", "best configuration", "score",
          "report")


def build_index(results_dir: Path) -> Path:
    """Write results_dir/index.html over every subdirectory holding a run, by name."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    runs = sorted(p for p in results_dir.iterdir()
                  if p.is_dir() and (is_run_dir(p) or (p / "run.json").is_file()
                                     or (p / "trials.csv").is_file()))
    rows = "\n".join(_row(path) for path in runs) or (
        f'<tr><td colspan="{len(HEADER)}">No runs yet.</td></tr>')
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADER)
    page = "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><title>Tuning runs</title>',
        f"<style>{CSS}</style></head>",
        "<body>",
        "<h1>Tuning runs</h1>",
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>',
        rows,
        "</tbody></table></div>",
        "</body>",
        "</html>",
        "",
    ])
    path = results_dir / "index.html"
    atomic_write(path, page)
    return path


def update_index(run_dir: Path) -> Path | None:
    """Rebuild the index of the results folder holding `run_dir`, when that folder is the
    tool's (see `is_results_folder`): a page of the user's own there is never replaced.
    Returns the index written, or None."""
    parent = Path(run_dir).resolve().parent
    return build_index(parent) if is_results_folder(parent) else None


def _row(path: Path) -> str:
    name = path.name
    try:
        spec = load_spec(path / "spec.toml")
        trials = read_table(path / "trials.csv")
        summary = _summary(path)
    except (UserError, OSError, ValueError) as exc:
        cells = (name, "–", "unreadable", "–", "–", str(exc), "–")
        return _tr(cells, None)
    info = read_state(path)
    try:
        best, score = _recommended(summary)
    except (KeyError, TypeError, ValueError):
        best, score = "summary.json unreadable", "–"
    cells = (name, spec.name, str(info.get("state", "unknown")),
             str(info.get("started") or "–"), status_counts(trials), best, score)
    report = path / "report.html"
    return _tr(cells, f"{name}/report.html" if report.is_file() else None)


def _summary(path: Path) -> dict:
    """The run's summary.json; empty when its report was never built."""
    file = path / SUMMARY
    summary = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
    if not isinstance(summary, dict):
        raise ValueError(f"{file} holds no JSON object")
    return summary


def _recommended(summary: dict) -> tuple[str, str]:
    """(best configuration, its stated score with the interval) as the report gives them."""
    recommended = summary.get("recommended")
    if not recommended:
        return "–", "–"
    low, high = recommended["interval"]
    best = f"trial {recommended['trial_id']}: {described(recommended)}"
    score = (f"{summary['objective']} = {fmt(recommended['score'], 4)} "
             f"[{fmt(low, 3)}, {fmt(high, 3)}]")
    return best, score


def _tr(cells: tuple[str, ...], link: str | None) -> str:
    tds = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
    anchor = (f'<a href="{html.escape(link, quote=True)}">report</a>' if link
              else "not built yet")
    return f"<tr>{tds}<td>{anchor}</td></tr>"
