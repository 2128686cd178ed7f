"""`serve RUN_DIR_OR_RESULTS`: the reports over HTTP, live ones included.

A page opened straight from the disk may not be allowed to read the files beside it; a
small standard-library server is. It listens on the loopback address unless told
otherwise, and serves only the folder it was given.
"""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

from tuning.spec.errors import UserError


class _Quiet(http.server.SimpleHTTPRequestHandler):
    """No line per request on the terminal; the page is the output."""

    def log_message(self, format: str, *args) -> None:
        pass


def make_server(folder: Path, host: str = "127.0.0.1",
                port: int = 8000) -> http.server.ThreadingHTTPServer:
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(str(folder), "no such folder (give a run directory or a results "
                                     "folder)")
    handler = functools.partial(_Quiet, directory=str(folder.resolve()))
    try:
        return http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise UserError("--port", f"cannot listen on {host}:{port}: {exc.strerror}") from None


def start_page(folder: Path) -> str:
    """The page to open first: a run's report, or a results folder's index."""
    folder = Path(folder)
    for name in ("report.html", "index.html"):
        if (folder / name).is_file():
            return name
    return ""
