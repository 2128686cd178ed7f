"""A spec given as a dict written back as TOML: the run directory keeps the spec as run.

The standard library reads TOML but does not write it; specs hold only tables, strings,
numbers, booleans, lists and inline tables, which is all this writes.
"""

from __future__ import annotations

import json
import math
from typing import Any


def to_toml(raw: dict[str, Any]) -> str:
    """TOML text that `tomllib.loads` reads back as `raw` (tables of tables become
    `[section.sub]` headers; deeper tables are inline)."""
    lines: list[str] = []
    for section, table in raw.items():
        _table(lines, _key(section), table)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(lines: list[str], name: str, table: dict[str, Any]) -> None:
    lines += ["", f"[{name}]"]
    subtables = {k: v for k, v in table.items() if isinstance(v, dict) and "." not in name}
    lines += [f"{_key(k)} = {_value(v)}" for k, v in table.items() if k not in subtables]
    for key, sub in subtables.items():
        _table(lines, f"{name}.{_key(key)}", sub)


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def _value(value: Any) -> str:
    if type(value).__module__ == "numpy":
        value = value.tolist()  # a numpy scalar or array from a notebook
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML: {value!r}")
