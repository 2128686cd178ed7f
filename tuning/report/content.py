"""What the report says, as plain data, so the HTML and the Markdown say exactly the same.

Cells and sentences here are unescaped text; each renderer escapes for its own format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from tuning.records import predictions
from tuning.records.status import Status
from tuning.records.trials import (
    BATCH_SIZE,
    BEST_EPOCH,
    EFFECTIVE_STEPS,
    GAP,
    MESSAGE,
    PEAK_MEMORY_MB,
    SAMPLES_SEEN,
    STATUS,
    TRIAL_ID,
    WALL_S,
    metric_columns,
)
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
    #: "answer": the first screen, facts beside its figure; "details": folded away, one click
    #: to open (the evidence behind the answer); "": an ordinary section.
    kind: str = ""

    @property
    def anchor(self) -> str:
        return "-".join("".join(c if c.isalnum() else " " for c in self.title.lower()).split())


@dataclass(frozen=True)
class Document:
    title: str
    sections: tuple[Section, ...] = field(default_factory=tuple)
    #: While the search runs, the page re-reads itself this often (seconds) and updates its
    #: sections in place; a finished run's report is static.
    refresh_s: int | None = None


#: How often a running search rebuilds its report, and the open page re-reads it.
LIVE_INTERVAL_S = 30


def document(run: Run, plots: list[Plot], judged: Verdicts) -> Document:
    """The whole report for `run`, its plots already drawn: the answer first, then the
    evidence behind it, each piece said once."""
    running = run.info.get("state") == "running"
    summary = judged.summary
    sections = [
        *([Section("Still running", paragraphs=(_running_note(run),))] if running else []),
        answer_section(run, summary, plots),
        *([warnings_section(summary)] if summary["warnings"] else []),
        Section("How the pick was made", paragraphs=tuple(recommend(run, judged)),
                facts=_measured(summary), kind="details"),
        Section("Folk rules: the evidence", facts=_rules(summary), kind="details"),
        Section(f"Trials ranked on {run.objective}", paragraphs=(_legend(run),),
                table=ranking_table(run)),
    ]
    failures = failure_table(run.trials)
    if failures is not None:
        sections.append(Section("Failures", table=failures))
    pruned = pruned_table(run.trials)
    if pruned is not None:
        sections.append(Section("Pruned", paragraphs=(
            f"Stopped early by search.prune = {run.spec.search.prune}: each was worse than its "
            "peers at equal samples seen (its message says where and by how much). Their "
            "curves up to there are in curves.csv; they are never recommended or tied.",),
            table=pruned, kind="details"))
    sections.append(Section("Plots", plots=tuple(p for p in plots if p is not _lead_plot(plots))))
    sections.append(Section("Run", facts=_facts(run), kind="details"))
    return Document(f"Tuning report: {run.spec.name}", tuple(sections),
                    refresh_s=LIVE_INTERVAL_S if running else None)


#: The figure the first screen shows, by preference: where the score lies over the grid
#: (with the failures), else the curves of the top trials.
LEAD_PLOTS = ("heatmap", "curves_samples")


def _lead_plot(plots: list[Plot]) -> Plot | None:
    by_name = {p.name: p for p in plots}
    return next((by_name[n] for n in LEAD_PLOTS if n in by_name), None)


def answer_section(run: Run, summary: dict, plots: list[Plot]) -> Section:
    """The first screen: what to use, what to expect, how sure, what to do next, and the
    figure that shows why. Short clauses; the evidence is one click away."""
    lead = _lead_plot(plots)
    figure = (lead,) if lead is not None else ()
    recommended = summary["recommended"]
    if recommended is None:
        return Section("Answer", paragraphs=("Nothing to recommend: no trial produced a score "
                                             "(see Failures below).",), plots=figure,
                       kind="answer")
    values = ", ".join(f"{k} = {fmt(v, 4)}" for k, v in recommended["hyperparameters"].items())
    low, high = recommended["interval"]
    facts = [
        ("Use", f"{values} (batch size {fmt(recommended['batch_size'])}, "
                f"{fmt(recommended['epochs'])} epochs, {fmt(recommended['updates'])} updates; "
                f"trial {recommended['trial_id']})"),
        # The quantity alone: the score may be measured on other rows than the objective's.
        ("Expect", f"{run.spec.search.goal.quantity} {fmt(recommended['score'], 3)}, 95% interval "
                   f"{fmt(low, 3)} to {fmt(high, 3)}, {_measured_briefly(run)}"),
        ("How sure", _how_sure(summary)),
    ]
    if summary["warnings"]:
        more = len(summary["warnings"]) - 1
        facts.append(("Next", _ending(summary["warnings"][0])
                      + (f" ({more} more under Warnings.)" if more else "")))
    rules = "; ".join(f"{name}: {rule['verdict']}" for name, rule in summary["rules"].items())
    facts.append(("Folk rules", f"{rules} (evidence below)"))
    if run.info.get("state") == "running":
        facts.insert(0, ("Provisional", f"the search is still running ({progress_text(run)}): "
                                        "this answer may change"))
    return Section("Answer", facts=tuple(facts), plots=figure, kind="answer")


def _measured_briefly(run: Run) -> str:
    statement = run.choice.statement if run.choice is not None else None
    if statement is None:
        return "measured on the holdout rows"
    if statement.honest:
        return (f"measured on {statement.rows} test rows nothing was ranked on, by "
                f"{statement.runs} fresh training run(s) that chose nothing")
    return (f"measured on the {statement.rows} rows that ranked it (so it may be optimistic: "
            "see How the pick was made)")


def _how_sure(summary: dict) -> str:
    tied = summary["tied"]
    text = (f"{len(tied)} other configuration(s) cannot be told apart from it" if tied
            else "no other configuration ties with it")
    runner = summary["runner_up"]
    if runner is not None:
        text += (f"; a cheaper one within the margin: trial {runner['trial_id']} "
                 f"({fmt(runner['score'], 3)} in {fmt(runner['wall_s'], 3)} s)")
    return text + "."


def _ending(text: str) -> str:
    """A warning as a sentence; not capitalised, since many begin with a spec key."""
    return text if text.endswith(".") else text + "."


def warnings_section(summary: dict) -> Section:
    return Section(f"Warnings ({len(summary['warnings'])})",
                   paragraphs=tuple(_ending(w) for w in summary["warnings"]),
                   kind="details")


def _measured(summary: dict) -> tuple[tuple[str, str], ...]:
    recommended = summary["recommended"]
    if recommended is None:
        return ()
    return (("score measured as", recommended["measured_on"]),
            ("tied with it", (", ".join(summary["tied"]) or "none")
             + f" ({summary['tie_test']})"))


def _rules(summary: dict) -> tuple[tuple[str, str], ...]:
    return tuple((f"{name} rule", f"{rule['verdict']}: {rule['evidence']}")
                 for name, rule in summary["rules"].items())


def _running_note(run: Run) -> str:
    return (f"The search is still running: {progress_text(run)}. This report is rebuilt as "
            f"trials finish, at most every {LIVE_INTERVAL_S} s; opened through `steps-tuner "
            "serve`, this page updates itself in place, and opened from the disk, reload it. "
            "What it recommends may change until the search ends.")


def progress_text(run: Run) -> str:
    """`7 of 24 trials done, about 3 min left`: the time left from the mean wall time of the
    trials done so far, over the workers (the re-runs after the search not counted)."""
    done = len(run.trials)
    planned = run.info.get("planned")
    if not isinstance(planned, int) or planned < done:
        return f"{done} trial{'s' if done != 1 else ''} done so far"
    text = f"{done} of {planned} trials done"
    wall = pd.to_numeric(run.trials.get(WALL_S, pd.Series(dtype=float)), errors="coerce")
    workers = run.info.get("workers")
    if done and wall.notna().any() and isinstance(workers, int) and workers > 0:
        left = (planned - done) * float(wall.mean()) / workers
        text += f", about {fmt(max(1.0, left / 60), 2)} min left"
    return text


def status_counts(trials: pd.DataFrame) -> str:
    """`30 ok, 4 oom, 2 skipped_oom`, in a fixed order."""
    counts = trials[STATUS].fillna("unknown").value_counts()
    order = sorted(counts.index, key=lambda s: (s != Status.OK, s))
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
    holdout_metric, val_metric = metric_columns(run.metric)
    also = [holdout_metric] if run.objective != holdout_metric else []
    hp = [n for n in run.hp_names if n != BATCH_SIZE]
    header = ("rank", "trial", "status", "≈ best", *hp, "batch size", "effective steps",
              "samples seen", "best epoch", run.objective, "95% interval", *also,
              val_metric, "gap", "peak MiB", "wall s", "message")
    rows, marks = [], []
    for _, row in trials.iterrows():
        ranked = pd.notna(row["rank"])
        interval = (f"[{fmt(row['low'], 3)}, {fmt(row['high'], 3)}]" if pd.notna(row["low"])
                    else "–")
        cells = (
            str(row["rank"]) if ranked else "–", str(row[TRIAL_ID]),
            str(row[STATUS]), "best" if _is_pick(run, row) else
            ("≈" if row["tied"] else ""),
            *(fmt(row.get(n), 4) for n in hp), fmt(row[BATCH_SIZE]),
            fmt(row[EFFECTIVE_STEPS]), fmt(row[SAMPLES_SEEN]),
            fmt(row[BEST_EPOCH]), mean_text(run, row), interval,
            *(fmt(row.get(c), 4) for c in also),
            fmt(row.get(val_metric), 4), fmt(row[GAP], 3), fmt(row[PEAK_MEMORY_MB], 4),
            fmt(row[WALL_S], 3), "" if pd.isna(row[MESSAGE]) else str(row[MESSAGE]),
        )
        rows.append(cells)
        marks.append("failed" if not ranked else "best" if _is_pick(run, row)
                     else "tied" if row["tied"] else "")
    return Table(header, tuple(rows), tuple(marks))


def _is_pick(run: Run, row: pd.Series) -> bool:
    return run.choice is not None and str(row[TRIAL_ID]) == run.choice.trial_id


def pruned_table(trials: pd.DataFrame) -> Table | None:
    """Pruned trials grouped by the samples they had seen when stopped."""
    pruned = trials[trials[STATUS].eq(Status.PRUNED)]
    if pruned.empty:
        return None
    rows = []
    for samples, group in pruned.groupby(pd.to_numeric(pruned[SAMPLES_SEEN], errors="coerce")):
        ids = sorted(group[TRIAL_ID].astype(str))
        listed = ", ".join(ids[:MAX_IDS]) + (f" and {len(ids) - MAX_IDS} more"
                                              if len(ids) > MAX_IDS else "")
        rows.append((fmt(samples), str(len(ids)), listed))
    return Table(("stopped after samples seen", "trials", "trial ids"), tuple(rows))


def failure_table(trials: pd.DataFrame) -> Table | None:
    """Failures grouped by status and message, so a hundred identical OOMs read as one line."""
    failed = trials[~trials[STATUS].isin((Status.OK, Status.PRUNED))]
    if failed.empty:
        return None
    failed = failed.assign(status=failed[STATUS].fillna("unknown"),
                           message=failed[MESSAGE].fillna(""))
    rows = []
    for (status, message), group in failed.groupby(["status", "message"], sort=True):
        ids = sorted(group[TRIAL_ID].astype(str))
        listed = ", ".join(ids[:MAX_IDS]) + (f" and {len(ids) - MAX_IDS} more"
                                              if len(ids) > MAX_IDS else "")
        rows.append((status, str(len(ids)), listed, message))
    return Table(("status", "trials", "trial ids", "message"), tuple(rows))
