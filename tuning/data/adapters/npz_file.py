"""`npz:<path>`: the arrays `x` and `y` of an .npz. A member stored uncompressed (what
`np.savez` writes) is mapped where it lies in the file; a compressed one (`savez_compressed`)
is decompressed a chunk at a time. Either way a chunk is all that is read at once."""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from tuning.data.adapters.chunk import Chunk
from tuning.data.adapters.files import files_key, source_file
from tuning.data.adapters.kind import Adapter
from tuning.spec.errors import UserError
from tuning.spec.schema import Spec

#: What a damaged or foreign file raises inside np.load (a cut-off zip, a bad header).
_NPZ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)


class NpzFile(Adapter):
    kind = "npz"

    def check(self, spec: Spec) -> None:
        with _opened(source_file(spec)):
            pass

    def rows(self, spec: Spec) -> int | None:
        path = source_file(spec)
        with _opened(path) as arrays, _readable(path):
            shape = _header(arrays, "y")[0]
        return shape[0] if shape else None

    def content_key(self, spec: Spec) -> str | None:
        return files_key([source_file(spec)])

    def chunks(self, spec: Spec, chunk_rows: int) -> Iterator[Chunk]:
        path = source_file(spec)
        with _opened(path) as arrays, _readable(path):
            x_shape, y_shape = _header(arrays, "x")[0], _header(arrays, "y")[0]
            if not x_shape or not y_shape:
                raise UserError(str(path), f"x and y must hold one entry per row, got shapes "
                                           f"{x_shape} and {y_shape}")
            if x_shape[0] != y_shape[0]:
                raise UserError(str(path), f"{x_shape[0]} feature rows but {y_shape[0]} labels")
            yield from map(Chunk, _member_chunks(path, arrays, "x", chunk_rows),
                           _member_chunks(path, arrays, "y", chunk_rows))


@contextmanager
def _opened(path: Path) -> Iterator[np.lib.npyio.NpzFile]:
    try:
        arrays = np.load(path, allow_pickle=False)
    except _NPZ_ERRORS as exc:
        raise UserError(str(path), f"cannot read as .npz: {exc}".splitlines()[0]) from None
    if not isinstance(arrays, np.lib.npyio.NpzFile):  # a .npy file under an .npz name
        raise UserError(str(path), "holds one array (.npy), not the arrays x and y of an .npz "
                                   "(np.savez(path, x=x, y=y))")
    with arrays:
        for key in ("x", "y"):
            if key not in arrays.files:
                raise UserError(
                    str(path), f"needs arrays named 'x' and 'y', found: {', '.join(arrays.files)}"
                )
        yield arrays


@contextmanager
def _readable(path: Path) -> Iterator[None]:
    """What numpy raises on a damaged member, as the user's error."""
    try:
        yield
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise UserError(str(path), "holds Python objects (object arrays); save numbers "
                                       "or strings, not objects") from None
        raise UserError(str(path), f"cannot read as .npz: {exc}".splitlines()[0]) from None
    except _NPZ_ERRORS as exc:
        raise UserError(str(path), f"cannot read as .npz: {exc}".splitlines()[0]) from None


def _header(arrays: np.lib.npyio.NpzFile, key: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) of a member, read from its header alone."""
    with arrays.zip.open(f"{key}.npy") as handle:
        return _read_header(handle)


def _read_header(handle) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(handle)
    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
            else np.lib.format.read_array_header_2_0)
    return read(handle)


def _member_chunks(path: Path, arrays: np.lib.npyio.NpzFile, key: str,
                   chunk_rows: int) -> Iterator[np.ndarray]:
    member = member_array(path, arrays, key)
    if member is None:
        return _decompressed(arrays, key, chunk_rows)
    return (np.array(member[s:s + chunk_rows]) for s in range(0, len(member), chunk_rows))


def _decompressed(arrays: np.lib.npyio.NpzFile, key: str,
                  chunk_rows: int) -> Iterator[np.ndarray]:
    with arrays.zip.open(f"{key}.npy") as handle:
        shape, fortran, dtype = _read_header(handle)
        if dtype.hasobject:
            arrays[key]  # numpy refuses it, named by `_readable`
        if fortran and len(shape) > 1:  # rows are not contiguous: numpy reads it whole
            whole = arrays[key]
            for start in range(0, len(whole), chunk_rows):
                yield whole[start:start + chunk_rows]
            return
        row = int(np.prod(shape[1:], dtype=np.int64))
        for start in range(0, shape[0], chunk_rows):
            rows = min(chunk_rows, shape[0] - start)
            data = handle.read(rows * row * dtype.itemsize)
            if len(data) < rows * row * dtype.itemsize:
                raise EOFError(f"{key}.npy ends after {start} rows of {shape[0]}")
            yield np.frombuffer(data, dtype=dtype).reshape(rows, *shape[1:]).copy()


def member_array(path: Path, arrays: np.lib.npyio.NpzFile, key: str) -> np.ndarray | None:
    """A member stored uncompressed, mapped where it lies in the file instead of being read
    through the zip module piece by piece into a copy; None for a compressed one."""
    info = arrays.zip.getinfo(f"{key}.npy")
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:  # 0x1: encrypted
        return None
    with path.open("rb") as handle:
        handle.seek(info.header_offset)
        local = handle.read(30)  # the member's local header: fixed part, then name and extra
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            return None
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        handle.seek(info.header_offset + 30 + name_length + extra_length)
        shape, fortran, dtype = _read_header(handle)
        offset = handle.tell()
    if dtype.hasobject or offset + dtype.itemsize * int(np.prod(shape)) > path.stat().st_size:
        return None  # read through numpy, which says what is wrong with it
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape,
                     order="F" if fortran else "C")
