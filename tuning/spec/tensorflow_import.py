"""Importing TensorFlow quietly: without its start-up chatter on stderr.

Only the processes that train import it (the workers, keras-tuner's chief, `gpu-check`); a
search started from the command line never does (see `tuning.execution.keras_stand_in`).
"""

from __future__ import annotations

import os
import sys


def quiet() -> None:
    """Import TensorFlow without its start-up chatter on stderr (absl and oneDNN notices
    written from C++, which no Python logging setting reaches), by silencing the file
    descriptor while it imports. (TensorFlow's logger keeps the stream it found at import,
    so a worker imports it before its stderr becomes its log file.)"""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
