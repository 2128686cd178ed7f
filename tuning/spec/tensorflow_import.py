"""Importing TensorFlow: quietly, and at most once at a time in a process.

The import takes seconds, so a search starts it in a background thread while it reads the
data (`start_in_background`). Two threads must never import it at once: Python's import locks
then hand one of them the other's half-made modules (a data loader that imports Keras at its
top fails on `tensorflow...DatasetV2`, or a later import on gradients registered twice). So
every other path that imports TensorFlow, or a user's module that may, calls `wait` first.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

_started = threading.Lock()
_thread: threading.Thread | None = None


def quiet(in_background: bool = False) -> None:
    """Import TensorFlow without its start-up chatter on stderr (absl and oneDNN notices
    written from C++, which no Python logging setting reaches), by silencing the file
    descriptor. `in_background`: the other threads go on meanwhile, so Python's `sys.stderr`
    is pointed at the real stderr while it lasts, and a warning or an error of theirs still
    shows. (Not in a worker: TensorFlow's logger keeps the stream it found at import, and a
    worker's stderr becomes its log file later.)"""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    python_stderr = sys.stderr
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    swapped = None
    if in_background and _writes_to_fd2(python_stderr):  # left open: it may still be held
        swapped = os.fdopen(os.dup(saved), "w", buffering=1, errors="backslashreplace",
                            encoding=python_stderr.encoding)
        sys.stderr = swapped
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        # Put back only our own swap: a caller whose search was refused meanwhile (a
        # notebook, a test) may have set sys.stderr since, and an earlier stream may be closed.
        if swapped is not None and sys.stderr is swapped:
            sys.stderr = python_stderr
        os.close(saved)
        os.close(devnull)


def _writes_to_fd2(stream) -> bool:
    """A notebook's or a test's stream is not the process's stderr: leave it alone."""
    try:
        return stream.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False


def start_in_background(*modules: str) -> None:
    """Import TensorFlow, then `modules`, in a background thread; once per process (a
    second search in the same process, after a refused one, finds it started)."""
    global _thread
    with _started:
        if _thread is not None or "tensorflow" in sys.modules:
            return

        def load() -> None:
            with contextlib.suppress(Exception):  # the next importer says what failed
                quiet(in_background=True)
                for module in modules:
                    __import__(module)

        _thread = threading.Thread(target=load, name="import-tensorflow", daemon=True)
        _thread.start()


def wait() -> None:
    """Let a background import finish before this thread imports TensorFlow or code that
    may (a user's data loader, Keras's image loader, the model)."""
    thread = _thread
    if thread is not None and thread is not threading.current_thread():
        thread.join()
