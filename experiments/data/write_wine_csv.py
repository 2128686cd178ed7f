"""Writes `wine.csv` beside this file: scikit-learn's wine set (178 rows, 13 measurements) as a
plain CSV with a text label column, the shape most users' own data arrives in.

Run it with `python experiments/data/write_wine_csv.py`; the CSV it writes is shipped.
"""

from __future__ import annotations

from pathlib import Path

from sklearn.datasets import load_wine

CULTIVARS = ("barolo", "grignolino", "barbera")


def write(path: Path) -> Path:
    """Save the wine set with its feature names as columns and `cultivar` as the target."""
    wine = load_wine(as_frame=True)
    frame = wine.data.rename(columns=lambda c: c.replace("/", "_"))
    frame["cultivar"] = [CULTIVARS[i] for i in wine.target]
    frame.to_csv(path, index=False, float_format="%.4g")
    return path


if __name__ == "__main__":
    print(f"wrote {write(Path(__file__).with_name('wine.csv'))}")
