"""The one exception type for user mistakes: it becomes a single `error:` line and exit 2.

The Python API exposes the same class as `tuning.SpecError`; it is a `ValueError`, so code
that catches bad values the usual way catches it too.
"""

from __future__ import annotations


class UserError(ValueError):
    """A bad spec, bad data or a bad command-line value, named by where it is."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what
