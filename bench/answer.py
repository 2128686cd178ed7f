"""Time to the answer: the default experiment (what `make tune` runs) as shipped, fresh-seed
re-runs, pruning and every worker included, against the same search with one worker, no
re-runs and no pruning (the search alone, as it ran before re-runs stated the score).

Both are the command line in a fresh process, alternated; "same answer" says whether the
shipped run recommends the configuration the search alone recommends, or one that search
cannot tell apart from it (its ties).
"""

from __future__ import annotations

import json
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from bench.common import ROOT, median, print_table, run_cli, write_csv
from tuning.spec.tomlwrite import to_toml

#: Goal: the shipped run's time to its recommendation over the search alone's.
GOAL = 1.0


def default_experiment() -> Path:
    """The spec `make tune` runs (the Makefile's `EXPERIMENT`)."""
    found = re.search(r"^EXPERIMENT \?= (\S+)", (ROOT / "Makefile").read_text(), re.M)
    return ROOT / (found.group(1) if found else "experiments/digits.toml")


def search_alone(spec: Path) -> Path:
    """The spec with one worker, no re-runs and no pruning, beside it (its builder module
    and data files are found relative to it)."""
    raw = tomllib.loads(spec.read_text())
    raw.setdefault("search", {}).update(confirm_runs=0, prune="none")
    raw.setdefault("resources", {})["workers"] = 1
    path = spec.with_name(f".bench-alone-{spec.name}")
    path.write_text(to_toml(raw))
    return path


def run(repeats: int = 1, spec: Path | None = None, folder: Path | None = None,
        results: Path | None = None) -> list[dict[str, Any]]:
    spec = spec or default_experiment()
    work = Path(folder or tempfile.mkdtemp(prefix="bench-answer-"))
    alone = search_alone(spec)
    rows: list[dict[str, Any]] = []
    try:
        for repeat in range(1, repeats + 1):
            for variant, path in (("search_alone", alone), ("as_shipped", spec)):
                out = work / f"{variant}-{repeat}" / "run"
                wall = run_cli(path, out, workers=None)
                summary = json.loads((out / "summary.json").read_text())
                info = json.loads((out / "run.json").read_text())
                rows.append({"variant": variant, "repeat": repeat, "end_to_end_s": wall,
                             "workers": info.get("workers"),
                             "pick": summary["recommended"]["trial_id"],
                             "tied": summary.get("tied", []),
                             "score": summary["recommended"]["score"]})
            print(f"answer repeat {repeat}/{repeats} done", flush=True)
    finally:
        alone.unlink(missing_ok=True)
    by = {(r["variant"], r["repeat"]): r for r in rows}
    summary = [{
        "experiment": spec.name,
        "search_alone_s": median(by[("search_alone", r)]["end_to_end_s"]
                                 for r in range(1, repeats + 1)),
        "as_shipped_s": median(by[("as_shipped", r)]["end_to_end_s"]
                               for r in range(1, repeats + 1)),
        "ratio": median(by[("as_shipped", r)]["end_to_end_s"]
                        / by[("search_alone", r)]["end_to_end_s"] for r in range(1, repeats + 1)),
        "same_answer": all(by[("as_shipped", r)]["pick"] in
                           (by[("search_alone", r)]["pick"], *by[("search_alone", r)]["tied"])
                           for r in range(1, repeats + 1)),
    }]
    write_csv("answer", rows, *([results] if results else []))
    write_csv("answer_summary", summary, *([results] if results else []))
    print_table("Time to the answer: as shipped (re-runs, pruning, workers) over the search "
                f"alone (one worker, no re-runs; goal <= {GOAL})", summary)
    return summary
