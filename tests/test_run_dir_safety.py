"""The run directory is the tool's own, knows what it was made from, and survives damage.

A table of folders, changes and damage, tried as a user would meet them: each case says the
exit code, the line that must be printed and the files that must be left as they were
(hashed before and after). One finished search of digits (and one of a CSV) is made once per
module; every case works on its own copy. The table runs in this process (`tuning.cli.main`,
no training); the cases that resume a search train for real, in a fresh process, and are
marked slow.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli, spec_text

import tuning
from tuning.cli import main
from tuning.records.ownership import MARKER, read_marker
from tuning.records.trials import read_table

SPEC = spec_text(epochs=1).replace("confirm_runs = 0", "confirm_runs = 1")
CSV_SPEC = SPEC.replace('source = "sklearn:digits"',
                        'source = "csv:d.csv"\ntarget = "target"')


def _digits_csv(path: Path) -> None:
    from sklearn.datasets import load_digits

    load_digits(as_frame=True).frame.to_csv(path, index=False)


def _search(folder: Path, text: str, out: str) -> Path:
    (folder / "s.toml").write_text(text)
    result = run_cli("run", "s.toml", "--out", out, "--workers", "1", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / out


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished 2-trial search of digits (with one fresh-seed re-run) in results/run."""
    folder = tmp_path_factory.mktemp("digits")
    return _search(folder, SPEC, "results/run")


@pytest.fixture(scope="module")
def finished_csv(tmp_path_factory) -> Path:
    """The same search of digits read from a CSV file, in run/ beside its d.csv."""
    folder = tmp_path_factory.mktemp("csv")
    _digits_csv(folder / "d.csv")
    return _search(folder, CSV_SPEC, "run")


def tree(root: Path, skip: Path | None = None) -> dict[str, str]:
    """Every entry under root: a file's content hash, a folder, or a link's target."""
    found = {}
    for path in sorted(root.rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        name = str(path.relative_to(root))
        if path.is_symlink():
            found[name] = f"link to {os.readlink(path)}"
        elif path.is_dir():
            found[name] = "folder"
        else:
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


# What a case starts from, and what it changes ----------------------------------------------

Setup = Callable[[Path], None]


def files(entries: dict[str, str | bytes]) -> Setup:
    def write(root: Path) -> None:
        for name, content in entries.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
    return write


def truncate(name: str, keep: int = 60) -> Setup:
    def cut(root: Path) -> None:
        path = root / name
        path.write_bytes(path.read_bytes()[:keep])
    return cut


def replace_with_folder(name: str) -> Setup:
    def swap(root: Path) -> None:
        path = root / name
        path.unlink()
        (path / "inside").mkdir(parents=True)
    return swap


def dangling_link(name: str) -> Setup:
    def swap(root: Path) -> None:
        path = root / name
        path.unlink()
        path.symlink_to(root / "nowhere" / "gone.json")
    return swap


def remove(*names: str) -> Setup:
    def drop(root: Path) -> None:
        for name in names:
            path = root / name
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return drop


def edit(name: str, old: str, new: str) -> Setup:
    def change(root: Path) -> None:
        path = root / name
        text = path.read_text()
        assert old in text, old
        path.write_text(text.replace(old, new, 1))
    return change


def both(*steps: Setup) -> Setup:
    def run(root: Path) -> None:
        for step in steps:
            step(root)
    return run


def record_copy(source: str, target: str, trial_id: str) -> Setup:
    """A record of this run copied under another trial's name, its trial_id edited to fit."""
    def copy(root: Path) -> None:
        payload = json.loads((root / source).read_text())
        payload["row"]["trial_id"] = trial_id
        (root / target).write_text(json.dumps(payload))
    return copy


def hand_made_record(name: str, trial_id: str) -> Setup:
    """A well-formed record nobody's search wrote, scoring better than any trial."""
    row = {"trial_id": trial_id, "status": "ok", "steps_per_epoch": 2, "validation_split": 0.2,
           "batch_size": 100, "holdout_accuracy": 0.999, "holdout_loss": 0.01}
    return files({name: json.dumps({"row": row, "curves": []})})


def other_run_record(name: str) -> Setup:
    """A record of the CSV run (marked with that run's key) put in this run's records."""
    def copy(root: Path) -> None:
        shutil.copyfile(root / "other" / "records" / "trial_1.json", root / name)
    return copy


OTHER_TOOL_TRIALS = "Name,Value,Comment\nalpha,1,from a spreadsheet\nbeta,2,\n"
RUN = "results/run"
R = f"{RUN}/records"


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    setup: Setup
    code: int
    expect: str             # a part of the line that must be on stderr ("" for none)
    keep: tuple[str, ...] = ()  # paths (under the case's folder) that must not change
    absent: tuple[str, ...] = ()  # trial ids the rebuilt trials.csv must not hold
    index: bool | None = None  # whether the report must (re)write the results index


REPORT = ("report", RUN)

# 1. A folder that is not the tool's: refused by run, run --fresh and report, left as it was.
USER_FOLDERS = {
    "records and plots of the user's": {"mine/records/sheet.csv": "a,b\n1,2\n",
                                        "mine/plots/figure.png": b"\x89PNG\r\n\x1a\n..."},
    "report files of the user's": {"mine/report.md": "# my notes\n", "mine/summary.json": "{}",
                                   "mine/trials.csv": "trial_id,status\n1,ok\n"},
    "one hidden file": {"mine/.gitkeep": ""},
    "a spec.toml alone": {"mine/spec.toml": SPEC},
    "a user's run.json beside a spec": {"mine/spec.toml": SPEC, "mine/run.json": '{"a": 1}'},
    "a results folder of the tool": {f"mine/{MARKER}": '{"kind": "results"}',
                                     "mine/index.html": "<p>runs</p>"},
}
OWNERSHIP = [
    Case(f"{command} refuses {what}", argv, files(content), 2,
         "mine: not a run directory of this tool (no .steps-tuner run marker) and not empty")
    for what, content in USER_FOLDERS.items()
    for command, argv in (("run", ("run", "s.toml", "--out", "mine", "--workers", "1")),
                          ("run --fresh", ("run", "s.toml", "--out", "mine", "--fresh",
                                           "--workers", "1")),
                          ("report", ("report", "mine")))
]

# 2. A resume that is not the same experiment: refused, naming what changed.
CSV_RUN = ("run", "c.toml", "--out", "other", "--workers", "1")
PROVENANCE = [
    Case("the data: a value edited", CSV_RUN, edit("d.csv", "\n0.0,0.0,5.0", "\n0.0,0.0,6.0"),
         2, "other: the data changed since the run began"),
    Case("the data: a row appended", CSV_RUN,
         lambda root: (root / "d.csv").write_text((root / "d.csv").read_text()
                                                  + (root / "d.csv").read_text()
                                                  .splitlines()[1] + "\n"),
         2, "other: the data changed since the run began"),
    Case("the data: rows reordered", CSV_RUN,
         lambda root: (root / "d.csv").write_text("\n".join(
             [(lines := (root / "d.csv").read_text().splitlines())[0], *lines[:0:-1]]) + "\n"),
         2, "other: the data changed since the run began"),
    Case("the data: another file of the same columns", CSV_RUN,
         lambda root: (root / "d.csv").write_text("\n".join(
             (lines := (root / "d.csv").read_text().splitlines())[:1] + lines[1:1500]) + "\n"),
         2, "other: the data changed since the run began"),
    Case("the preparation: holdout", CSV_RUN, edit("c.toml", "holdout = 0.2", "holdout = 0.3"),
         2, "the data's preparation changed since the run began (data.holdout: 0.2 -> 0.3)"),
    Case("the preparation: test rows", CSV_RUN, edit("c.toml", "test = 0.0", "test = 0.1"),
         2, "the data's preparation changed since the run began (data.test: 0.0 -> 0.1)"),
    Case("the preparation: seed", CSV_RUN, edit("c.toml", "seed = 3", "seed = 4"),
         2, "preparation changed since the run began (experiment.seed: 3 -> 4)"),
    Case("the spec: epochs", CSV_RUN, edit("c.toml", "epochs = 1", "epochs = 2"),
         2, "holds a search of a different spec (budget.epochs: 1 -> 2)"),
    Case("the spec: the searched values", CSV_RUN,
         edit("c.toml", "steps_per_epoch = [4, 8]", "steps_per_epoch = [4, 16]"),
         2, "holds a search of a different spec (search.space:"),
    Case("the spec: the model", CSV_RUN,
         edit("c.toml", 'builder = "tuning.models:mlp"', 'builder = "tuning.models:cnn"'),
         2, "holds a search of a different spec (model.builder:"),
    Case("spec.toml deleted", CSV_RUN, remove("other/spec.toml"),
         2, "other: holds a search's trials but no spec.toml"),
    Case("spec.toml deleted and the tables too", CSV_RUN,
         remove("other/spec.toml", "other/trials.csv", "other/curves.csv"),
         2, "other: holds a search's trials but no spec.toml"),
    Case("spec.toml damaged", CSV_RUN, truncate("other/spec.toml", 30),
         2, "other: its spec.toml cannot be read"),
]

# 3. Records the search did not write: named, left out of the tables and the report.
FOREIGN = [
    Case("a record for a trial never run", REPORT, hand_made_record(f"{R}/trial_99.json", "99"),
         0, f"{R}/trial_99.json: not a record of this search", keep=(f"{R}/trial_99.json",),
         absent=("99",)),
    Case("a record copied to another trial", REPORT,
         record_copy(f"{R}/trial_0.json", f"{R}/trial_5.json", "5"),
         0, f"{R}/trial_5.json: not a record of this search", absent=("5",)),
    Case("a record of another run in a trial's place", REPORT,
         other_run_record(f"{R}/trial_1.json"),
         0, f"{R}/trial_1.json: not a record of this search", absent=("1",)),
    Case("a hand-made record without its status", REPORT,
         files({f"{R}/trial_7.json": json.dumps({"row": {"trial_id": "7"}, "curves": []})}),
         0, f"{R}/trial_7.json: not a record of this search", absent=("7",)),
    Case("a re-run record dropped in", REPORT, hand_made_record(f"{R}/confirm_0_9.json",
                                                                "confirm_0_9"),
         0, f"{R}/confirm_0_9.json: not a record of this search"),
]

# 4. Damaged files: each named in one warning, the report built from what is sound.
DAMAGED = [
    Case("predictions cut short", REPORT, truncate(f"{R}/trial_0.npz"),
         0, f"{R}/trial_0.npz: damaged record (its predictions cannot be read", absent=("0",)),
    Case("predictions empty", REPORT, files({f"{R}/trial_1.npz": b""}),
         0, f"{R}/trial_1.npz: damaged record (its predictions cannot be read", absent=("1",)),
    Case("predictions replaced by text", REPORT, files({f"{R}/trial_0.npz": "not arrays\n"}),
         0, f"{R}/trial_0.npz: damaged record", absent=("0",)),
    Case("predictions a folder", REPORT, replace_with_folder(f"{R}/trial_1.npz"),
         0, f"{R}/trial_1.npz: damaged record", absent=("1",)),
    Case("a re-run's predictions cut short", REPORT, truncate(f"{R}/confirm_1_0.npz"),
         0, f"{R}/confirm_1_0.npz: damaged record (its predictions cannot be read"),
    Case("labels cut short", REPORT, truncate(f"{RUN}/labels.npz"),
         0, f"{RUN}/labels.npz: damaged (cannot be read"),
    Case("labels a folder", REPORT, replace_with_folder(f"{RUN}/labels.npz"),
         0, f"{RUN}/labels.npz: damaged (cannot be read"),
    Case("run.json cut short", REPORT, truncate(f"{RUN}/run.json", 20),
         0, f"{RUN}/run.json: damaged (cannot be read"),
    Case("run.json a list", REPORT, files({f"{RUN}/run.json": "[1, 2]"}),
         0, f"{RUN}/run.json: damaged (holds a JSON list, not an object)"),
    Case("run.json a string", REPORT, files({f"{RUN}/run.json": '"finished"'}),
         0, f"{RUN}/run.json: damaged (holds a JSON str, not an object)"),
    Case("run.json not text", REPORT, files({f"{RUN}/run.json": b"\xff\xfe\x00{"}),
         0, f"{RUN}/run.json: damaged (cannot be read"),
    Case("a record cut short", REPORT, truncate(f"{R}/trial_1.json", 100),
         0, f"{R}/trial_1.json: damaged record (not JSON", absent=("1",)),
    Case("a record not text", REPORT, files({f"{R}/trial_0.json": b"\x00\xff\xfe"}),
         0, f"{R}/trial_0.json: damaged record (not UTF-8 text)", absent=("0",)),
    Case("a record a JSON list", REPORT, files({f"{R}/trial_0.json": "[]"}),
         0, f"{R}/trial_0.json: damaged record (no 'row' table", absent=("0",)),
    Case("a record a folder", REPORT, replace_with_folder(f"{R}/trial_1.json"),
         0, f"{R}/trial_1.json: damaged record (cannot read it: a folder)", absent=("1",)),
    Case("a record a dangling link", REPORT, dangling_link(f"{R}/trial_0.json"),
         0, f"{R}/trial_0.json: damaged record (cannot read it", absent=("0",)),
    Case("a re-run record cut short", REPORT, truncate(f"{R}/confirm_1_0.json"),
         0, f"{R}/confirm_1_0.json: damaged record (not JSON"),
    Case("the marker damaged", REPORT, files({f"{RUN}/{MARKER}": "{"}),
         0, f"{RUN}/{MARKER}: damaged"),
    Case("trials.csv of another tool, records kept", REPORT,
         files({f"{RUN}/trials.csv": OTHER_TOOL_TRIALS}), 0, ""),
    Case("trials.csv not text, records kept", REPORT,
         files({f"{RUN}/trials.csv": b"\x00\xff,\n\xfe"}), 0, ""),
    Case("curves.csv a folder, records kept", REPORT, replace_with_folder(f"{RUN}/curves.csv"),
         0, f"{RUN}/curves.csv: damaged (a folder where the table goes)"),
    Case("trials.csv of another tool, no records", REPORT,
         both(remove(R), files({f"{RUN}/trials.csv": OTHER_TOOL_TRIALS})),
         2, f"{RUN}/trials.csv: not a trials.csv of this tool (no trial_id, status column)"),
    Case("trials.csv not text, no records", REPORT,
         both(remove(R), files({f"{RUN}/trials.csv": b"\x00\xff,\n\xfe"})),
         2, f"{RUN}/trials.csv: cannot be read"),
    Case("curves.csv of another tool, no records", REPORT,
         both(remove(R), files({f"{RUN}/curves.csv": OTHER_TOOL_TRIALS})),
         2, f"{RUN}/curves.csv: not a curves.csv of this tool"),
    Case("every record damaged", REPORT,
         both(truncate(f"{R}/trial_0.json"), truncate(f"{R}/trial_1.json")),
         2, "nothing sound is left to report on: all 2 record(s)"),
    Case("every record another run's", REPORT,
         both(other_run_record(f"{R}/trial_0.json"), other_run_record(f"{R}/trial_1.json")),
         2, "nothing sound is left to report on"),
    Case("spec.toml not TOML", REPORT, files({f"{RUN}/spec.toml": "[experiment\n"}),
         2, f"{RUN}/spec.toml"),
]

# 5. Run directories made before the marker still report; the index goes only where it may.
BEFORE_MARKER = [
    Case("a run made before the marker", REPORT, remove(f"{RUN}/{MARKER}"), 0, ""),
    Case("a run made before the marker, run.json damaged", REPORT,
         both(remove(f"{RUN}/{MARKER}"), truncate(f"{RUN}/run.json", 10)),
         0, f"{RUN}/run.json: damaged"),
    Case("a run made before the marker, without the tuner's state", REPORT,
         remove(f"{RUN}/{MARKER}", f"{RUN}/tuner"), 0, ""),
    Case("a run made before the marker, its labels damaged", REPORT,
         both(remove(f"{RUN}/{MARKER}"), truncate(f"{RUN}/labels.npz")),
         0, f"{RUN}/labels.npz: damaged"),
]
def results_renamed(marker: str | None) -> Setup:
    """results/ renamed site/ and holding a page of the user's, its marker replaced."""
    def change(root: Path) -> None:
        (root / "results").rename(root / "site")
        (root / "site" / MARKER).unlink()
        if marker is not None:
            (root / "site" / MARKER).write_text(marker)
        (root / "site" / "index.html").write_text("<p>my page</p>")
    return change


INDEX = [
    Case("report in the results folder the tool made", REPORT, lambda root: None, 0, "",
         index=True),
    Case("report in a user's folder keeps its index.html", ("report", "site/run"),
         results_renamed(None), 0, "", keep=("site/index.html",), index=False),
    Case("report in a folder marked as a run keeps its index.html", ("report", "site/run"),
         results_renamed('{"kind": "run"}'), 0, "", keep=("site/index.html",), index=False),
    Case("report in a folder with a damaged marker keeps its index.html", ("report", "site/run"),
         results_renamed("{"), 0, "", keep=("site/index.html",), index=False),
    Case("index DIR writes it where asked", ("index", "site"), results_renamed(None), 0, "",
         index=True),
]

CASES = [*OWNERSHIP, *PROVENANCE, *FOREIGN, *DAMAGED, *BEFORE_MARKER, *INDEX]


def test_the_table_covers_every_class_with_variants():
    assert len({c.id for c in CASES}) == len(CASES)
    for group in (OWNERSHIP, PROVENANCE, FOREIGN, DAMAGED, BEFORE_MARKER, INDEX):
        assert len(group) >= 4


@pytest.fixture
def case_root(tmp_path, finished, finished_csv, monkeypatch) -> Path:
    """A copy of the finished runs: results/run (digits), other/ (the CSV's) with d.csv and
    c.toml beside it, s.toml the digits spec; the working directory is that folder."""
    shutil.copytree(finished, tmp_path / RUN, symlinks=True)
    shutil.copyfile(finished.parent / MARKER, tmp_path / "results" / MARKER)
    shutil.copytree(finished_csv, tmp_path / "other", symlinks=True)
    shutil.copyfile(finished_csv.parent / "d.csv", tmp_path / "d.csv")
    (tmp_path / "s.toml").write_text(SPEC)
    (tmp_path / "c.toml").write_text(CSV_SPEC)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_run_directory_case(case_root, capsys, case):
    root = case_root
    case.setup(root)
    before = tree(root)
    folder = root / case.argv[1]
    index = (folder.parent if case.argv[0] == "report" else folder) / "index.html"
    index_before = index.read_bytes() if index.is_file() else None
    code = main(list(case.argv))
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == case.code, err
    if case.code == 2:
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert case.expect in lines[0], lines[0]
        assert tree(root) == before, "something was written or removed"
        return
    assert not [line for line in lines if not line.startswith("warning: ")], err
    if case.expect:
        assert [line for line in lines if case.expect in line], err
    else:
        assert not lines, err
    after = tree(root)
    for kept in case.keep:
        assert after[kept] == before[kept], kept
    if case.argv[0] == "report":
        run_dir = root / case.argv[1]
        table = read_table(run_dir / "trials.csv")
        assert {"trial_id", "status"} <= set(table.columns)
        assert not set(case.absent) & set(table.trial_id), table.trial_id.tolist()
        summary = json.loads((run_dir / "summary.json").read_text())
        recommended = (summary.get("recommended") or {}).get("trial_id")
        assert recommended not in case.absent
        # Outside the run directory nothing changes but the index, where it may.
        for name, digest in before.items():
            if not name.startswith(case.argv[1]) and not name.endswith("index.html"):
                assert after.get(name) == digest, name
    if case.index is True:
        assert index.is_file() and index.read_bytes() != index_before
        assert "<h1>Tuning runs</h1>" in index.read_text()
    elif case.index is False:
        assert index.read_bytes() == index_before


# The Python API reads damaged run directories without a raw exception ----------------------

LOAD_CASES = {
    "trials.csv of another tool": (files({f"{RUN}/trials.csv": OTHER_TOOL_TRIALS}),
                                   "trials.csv: not a trials.csv of this tool"),
    "trials.csv not text": (files({f"{RUN}/trials.csv": b"\x00\xff,\n\xfe"}),
                            "trials.csv: cannot be read"),
    "trials.csv missing": (remove(f"{RUN}/trials.csv"), "trials.csv: missing"),
    "curves.csv a folder": (replace_with_folder(f"{RUN}/curves.csv"),
                            "curves.csv: a folder, not a file"),
    "summary.json cut short": (truncate(f"{RUN}/summary.json", 30), "summary.json: damaged"),
    "summary.json a list": (files({f"{RUN}/summary.json": "[]"}),
                            "summary.json: damaged (a JSON list)"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", LOAD_CASES)
def test_load_reads_what_is_sound_and_names_the_rest(case_root, name):
    setup, expect = LOAD_CASES[name]
    setup(case_root)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = tuning.load(RUN)
    messages = [str(w.message) for w in caught]
    assert [m for m in messages if expect in m], messages
    assert sorted(result.trials.trial_id) == ["0", "1"]
    assert isinstance(result.summary, dict)


@pytest.mark.slow
@pytest.mark.parametrize("setup", [
    both(remove(R), files({f"{RUN}/trials.csv": OTHER_TOOL_TRIALS})),
    both(remove(R), files({f"{RUN}/trials.csv": b"\x00\xff,\n\xfe"})),
    both(truncate(f"{R}/trial_0.json"), truncate(f"{R}/trial_1.json"),
         files({f"{RUN}/trials.csv": OTHER_TOOL_TRIALS})),
    both(remove(f"{RUN}/spec.toml"), files({f"{RUN}/trials.csv": OTHER_TOOL_TRIALS})),
], ids=["no records", "no records, table not text", "records damaged", "no spec"])
def test_load_with_nothing_sound_raises_spec_error(case_root, setup):
    setup(case_root)
    with pytest.raises(tuning.SpecError, match="trials.csv|tables cannot be read"):
        tuning.load(RUN)


# Resumes and fresh starts, for real -----------------------------------------------------------

def _copy_run(finished: Path, tmp_path: Path) -> Path:
    shutil.copytree(finished.parent, tmp_path / "results", symlinks=True)
    (tmp_path / "s.toml").write_text(SPEC)
    return tmp_path / RUN


def _run(tmp_path: Path, *extra: str, out: str = RUN):
    return run_cli("run", "s.toml", "--out", out, "--workers", "1", *extra, cwd=tmp_path)


def trained(stdout: str) -> int:
    """How many trials of the search trained (fresh-seed re-runs not counted)."""
    return len(re.findall(r"\] trial \d+ ok ", stdout))


@pytest.mark.slow
def test_a_fresh_start_removes_only_what_the_tool_wrote(finished, tmp_path):
    run_dir = _copy_run(finished, tmp_path)
    files({f"{RUN}/notes.txt": "my notes\n", f"{RUN}/mine/table.csv": "a\n1\n",
           f"{RUN}/.hidden": "x"})(tmp_path)
    key = read_marker(run_dir).key
    before = tree(tmp_path)
    result = _run(tmp_path, "--fresh")
    assert result.returncode == 0, result.stderr
    assert trained(result.stdout) == 2  # trained again, both trials
    after = tree(tmp_path)
    for name in (f"{RUN}/notes.txt", f"{RUN}/mine/table.csv", f"{RUN}/.hidden"):
        assert after[name] == before[name]
    assert read_marker(run_dir).key not in (None, key)  # earlier records pass for none of it


@pytest.mark.slow
def test_index_html_of_a_users_folder_is_never_replaced(tmp_path):
    files({"site/index.html": "<p>my site</p>", "site/about.html": "<p>me</p>",
           "s.toml": SPEC})(tmp_path)
    before = tree(tmp_path / "site")
    result = _run(tmp_path, out="site/tuning-run")
    assert result.returncode == 0, result.stderr
    after = tree(tmp_path / "site", skip=tmp_path / "site" / "tuning-run")
    assert after == before  # no index.html written over, no marker added
    assert (tmp_path / "site" / "tuning-run" / "report.html").is_file()


@pytest.mark.slow
def test_a_resume_reruns_every_damaged_trial_and_names_each_file(finished, tmp_path):
    run_dir = _copy_run(finished, tmp_path)
    records = run_dir / "records"
    truncate(f"{R}/trial_0.npz")(tmp_path)
    replace_with_folder(f"{R}/trial_1.json")(tmp_path)
    truncate(f"{RUN}/labels.npz")(tmp_path)
    files({f"{RUN}/run.json": "[]"})(tmp_path)
    result = _run(tmp_path)
    assert result.returncode == 0, result.stderr
    for damaged in (f"{R}/trial_0.npz", f"{R}/trial_1.json", f"{RUN}/labels.npz",
                    f"{RUN}/run.json"):
        assert f"warning: {damaged}: damaged" in result.stderr, damaged
    assert trained(result.stdout) == 2  # both trials trained again
    table = read_table(run_dir / "trials.csv")
    assert sorted(table.trial_id) == ["0", "1"] and (table.status == "ok").all()
    assert np.load(records / "trial_0.npz")["holdout_pred"].size
    assert (records / "trial_1.json.set-aside" / "inside").is_dir()  # the folder, kept
    assert json.loads((run_dir / "run.json").read_text())["state"] == "finished"
    again = run_cli("report", RUN, cwd=tmp_path)
    assert again.returncode == 0 and "warning" not in again.stderr, again.stderr


@pytest.mark.slow
def test_a_resume_leaves_out_records_it_did_not_write(finished, finished_csv, tmp_path):
    run_dir = _copy_run(finished, tmp_path)
    hand_made_record(f"{R}/trial_99.json", "99")(tmp_path)
    dropped = (run_dir / "records" / "trial_99.json").read_bytes()
    shutil.copyfile(finished_csv / "records" / "trial_1.json", run_dir / "records" / "trial_1.json")
    result = _run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (f"warning: {R}/trial_99.json: not a record of this search" in result.stderr
            and "left out" in result.stderr)
    assert f"warning: {R}/trial_1.json: not a record of this search" in result.stderr
    assert trained(result.stdout) == 1  # trial 1 ran again, with this run's data
    assert (run_dir / "records" / "trial_99.json").read_bytes() == dropped  # left alone
    kept = run_dir / "records" / "trial_1.json.set-aside"
    assert kept.read_bytes() == (finished_csv / "records" / "trial_1.json").read_bytes()
    table = read_table(run_dir / "trials.csv")
    assert sorted(table.trial_id) == ["0", "1"]


@pytest.mark.slow
def test_a_run_made_before_the_marker_resumes_and_is_marked(finished, tmp_path):
    run_dir = _copy_run(finished, tmp_path)
    (run_dir / MARKER).unlink()
    state = json.loads((run_dir / "run.json").read_text())
    for key in ("data_hash", "preparation"):
        state.pop(key)
    (run_dir / "run.json").write_text(json.dumps(state))
    result = _run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert trained(result.stdout) == 0  # nothing trained again
    marker = read_marker(run_dir)
    assert marker.kind == "run" and marker.key is None  # its unmarked records stay its own
    assert "data_hash" in json.loads((run_dir / "run.json").read_text())


@pytest.mark.slow
def test_a_failed_start_leaves_an_empty_folder_empty(tmp_path):
    (tmp_path / "out").mkdir()
    files({"broken.py": "def build(hp, input_shape, n_outputs):\n    raise RuntimeError('no')\n",
           "s.toml": SPEC.replace("tuning.models:mlp", "broken:build")})(tmp_path)
    result = run_cli("run", "s.toml", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.slow
def test_the_python_api_refuses_to_resume_on_other_data(tmp_path, monkeypatch):
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    spec = {"experiment": {"name": "api", "seed": 3},
            "data": {"source": "sklearn:digits", "holdout": 0.2, "test": 0.0},
            "budget": {"semantics": "partition", "epochs": 1},
            "search": {"tuner": "grid", "confirm_runs": 0,
                       "space": {"steps_per_epoch": [4], "validation_split": [0.2]}},
            "resources": {"workers": 1}}
    out = tmp_path / "run"
    monkeypatch.setenv("STEPS_TUNER_CACHE", str(tmp_path / "cache"))
    first = tuning.search(spec, data=(x[:800], y[:800]), out=out)
    assert len(first.trials) == 1
    changed = y[:800].copy()
    changed[0] = (changed[0] + 1) % 10
    before = tree(out)
    with pytest.raises(tuning.SpecError, match="the data changed since the run began"):
        tuning.search(spec, data=(x[:800], changed), out=out)
    assert tree(out) == before
