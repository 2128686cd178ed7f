"""From an adapter's chunks to what the store receives: `data.take` cut, `data.sample`
drawn, every chunk checked, and chunks of exactly `chunk_rows` rows (fewer where rows are
large, see `CHUNK_BYTES`; the last one shorter), whatever sizes the source gave them in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tuning.data.adapters.checks import checked
from tuning.data.adapters.chunk import Chunk, rows_per_chunk
from tuning.data.adapters.objects import object_chunks, object_rows
from tuning.data.adapters.registry import adapter_for
from tuning.spec.errors import UserError
from tuning.spec.schema import Spec


def bounded(spec: Spec, data: Any, chunk_rows: int) -> Iterator[Chunk]:
    """`source_chunks`: the source is checked (and an endless one refused without
    `data.take`) now; its rows are read as the chunks are asked for."""
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    if data is not None:
        where = "data"
        stream = object_chunks(data, where, spec.data.take, chunk_rows)
        known = object_rows(data)
    else:
        adapter = adapter_for(spec.data.source.partition(":")[0])
        where = spec.data.source
        adapter.check(spec)
        stream = adapter.chunks(spec, chunk_rows)
        known = adapter.rows(spec)
    take, sample = spec.data.take, spec.data.sample
    if take is not None:
        stream = taken(stream, take)
        known = None if known is None else min(known, take)
    stream = checked(stream, where)
    if sample is not None:
        stream = sampled(stream, sample, spec.seed, known)
    return _nonempty(rechunked(stream, chunk_rows), where)


def taken(chunks: Iterator[Chunk], take: int) -> Iterator[Chunk]:
    """The first `take` rows; the source is not asked for more (it may never end)."""
    left = take
    for chunk in chunks:
        if len(chunk.y) >= left:
            yield Chunk(chunk.x[:left], chunk.y[:left])
            return
        left -= len(chunk.y)
        yield chunk


def sampled(chunks: Iterator[Chunk], size: int, seed: int, known: int | None) -> Iterator[Chunk]:
    """`size` rows drawn without replacement with `seed`, kept in the source's order. With
    the number of rows known, the rows are chosen first and picked from each chunk as it
    passes (memory: the chosen indices); otherwise by reservoir sampling (memory: `size`
    rows, held until the source ends)."""
    rng = np.random.default_rng(seed)
    if known is not None:
        if size >= known:
            yield from chunks
            return
        chosen = np.sort(rng.choice(known, size, replace=False))
        start = 0
        for chunk in chunks:
            stop = start + len(chunk.y)
            picked = chosen[np.searchsorted(chosen, start):np.searchsorted(chosen, stop)] - start
            if len(picked):
                yield Chunk(np.asarray(chunk.x)[picked], np.asarray(chunk.y)[picked])
            start = stop
        return
    yield from _reservoir(chunks, size, rng)


def _reservoir(chunks: Iterator[Chunk], size: int, rng: np.random.Generator) -> Iterator[Chunk]:
    """Algorithm R: row i replaces a random kept row with probability size / (i + 1).
    The chunks are checked ones: one feature shape and dtype throughout."""
    xs: np.ndarray | None = None
    ys: np.ndarray | None = None
    order = np.zeros(size, dtype=np.int64)  # each kept row's place in the source
    seen = 0
    for chunk in chunks:
        x, y = np.asarray(chunk.x), np.asarray(chunk.y)
        if xs is None:
            xs = np.empty((size, *x.shape[1:]), dtype=x.dtype)
            ys = np.empty((size, *y.shape[1:]), dtype=y.dtype)
        if y.dtype != ys.dtype:
            ys = ys.astype(np.result_type(ys, y))
        fill = max(0, min(size - seen, len(y)))
        xs[seen:seen + fill], ys[seen:seen + fill] = x[:fill], y[:fill]
        order[seen:seen + fill] = np.arange(seen, seen + fill)
        places = np.arange(seen + fill, seen + len(y))
        slots = rng.integers(0, places + 1) if len(places) else places
        for row, slot in zip(places[slots < size], slots[slots < size]):
            xs[slot], ys[slot], order[slot] = x[row - seen], y[row - seen], row
        seen += len(y)
    if xs is not None:
        kept = min(seen, size)
        by_place = np.argsort(order[:kept], kind="stable")
        yield Chunk(xs[:kept][by_place], ys[:kept][by_place])


def rechunked(chunks: Iterator[Chunk], chunk_rows: int) -> Iterator[Chunk]:
    """Chunks of exactly `chunk_rows` rows (fewer where the rows are large: `CHUNK_BYTES`)
    but the last: large ones cut, small ones joined (two chunks' rows held at most)."""
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    held = 0
    for chunk in chunks:
        x, y = chunk.x, chunk.y
        if not xs and not held:
            chunk_rows = rows_per_chunk(chunk_rows, x[:1].nbytes)
        while len(y):
            part = min(chunk_rows - held, len(y))
            xs.append(x[:part])
            ys.append(y[:part])
            held += part
            x, y = x[part:], y[part:]
            if held == chunk_rows:
                yield _joined(xs, ys)
                xs, ys, held = [], [], 0
    if held:
        yield _joined(xs, ys)


def _joined(xs: list[np.ndarray], ys: list[np.ndarray]) -> Chunk:
    if len(xs) == 1:
        return Chunk(np.ascontiguousarray(xs[0]), ys[0])
    return Chunk(np.concatenate(xs), np.concatenate(ys))


def _nonempty(chunks: Iterator[Chunk], where: str) -> Iterator[Chunk]:
    any_rows = False
    for chunk in chunks:
        any_rows = True
        yield chunk
    if not any_rows:
        raise UserError(where, "holds no rows")
