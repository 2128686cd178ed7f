"""`validate`: the spec and data checked, and the grid with what will really run at each point."""

from __future__ import annotations

from tuning.data import cache
from tuning.data.dataset import Dataset, load_dataset
from tuning.execution.capacity import worker_count
from tuning.spec.builders import check_builder
from tuning.spec.schema import Spec
from tuning.spec.space import grid_points
from tuning.training.budget import plan
from tuning.verdicts.rules import ALPHA, permutation_floor


def describe(spec: Spec) -> str:
    """A table of the expanded grid: batch size and effective steps per epoch at each point,
    then a warning for every point where Keras would run fewer steps than asked."""
    dataset = cache.open_cached(spec) or load_dataset(spec)
    check_builder(spec)
    budget = spec.budget
    points = grid_points(spec.search.space)
    chosen = worker_count(spec)
    ranged = [d.name for d in spec.search.space if d.is_range and d.step is None]
    lines = [
        f"experiment {spec.name}: {spec.data.source}, {len(dataset.pool)} rows to train and "
        f"validate on, {len(dataset.holdout)} holdout rows, {dataset.n_outputs} output(s)",
        f"data: {dataset.preparation}",
        _data_line(spec, dataset),
        f"budget: {budget.semantics} semantics, {budget.epochs} epochs"
        + (f", max_steps {budget.max_steps}" if budget.max_steps else "")
        + (f", batch_size {budget.batch_size}" if budget.semantics == "stream" else ""),
        f"search: {spec.search.tuner}, objective {spec.search.objective} ({spec.search.direction})"
        + ("" if spec.search.prune == "none" else f", pruning: {spec.search.prune} at equal "
           "samples seen"),
        f"workers: {chosen.count} ({chosen.reason})",
    ]
    if ranged:
        lines.append(f"ranges shown at their ends: {', '.join(ranged)}")
    others = [d.name for d in spec.search.space
              if d.name not in ("steps_per_epoch", "validation_split")]
    header = ["steps_per_epoch", "validation_split", "n_train", "batch_size",
              "effective_steps", "epochs", "updates", *others]
    rows, warnings = [], [f"warning: {w}" for w in dataset.warnings]
    for point in points:
        n_train = dataset.n_train(float(point["validation_split"]))
        p = plan(budget.semantics, n_train, int(point["steps_per_epoch"]), budget.epochs,
                 budget.max_steps, int(point.get("batch_size", budget.batch_size)))
        rows.append([point["steps_per_epoch"], point["validation_split"], n_train, p.batch_size,
                     p.steps_per_epoch, p.epochs, p.updates,
                     *(point.get(name, "-") for name in others)])
        if p.cut_short:
            warnings.append(
                f"warning: steps_per_epoch={p.requested_steps} at validation_split="
                f"{point['validation_split']}: {n_train} training rows give only "
                f"{p.steps_per_epoch} batches of {p.batch_size}; {p.steps_per_epoch} steps "
                "per epoch will run"
            )
    lines.append(f"{len(points)} grid point(s):")
    lines.append(_table(header, rows))
    warnings.extend(_rule_design(points))
    lines.extend(dict.fromkeys(warnings))
    lines.append("ok: spec and data are valid")
    return "\n".join(lines)


def _rule_design(points: list[dict]) -> list[str]:
    """A warning when the folk rules' trend test can never reach significance on this grid
    (too few arrangements to permute), so that its "cannot tell" is not read as evidence."""
    steps = [float(p["steps_per_epoch"]) for p in points]
    cells = ["|".join(str(v) for k, v in sorted(p.items()) if k not in ("steps_per_epoch",
                                                                        "batch_size"))
             for p in points]
    floor = permutation_floor(steps, cells)
    if floor < ALPHA:
        return []
    return [f"warning: folk rules: with {len(set(steps))} value(s) of steps_per_epoch in "
            f"{len(set(cells))} cell(s), the trend test can never reach p < {ALPHA} (its "
            f"smallest possible p is {floor:.3g}, at best), so the rules can only read \"did "
            "not hold\" or \"cannot tell\"; search more values of steps_per_epoch, or more "
            "cells (validation_split values, seeds), to let \"held\" be possible"]


def _data_line(spec: Spec, dataset: Dataset) -> str:
    """What is drawn from the source and what the prepared rows cost on disk."""
    drawn = []
    if spec.data.take is not None:
        drawn.append(f"the first {spec.data.take} rows taken")
    if spec.data.sample is not None:
        drawn.append(f"a sample of {spec.data.sample} rows (seed {spec.seed})")
    folder = cache.store_folder(spec)
    if folder is None:
        where = "written into the run directory (a python: source is not cached)"
    elif cache.is_written(folder):
        where = f"cached at {folder}, mapped again"
    else:
        where = "written to the cache on the first run"
    return (f"data: {'; '.join(drawn) + '; ' if drawn else ''}prepared rows "
            f"{_mib(dataset.nbytes)} on disk, {where}; the cache holds "
            f"{_mib(cache.disk_use())} of {_mib(cache.cache_limit())} ({cache.cache_root()})")


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


def _table(header: list[str], rows: list[list]) -> str:
    cells = [header] + [[f"{c:g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells)
