"""`python -m study`: run the study's searches (resuming), measure them, write the findings.

`make study` runs the full design (it prints its estimate first: about 11 minutes on 2 idle
cores); `--quick` runs a tiny one in about a minute, for the tests. `--no-run` only rewrites
the findings from runs already in `--results`.
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m study", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="a tiny design for tests (default: the full design)")
    parser.add_argument("--results", type=Path, default=None,
                        help="where the runs live (default: results/study, or "
                             "results/study-quick with --quick)")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs",
                        help="where findings.md and its figures go (default: docs/)")
    parser.add_argument("--fresh", action="store_true", help="run every search from scratch")
    parser.add_argument("--no-run", action="store_true",
                        help="only rewrite the findings from the runs already there")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from study.claims import compute
    from study.design import FULL, QUICK
    from study.findings import Context, render
    from study.measures import load
    from study.runner import plan_runs, read_timings, run_all

    design = QUICK if args.quick else FULL
    results = args.results or ROOT / "results" / ("study-quick" if args.quick else "study")
    plans = plan_runs(design, results)
    if not args.no_run:
        run_all(plans, fresh=args.fresh)
    measured = {e.key: load(e, results) for e in design.experiments}
    numbers = compute(measured)
    shown = results.relative_to(ROOT) if results.is_relative_to(ROOT) else results
    context = Context(design, "make study" if not args.quick else "python -m study --quick",
                      shown, read_timings(results), f"{os.cpu_count()} cores "
                      f"({platform.machine()})")
    args.docs.mkdir(parents=True, exist_ok=True)
    out = args.docs / "findings.md"
    out.write_text(render(numbers, context, args.docs), encoding="utf-8")
    print(f"findings: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
