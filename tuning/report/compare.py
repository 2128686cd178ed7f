"""`compare RUN_A RUN_B`: two runs' recommendations side by side, read from their summaries.

Two runs are two samples: each stated score has its own 95% interval. Intervals that do not
overlap show a difference; intervals that overlap do not show one, but neither do they show
the runs equal (two overlapping 95% intervals still allow a real difference). The text says
exactly that, and no more. Nothing is recomputed: no TensorFlow, no training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tuning.spec.errors import UserError
from tuning.verdicts.summary import SUMMARY, described
from tuning.verdicts.text import fmt


@dataclass(frozen=True)
class Side:
    """One run's recommendation as its summary.json states it."""

    run_dir: Path
    objective: str
    direction: str
    recommended: dict | None


def read_side(run_dir: Path) -> Side:
    path = Path(run_dir) / SUMMARY
    if not path.is_file():
        raise UserError(str(run_dir), f"no {SUMMARY}: not a run directory with a report "
                                      "(run `steps-tuner report RUN_DIR` first)")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        return Side(Path(run_dir), str(summary["objective"]), str(summary["direction"]),
                    summary.get("recommended"))
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(str(path), f"not a summary this tool wrote ({exc})") from None


def verdict(a: Side, b: Side) -> str:
    """Whether the two stated scores differ beyond what their intervals allow."""
    if a.objective != b.objective:
        return (f"not comparable: the runs rank on different objectives ({a.objective} and "
                f"{b.objective})")
    if a.recommended is None or b.recommended is None:
        return "not comparable: a run has no recommendation (no trial produced a score)"
    (a_low, a_high), (b_low, b_high) = a.recommended["interval"], b.recommended["interval"]
    better = a.direction == "max"
    if a_low > b_high or b_low > a_high:
        first_higher = a_low > b_high
        winner = "A" if first_higher == better else "B"
        return (f"different: the 95% intervals do not overlap; run {winner}'s recommendation "
                f"scores {'higher' if better else 'lower'} on {a.objective}")
    return ("cannot tell apart: the 95% intervals overlap, so these scores do not show a "
            "difference (nor that there is none); more test rows or fresh runs would narrow "
            "them")


def compare_text(run_a: Path, run_b: Path) -> str:
    a, b = read_side(run_a), read_side(run_b)
    lines = []
    for label, side in (("A", a), ("B", b)):
        rec = side.recommended
        if rec is None:
            lines.append(f"{label}: {side.run_dir}: no recommendation")
            continue
        low, high = rec["interval"]
        lines += [f"{label}: {side.run_dir}",
                  f"   uses: {described(rec)} (trial {rec['trial_id']})",
                  f"   {side.objective}: {fmt(rec['score'], 4)}, 95% interval "
                  f"[{fmt(low, 3)}, {fmt(high, 3)}]"]
    same = (a.recommended is not None and b.recommended is not None
            and a.recommended["hyperparameters"] == b.recommended["hyperparameters"])
    lines.append(f"same values: {'yes' if same else 'no'}")
    lines.append(f"scores: {verdict(a, b)}")
    return "\n".join(lines)
