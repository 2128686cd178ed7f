"""What the report says, as plain data, so the HTML and the Markdown say exactly the same.

Cells and sentences here are unescaped text; each renderer escapes for its own format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from tuning.records import predictions
from tuning.report.plots import Plot
from tuning.report.recommendation import mean_text, recommend
from tuning.verdicts.ranking import Run
from tuning.verdicts.summary import Verdicts
from tuning.verdicts.text import fmt

#: Trial ids listed per failure message before the rest are counted.
MAX_IDS = 10


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    #: One mark per row ("best", "tied", "failed" or ""), for styling only: the text says it too.
    marks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    title: str
    paragraphs: tuple[str, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()
    table: Table | None = None
    plots: tuple[Plot, ...] = ()


@dataclass(frozen=True)
class Document:
    title: str
    sections: tuple[Section, ...] = field(default_factory=tuple)
    #: While the search runs, the page reloads itself this often (seconds); a finished
    #: run's report does not.
    refresh_s: int | None = None


#: How often a running search rebuilds its report, and the open page reloads.
LIVE_INTERVAL_S = 30


def document(run: Run, plots: list[Plot], judged: Verdicts) -> Document:
    """The whole report for `run`, its plots already drawn."""
    running = run.info.get("state") == "running"
    sections = [
        *([Section("Still running", paragraphs=(_running_note(run),))] if running else []),
        summary_section(judged.summary),
        Section("Run", facts=_facts(run)),
        Section("Recommendation", paragraphs=tuple(recommend(run, judged))),
        Section(f"Trials ranked on {run.objective}", paragraphs=(_legend(run),),
                table=ranking_table(run)),
    ]
    failures = failure_table(run.trials)
    if failures is not None:
        sections.append(Section("Failures", table=failures))
    sections.append(Section("Plots", plots=tuple(plots)))
    return Document(f"Tuning report: {run.spec.name}", tuple(sections),
                    refresh_s=LIVE_INTERVAL_S if running else None)


def _running_note(run: Run) -> str:
    done = len(run.trials)
    return (f"The search is still running: {done} trial{'s' if done != 1 else ''} done so far. "
            f"This report is rebuilt as trials finish, at most every {LIVE_INTERVAL_S} s, and "
            "this page reloads itself; what it recommends may change until the search ends.")


def summary_section(summary: dict) -> Section:
    """summary.json in words, first: what to use, how sure, the rules, the warnings."""
    facts = [("objective", f"{summary['objective']} ({summary['direction']})")]
    recommended = summary["recommended"]
    if recommended is None:
        facts.append(("recommended", "nothing: no trial produced a score"))
    else:
        values = ", ".join(f"{k} = {fmt(v, 4)}" for k, v in recommended["hyperparameters"].items())
        low, high = recommended["interval"]
        facts += [
            ("recommended", f"trial {recommended['trial_id']}: {values}, batch size "
                            f"{fmt(recommended['batch_size'])}, {fmt(recommended['epochs'])} "
                            f"epochs, {fmt(recommended['updates'])} updates"),
            ("score", f"{fmt(recommended['score'], 4)} (95% interval [{fmt(low, 3)}, "
                      f"{fmt(high, 3)}])"),
            ("measured on", recommended["measured_on"]),
            ("tied with it", (", ".join(summary["tied"]) or "none")
             + f" ({summary['tie_test']})"),
        ]
        runner = summary["runner_up"]
        if runner is not None:
            facts.append(("cheaper runner-up", f"trial {runner['trial_id']}: "
                                               f"{fmt(runner['score'], 4)} in "
                                               f"{fmt(runner['wall_s'], 3)} s"))
    for name, rule in summary["rules"].items():
        facts.append((f"{name} rule", f"{rule['verdict']}: {rule['evidence']}"))
    warnings = tuple(f"Warning: {w}." if not w.endswith(".") else f"Warning: {w}"
                     for w in summary["warnings"])
    return Section("Summary", paragraphs=warnings, facts=tuple(facts))


def status_counts(trials: pd.DataFrame) -> str:
    """`30 ok, 4 oom, 2 skipped_oom`, in a fixed order."""
    counts = trials["status"].fillna("unknown").value_counts()
    order = sorted(counts.index, key=lambda s: (s != "ok", s))
    return ", ".join(f"{counts[s]} {s}" for s in order) or "no trials yet"


def _facts(run: Run) -> tuple[tuple[str, str], ...]:
    spec, info = run.spec, run.info
    budget = run.memory_budget_mb
    facts = [
        ("experiment", spec.name),
        ("state", str(info.get("state", "unknown"))),
        ("started", str(info.get("started") or "–")),
        ("finished", str(info.get("finished") or "–")),
        ("trials", status_counts(run.trials)),
        ("objective", f"{run.objective} ({'higher' if run.maximise else 'lower'} is better)"),
        ("tuner", spec.search.tuner),
        ("budget", f"{spec.budget.semantics} semantics, {spec.budget.epochs} epochs"
                   + (f", at most {spec.budget.max_steps} steps" if spec.budget.max_steps else "")),
        ("runs per trial", str(spec.search.executions_per_trial)),
        ("holdout / test / training pool",
         f"{info.get('n_holdout', '–')} / {_test_rows(run)} / {info.get('n_pool', '–')} rows"),
        ("data as the model sees it", str(info.get("data_preparation") or "–")),
        ("memory budget per trial", f"{fmt(budget)} MiB" if budget is not None else "none"),
        ("workers", str(info.get("workers", "–"))),
    ]
    return tuple(facts)


def _test_rows(run: Run) -> str:
    """Rows nobody ranked on, as the run kept their labels (0 where it kept none)."""
    return str(len(predictions.load_labels(run.path).get("test", ())))


def _legend(run: Run) -> str:
    kind = ("a Wilson interval from the sample size" if run.objective.endswith("accuracy")
            else "the spread over repeated runs, where there were several")
    test = run.choice.tie_test if run.choice is not None else "the paired test"
    return (f"Best first (trials of the final budget before lower Hyperband rounds). The "
            f"interval is a 95% interval of {run.objective}: {kind}. \"best\" marks the "
            f"recommended trial and \"≈\" the trials {test} on the shared holdout rows cannot "
            "tell apart from it. Failed trials come last, with their reason.")


def ranking_table(run: Run) -> Table:
    """Every trial, ranked ones first; failed ones keep their row and their message."""
    trials = run.trials
    metric = run.metric
    hp = [n for n in run.hp_names if n != "batch_size"]
    header = ("rank", "trial", "status", "≈ best", *hp, "batch size", "effective steps",
              "samples seen", "best epoch", run.objective, "95% interval",
              *([f"holdout_{metric}"] if run.objective != f"holdout_{metric}" else []),
              f"val_{metric}", "gap", "peak MiB", "wall s", "message")
    rows, marks = [], []
    for _, row in trials.iterrows():
        ranked = pd.notna(row["rank"])
        interval = (f"[{fmt(row['low'], 3)}, {fmt(row['high'], 3)}]" if pd.notna(row["low"])
                    else "–")
        cells = (
            str(row["rank"]) if ranked else "–", str(row["trial_id"]),
            str(row["status"]), "best" if _is_pick(run, row) else
            ("≈" if row["tied"] else ""),
            *(fmt(row.get(n), 4) for n in hp), fmt(row["batch_size"]),
            fmt(row["effective_steps_per_epoch"]), fmt(row["samples_seen"]),
            fmt(row["best_epoch"]), mean_text(run, row), interval,
            *([fmt(row.get(f"holdout_{metric}"), 4)]
              if run.objective != f"holdout_{metric}" else []),
            fmt(row.get(f"val_{metric}"), 4), fmt(row["gap"], 3), fmt(row["peak_memory_mb"], 4),
            fmt(row["wall_s"], 3), "" if pd.isna(row["message"]) else str(row["message"]),
        )
        rows.append(cells)
        marks.append("failed" if not ranked else "best" if _is_pick(run, row)
                     else "tied" if row["tied"] else "")
    return Table(header, tuple(rows), tuple(marks))


def _is_pick(run: Run, row: pd.Series) -> bool:
    return run.choice is not None and str(row["trial_id"]) == run.choice.trial_id


def failure_table(trials: pd.DataFrame) -> Table | None:
    """Failures grouped by status and message, so a hundred identical OOMs read as one line."""
    failed = trials[~trials["status"].eq("ok")]
    if failed.empty:
        return None
    failed = failed.assign(status=failed["status"].fillna("unknown"),
                           message=failed["message"].fillna(""))
    rows = []
    for (status, message), group in failed.groupby(["status", "message"], sort=True):
        ids = sorted(group["trial_id"].astype(str))
        listed = ", ".join(ids[:MAX_IDS]) + (f" and {len(ids) - MAX_IDS} more"
                                              if len(ids) > MAX_IDS else "")
        rows.append((status, str(len(ids)), listed, message))
    return Table(("status", "trials", "trial ids", "message"), tuple(rows))
