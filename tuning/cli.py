"""The command line: `run`, `validate`, `report`, `compare`, `serve`, `probe`, `new`, ...

TensorFlow is imported only by the commands that train (`run`, `probe`); `--help`,
`validate` and `report` never load it. User mistakes end as one `error:` line and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from tuning.spec.errors import UserError

if TYPE_CHECKING:
    from tuning.execution.run import RunOptions
    from tuning.spec.overrides import Applied
    from tuning.spec.schema import Spec

EXIT_OK, EXIT_FAULT, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    """argparse, with a mistake on the command line in the tool's one-line form instead of
    a usage block: every user mistake reads the same way."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="steps-tuner",
        description="Find the right steps_per_epoch and validation_split for a Keras model "
        "by measuring them: a KerasTuner search with out-of-memory, NaN and crash records, "
        "ranked on a fixed holdout set.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run (or resume) the search of a spec")
    run.add_argument("spec", help="experiment spec (TOML)")
    run.add_argument("--workers", type=int, help="worker processes training at once")
    _run_options(run)
    run.add_argument("--if-unfinished", action="store_true",
                     help="do nothing when the run directory holds a finished search")

    distributed = sub.add_parser(
        "distributed", help="a keras-tuner chief and N worker processes on this machine")
    distributed.add_argument("spec")
    distributed.add_argument("--workers", type=int,
                             help="worker processes (default: the spec's, \"auto\" by cores)")
    _run_options(distributed)
    distributed.add_argument("--host", default="127.0.0.1", help="address the chief listens on")
    distributed.add_argument("--port", type=int, help="port of the chief (default: a free one)")

    chief = sub.add_parser("chief", help="serve the search's Oracle to workers (keras-tuner's "
                                         "chief); ends when every trial has ended")
    chief.add_argument("spec")
    _run_options(chief)
    chief.add_argument("--host", default="127.0.0.1", help="address to listen on")
    chief.add_argument("--port", type=int, required=True)
    chief.add_argument("--dead-after", type=float, default=60.0, metavar="SECONDS",
                       help="end the trial of a worker silent this long")

    worker = sub.add_parser("worker", help="train the trials of a chief (on any machine that "
                                           "shares the run directory)")
    worker.add_argument("spec")
    worker.add_argument("--out", help="the run directory shared with the chief")
    worker.add_argument("--oracle", required=True, metavar="HOST:PORT", help="the chief")
    worker.add_argument("--tuner-id", required=True, help="a name unique to this worker")
    worker.add_argument("--workers", type=int, help="trial processes on this machine")
    worker.add_argument("--threads", type=int, help="TensorFlow threads per trial process")
    worker.add_argument("--memory-budget", metavar="SIZE")
    worker.add_argument("--max-trials", type=int, help="the chief's trial cap (for progress)")
    worker.add_argument("--wait-for-chief", type=float, metavar="SECONDS",
                        help="give up when no chief answers at --oracle this long "
                             "(default: 60)")

    validate = sub.add_parser("validate", help="check a spec and its data without training")
    validate.add_argument("spec")

    report = sub.add_parser("report", help="rebuild report.html/report.md from a run directory")
    report.add_argument("run_dir")

    index = sub.add_parser("index", help="rebuild the index of every run in a results folder")
    index.add_argument("results_dir", nargs="?", default="results")

    compare = sub.add_parser("compare", help="two runs' recommendations, scores and intervals "
                                             "side by side")
    compare.add_argument("run_a")
    compare.add_argument("run_b")

    serve = sub.add_parser("serve", help="serve the reports (live ones included) over HTTP")
    serve.add_argument("folder", help="a run directory or a results folder")
    serve.add_argument("--port", type=int, default=8000, help="0: any free port")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: this machine only)")

    probe = sub.add_parser("probe", help="find the out-of-memory frontier with short probes")
    probe.add_argument("spec")
    probe.add_argument("--memory-budget", metavar="SIZE")

    new = sub.add_parser("new", help="write a commented starting spec in experiments/")
    new.add_argument("name")
    new.add_argument("--dir", default="experiments", help="where to write it")
    return parser


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help="run directory (default: results/<experiment name>)")
    parser.add_argument("--max-trials", type=int, help="stop after this many trials")
    parser.add_argument("--memory-budget", metavar="SIZE",
                        help="per-trial memory cap: 512MiB, 2GiB, 1.5GB or bytes")
    parser.add_argument("--fresh", action="store_true",
                        help="discard earlier results and start over")


def _debug() -> bool:
    """STEPS_TUNER_DEBUG=1 shows the traceback (and its causes) behind any error."""
    return os.environ.get("STEPS_TUNER_DEBUG", "") not in ("", "0")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except UserError as exc:
        if _debug():
            traceback.print_exception(exc)
        print(f"error: {exc}".splitlines()[0], file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a fault of the tool, not of the user: say so, keep it short
        if _debug():
            raise
        print(f"internal error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        print("finished trials are kept; rerun with STEPS_TUNER_DEBUG=1 for the traceback",
              file=sys.stderr)
        return EXIT_FAULT


def _load(args: argparse.Namespace) -> Applied:
    """The spec with the command line's options applied and checked by `apply_overrides`:
    the Python API's checks, in the same words."""
    from tuning.spec.overrides import Overrides, apply_overrides
    from tuning.spec.schema import load_spec

    given = Overrides(**{name: getattr(args, name, None) for name in
                         ("out", "max_trials", "workers", "memory_budget", "threads")},
                      fresh=getattr(args, "fresh", False))
    return apply_overrides(load_spec(args.spec), given, flags=True)


def _options(applied: Applied) -> tuple[Spec, RunOptions]:
    """The spec and the run's options, for the commands that train (TensorFlow's side)."""
    from tuning.execution.run import RunOptions
    from tuning.records.rundir import default_run_dir

    return applied.spec, RunOptions(
        run_dir=applied.out or default_run_dir(applied.spec),
        max_trials=applied.max_trials,
        fresh=applied.fresh,
        threads=applied.threads,
    )


def _run(args: argparse.Namespace) -> int:
    from tuning.execution import keras_stand_in

    keras_stand_in.install()  # this process trains nothing: see the module
    from tuning.execution.run import run_search
    from tuning.records.rundir import is_finished

    spec, options = _options(_load(args))
    if args.if_unfinished and not args.fresh and is_finished(options.run_dir):
        print(f"{spec.name}: finished already in {options.run_dir} (--fresh runs it again)")
        return EXIT_OK
    return run_search(spec, options)


def _distributed(args: argparse.Namespace) -> int:
    from tuning.execution.distributed import supervise

    spec, options = _options(_load(args))
    return supervise(spec, options, args.host, args.port)


def _chief(args: argparse.Namespace) -> int:
    from tuning.execution.distributed import run_chief

    spec, options = _options(_load(args))
    return run_chief(spec, options, args.host, args.port, args.dead_after)


def _worker(args: argparse.Namespace) -> int:
    from tuning.execution import keras_stand_in

    keras_stand_in.install()  # keras-tuner's chief/worker mode: its local workers train
    from tuning.execution.distributed import run_worker

    spec, options = _options(_load(args))
    host, _, port = args.oracle.rpartition(":")
    if not host or not port.isdigit():
        raise UserError("--oracle", f"expected HOST:PORT, got {args.oracle!r}")
    return run_worker(spec, options, args.tuner_id, host, int(port), args.wait_for_chief)


def _validate(args: argparse.Namespace) -> int:
    from tuning.execution.validate import describe

    spec = _load(args).spec
    print(describe(spec))
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from tuning.records.rundir import rebuild_tables, settle_state
    from tuning.report import build_report
    from tuning.report.index import update_index

    run_dir = Path(args.run_dir)
    for damaged in rebuild_tables(run_dir):
        then = "left out of the report" + ("" if damaged.foreign else "; `run` makes it again")
        print(damaged.warning(then), file=sys.stderr)
    settle_state(run_dir)
    print(f"report: {build_report(run_dir)}")
    index = update_index(run_dir)
    if index is not None:
        print(f"index: {index}")
    return EXIT_OK


def _index(args: argparse.Namespace) -> int:
    from tuning.records.rundir import is_run_dir, mark_results_folder, settle_state
    from tuning.report import build_index

    results = Path(args.results_dir)
    if not results.is_dir():
        raise UserError(str(results), "no such folder")
    for run_dir in results.iterdir():
        if run_dir.is_dir() and is_run_dir(run_dir):
            settle_state(run_dir)  # a killed search is listed as interrupted, not running
    mark_results_folder(results)  # asked for here: later searches keep the index current
    print(f"index: {build_index(results)}")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from tuning.report.compare import compare_text

    print(compare_text(Path(args.run_a), Path(args.run_b)))
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from tuning.report.serve import make_server, start_page

    server = make_server(Path(args.folder), args.host, args.port)
    host, port = server.server_address[:2]
    print(f"serving {args.folder} at http://{host}:{port}/{start_page(Path(args.folder))} "
          "(Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return EXIT_OK


def _probe(args: argparse.Namespace) -> int:
    from tuning.execution import keras_stand_in

    keras_stand_in.install()
    from tuning.execution.run import probe_frontier

    spec = _load(args).spec
    print(probe_frontier(spec))
    return EXIT_OK


def _new(args: argparse.Namespace) -> int:
    from tuning.spec.scaffold import write_spec

    print(f"wrote {write_spec(args.name, Path(args.dir))}")
    return EXIT_OK


_COMMANDS = {"run": _run, "validate": _validate, "report": _report, "index": _index,
             "probe": _probe, "new": _new, "distributed": _distributed, "chief": _chief,
             "worker": _worker, "compare": _compare, "serve": _serve}
