"""results/index.html: every run directory at a glance, with a link to its report.

A run that cannot be read (a half-written directory, a spec from another version) gets a row
saying so instead of taking the whole index down.
"""

from __future__ import annotations

import html
from pathlib import Path

from tuning.errors import UserError
from tuning.records import atomic_write
from tuning.report.content import status_counts
from tuning.report.plots.style import fmt
from tuning.report.recommend import configuration
from tuning.report.render import CSS
from tuning.report.table import load_run

HEADER = ("run", "experiment", "state", "started", "trials", "best configuration", "score",
          "report")


def build_index(results_dir: Path) -> Path:
    """Write results_dir/index.html over every subdirectory holding a run, by name."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    runs = sorted(p for p in results_dir.iterdir()
                  if p.is_dir() and ((p / "run.json").is_file() or (p / "trials.csv").is_file()))
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


def _row(path: Path) -> str:
    name = path.name
    try:
        run = load_run(path)
    except (UserError, OSError, ValueError) as exc:
        cells = (name, "–", "unreadable", "–", "–", str(exc), "–")
        return _tr(cells, None)
    ranked = run.trials[run.trials["rank"].notna()]
    if ranked.empty:
        best, score = "–", "–"
    else:
        top = ranked.iloc[0]
        best = f"trial {top['trial_id']}: {configuration(top, run.hp_names)}"
        score = f"{run.objective} = {fmt(top[run.objective], 4)}"
    cells = (name, run.spec.name, str(run.info.get("state", "unknown")),
             str(run.info.get("started") or "–"), status_counts(run.trials), best, score)
    report = path / "report.html"
    return _tr(cells, f"{name}/report.html" if report.is_file() else None)


def _tr(cells: tuple[str, ...], link: str | None) -> str:
    tds = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
    anchor = (f'<a href="{html.escape(link, quote=True)}">report</a>' if link
              else "not built yet")
    return f"<tr>{tds}<td>{anchor}</td></tr>"
