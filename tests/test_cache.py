"""The prepared store cached by content and settings: found again without reading the
source, rewritten when the source or a setting changes, never for a `python:` source."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from conftest import run_cli, spec_text

from tuning.data import cache
from tuning.data.dataset import load_dataset, open_prepared
from tuning.spec.schema import load_spec


def _npy_source(folder) -> None:
    folder.mkdir()
    ids = np.arange(100, dtype=np.float32)
    np.save(folder / "x.npy", np.stack([ids, ids % 3], axis=1))
    np.save(folder / "y.npy", (ids % 2).astype(np.int64))


def test_a_second_search_maps_the_cached_store_and_a_changed_source_is_read_again(
        tmp_path, write_spec, monkeypatch):
    monkeypatch.setenv("STEPS_TUNER_CACHE", str(tmp_path / "cache"))
    _npy_source(tmp_path / "d")
    spec = load_spec(write_spec(spec_text(source="npy:d")))
    assert cache.open_cached(spec) is None
    load_dataset(spec, tmp_path / "staging")
    first = open_prepared(cache.share(tmp_path / "staging", spec, tmp_path / "run" / "data"))
    link = tmp_path / "run" / "data"
    assert link.is_symlink() and link.resolve() == cache.store_folder(spec)
    assert not (tmp_path / "staging").exists()
    assert cache.disk_use() >= first.x.nbytes

    # The same content (same size and time, bytes changed behind the key's back): the
    # store is mapped, the source not read.
    stamp = (tmp_path / "d" / "x.npy").stat()
    ids = np.arange(100, dtype=np.float32)
    np.save(tmp_path / "d" / "x.npy", np.stack([ids + 1000, ids % 3], axis=1))
    os.utime(tmp_path / "d" / "x.npy", ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    again = cache.open_cached(spec)
    assert again is not None and isinstance(again.x, np.memmap)
    np.testing.assert_array_equal(again.x, first.x)

    # A source written again is another content: read and prepared anew.
    os.utime(tmp_path / "d" / "x.npy", ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))
    assert cache.open_cached(spec) is None
    load_dataset(spec, tmp_path / "staging2")
    rewritten = open_prepared(cache.share(tmp_path / "staging2", spec,
                                          tmp_path / "run2" / "data"))
    assert rewritten.x[:, 0].min() >= 1000
    assert (tmp_path / "run2" / "data").resolve() != (tmp_path / "run" / "data").resolve()


def test_every_preparation_setting_is_in_the_key(tmp_path, write_spec):
    _npy_source(tmp_path / "d")
    base = spec_text(source="npy:d")
    key = cache.store_key(load_spec(write_spec(base)))
    changed = [base.replace("seed = 3", "seed = 4"),
               base.replace("holdout = 0.2", "holdout = 0.3"),
               base.replace("holdout = 0.2", "holdout = 0.2\nsample = 50"),
               base.replace("validation_split = [0.2]", "validation_split = [0.1]")]
    assert key == cache.store_key(load_spec(write_spec(base)))
    assert len({key, *(cache.store_key(load_spec(write_spec(t))) for t in changed)}) == 5


def test_a_python_source_is_not_cached(tmp_path, write_spec, monkeypatch):
    monkeypatch.setenv("STEPS_TUNER_CACHE", str(tmp_path / "cache"))
    (tmp_path / "uncached_rows.py").write_text(
        "import numpy as np\n\ndef rows():\n"
        "    return np.arange(200.0).reshape(100, 2), np.arange(100) % 2\n")
    spec = load_spec(write_spec(spec_text(source="python:uncached_rows:rows")))
    assert cache.store_key(spec) is None and cache.open_cached(spec) is None
    load_dataset(spec, tmp_path / "staging")
    cache.share(tmp_path / "staging", spec, tmp_path / "run" / "data")
    assert not (tmp_path / "run" / "data").is_symlink()
    assert (tmp_path / "run" / "data").is_dir() and cache.disk_use() == 0


@pytest.mark.slow
def test_a_new_start_on_changed_data_trains_on_the_new_store_not_the_last_ones(
        tmp_path, monkeypatch):
    monkeypatch.setenv("STEPS_TUNER_CACHE", str(tmp_path / "cache"))
    _npy_source(tmp_path / "arrays")
    spec = tmp_path / "s.toml"
    spec.write_text(spec_text(source="npy:arrays", steps=[2], epochs=1))
    out = tmp_path / "run"
    first = run_cli("run", str(spec), "--out", str(out), env={"STEPS_TUNER_CACHE": str(
        tmp_path / "cache")})
    assert first.returncode == 0, first.stderr
    old = (out / "data").resolve()
    shutil.rmtree(old)  # gone from the cache (its limit, or removed by hand)
    stamp = (tmp_path / "arrays" / "x.npy").stat().st_mtime + 10
    os.utime(tmp_path / "arrays" / "x.npy", (stamp, stamp))  # the source changed
    second = run_cli("run", str(spec), "--out", str(out), "--fresh",
                     env={"STEPS_TUNER_CACHE": str(tmp_path / "cache")})
    assert second.returncode == 0, second.stderr  # the worker maps this start's store
    assert (out / "data").resolve() != old and (out / "data" / "meta.json").is_file()
