"""Python objects as sources: what a `python:module:function` returns and what the Python
API's `data=` takes. `(x, y)` arrays (numpy or pandas), a `tf.data.Dataset` of
`(features, label)` elements or batches, a generator of `(x, y)` batches, or a
`keras.utils.PyDataset`. Each is read batch by batch, never whole (a pipeline is not
`list()`ed); one whose end cannot be known is read only with `data.take`, the rows to draw.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import numpy as np

from tuning.data.adapters.checks import numeric_table
from tuning.data.adapters.chunk import Chunk
from tuning.spec.errors import UserError

EXPECTED = ("(x, y) arrays, a tf.data.Dataset, a generator of (x, y) batches or a "
            "keras.utils.PyDataset")


def object_rows(data: Any) -> int | None:
    """The number of rows of `(x, y)` arrays; None for the streaming kinds."""
    if isinstance(data, tuple | list) and len(data) == 2:
        return len(data[1])
    return None


def object_chunks(data: Any, where: str, take: int | None, chunk_rows: int) -> Iterator[Chunk]:
    """`data`'s rows in chunks; an endless (or unknown-length) stream is refused now, before
    anything is read, unless `take` bounds it."""
    if isinstance(data, tuple | list) and len(data) == 2:
        return _arrays(data, where, chunk_rows)
    if type(data).__module__.startswith("tensorflow") and hasattr(data, "element_spec"):
        return _pipeline(data, where, take, chunk_rows)
    if _is_py_dataset(data):
        return _py_dataset(data, where, take)
    if inspect.isgenerator(data) or (hasattr(data, "__next__") and hasattr(data, "__iter__")):
        if take is None:
            raise UserError("data.take", f"{where}: a generator may never end; set data.take "
                                         "to the number of rows to draw from it")
        return _batches(data, where)
    raise UserError(where, f"expected {EXPECTED}, got {type(data).__name__}")


def _arrays(data: tuple | list, where: str, chunk_rows: int) -> Iterator[Chunk]:
    x, y = data
    if hasattr(x, "columns") and hasattr(x, "to_numpy"):  # a pandas DataFrame
        x = numeric_table(x, where)
    x = x.to_numpy() if hasattr(x, "to_numpy") else np.asarray(x)
    y = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        yield Chunk(x, y)  # the checks name what is wrong
        return
    for start in range(0, len(y), chunk_rows):
        yield Chunk(x[start:start + chunk_rows], y[start:start + chunk_rows])


def _pipeline(ds: Any, where: str, take: int | None, chunk_rows: int) -> Iterator[Chunk]:
    """A `tf.data.Dataset`, streamed: unbatched if it is batched, then batched by chunk."""
    import tensorflow as tf

    cardinality = int(ds.cardinality())
    if take is None and cardinality == int(tf.data.INFINITE_CARDINALITY):
        raise UserError("data.take", f"{where}: the tf.data.Dataset is endless (it repeats); "
                                     "set data.take to the number of rows to draw from it")
    if take is None and cardinality == int(tf.data.UNKNOWN_CARDINALITY):
        raise UserError("data.take", f"{where}: the tf.data.Dataset's length is unknown "
                                     "(from_generator, filter, ...) and it may never end; set "
                                     "data.take to the number of rows to draw from it")
    spec = ds.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2
            and all(isinstance(s, tf.TensorSpec) for s in spec)):
        raise UserError(where, "the tf.data.Dataset must yield (features, label) pairs of "
                               f"tensors, got {spec}")
    if spec[0].shape.rank and spec[0].shape[0] is None:  # batched: back to elements
        ds = ds.unbatch()
    if take is not None:
        ds = ds.take(take)
    return _as_chunks(ds.batch(chunk_rows).as_numpy_iterator())


def _as_chunks(pairs: Iterator[Any]) -> Iterator[Chunk]:
    for x, y in pairs:
        yield Chunk(x, y)


def _is_py_dataset(data: Any) -> bool:
    """A `keras.utils.PyDataset`, told without importing Keras."""
    return any(c.__name__ == "PyDataset" and c.__module__.startswith("keras")
               for c in type(data).__mro__)


def _py_dataset(data: Any, where: str, take: int | None) -> Iterator[Chunk]:
    try:
        length = data.num_batches
    except NotImplementedError:  # neither num_batches nor __len__: endless, as Keras reads it
        length = None
    if length is None and take is None:
        raise UserError("data.take", f"{where}: the PyDataset has no length (num_batches is "
                                     "None); set data.take to the number of rows to draw")
    indices = range(length) if length is not None else _counting()
    return _batches((data[i] for i in indices), where)


def _counting() -> Iterator[int]:
    i = 0
    while True:
        yield i
        i += 1


def _batches(batches: Iterator[Any], where: str) -> Iterator[Chunk]:
    """(x, y) batches as chunks; anything else is named."""
    for batch in batches:
        if not (isinstance(batch, tuple | list) and len(batch) == 2):
            got = f"{len(batch)} items" if isinstance(batch, tuple | list) else type(batch).__name__
            raise UserError(where, f"each batch must be an (x, y) pair, got {got}")
        x, y = batch
        yield Chunk(np.asarray(x), np.asarray(y))
