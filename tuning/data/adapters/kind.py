"""What one kind of source is to the tool (one module per kind, registered in
`tuning.data.adapters.registry`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from tuning.data.adapters.chunk import Chunk
from tuning.spec.schema import Spec


class Adapter:
    """One kind of source: the spec keys it takes, a check that reads no rows (and imports
    no TensorFlow where the kind allows), and a reader of chunks."""

    #: The source kind, the part of `data.source` before the first colon.
    kind: ClassVar[str]
    #: The `[data]` keys only this kind takes (beyond source, holdout, test, take, sample...).
    keys: ClassVar[frozenset[str]] = frozenset()
    #: Whether checking the source needs TensorFlow (`validate` and `--help` avoid it).
    needs_tensorflow: ClassVar[bool] = False

    def check(self, spec: Spec) -> None:
        """Raise `UserError` for what can be told without reading the rows."""

    def rows(self, spec: Spec) -> int | None:
        """The number of rows when known without reading them, else None."""
        return None

    def content_key(self, spec: Spec) -> str | None:
        """A cheap identity of the content (paths, sizes, modification times), or None
        where only the bytes themselves can tell (hashed as they stream)."""
        return None

    def chunks(self, spec: Spec, chunk_rows: int) -> Iterator[Chunk]:
        """Every row once, in chunks of any size; `source_chunks` bounds them."""
        raise NotImplementedError
