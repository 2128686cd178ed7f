"""The staging folder a search writes its store into before it holds the run's lock: a
killed search leaves it behind, and the next start beside it removes it, and only it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, spec_text

from tuning.execution.run import staging_folder
from tuning.records import staging
from tuning.records.ownership import MARKER, STAGING, marker_text

#: A process that makes its staging folder in argv[1], says so on stdout, then waits.
MAKE_AND_WAIT = (
    "import sys, time; from pathlib import Path; from tuning.records import staging; "
    "print(staging.make(Path(sys.argv[1])), flush=True); time.sleep(600)"
)


def _start_maker(parent: Path) -> tuple[subprocess.Popen, Path]:
    child = subprocess.Popen([sys.executable, "-c", MAKE_AND_WAIT, str(parent)],
                             stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    return child, Path(child.stdout.readline().strip())


def test_a_killed_searchs_staging_folder_is_removed_at_the_next_start(tmp_path):
    killed, left = _start_maker(tmp_path)
    running, kept = _start_maker(tmp_path)
    try:
        (left / "store").mkdir()
        (left / "store" / "x.npy").write_bytes(b"half a store")
        killed.kill()
        killed.wait()
        users = tmp_path / f"{staging.PREFIX}4194304"  # the name, not the marker
        users.mkdir()
        (users / "notes.txt").write_text("mine")
        similar = tmp_path / f"{staging.PREFIX}{killed.pid}-old"
        similar.mkdir()
        (similar / MARKER).write_text((left / MARKER).read_text())
        elsewhere = tmp_path / f"{staging.PREFIX}4194305"  # another machine's, on a shared disk
        elsewhere.mkdir()
        (elsewhere / MARKER).write_text(marker_text(STAGING, host="another-machine"))

        mine = staging_folder(tmp_path / "run")  # what `run` does first

        assert not left.exists()
        assert kept.is_dir() and (kept / MARKER).is_file()  # its search still runs
        assert (users / "notes.txt").read_text() == "mine" and similar.is_dir()
        assert elsewhere.is_dir()
        assert mine == tmp_path / f"{staging.PREFIX}{os.getpid()}" and (mine / MARKER).is_file()
    finally:
        running.kill()
        running.wait()


def test_a_staging_folder_is_not_a_run_directory(tmp_path):
    from tuning.records.rundir import is_run_dir

    assert not is_run_dir(staging.make(tmp_path))


LOADERS = '''
import os, time
from pathlib import Path

def waits():
    Path(os.environ["STAGING_TEST_READY"]).write_text("reading")
    time.sleep(600)

def fails():
    raise RuntimeError("no database")
'''


@pytest.mark.slow
def test_a_search_killed_while_reading_its_data_leaves_nothing_after_the_next_start(tmp_path):
    (tmp_path / "loaders.py").write_text(LOADERS)
    for name in ("waits", "fails"):
        (tmp_path / f"{name}.toml").write_text(spec_text(source=f"python:loaders:{name}"))
    ready = tmp_path / "ready"
    search = subprocess.Popen(
        [sys.executable, "-m", "tuning", "run", str(tmp_path / "waits.toml"),
         "--out", str(tmp_path / "results" / "a")],
        env={**os.environ, "PYTHONPATH": str(ROOT), "STAGING_TEST_READY": str(ready)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() and time.monotonic() < deadline and search.poll() is None:
            time.sleep(0.1)
        assert ready.exists(), "the search never started reading its data"
        left = tmp_path / "results" / f"{staging.PREFIX}{search.pid}"
        assert left.is_dir()
    finally:
        os.killpg(search.pid, signal.SIGKILL)  # the search and its workers
        search.wait()
    assert left.is_dir()  # a kill removes nothing

    result = run_cli("run", str(tmp_path / "fails.toml"), "--out", str(tmp_path / "results" / "b"))

    assert result.returncode == 2 and "no database" in result.stderr
    assert not list((tmp_path / "results").glob(f"{staging.PREFIX}*"))
