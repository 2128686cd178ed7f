"""Every source kind read through its adapter in chunks smaller than the data: counts,
dtypes, `data.take` and `data.sample`, endless streams, unreadable images, reading under a
memory limit, and the data-side messages."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from conftest import ROOT, spec_text

from tuning.data.adapters import ADAPTERS, CHUNK_ROWS, Chunk, source_chunks
from tuning.spec.errors import UserError
from tuning.spec.schema import SOURCES, load_spec


def _spec(write_spec, source: str, extra: str = ""):
    text = spec_text(source=source).replace("holdout = 0.2", f"holdout = 0.2\n{extra}")
    return load_spec(write_spec(text))


def _read(spec, data=None, chunk_rows: int = CHUNK_ROWS) -> tuple[list[Chunk], np.ndarray,
                                                                  np.ndarray]:
    chunks = list(source_chunks(spec, data, chunk_rows))
    return chunks, np.concatenate([c.x for c in chunks]), np.concatenate([c.y for c in chunks])


def _sizes(chunks: list[Chunk]) -> list[int]:
    return [len(c.y) for c in chunks]


def test_the_registry_holds_the_spec_source_kinds_and_their_keys(write_spec):
    assert tuple(ADAPTERS) == SOURCES
    sources = {"sklearn": "sklearn:iris", "csv": "csv:d.csv", "npz": "npz:d.npz",
               "npy": "npy:d", "images": "images:d", "python": "python:m:f"}
    needed = {"target": 'target = "y"', "image_size": "image_size = [4, 4]"}
    for kind, adapter in ADAPTERS.items():
        required = [needed[k] for k in adapter.keys]
        _spec(write_spec, sources[kind], "\n".join(required))  # its own keys: accepted
        for key in set(needed) - adapter.keys:
            with pytest.raises(UserError, match=f"data.{key}: only used with"):
                _spec(write_spec, sources[kind], "\n".join([*required, needed[key]]))


def test_shipped_set_in_chunks(write_spec):
    from tuning.data.adapters.shipped import read_shipped

    chunks, x, y = _read(_spec(write_spec, "sklearn:iris"), chunk_rows=40)
    assert _sizes(chunks) == [40, 40, 40, 30]
    want_x, want_y = read_shipped("iris")
    np.testing.assert_array_equal(x, want_x)
    np.testing.assert_array_equal(y, want_y)


def test_csv_in_chunks(tmp_path, write_spec):
    rng = np.random.default_rng(0)
    table = rng.normal(size=(103, 3)).round(4)
    labels = [f"c{i % 3}" for i in range(103)]
    lines = ["a,b,label,c"] + [f"{r[0]},{r[1]},{lab},{r[2]}" for r, lab in zip(table, labels)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    chunks, x, y = _read(_spec(write_spec, "csv:d.csv", 'target = "label"'), chunk_rows=25)
    assert _sizes(chunks) == [25, 25, 25, 25, 3]
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, table, rtol=1e-6)
    assert y.tolist() == labels


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_npz_in_chunks_stored_or_compressed(tmp_path, write_spec, save):
    x = np.arange(70 * 4, dtype=np.int16).reshape(70, 2, 2)
    y = np.arange(70) % 3
    save(tmp_path / "d.npz", x=x, y=y)
    chunks, read_x, read_y = _read(_spec(write_spec, "npz:d.npz"), chunk_rows=16)
    assert _sizes(chunks) == [16, 16, 16, 16, 6]
    assert read_x.dtype == np.int16  # int features stay int
    np.testing.assert_array_equal(read_x, x)
    np.testing.assert_array_equal(read_y, y)


def test_npy_folder_in_chunks_uint8_stays_uint8(tmp_path, write_spec):
    folder = tmp_path / "d"
    folder.mkdir()
    x = np.random.default_rng(0).integers(0, 256, size=(50, 4, 4, 3), dtype=np.uint8)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", np.arange(50) % 2)
    chunks, read_x, _ = _read(_spec(write_spec, "npy:d"), chunk_rows=20)
    assert _sizes(chunks) == [20, 20, 10]
    assert all(c.x.dtype == np.uint8 for c in chunks)
    np.testing.assert_array_equal(read_x, x)


def _image_folder(root, per_class: int = 7):
    """Two classes of 12 x 10 RGB images, dark and light, with their pixels."""
    from PIL import Image

    rng = np.random.default_rng(0)
    pixels = {}
    for name, level in (("dark", 30), ("light", 220)):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            image = np.clip(level + rng.normal(0, 10, size=(12, 10, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(image).save(root / name / f"{i:02d}.png")
            pixels[f"{name}/{i:02d}"] = image
    return pixels


@pytest.fixture(params=["threads", "processes"])
def decoders(request, monkeypatch):
    """Decode on threads (a small folder) or on processes (a large one), in pieces smaller
    than a chunk, so that pieces and chunks do not line up."""
    from tuning.data.adapters import image_folder

    monkeypatch.setattr(image_folder, "PIECE", 3)
    if request.param == "processes":
        monkeypatch.setattr(image_folder, "PROCESS_FROM", 1)
        monkeypatch.setattr(image_folder, "usable_cores", lambda: 2)
    return request.param


def test_image_folder_in_chunks_as_uint8_in_keras_order(tmp_path, write_spec, decoders):
    pixels = _image_folder(tmp_path / "pictures")
    spec = _spec(write_spec, "images:pictures", "image_size = [12, 10]")
    chunks, x, y = _read(spec, chunk_rows=4)
    assert _sizes(chunks) == [4, 4, 4, 2]
    assert x.dtype == np.uint8 and x.shape == (14, 12, 10, 3)
    assert y.tolist() == [0] * 7 + [1] * 7  # classes alphabetically, as Keras labels them
    np.testing.assert_array_equal(x, np.stack(list(pixels.values())))  # files in name order
    resized = _read(_spec(write_spec, "images:pictures", "image_size = [6, 5]"))[1]
    assert resized.shape == (14, 6, 5, 3) and resized.dtype == np.uint8


def test_an_unreadable_image_is_skipped_with_one_warning(tmp_path, write_spec, capsys,
                                                        decoders):
    _image_folder(tmp_path / "pictures")
    (tmp_path / "pictures" / "dark" / "03.png").write_bytes(b"not a png")
    (tmp_path / "pictures" / "light" / "05.png").write_bytes(b"\x89PNG\r\n\x1a\n cut")
    spec = _spec(write_spec, "images:pictures", "image_size = [12, 10]")
    chunks, x, y = _read(spec, chunk_rows=4)
    assert len(x) == 12 and y.tolist() == [0] * 6 + [1] * 6
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1, warnings
    assert "skipped 2 unreadable image file(s)" in warnings[0]
    assert "dark/03.png" in warnings[0] and "light/05.png" in warnings[0]


READ_WITHOUT_ROOM = """
import resource, sys
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))  # no file over 64 KiB
from tuning.data.adapters import source_chunks
from tuning.spec.errors import UserError
from tuning.spec.schema import load_spec
try:
    list(source_chunks(load_spec(sys.argv[1])))
except UserError as exc:
    print(exc)
"""


def test_no_room_for_the_decoded_images_is_one_line_naming_the_folder(tmp_path, write_spec):
    """The decoders' scratch file for a chunk is claimed before any pixel is written, so a
    folder without room says so (here: a file-size limit below a chunk's 672 KiB)."""
    _image_folder(tmp_path / "pictures")
    spec = write_spec(spec_text(source="images:pictures").replace(
        "holdout = 0.2", "holdout = 0.2\nimage_size = [128, 128]"))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = subprocess.run([sys.executable, "-c", READ_WITHOUT_ROOM, str(spec)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                 "TMPDIR": str(scratch)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith(f"{scratch}: no room for a chunk of decoded images "
                                    "(672 KiB)"), result.stdout
    assert "set TMPDIR to a folder with room" in result.stdout
    assert list(scratch.iterdir()) == []  # the scratch folder is gone with the error


def test_arrays_and_dataframes_in_chunks(write_spec):
    import pandas as pd

    spec = _spec(write_spec, "sklearn:iris")
    x = np.arange(90, dtype=np.float64).reshape(45, 2)
    chunks, read_x, read_y = _read(spec, (x, np.arange(45) % 2), chunk_rows=10)
    assert _sizes(chunks) == [10, 10, 10, 10, 5]
    np.testing.assert_array_equal(read_x, x)
    frame = pd.get_dummies(pd.DataFrame({"size": np.arange(6.0), "colour": list("rgbrgb")}))
    _, read_x, _ = _read(spec, (frame, pd.Series([0, 1] * 3)))
    assert read_x.tolist()[1] == [1, 0, 1, 0]  # booleans read as 0 and 1
    _, flags, _ = _read(spec, (np.array([[True, False]] * 4), np.arange(4) % 2))
    assert flags.dtype == np.uint8 and flags.tolist()[0] == [1, 0]


def _py_dataset(length: bool):
    import keras

    class Batches(keras.utils.PyDataset):
        """Batches of 7 rows; row i is (i, -i)."""

        def __getitem__(self, index):
            rows = np.arange(index * 7, index * 7 + 7, dtype=np.float32)
            return np.stack([rows, -rows], axis=1), rows.astype(int) % 2

    if length:
        Batches.__len__ = lambda self: 5
    return Batches()


def test_tf_data_generators_and_py_datasets_stream_in_chunks(write_spec):
    import tensorflow as tf

    spec = _spec(write_spec, "sklearn:iris")
    rows = np.arange(35, dtype=np.float32)
    x = np.stack([rows, -rows], axis=1)
    pipeline = tf.data.Dataset.from_tensor_slices((x, rows.astype(int) % 2)).batch(6)
    elements = tf.data.Dataset.from_tensor_slices((x, rows.astype(int) % 2))
    for data in (pipeline, elements, _py_dataset(length=True)):
        chunks, read_x, read_y = _read(spec, data, chunk_rows=10)
        assert _sizes(chunks) == [10, 10, 10, 5], data
        np.testing.assert_array_equal(read_x, x)
        np.testing.assert_array_equal(read_y, rows.astype(int) % 2)


def _endless():
    i = 0
    while True:
        rows = np.arange(i, i + 8, dtype=np.float32)
        yield rows[:, None], rows.astype(int) % 2
        i += 8


def _with_take(write_spec, take: int, extra: str = ""):
    return _spec(write_spec, "sklearn:iris", f"take = {take}\n{extra}")


def test_an_endless_source_is_read_with_take(write_spec):
    import tensorflow as tf

    spec = _with_take(write_spec, 30)
    endless = tf.data.Dataset.from_tensor_slices(
        (np.arange(8, dtype=np.float32)[:, None], np.arange(8) % 2)).repeat()
    from_generator = tf.data.Dataset.from_generator(
        _endless, output_signature=(tf.TensorSpec((None, 1), tf.float32),
                                    tf.TensorSpec((None,), tf.int64)))
    for data in (_endless(), endless, from_generator, _py_dataset(length=False)):
        chunks, x, _ = _read(spec, data, chunk_rows=12)
        assert _sizes(chunks) == [12, 12, 6], data
        assert len(x) == 30


def _refused_in_time(spec, data) -> UserError:
    """Asking for the chunks of an endless source without `data.take` must fail at once,
    never read forever: run in a thread, given 60 seconds."""
    caught: list[BaseException] = []

    def ask() -> None:
        try:
            next(iter(source_chunks(spec, data)))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            caught.append(exc)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "reading an endless source without data.take did not stop"
    assert caught and isinstance(caught[0], UserError), caught
    return caught[0]


def test_an_endless_source_without_take_is_refused_naming_the_key(write_spec):
    import tensorflow as tf

    spec = _spec(write_spec, "sklearn:iris")
    from_generator = tf.data.Dataset.from_generator(
        _endless, output_signature=(tf.TensorSpec((None, 1), tf.float32),
                                    tf.TensorSpec((None,), tf.int64)))
    repeated = tf.data.Dataset.from_tensor_slices(([[1.0]], [1])).repeat()
    for data, what in ((from_generator, "length is unknown"), (repeated, "is endless"),
                       (_endless(), "generator may never end"),
                       (_py_dataset(length=False), "PyDataset has no length")):
        error = _refused_in_time(spec, data)
        assert error.where == "data.take" and what in error.what, error


def test_take_and_sample_are_seeded_and_reproducible(tmp_path, write_spec):
    folder = tmp_path / "d"
    folder.mkdir()
    ids = np.arange(1000)
    np.save(folder / "x.npy", ids[:, None].astype(np.int32))
    np.save(folder / "y.npy", ids % 2)
    taken = _read(_spec(write_spec, "npy:d", "take = 250"), chunk_rows=100)
    assert _sizes(taken[0]) == [100, 100, 50]
    assert taken[1][:, 0].tolist() == list(range(250))

    def sample(extra: str, data=None) -> np.ndarray:
        spec = _spec(write_spec, "npy:d", f"sample = 120\n{extra}")
        chunks, x, _ = _read(spec, data, chunk_rows=50)
        assert _sizes(chunks) == [50, 50, 20]
        return x[:, 0]

    first = sample("")
    assert np.array_equal(first, sample(""))  # the same seed, the same rows
    assert len(set(first.tolist())) == 120 and (np.diff(first) > 0).all()  # source order
    other = load_spec(write_spec(spec_text(source="npy:d").replace("seed = 3", "seed = 4")
                                 .replace("holdout = 0.2", "holdout = 0.2\nsample = 120")))
    assert not np.array_equal(first, _read(other)[1][:, 0])
    assert first.min() < 100 and first.max() > 900  # drawn from the whole source
    # A source of unknown length: reservoir sampling, seeded as well.
    streamed = sample("take = 1000", _endless())
    assert np.array_equal(streamed, sample("take = 1000", _endless()))
    assert len(set(streamed.tolist())) == 120 and (np.diff(streamed) > 0).all()
    assert streamed.min() < 100 and streamed.max() > 900


READ_UNDER_LIMIT = """
import resource, sys
import numpy as np
import pandas  # what the csv reader imports, loaded before the limit: only reading counts
from tuning.data.adapters import source_chunks
from tuning.spec.schema import load_spec

spec = load_spec(sys.argv[1])
size = int(sys.argv[2])
for line in open("/proc/self/status"):
    if line.startswith("VmData:"):
        used = int(line.split()[1]) * 1024
limit = used + size // 2
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
try:
    np.ones(size // 8)  # the limit holds: the data itself would not fit
except MemoryError:
    pass
else:
    sys.exit("the memory limit did not hold")
rows, total = 0, 0.0
for chunk in source_chunks(spec, chunk_rows=2048):
    rows += len(chunk.y)
    total += float(chunk.x[:, 0].sum())
print(rows, total, "tensorflow" in sys.modules)
"""


@pytest.mark.parametrize("kind", ["npy", "npz", "npz_compressed", "csv"])
def test_a_source_larger_than_the_memory_limit_is_read(tmp_path, write_spec, kind):
    """Reading a source needs a chunk of memory, not the source's size: a process whose
    data segment may grow by half the source's size reads all of it."""
    rows, width = (200_000, 32) if kind == "csv" else (200_000, 64)
    x = np.ones((rows, width), dtype=np.float64)
    x[:, 0] = np.arange(rows)
    y = np.arange(rows) % 2
    if kind == "npy":
        (tmp_path / "d").mkdir()
        np.save(tmp_path / "d" / "x.npy", x)
        np.save(tmp_path / "d" / "y.npy", y)
        source, extra = "npy:d", ""
    elif kind.startswith("npz"):
        (np.savez_compressed if kind.endswith("compressed") else np.savez)(
            tmp_path / "d.npz", x=x, y=y)
        source, extra = "npz:d.npz", ""
    else:
        header = ",".join(f"f{i}" for i in range(width)) + ",label\n"
        body = "\n".join(",".join([str(i)] + ["1"] * (width - 1) + [str(i % 2)])
                         for i in range(rows))
        (tmp_path / "d.csv").write_text(header + body + "\n")
        source, extra = "csv:d.csv", 'target = "label"'
    spec = write_spec(spec_text(source=source).replace("holdout = 0.2", f"holdout = 0.2\n{extra}"))
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(READ_UNDER_LIMIT), str(spec), str(x.nbytes)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    read_rows, total, tensorflow = result.stdout.split()
    assert int(read_rows) == rows and float(total) == rows * (rows - 1) / 2
    assert tensorflow == "False"


@pytest.mark.parametrize("write,extra,expected", [
    (lambda p: (p / "d.csv").write_text("a,b,label\n"), 'target = "label"',
     "d.csv: holds a header but no rows"),
    (lambda p: (p / "d.csv").write_text("a,b,label\n" + "1,2,0\n1e300,3,1\n" * 20),
     'target = "label"', "d.csv:a: 1e+300 (line 3) is out of float32's range"),
    (lambda p: np.savez(p / "d.npz", x=np.full((30, 2), 1e300), y=np.arange(30) % 2), "",
     "features hold 1e+300 in row 0: out of float32's range"),
    (lambda p: np.savez(p / "d.npz", x=np.ones((30, 2)), y=np.arange(29) % 2), "",
     "30 feature rows but 29 labels"),
    (lambda p: np.savez(p / "d.npz", x=np.array([[1.0, np.nan]] * 30), y=np.arange(30) % 2),
     "", "NaN or infinite values in 30 row(s), the first row 0"),
])
def test_data_side_messages(tmp_path, write_spec, write, extra, expected, recwarn):
    write(tmp_path)
    source = "csv:d.csv" if "target" in extra else "npz:d.npz"
    with pytest.raises(UserError) as caught:
        list(source_chunks(_spec(write_spec, source, extra)))
    assert expected in str(caught.value)
    assert not [w for w in recwarn if "overflow" in str(w.message)]


def test_a_csv_of_boolean_columns_reads_them_as_zero_and_one(tmp_path, write_spec):
    import pandas as pd

    frame = pd.get_dummies(pd.DataFrame({"size": np.arange(40.0), "colour": list("rgbr") * 10,
                                         "label": [0, 1] * 20}), columns=["colour"])
    frame.to_csv(tmp_path / "d.csv", index=False)
    _, x, _ = _read(_spec(write_spec, "csv:d.csv", 'target = "label"'))
    assert x.shape == (40, 4) and x[:4, 1:].tolist() == [[0, 0, 1], [0, 1, 0], [1, 0, 0],
                                                         [0, 0, 1]]


NO_TENSORFLOW = """
import sys
from tuning.data.adapters import ADAPTERS, source_chunks
from tuning.spec.schema import load_spec

for path in sys.argv[1:]:
    spec = load_spec(path)
    adapter = ADAPTERS[spec.data.source.partition(":")[0]]
    assert not adapter.needs_tensorflow, spec.data.source
    rows = sum(len(chunk.y) for chunk in source_chunks(spec))
    print(spec.data.source, rows, "tensorflow" in sys.modules)
"""


def test_the_kinds_that_need_no_tensorflow_are_checked_and_read_without_it(tmp_path):
    from PIL import Image

    x = np.arange(40.0).reshape(20, 2)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(20) % 2)
    (tmp_path / "d").mkdir()
    np.save(tmp_path / "d" / "x.npy", x)
    np.save(tmp_path / "d" / "y.npy", np.arange(20) % 2)
    (tmp_path / "d.csv").write_text("a,b,y\n" + "1,2,0\n3,4,1\n" * 10)
    for name in ("a", "b"):
        (tmp_path / "pictures" / name).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (5, 4), (i, 0, 0)).save(tmp_path / "pictures" / name / f"{i}.png")
    sources = {"sklearn:iris": "", "csv:d.csv": 'target = "y"', "npz:d.npz": "", "npy:d": "",
               "images:pictures": "image_size = [4, 5]"}
    assert {s.partition(":")[0] for s in sources} == {
        kind for kind, adapter in ADAPTERS.items() if not adapter.needs_tensorflow}
    paths = []
    for i, (source, extra) in enumerate(sources.items()):
        paths.append(tmp_path / f"s{i}.toml")
        paths[-1].write_text(spec_text(source=source).replace("holdout = 0.2",
                                                              f"holdout = 0.2\n{extra}"))
    done = subprocess.run([sys.executable, "-c", NO_TENSORFLOW, *map(str, paths)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert [line.split()[1:] for line in done.stdout.splitlines()] == [
        ["150", "False"], ["20", "False"], ["20", "False"], ["20", "False"], ["6", "False"]]
