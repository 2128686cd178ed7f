"""How a trial ended: the words of the `status` column and what each means, defined once.

A `StrEnum`, so a status is its word wherever it goes (trials.csv, the JSON records, the
report, comparisons with plain strings); code names the member, never spells the word, and
asks the member what it means (did it run, is it a memory failure, how is it drawn) rather
than listing words. A new status is a line here and the code that produces it.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    OK = "ok"                     # trained to its budget
    OOM = "oom"                   # ran out of memory (device or the memory budget)
    SKIPPED_OOM = "skipped_oom"   # not run: a batch no larger already ran out of memory
    NAN = "nan"                   # the loss became NaN or infinite; stopped at once
    ERROR = "error"               # anything else, a crashed trial process included
    TIMEOUT = "timeout"           # passed the per-trial time limit
    PRUNED = "pruned"             # stopped early by search.prune; curve and samples seen kept

    @property
    def scored(self) -> bool:
        """Trained to its budget: its score is ranked, can be recommended or tied."""
        return self is Status.OK

    @property
    def ran(self) -> bool:
        """Training started (its peak memory, if any, was measured): all but a skipped one."""
        return self is not Status.SKIPPED_OOM

    @property
    def memory_failure(self) -> bool:
        """It has no score because of memory: the first folk rule's evidence."""
        return self in (Status.OOM, Status.SKIPPED_OOM)

    @property
    def fit(self) -> bool:
        """Trained, fully or partly, within memory: its peak memory is what a fit took."""
        return self.ran and not self.memory_failure

    @property
    def hatch(self) -> str | None:
        """How a figure fills a cell or a region that holds no score for this reason."""
        if self.scored:
            return None
        return {Status.OOM: "xx", Status.SKIPPED_OOM: "//"}.get(self, "..")

    @property
    def marker(self) -> str:
        """Its marker where a figure draws trials one by one (filled when it ran)."""
        return {Status.OOM: "X", Status.SKIPPED_OOM: "v"}.get(self, "o")


#: For membership tests on a status column: `trials["status"].isin(MEMORY_FAILURES)`.
MEMORY_FAILURES = tuple(s for s in Status if s.memory_failure)
#: The statuses whose peak memory measures a fit, for the same use.
FITS = tuple(s for s in Status if s.fit)
#: The width of the longest word, for aligned terminal lines.
WIDEST = max(len(s) for s in Status)
