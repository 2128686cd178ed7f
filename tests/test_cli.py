"""The command line as a user meets it: exit codes, one-line errors, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, spec_text

BAD_RUNS = [
    ("malformed toml", "[data\n", "not valid TOML"),
    ("unknown key", spec_text(experiment={"colour": 1}), "experiment.colour"),
    ("split out of range", spec_text(splits=[1.2]), "search.space.validation_split"),
    ("empty list", spec_text(steps=[]), "empty list"),
    ("missing csv", spec_text(source="csv:gone.csv", data={"target": "y"}),
     "gone.csv: no such file"),
    ("builder module missing", spec_text(builder="no_such_module:build"), "model.builder"),
    pytest.param("builder function missing", spec_text(builder="tuning.models:nothing"),
                 "model.builder", marks=pytest.mark.slow),  # imports tuning.models: TensorFlow
    ("too few samples", spec_text(data={"holdout": 0.0001}), "data.holdout"),
]


@pytest.mark.parametrize("label,text,expected", BAD_RUNS,
                         ids=[getattr(b, "values", b)[0] for b in BAD_RUNS])
def test_bad_input_is_one_line_exit_2_and_no_run_directory(tmp_path, label, text, expected):
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    out = tmp_path / "run"
    result = run_cli("run", str(spec), "--out", str(out))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
    assert "Traceback" not in result.stderr
    assert not out.exists()


@pytest.mark.slow
def test_builder_that_fails_to_import_is_a_user_error(tmp_path):
    (tmp_path / "broken_builder.py").write_text(
        "import not_installed_anywhere\n\ndef build(hp, s, n):\n    pass\n")
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text(builder="broken_builder:build"))
    out = tmp_path / "run"
    result = run_cli("run", str(spec), "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: model.builder: importing")
    assert "Traceback" not in result.stderr
    assert not out.exists()
    # The worker that imported it kept the whole traceback, its cause included, in the
    # file the line names.
    line = result.stderr.strip().splitlines()[-1]
    assert "(traceback in " in line
    kept = Path(line.rpartition("(traceback in ")[2].rstrip(")")).read_text()
    assert "ModuleNotFoundError: No module named 'not_installed_anywhere'" in kept
    assert "direct cause of the following exception" in kept
    debug = run_cli("run", str(spec), "--out", str(out), env={"STEPS_TUNER_DEBUG": "1"})
    assert debug.returncode == 2
    assert "Traceback" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1].startswith("error: model.builder: importing")


def test_bad_command_line_values(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text())
    for args, expected in ((["--memory-budget", "lots"], "--memory-budget"),
                           (["--workers", "0"], "--workers")):
        result = run_cli("run", str(spec), "--out", str(tmp_path / "r"), *args)
        assert result.returncode == 2 and expected in result.stderr
    assert not (tmp_path / "r").exists()


def test_validate_prints_the_grid_and_warns_when_steps_are_cut(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text(steps=[4, 5000], splits=[0.1, 0.3]))
    result = run_cli("validate", str(spec))
    assert result.returncode == 0, result.stderr
    assert "4 grid point(s)" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith("5000")]
    assert [r[:5] for r in rows] == [["5000", "0.1", "1294", "1", "1294"],
                                     ["5000", "0.3", "1006", "1", "1006"]]
    assert "warning: steps_per_epoch=5000" in result.stdout


def test_help_and_validate_do_not_import_tensorflow(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text())
    code = (f"import sys; from tuning.cli import main; main(['validate', {str(spec)!r}]); "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert run_cli("--help").returncode == 0


@pytest.mark.slow
def test_a_search_refused_in_process_leaves_the_callers_stderr_alone(tmp_path):
    """Refused while TensorFlow is still being imported in the background (here: its data
    cannot be read), in the caller's own process, as from a notebook: the stream the caller
    sets afterwards must stay, and the refusal is said on the real stderr meanwhile."""
    (tmp_path / "cut.npz").write_bytes(b"PK\x03\x04 not a whole zip")
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text(source="npz:cut.npz"))
    code = (
        "import io, sys, threading\n"
        "from tuning.cli import main\n"
        f"assert main(['run', {str(spec)!r}, '--out', {str(tmp_path / 'run')!r}]) == 2\n"
        "mine = sys.stderr = io.StringIO()\n"
        "for thread in threading.enumerate():\n"
        "    if thread.name == 'import-tensorflow':\n"
        "        thread.join()\n"
        "assert sys.stderr is mine, 'the import put back an old stream'\n"
        "import tensorflow\n"  # and the import itself went through whole
        "sys.__stderr__.write('ok ' + tensorflow.__name__)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path, env={**__import__("os").environ,
                                                            "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert "cannot read as .npz" in result.stderr and "ok tensorflow" in result.stderr


@pytest.mark.slow
def test_tensorflow_warnings_of_a_worker_go_to_its_log_not_the_terminal(tmp_path):
    (tmp_path / "noisy_builder.py").write_text(
        "import multiprocessing\n"
        "import tensorflow as tf\n"
        "from tuning.models import mlp\n\n\n"
        "def build(hp, input_shape, n_outputs):\n"
        "    if multiprocessing.current_process().name.startswith('steps-tuner-worker'):\n"
        "        tf.get_logger().warning('noisy builder in a worker')\n"
        "    return mlp(hp, input_shape, n_outputs)\n")
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text(builder="noisy_builder:build", steps=[4]))
    result = run_cli("run", str(spec), "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    assert "noisy builder" not in result.stdout + result.stderr
    log = (tmp_path / "run" / "logs" / "worker-0.log").read_text()
    assert "noisy builder in a worker" in log
