"""`build_report`: report.html, report.md, summary.json and plots/*.png from the records alone.

Deterministic: the same records give the same bytes.
"""

from __future__ import annotations

from pathlib import Path

from tuning.records.trials import atomic_write
from tuning.report.content import document
from tuning.report.plots import render_all
from tuning.report.render import to_html, to_markdown
from tuning.verdicts.ranking import load_run
from tuning.verdicts.summary import verdicts, write_summary


def build_report(run_dir: Path) -> Path:
    """Write the run's report files and summary.json; return the path of report.html."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    judged = verdicts(run)
    write_summary(run_dir, judged.summary)
    plots = render_all(run, run_dir / "plots")
    doc = document(run, plots, judged)
    html_path = run_dir / "report.html"
    atomic_write(html_path, to_html(doc))
    atomic_write(run_dir / "report.md", to_markdown(doc, run_dir))
    return html_path
