"""One adapter per source kind, registered here by kind: adding a kind is its module and
one line below (and its name in `tuning.spec.schema.SOURCES`, which a test holds equal)."""

from __future__ import annotations

from tuning.data.adapters.csv_file import CsvFile
from tuning.data.adapters.image_folder import ImageFolder
from tuning.data.adapters.kind import Adapter
from tuning.data.adapters.npy_folder import NpyFolder
from tuning.data.adapters.npz_file import NpzFile
from tuning.data.adapters.python_function import PythonFunction
from tuning.data.adapters.shipped import ShippedSet

ADAPTERS: dict[str, Adapter] = {
    adapter.kind: adapter
    for adapter in (ShippedSet(), CsvFile(), NpzFile(), NpyFolder(), ImageFolder(),
                    PythonFunction())
}


def adapter_for(kind: str) -> Adapter:
    """The adapter of a source kind the spec parser accepted."""
    return ADAPTERS[kind]
