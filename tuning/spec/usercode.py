"""Running the user's code (builders, `python:` loaders) so that it cannot end the tool.

A builder that calls `sys.exit(0)` or `os._exit(3)`, raises `KeyboardInterrupt` itself,
blocks, or changes the working directory would otherwise end or hang the search with nothing
said, or split its files across two folders. Inside `contained`:
- `SystemExit`, a `KeyboardInterrupt` that no Ctrl-C sent, and `os._exit` (stood in for while
  the code runs: a process boundary here would cost a second TensorFlow import per run)
  become `LeftUserCode`, an ordinary exception that the caller reports as the user's error;
- a time limit, where one is given, ends a call that blocks (`UserCodeTimeout`); it needs a
  signal, so it holds on the main thread only, where the command line runs;
- the working directory is put back.
A real Ctrl-C stays a `KeyboardInterrupt`, so the search still stops and resumes as usual.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuning.spec.schema import Spec


#: How long the builder may take to build the model once, when the spec sets no per-trial
#: limit (`resources.trial_timeout_s`, which it obeys otherwise): far beyond any model
#: built from code, short enough that a builder that waits on something never comes back.
CHECK_BUILD_LIMIT_S = 120.0


def check_limit(spec: Spec) -> float:
    """How long building the model once to check it may take."""
    return spec.resources.trial_timeout_s or CHECK_BUILD_LIMIT_S


class LeftUserCode(Exception):
    """The user's code tried to end the process (or to stop it from going on)."""


class UserCodeTimeout(LeftUserCode):
    """The user's code was still running when its time limit passed."""


class _Exited(BaseException):
    """Raised in place of `os._exit` while the user's code runs; not an `Exception`, so a
    bare `except Exception` in that code cannot swallow it."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Alarm(BaseException):
    """The time limit, raised into the user's code by SIGALRM."""


def _exit_stand_in(code: int = 0) -> None:
    raise _Exited(code)


@contextmanager
def contained(what: str, limit_s: float | None = None) -> Iterator[None]:
    """Run the block as the user's code, `what` naming it in messages ("the builder")."""
    cwd = os.getcwd()
    on_main = threading.current_thread() is threading.main_thread()
    real_exit, os._exit = os._exit, _exit_stand_in
    signalled = []
    previous_int = previous_alarm = None
    if on_main:
        previous_int = signal.getsignal(signal.SIGINT)

        def interrupted(signum, frame):
            signalled.append(signum)
            if callable(previous_int):
                previous_int(signum, frame)
            else:
                raise KeyboardInterrupt

        if previous_int is not signal.SIG_IGN:  # a worker ignores Ctrl-C; it keeps doing so
            signal.signal(signal.SIGINT, interrupted)
        if limit_s is not None:
            previous_alarm = signal.signal(signal.SIGALRM, _raise_alarm)
            signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        yield
    except _Alarm:
        raise UserCodeTimeout(f"{what} was still running after {limit_s:g} s") from None
    except _Exited as exc:
        raise LeftUserCode(f"{what} called os._exit({exc.code})") from exc
    except SystemExit as exc:
        raise LeftUserCode(f"{what} called sys.exit({exc.code!r})") from exc
    except KeyboardInterrupt as exc:
        if signalled:
            raise
        raise LeftUserCode(f"{what} raised KeyboardInterrupt itself") from exc
    except Exception:
        raise
    except BaseException as exc:  # GeneratorExit, or the code's own BaseException subclass
        raise LeftUserCode(f"{what} raised {type(exc).__name__}, which is not an "
                           "Exception") from exc
    finally:
        os._exit = real_exit
        if on_main:
            if limit_s is not None:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, _or_default(previous_alarm))
            signal.signal(signal.SIGINT, _or_default(previous_int))
        if os.getcwd() != cwd:
            os.chdir(cwd)


def _or_default(handler):
    """A handler to put back: None means one set outside Python, which cannot be restored."""
    return signal.SIG_DFL if handler is None else handler


def _raise_alarm(signum, frame) -> None:
    raise _Alarm


def keep_traceback(exc: BaseException, what: str) -> Path:
    """Write the traceback of the user's failing code to a log file of its own (the run
    directory may not exist yet, or is removed again) and return its path, for the one-line
    message to name."""
    handle, name = tempfile.mkstemp(prefix="steps-tuner-", suffix=".log")
    with os.fdopen(handle, "w", encoding="utf-8") as log:
        log.write(f"{what}:\n")
        log.write("".join(traceback.format_exception(exc)))
    return Path(name)
