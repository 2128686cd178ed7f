"""The ranked report of a run, rebuilt from its records alone (no TensorFlow on this path).

`build_report` writes report.html, report.md, summary.json and plots/*.png into the run
directory; `build_index` lists every run of a results directory. Both are imported on first
use, so importing one module of the package (the index, the renderer) loads no plotting.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_index", "build_report"]


def __getattr__(name: str) -> Any:
    if name == "build_report":
        from tuning.report.build import build_report

        return build_report
    if name == "build_index":
        from tuning.report.index import build_index

        return build_index
    raise AttributeError(f"module 'tuning.report' has no attribute {name!r}")
