"""How a trial ended: the words of the `status` column, defined once.

A `StrEnum`, so a status is its word wherever it goes (trials.csv, the JSON records, the
report, comparisons with plain strings); code names the member, never spells the word.
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
