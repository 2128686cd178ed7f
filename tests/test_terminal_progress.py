"""A search run in a terminal shows where the running trial is, in place; the lines per
trial are the same as when piped."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest
from conftest import ROOT, spec_text

pytestmark = pytest.mark.slow  # every test here trains or runs a search


def test_a_terminal_gets_a_status_line_redrawn_in_place(tmp_path):
    spec = tmp_path / "slow.toml"
    spec.write_text(spec_text(name="slow", steps=[256], epochs=4))
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "tuning", "run", str(spec), "--out", str(tmp_path / "run")],
        stdout=follower, stderr=subprocess.DEVNULL, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the command is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 0
    screen = b"".join(chunks).decode(errors="replace")
    redraws = re.findall(r"\r\x1b\[2K(trial 0: [^\r\n]*)", screen)
    assert redraws, screen[-2000:]
    assert all("[0/1 done, " in r for r in redraws if r.startswith("trial 0"))
    assert any(re.search(r"epoch [1-4]/4", r) for r in redraws), redraws
    lines = [line for line in screen.replace("\r\x1b[2K", "\n").splitlines()
             if line.startswith("[")]
    assert len(lines) == 1 and " ok " in lines[0]  # the trial's own line, as when piped
