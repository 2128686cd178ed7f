"""Numbers as the report's sentences and tables write them, the same in every verdict and page."""

from __future__ import annotations

import pandas as pd


def fmt(value: float | str | bool, digits: int = 3) -> str:
    """Short, stable text for a value: 0.957, 64, 1.2e-04; words and booleans as they are."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if isinstance(value, str | bool):
        return str(value)
    value = float(value)
    if value.is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.{digits}g}"
