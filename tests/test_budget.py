"""The two semantics in numbers (pure logic, no training)."""

from __future__ import annotations

import pytest

from tuning.training.budget import plan


def test_partition_cuts_one_pass_into_steps():
    p = plan("partition", 1000, 4, epochs=3)
    assert (p.batch_size, p.steps_per_epoch, p.epochs, p.updates) == (250, 4, 3, 12)
    assert p.samples_seen(12) == 3000


def test_partition_rounding_runs_fewer_steps_than_asked():
    p = plan("partition", 1000, 300, epochs=1)
    assert p.batch_size == 4 and p.steps_per_epoch == 250 and p.cut_short


def test_partition_more_steps_than_rows_gives_batches_of_one():
    p = plan("partition", 50, 500, epochs=2)
    assert (p.batch_size, p.steps_per_epoch, p.updates) == (1, 50, 100)


def test_stream_epochs_are_checkpoints_not_passes():
    p = plan("stream", 100, 10, epochs=5, batch_size=32)
    assert (p.batch_size, p.steps_per_epoch, p.updates) == (32, 10, 50)
    assert p.samples_seen(50) == 1600  # 16 passes over 100 rows


@pytest.mark.parametrize("epochs,max_steps,updates,ran_epochs", [
    (10, 25, 25, 3),   # max_steps ends first, mid-epoch
    (2, 1000, 20, 2),  # epochs end first
    (3, 30, 30, 3),    # both at once
])
def test_whichever_of_epochs_and_max_steps_ends_first(epochs, max_steps, updates, ran_epochs):
    p = plan("stream", 500, 10, epochs=epochs, max_steps=max_steps, batch_size=8)
    assert p.updates == updates and p.epochs == ran_epochs
    assert p.last_epoch_steps == updates - (ran_epochs - 1) * 10


def test_samples_budget_is_equal_work_across_steps():
    few = plan("partition", 1000, 2, epochs=10**6, max_samples=3000)
    many = plan("partition", 1000, 50, epochs=10**6, max_samples=3000)
    assert few.samples_seen(few.updates) == many.samples_seen(many.updates) == 3000
    stream = plan("stream", 1000, 7, epochs=10**6, batch_size=100, max_samples=3000)
    assert stream.samples_seen(stream.updates) == 3000


def test_partial_partition_epoch_counts_its_samples():
    p = plan("partition", 10, 3, epochs=2)  # batches 4, 4, 2
    assert p.samples_seen(4) == 10 + 4
    assert p.samples_seen(6) == 20
