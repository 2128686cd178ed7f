"""Every source kind read in chunks, one adapter per kind (Keras's
`trainers/data_adapters/` is the model): `source_chunks` is what preparation consumes."""

from __future__ import annotations

from tuning.data.adapters.base import CHUNK_ROWS, Chunk, source_chunks
from tuning.data.adapters.kind import Adapter
from tuning.data.adapters.registry import ADAPTERS, adapter_for

__all__ = ["ADAPTERS", "CHUNK_ROWS", "Adapter", "Chunk", "adapter_for", "source_chunks"]
