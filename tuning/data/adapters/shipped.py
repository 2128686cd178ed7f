"""`sklearn:<name>`: a data set that ships inside scikit-learn, read from its own files
(importing scikit-learn costs a second and `validate` should not); small, so read whole."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tuning.data.adapters.chunk import Chunk
from tuning.data.adapters.files import files_key, sliced
from tuning.data.adapters.kind import Adapter
from tuning.spec.errors import UserError
from tuning.spec.schema import Spec

SKLEARN_SETS = ("digits", "wine", "breast_cancer", "iris", "diabetes")

#: The files behind scikit-learn's loaders: (features file, target file or None, header rows).
_SKLEARN_FILES = {
    "digits": ("digits.csv.gz", None, 0),
    "wine": ("wine_data.csv", None, 1),
    "breast_cancer": ("breast_cancer.csv", None, 1),
    "iris": ("iris.csv", None, 1),
    "diabetes": ("diabetes_data_raw.csv.gz", "diabetes_target.csv.gz", 0),
}


class ShippedSet(Adapter):
    kind = "sklearn"

    def check(self, spec: Spec) -> None:
        name = _name(spec)
        if name not in SKLEARN_SETS:
            raise UserError("data.source",
                            f"sklearn:{name} is not one of: {', '.join(SKLEARN_SETS)}")

    def content_key(self, spec: Spec) -> str | None:
        folder = _folder()
        if folder is None:
            return None
        features, target, _ = _SKLEARN_FILES[_name(spec)]
        return files_key(folder / f for f in (features, target) if f is not None)

    def chunks(self, spec: Spec, chunk_rows: int) -> Iterator[Chunk]:
        x, y = read_shipped(_name(spec))
        return sliced(x, y, chunk_rows)


def _name(spec: Spec) -> str:
    return spec.data.source.partition(":")[2]


def _folder() -> Path | None:
    found = importlib.util.find_spec("sklearn")
    return Path(found.submodule_search_locations[0]) / "datasets" / "data" if found else None


def read_shipped(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The set's features and target as scikit-learn's loader gives them (unscaled); its
    own loader is the fallback."""
    folder = _folder()
    features, target, header = _SKLEARN_FILES[name]
    if folder is not None and (folder / features).is_file():
        if target is not None:  # raw features
            return np.loadtxt(folder / features), np.loadtxt(folder / target)
        table = np.loadtxt(folder / features, delimiter=",", skiprows=header)
        return table[:, :-1], table[:, -1].astype(int)
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)
