"""The TensorBoard events of a trial, written for real and read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tensorboard.backend.event_processing import event_accumulator  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402

from tuning.training.tensorboard_log import final_metrics, hparams, log_trial, mean_curve  # noqa: E402

ROW = {"trial_id": "07", "status": "ok", "steps_per_epoch": 8, "validation_split": 0.2,
       "batch_size": 144, "updates": 24, "samples_seen": 3456, "best_epoch": 2,
       "train_loss": 0.2, "val_loss": 0.3, "holdout_loss": 0.31, "holdout_accuracy": 0.93,
       "val_accuracy": 0.91, "gap": 0.1, "peak_memory_mb": float("nan"), "wall_s": 3.5,
       "message": ""}
CURVES = [
    {"trial_id": "07", "execution": e, "epoch": epoch, "updates": 8 * epoch,
     "samples_seen": 1152 * epoch, "loss": 1.0 / epoch + e * 0.1, "val_loss": 1.2 / epoch,
     "accuracy": 0.5 + 0.1 * epoch, "val_accuracy": None}
    for e in range(2) for epoch in (1, 2, 3)
]
HP = {"steps_per_epoch": np.int64(8), "validation_split": 0.2, "learning_rate": 1e-3,
      "activation": "relu"}


def _read(logdir: Path) -> event_accumulator.EventAccumulator:
    acc = event_accumulator.EventAccumulator(str(logdir), size_guidance={"tensors": 0})
    acc.Reload()
    return acc


def test_curves_and_hparams_read_back(tmp_path: Path) -> None:
    log_trial(tmp_path, ROW, CURVES, HP)
    logdir = tmp_path / "tensorboard" / "trial_07"
    acc = _read(logdir)
    loss = acc.Tensors("epoch/loss")
    assert [e.step for e in loss] == [8, 16, 24]
    values = [float(tensor_util.make_ndarray(e.tensor_proto)) for e in loss]
    assert values == pytest.approx([1.05, 0.55, 1 / 3 + 0.05])
    assert "epoch/val_accuracy" not in acc.Tags()["tensors"]  # no finite value recorded
    final = acc.Tensors("final/holdout_accuracy")
    assert final[0].step == 24
    assert float(tensor_util.make_ndarray(final[0].tensor_proto)) == pytest.approx(0.93)
    assert "final/peak_memory_mb" not in acc.Tags()["tensors"]

    content = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    assert start.hparams["learning_rate"].number_value == pytest.approx(1e-3)
    assert start.hparams["steps_per_epoch"].number_value == 8
    assert start.hparams["activation"].string_value == "relu"
    assert start.hparams["status"].string_value == "ok"
    assert start.hparams["batch_size"].number_value == 144


def test_rewrite_replaces_events_and_failed_trial_logs_hparams(tmp_path: Path) -> None:
    log_trial(tmp_path, ROW, CURVES, HP)
    failed = {"trial_id": "07", "status": "oom", "batch_size": 1024, "updates": None,
              "message": "out of memory at batch size 1024"}
    log_trial(tmp_path, failed, [], HP)
    logdir = tmp_path / "tensorboard" / "trial_07"
    assert len(list(logdir.glob("events.out.tfevents.*"))) == 1
    acc = _read(logdir)
    assert acc.Tags()["tensors"] == ["_hparams_/session_start_info"]


def test_pure_helpers() -> None:
    assert hparams({"status": "nan", "batch_size": None}, {"units": np.int32(3)}) == {
        "units": 3, "status": "nan"}
    assert [u for u, _ in mean_curve(CURVES)] == [8, 16, 24]
    assert final_metrics(ROW)["gap"] == 0.1
    assert "message" not in final_metrics(ROW)
