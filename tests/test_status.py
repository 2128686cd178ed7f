"""What each status means is asked of `Status`, and no module spells a status word to test it."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

from tuning.records.rows import trial_row
from tuning.records.status import FITS, MEMORY_FAILURES, WIDEST, Status
from tuning.records.trials import read_trial, write_trial

PACKAGE = ROOT / "tuning"
WORDS = {s.value for s in Status}
#: Methods that compare a pandas column with their argument.
COMPARING_METHODS = {"eq", "ne", "isin"}


def test_only_a_full_trial_is_scored() -> None:
    assert [s for s in Status if s.scored] == [Status.OK]


def test_memory_failures_are_oom_and_its_skip() -> None:
    assert set(MEMORY_FAILURES) == {Status.OOM, Status.SKIPPED_OOM}
    assert not Status.PRUNED.memory_failure and not Status.NAN.memory_failure


def test_a_skipped_trial_never_ran_and_measured_no_fit() -> None:
    assert not Status.SKIPPED_OOM.ran
    assert Status.OOM.ran and not Status.OOM.fit
    assert set(FITS) == {Status.OK, Status.NAN, Status.ERROR, Status.TIMEOUT, Status.PRUNED}


def test_pruned_ran_partly_but_is_never_recommended() -> None:
    assert Status.PRUNED.ran and Status.PRUNED.fit and not Status.PRUNED.scored


def test_every_unscored_status_has_a_hatch_and_memory_failures_their_own() -> None:
    assert Status.OK.hatch is None
    hatches = {s: s.hatch for s in Status if not s.scored}
    assert all(hatches.values())
    assert Status.OOM.hatch != Status.SKIPPED_OOM.hatch
    others = {h for s, h in hatches.items() if not s.memory_failure}
    assert len(others) == 1 and not others & {Status.OOM.hatch, Status.SKIPPED_OOM.hatch}


def test_the_widest_word_fits_the_terminal_column() -> None:
    assert len("skipped_oom") == WIDEST


def _status_words(node: ast.AST | None) -> list[str]:
    """Status words a comparison operand holds: a string, or strings in a list/tuple/set."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if node.value in WORDS else []
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [w for element in node.elts for w in _status_words(element)]
    return []


def spelled_statuses(source: str) -> list[tuple[int, str]]:
    """(line, word) wherever a status word is compared, tested for membership, passed to a
    comparing pandas method, or used as a dict key."""
    found = []
    for node in ast.walk(ast.parse(source)):
        operands: list[ast.AST | None] = []
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in COMPARING_METHODS):
            operands = [*node.args, *(k.value for k in node.keywords)]
        elif isinstance(node, ast.Dict):
            operands = list(node.keys)
        elif isinstance(node, ast.MatchValue):
            operands = [node.value]
        found += [(node.lineno, w) for operand in operands for w in _status_words(operand)]
    return sorted(found, key=lambda spelled: spelled[0])


def test_the_check_finds_the_ways_a_word_gets_spelled() -> None:
    source = '\n'.join([
        'a = t["status"].eq("ok")',
        'b = row["status"] == "oom"',
        'c = s.isin(["ok", "nan"])',
        'd = {"skipped_oom": "//"}',
        'e = "timeout" in counts',
        'f = float("nan")',          # not a comparison
        'g = x == "okay"',           # not a status word
    ])
    assert spelled_statuses(source) == [(1, "ok"), (2, "oom"), (3, "ok"), (3, "nan"),
                                         (4, "skipped_oom"), (5, "timeout")]


def test_no_module_spells_a_status_word() -> None:
    where = [f"{path.relative_to(ROOT)}:{line}: {word!r}"
             for path in sorted(PACKAGE.rglob("*.py")) if path != PACKAGE / "records" / "status.py"
             for line, word in spelled_statuses(path.read_text(encoding="utf-8"))]
    assert not where, "compare with Status members or ask their meaning:\n" + "\n".join(where)


def test_a_pruned_trials_record_is_kept(tmp_path: Path) -> None:
    row = trial_row({"trial_id": "3"}, Status.PRUNED, "worse than its peers at 900 samples",
                    samples_seen=900)
    write_trial(tmp_path, row, [{"trial_id": "3", "epoch": 1, "samples_seen": 900}])
    kept = read_trial(tmp_path, "3")
    assert kept is not None and kept["row"]["status"] == Status.PRUNED
