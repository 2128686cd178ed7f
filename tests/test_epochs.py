"""The terminal's status line: epochs reported by a real Keras fit, the time left, drawn in
place on a terminal and not at all when piped."""

from __future__ import annotations

import io
import os
import pty
import select

import keras
import numpy as np
import pytest

from tuning.records.epochs import (
    StatusLine,
    epoch_note,
    eta_text,
    progress_file,
    read_epochs,
    time_left,
)
from tuning.training.budget import plan
from tuning.training.callbacks import CurveRecorder


@pytest.mark.slow
def test_a_fit_reports_each_finished_epoch_with_its_curve(tmp_path):
    path = progress_file(tmp_path, 1)
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(read_epochs(tmp_path)["7"]["epoch"])

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    recorder = CurveRecorder(plan("partition", 8, 2, epochs=3),
                             watchers=[epoch_note(path, "7", 3, prunable=True)])
    model.fit(np.zeros((8, 2)), np.zeros(8), batch_size=4, epochs=3, verbose=0,
              callbacks=[recorder, Spy()])
    assert seen == [1, 2, 3]
    noted = read_epochs(tmp_path)["7"]
    assert noted["epochs"] == 3 and noted["prunable"]
    assert [row["samples_seen"] for row in noted["curve"]] == [8, 16, 24]


def test_time_left_shares_the_remaining_trials_over_the_workers():
    assert time_left([], running=1, remaining=10, workers=1) is None
    assert time_left([10.0, 30.0], running=0, remaining=6, workers=2) == 60.0
    assert time_left([10.0], running=2, remaining=2, workers=2) == 5.0
    assert eta_text(None) == "time left: unknown yet"
    assert eta_text(42) == "about 42 s left" and eta_text(600) == "about 10 min left"


def test_status_line_is_drawn_in_place_on_a_terminal_only():
    piped = io.StringIO()
    line = StatusLine(piped)
    line.show("trial 3: epoch 2/10")
    line.clear()
    assert piped.getvalue() == ""
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w") as terminal:
        line = StatusLine(terminal)
        line.show("trial 3: epoch 2/10")
        line.show("trial 3: epoch 3/10")
        line.clear()
    written = _read_all(leader)
    os.close(leader)
    assert written.count("\r\x1b[2K") == 3 and "epoch 3/10" in written and "\n" not in written


def _read_all(fd: int) -> str:
    """Everything written to the terminal: a pseudo-terminal hands it over in pieces."""
    chunks = []
    while select.select([fd], [], [], 2.0)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the other end is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()
