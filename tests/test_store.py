"""The store: rows written chunk by chunk in the source's dtype, and preparation that holds a
chunk, not the data, shown under a memory limit smaller than the data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, run_cli, spec_text

from tuning.data import store
from tuning.data.adapters.base import Chunk
from tuning.data.dataset import prepare
from tuning.spec.errors import UserError
from tuning.spec.schema import load_spec

#: Prepares 256 MiB of float32 rows under a data limit of 96 MiB above the process's size
#: at that point: from chunks of 4 MiB generated here ("prepare"), or from an npy: folder
#: ("npy"); or, as the control that shows the limit bites, gathers the same chunks into one
#: array ("gather").
_UNDER_LIMIT = """
import resource, sys
from pathlib import Path
import numpy as np
from tuning.data.adapters.base import Chunk
from tuning.data.dataset import load_dataset, prepare
from tuning.spec.schema import load_spec

ROWS, FEATURES, CHUNK = 131_072, 512, 2048
spec, folder, mode = load_spec(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

def chunks():
    rng = np.random.default_rng(0)
    for _ in range(ROWS // CHUNK):
        x = rng.standard_normal((CHUNK, FEATURES), dtype=np.float32)
        yield Chunk(x, (x[:, 0] > 0).astype(np.int64))

status = Path("/proc/self/status").read_text()
size = int(next(l for l in status.splitlines() if l.startswith("VmData:")).split()[1]) * 1024
limit = size + 96 * 2**20
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
if mode == "gather":
    print(np.concatenate([c.x for c in chunks()]).nbytes)
else:
    data = prepare(chunks(), spec, folder) if mode == "prepare" else load_dataset(spec, folder)
    print(data.x.shape[0], data.x.nbytes, len(data.pool), len(data.holdout))
"""


def _npy_folder(folder):
    """The rows the script generates, as x.npy and y.npy, written a chunk at a time."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    x = np.lib.format.open_memmap(folder / "x.npy", mode="w+", dtype=np.float32,
                                  shape=(131_072, 512))
    for start in range(0, len(x), 2048):
        x[start:start + 2048] = rng.standard_normal((2048, 512), dtype=np.float32)
    np.save(folder / "y.npy", (x[:, 0] > 0).astype(np.int64))
    x.flush()


@pytest.mark.parametrize("mode", ["prepare", "npy", "gather"])
def test_preparing_holds_a_chunk_not_the_data(tmp_path, write_spec, mode):
    if mode == "npy":
        _npy_folder(tmp_path / "arrays")
    spec = write_spec(spec_text(source="npy:arrays" if mode == "npy" else "npz:generated.npz"))
    done = subprocess.run([sys.executable, "-c", _UNDER_LIMIT, str(spec), str(tmp_path / "data"),
                           mode], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    if mode == "gather":  # the limit is smaller than the data
        assert done.returncode != 0 and "MemoryError" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    rows, nbytes, pool, holdout = map(int, done.stdout.split())
    assert (rows, nbytes) == (131_072, 256 * 2**20)
    assert pool + holdout == rows and holdout == round(rows * 0.2)
    x = np.load(tmp_path / "data" / store.X_FILE, mmap_mode="r")
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(x[:2048], rng.standard_normal((2048, 512), dtype=np.float32))


def test_chunks_of_any_size_make_one_array_in_the_source_dtype(tmp_path, write_spec):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (100, 4, 5, 3)).astype(np.uint8)
    y = rng.integers(0, 3, 100)
    sizes = [1, 30, 0, 69]
    starts = np.cumsum([0, *sizes])
    chunks = [Chunk(x[a:b], y[a:b]) for a, b in zip(starts[:-1], starts[1:])]
    data = prepare(iter(chunks), load_spec(write_spec(spec_text(source="npz:x.npz"))),
                   tmp_path / "data")
    stored = np.load(tmp_path / "data" / store.X_FILE)
    assert stored.dtype == np.uint8 and data.x.dtype == np.uint8
    np.testing.assert_array_equal(stored, x)
    np.testing.assert_array_equal(np.sort(np.concatenate([data.pool, data.holdout])),
                                  np.arange(100))
    assert (tmp_path / "data" / store.X_FILE).stat().st_size < x.nbytes + 1024


def test_float64_rows_are_stored_as_the_float32_the_model_computes_in(tmp_path, write_spec):
    x = np.linspace(0, 1, 60, dtype=np.float64).reshape(30, 2)
    data = prepare(iter([Chunk(x, np.arange(30) % 2)]),
                   load_spec(write_spec(spec_text(source="npz:x.npz"))))
    assert data.x.dtype == np.float32
    np.testing.assert_array_equal(data.x, x.astype(np.float32))


def test_rows_that_change_shape_part_way_are_refused_naming_the_source(write_spec):
    spec = load_spec(write_spec(spec_text(source="npz:x.npz")))
    chunks = [Chunk(np.zeros((10, 3), np.float32), np.arange(10) % 2),
              Chunk(np.zeros((10, 4), np.float32), np.arange(10) % 2)]
    with pytest.raises(UserError, match=r"npz:x.npz: the rows change shape or type part-way"):
        prepare(iter(chunks), spec)


def test_standardize_accepts_auto_true_false_and_nothing_else(write_spec):
    for value, parsed in (('"auto"', "auto"), ("true", True), ("false", False)):
        text = spec_text().replace("test = 0.0", f"test = 0.0\nstandardize = {value}")
        assert load_spec(write_spec(text)).data.standardize == parsed
    with pytest.raises(UserError, match=r"data.standardize.*\"auto\", true or false"):
        load_spec(write_spec(spec_text().replace("test = 0.0", 'test = 0.0\nstandardize = "yes"')))


def test_validate_says_what_is_done_to_the_data(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(spec_text().replace("test = 0.0", "test = 0.0\nstandardize = false"))
    done = run_cli("validate", str(spec))
    assert done.returncode == 0, done.stderr
    assert ("data: features stored as float32, given to the model as float32 values unchanged "
            "(data.standardize = false)\n") in done.stdout
    assert "data: prepared rows 0.5 MiB on disk" in done.stdout


def _resident_mib(path: Path) -> float:
    """How much of `path` this process has mapped and resident (its mappings in smaps)."""
    total, counting = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if not line.split(maxsplit=1)[0].endswith(":"):  # a mapping's first line
            counting = line.rstrip().endswith(str(path))
        elif counting and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total / 1024


def test_a_large_store_is_read_by_rows_without_staying_mapped(tmp_path):
    rows, width = 10_000, 27_648  # 264 MiB of 96 x 96 x 3 uint8 images, above the bound
    x = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.uint8,
                                  shape=(rows, width))
    for start in range(0, rows, 1000):
        x[start:start + 1000] = (np.arange(start, start + 1000) % 251)[:, None]
    x.flush()
    del x
    x = np.load(tmp_path / "x.npy", mmap_mode="r")
    assert x.nbytes > store.KEEP_MAPPED_BYTES
    source, peak = store.RowSource(x), 0.0
    rng = np.random.default_rng(0)
    for _ in range(300):  # 9,600 rows, most of the file
        picked = rng.integers(0, rows, 32)
        batch = source.take(picked)
        np.testing.assert_array_equal(batch[:, ::997], np.repeat((picked % 251)[:, None], 28, 1))
        peak = max(peak, _resident_mib(tmp_path / "x.npy"))
    assert peak < 64  # a batch's pages at a time, not the 264 MiB read
    del source, x
    small = np.load(tmp_path / "x.npy", mmap_mode="r")[:2000]  # 53 MiB: stays mapped
    store.RowSource(small).take(np.arange(2000))
    assert _resident_mib(tmp_path / "x.npy") > 40


def _tiny_dataset(tmp_path, write_spec, x):
    chunks = iter([Chunk(x, np.arange(len(x)) % 2)])
    return prepare(chunks, load_spec(write_spec(spec_text(source="npz:x.npz"))),
                   tmp_path / "data")


def test_the_fingerprint_does_not_depend_on_the_cores_and_tells_one_byte(
        tmp_path, write_spec, monkeypatch):
    x = np.random.default_rng(4).integers(0, 256, (300, 8, 8, 3)).astype(np.uint8)
    data = _tiny_dataset(tmp_path, write_spec, x)
    monkeypatch.setattr(store, "_HASH_BLOCK", 7 * x[:1].nbytes)  # 43 blocks of x
    hashes = set()
    for cores in (1, 3):
        monkeypatch.setattr(store, "usable_cores", lambda cores=cores: cores)
        hashes.add(store.fingerprint(data))
    assert len(hashes) == 1 and hashes.pop().startswith(f"{store.FINGERPRINT_FORM}:")
    x[123, 4, 5, 1] ^= 1
    other = _tiny_dataset(tmp_path / "other", write_spec, x)
    assert store.fingerprint(other) != store.fingerprint(data)


def test_a_large_store_is_fingerprinted_without_staying_mapped(tmp_path, write_spec,
                                                               monkeypatch):
    monkeypatch.setattr(store, "KEEP_MAPPED_BYTES", 2**20)  # this 12 MiB store is "large"
    x = np.random.default_rng(5).integers(0, 256, (4096, 64, 16, 3)).astype(np.uint8)
    data = _tiny_dataset(tmp_path, write_spec, x)
    monkeypatch.setattr(store, "_HASH_BLOCK", 2**20)
    store.fingerprint(data)
    assert _resident_mib(tmp_path / "data" / store.X_FILE) < 4  # 12 MiB read in place


def test_a_run_recorded_with_the_earlier_hash_still_matches_its_data(tmp_path, write_spec):
    from tuning.records.rundir import Provenance

    spec = load_spec(write_spec(spec_text(source="npz:x.npz")))
    x = np.arange(600, dtype=np.float32).reshape(300, 2)
    data = _tiny_dataset(tmp_path, write_spec, x)
    provenance = Provenance.of(spec, data)
    assert provenance.same_data(provenance.data)
    assert provenance.same_data(store.serial_fingerprint(data))  # a run made before the form
    other = _tiny_dataset(tmp_path / "other", write_spec, x + 1)
    assert not provenance.same_data(store.serial_fingerprint(other))
    assert not provenance.same_data(Provenance.of(spec, other).data)
