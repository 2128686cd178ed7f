"""Memory sizes as users write them (`512MiB`, `2GiB`, `1.5GB`, plain bytes)."""

from __future__ import annotations

import re

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str | int) -> int:
    """Bytes in `text`; raises ValueError with the accepted forms when it is not a size."""
    if isinstance(text, bool):
        raise ValueError("expected a size such as 512MiB, 2GiB, 1.5GB or a number of bytes")
    if isinstance(text, int):
        if text <= 0:
            raise ValueError(f"a size must be positive, got {text}")
        return text
    match = _SIZE.match(str(text))
    unit = match.group(2).lower() if match else None
    if not match or unit not in _UNITS:
        raise ValueError(
            f"{text!r} is not a size; use e.g. 512MiB, 2GiB, 1.5GB or a number of bytes"
        )
    if _UNITS[unit] == 1 and "." in match.group(1):
        raise ValueError(f"{text!r} is not a whole number of bytes; use e.g. 512MiB or 2GiB")
    size = int(float(match.group(1)) * _UNITS[unit])
    if size <= 0:
        raise ValueError(f"a size must be positive, got {text!r}")
    return size


def mib(n_bytes: float | None) -> float | None:
    """Bytes as MiB rounded to 0.1, the unit of every memory column (None stays None)."""
    return None if n_bytes is None else round(n_bytes / 2**20, 1)


def format_size(n_bytes: int) -> str:
    """A size in the largest binary unit it reaches (`64 MiB`, `1024 TiB`, `1 byte(s)`)."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:g} {unit}"
    return f"{n_bytes} byte(s)"


def format_mib(n_bytes: float) -> str:
    """Human form used in messages: MiB below a GiB, GiB above."""
    if n_bytes >= 2**30:
        return f"{n_bytes / 2**30:.2f} GiB"
    return f"{n_bytes / 2**20:.0f} MiB"
