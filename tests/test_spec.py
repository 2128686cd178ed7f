"""The spec: defaults, and every kind of bad input named by its key (no training)."""

from __future__ import annotations

import pytest
from conftest import spec_text

from tuning.spec.errors import UserError
from tuning.spec.schema import load_spec
from tuning.spec.sizes import parse_size


def test_defaults_fill_the_optional_fields(write_spec):
    spec = load_spec(write_spec())
    assert spec.model.task == "classification"
    assert spec.model.metric == "accuracy"
    assert spec.search.objective == "holdout_accuracy"
    assert spec.search.direction == "max"
    assert spec.budget.max_steps is None
    assert spec.resources.workers == 1  # the tests' base spec asks for one
    assert [d.name for d in spec.search.space] == ["steps_per_epoch", "validation_split"]


def test_ranges_conditions_and_regression_defaults(write_spec):
    text = spec_text(steps={"min": 1, "max": 64, "sampling": "log"}, model={"task": "regression"},
                     search={"tuner": "random", "space": {
                         "units": [16, 32],
                         "dropout": {"values": [0.1, 0.3], "when": {"units": 32}}}})
    spec = load_spec(write_spec(text))
    dim = spec.search.dimension("steps_per_epoch")
    assert dim.is_range and dim.integer and dim.sampling == "log"
    assert spec.search.dimension("dropout").when.parent == "units"
    assert spec.model.metric == "mae"
    assert spec.search.direction == "min"


BAD = [
    ("malformed", "[experiment\nname = 1", "not valid TOML"),
    ("unknown section", spec_text() + "[extra]\na = 1\n", "extra: unknown section"),
    ("unknown key", spec_text(experiment={"sed": 4}), "experiment.sed"),
    ("wrong type", spec_text(epochs="ten"), "budget.epochs: expected an integer"),
    ("split above 1", spec_text(splits=[0.2, 1.5]), "search.space.validation_split"),
    ("split zero", spec_text(splits=[0.0]), "search.space.validation_split"),
    ("steps zero", spec_text(steps=[0, 4]), "search.space.steps_per_epoch: must be at least 1"),
    ("steps float", spec_text(steps=[2.5]), "search.space.steps_per_epoch"),
    ("empty list", spec_text(steps=[]), "search.space.steps_per_epoch: empty list"),
    ("bad tuner", spec_text(search={"tuner": "anneal"}), "search.tuner"),
    ("bad source", spec_text(source="http://x"), "data.source"),
    ("csv without target", spec_text(source="csv:a.csv"), "data.target: required"),
    ("bad builder form", spec_text(builder="nocolon"), "model.builder"),
    ("batch in partition", spec_text(budget={"batch_size": 8}),
     "budget.batch_size"),
    ("grid on a range", spec_text(steps={"min": 1, "max": 8}), "search.space.steps_per_epoch"),
    ("missing split", spec_text().replace("validation_split = [0.2]", ""),
     "search.space.validation_split: required"),
    ("bad budget size", spec_text(resources={"memory_budget": "lots"}),
     "resources.memory_budget"),
    ("bad objective", spec_text(search={"objective": "f1"}),
     "search.objective"),
]


@pytest.mark.parametrize("label,text,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_specs_name_the_key(write_spec, label, text, expected):
    with pytest.raises(UserError) as caught:
        load_spec(write_spec(text))
    assert expected in str(caught.value)


@pytest.mark.parametrize("text,size", [("512MiB", 512 * 2**20), ("2GiB", 2 * 2**30),
                                       ("1.5GB", 1_500_000_000), ("4096", 4096), (1024, 1024)])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "-1MiB", "0", "1XB", True])
def test_bad_sizes(text):
    with pytest.raises(ValueError):
        parse_size(text)
