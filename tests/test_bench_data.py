"""The data and bookkeeping benchmarks' code paths, small: no timing or ratio is asserted
(those belong to `make bench`)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import numpy as np

from bench import bookkeeping, data


def test_footprint_counts_a_file_two_processes_map_once(tmp_path):
    rss, used = data.footprint([os.getpid()])
    assert 0 < used <= rss
    array = tmp_path / "shared.npy"
    np.save(array, np.ones((4_000_000,), dtype=np.float64))  # 30 MiB
    code = ("import sys, time, numpy as np; a = np.load(sys.argv[1], mmap_mode='r'); "
            "a.sum(); print('ready', flush=True); time.sleep(30)")
    readers = [subprocess.Popen([sys.executable, "-c", code, str(array)],
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for reader in readers:
            assert reader.stdout.readline().strip() == "ready"
        rss, used = data.footprint([r.pid for r in readers])
        assert rss - used > 25  # the mapped file's pages, resident in both, counted once
    finally:
        for reader in readers:
            reader.kill()
            reader.wait()


def test_bookkeeping_runs_the_search_path_and_writes_its_table(tmp_path):
    bookkeeping.run(sizes=(30,), measured=5, folder=tmp_path / "work", results=tmp_path)
    with (tmp_path / "bookkeeping.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["trials"] for r in rows] == ["30"]
    assert set(rows[0]) >= {"ms_per_trial", "oracle_save_ms", "tables_rebuilt_ms"}


def test_a_search_is_measured_against_the_bare_loops_on_either_side():
    walls = [("bare_fit_1", 10.0), ("steps_tuner_w1", 12.0), ("bare_fit_2", 14.0),
             ("steps_tuner_w2", 18.0), ("bare_fit_3", 16.0)]
    rows = data.bracketed([{"contender": name, "wall_s": wall, "rss_sum_mb": 100.0,
                            "footprint_mb": 100.0} for name, wall in walls])
    ratios = {row["contender"]: row["wall_ratio"] for row in rows}
    assert ratios["steps_tuner_w1"] == 1.0  # 12 s against the mean of 10 and 14
    assert ratios["steps_tuner_w2"] == 1.2  # 18 s against the mean of 14 and 16
    assert ratios["bare_fit_2"] == 14.0 / 13.0  # against the bare runs before and after
    assert ratios["bare_fit_1"] == 10.0 / 14.0 and ratios["bare_fit_3"] == 16.0 / 14.0
    assert {row["footprint_ratio"] for row in rows} == {1.0}


def test_the_bigdata_folder_is_labelled_by_brightness_and_its_spec_is_valid(tmp_path):
    from PIL import Image

    from bench import bigdata
    from tuning.spec.schema import load_spec
    from tuning.spec.tomlwrite import to_toml

    folder = bigdata.write_folder(tmp_path / "images", 12)
    bigdata.write_folder(folder, 12, start=12)  # the doubled folder: as many more
    files = sorted(folder.glob("*/*.png"))
    assert len(files) == 24 and {f.parent.name for f in files} <= set(bigdata.CLASSES)
    means: dict[str, list[float]] = {name: [] for name in bigdata.CLASSES}
    for path in files:
        with Image.open(path) as image:
            assert image.size == (bigdata.SIDE, bigdata.SIDE)
            means[path.parent.name].append(float(np.asarray(image).mean()))
    assert min(means["bright"]) > np.mean(means["dark"]) and max(means["dark"]) < np.mean(
        means["bright"])
    spec_path = tmp_path / "s.toml"
    spec_path.write_text(to_toml(bigdata.spec_for(folder)))
    spec = load_spec(spec_path)
    assert (spec.budget.semantics, spec.data.image_size) == ("stream", (96, 96))


def test_bigdata_ratios_are_against_the_bare_loops_and_the_single_folder():
    from bench import bigdata

    rows = bigdata.ratios([{"contender": n, "wall_s": w, "footprint_mb": f} for n, w, f in (
        ("bare_fit_1", 10.0, 500.0), ("steps_tuner", 11.0, 800.0),
        ("steps_tuner_doubled", 12.0, 880.0), ("bare_fit_2", 12.0, 500.0))])
    by_name = {row["contender"]: row for row in rows}
    assert by_name["steps_tuner"]["wall_ratio"] == 1.0
    assert by_name["steps_tuner_doubled"]["footprint_vs_single"] == 1.1
