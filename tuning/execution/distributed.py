"""Several processes or machines on one search, through keras-tuner's chief/worker mode.

The chief holds the Oracle and answers over gRPC (`KERASTUNER_ORACLE_IP`/`_PORT`); each worker
(`KERASTUNER_TUNER_ID`) runs the same loop and worker pool as a local search, writing its
records into the shared run directory. keras-tuner has no heartbeat, so a dead worker's trial
would hang the chief forever: workers touch a heartbeat file, and the chief ends the trial of
any worker that falls silent, as an `error` record. Locally, `distributed` also restarts a
worker that dies, under its own id, so the chief hands it back its trial to run again.
"""

from __future__ import annotations

import errno
import math
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tuning.execution.capacity import worker_count
from tuning.execution.pool import threads_per_worker
from tuning.execution.prepare import Prepared, check_inputs, make_pool, make_tuner, prepare
from tuning.execution.run import RunOptions, run_directory, search_with_pool
from tuning.records import rundir
from tuning.records import trials as records
from tuning.records.rows import planned_row, trial_row
from tuning.records.status import Status
from tuning.spec.errors import UserError
from tuning.spec.schema import Spec

HEARTBEATS = "heartbeats"
HEARTBEAT_EVERY_S = 5.0
#: A worker whose heartbeat is older than this is taken for dead (and its trial ended).
DEAD_AFTER_S = 60.0
MAX_RESTARTS = 3
#: How long a worker waits for its chief to answer at start (`worker --wait-for-chief`).
CHIEF_WAIT_S = 60.0
#: Each of keras-tuner's calls to the chief gives up after this long (its own default is an
#: hour); a chief answers in milliseconds, so only a chief that is gone takes this long.
RPC_TIMEOUT_S = 300
#: The longest any of the waits above may be set to: a day.
MAX_WAIT_S = 86_400.0


def check_seconds(option: str, value: float) -> float:
    """A wait given on the command line: a positive, finite number of seconds, at most a day."""
    if not (math.isfinite(value) and 0 < value <= MAX_WAIT_S):
        raise UserError(option, f"must be a number of seconds above 0 and at most "
                                f"{MAX_WAIT_S:,.0f}, got {value:g}")
    return value


def check_port(host: str, port: int) -> None:
    """Refuse a port the chief could not listen on, before anything is loaded or written:
    keras-tuner's server would otherwise fail to bind without a word and wait forever."""
    _check_port_number("--port", port)
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except socket.gaierror as exc:
        raise UserError("--host", f"{host!r} is no address of this machine: "
                                  f"{exc.strerror}") from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UserError("--port", f"{host}:{port} is in use by another program; choose "
                                      "another port") from None
        raise UserError("--host", f"cannot listen on {host}:{port}: "
                                  f"{exc.strerror or exc}") from None


def _check_port_number(option: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise UserError(option, f"a port is a number from 1 to 65535, got {port}")


def wait_for_chief(host: str, port: int, wait_s: float) -> None:
    """Return once something listens at host:port; refuse, naming the wait, when nothing
    has after `wait_s` seconds (keras-tuner's client would wait an hour, silently)."""
    _check_port_number("--oracle", port)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=min(5.0, wait_s)):
                return
        except socket.gaierror as exc:
            raise UserError("--oracle", f"unknown host {host!r}: {exc.strerror}") from None
        except OSError:
            if time.monotonic() >= deadline:
                raise UserError("--oracle", f"no chief answers at {host}:{port} after "
                                            f"{wait_s:g} s; start it first (steps-tuner chief "
                                            f"SPEC --port {port}), or wait longer with "
                                            "--wait-for-chief") from None
            time.sleep(0.5)


def oracle_env(tuner_id: str, host: str, port: int) -> dict[str, str]:
    """The environment keras-tuner reads to join a chief."""
    return {"KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": host,
            "KERASTUNER_ORACLE_PORT": str(port)}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def run_chief(spec: Spec, options: RunOptions, host: str, port: int,
              dead_after_s: float = DEAD_AFTER_S) -> int:
    """Serve the Oracle until every trial has ended; then the tables and the report."""
    check_port(host, port)
    check_seconds("--dead-after", dead_after_s)
    prepared = prepare(spec)
    os.environ.update(oracle_env("chief", host, port))
    claim = rundir.claim(options.run_dir, spec, options.fresh,
                         rundir.Provenance.of(spec, prepared.dataset))
    with run_directory(prepared, options, claim) as run_dir:
        tuner = make_tuner(prepared, run_dir, options.max_trials, options.fresh)
        print(f"chief listening on {host}:{port}; start workers with: python -m tuning "
              f"worker {spec.path} --out {run_dir} --oracle {host}:{port} --tuner-id NAME",
              flush=True)
        watchdog = threading.Thread(target=_watch, args=(tuner.oracle, prepared, run_dir,
                                                         dead_after_s), daemon=True)
        watchdog.start()
        tuner.search()  # keras-tuner's chief: blocks until every worker has been stopped
        tuner.oracle.save(force=True)
    return 0


def run_worker(spec: Spec, options: RunOptions, tuner_id: str, host: str, port: int,
               wait_s: float | None = None) -> int:
    """Join the chief at host:port and train its trials in local worker processes; give up
    when no chief answers within `wait_s` seconds (default CHIEF_WAIT_S)."""
    wait_s = CHIEF_WAIT_S if wait_s is None else check_seconds("--wait-for-chief", wait_s)
    wait_for_chief(host, port, wait_s)
    dataset = check_inputs(spec)
    pool = make_pool(spec, options.run_dir, options.threads)
    pool.spawn()
    try:
        prepared = prepare(spec, dataset, pool=pool)  # built by a worker, not here
        import grpc
        from keras_tuner.src.distribute import oracle_client

        oracle_client.TIMEOUT = RPC_TIMEOUT_S
        os.environ.update(oracle_env(tuner_id, host, port))
        tuner = make_tuner(prepared, options.run_dir, options.max_trials, fresh=False)
        slots = [f"{tuner_id}-w{i}" for i in range(pool.size)]
        beat = threading.Thread(target=_heartbeat, args=(options.run_dir, slots), daemon=True)
        beat.start()
        search_with_pool(prepared, options, pool, tuner.oracle, tuner_id)
    except grpc.RpcError as exc:
        raise UserError("--oracle", f"the chief at {host}:{port} stopped answering "
                                    f"({exc.code().name}, waited up to {RPC_TIMEOUT_S} s); "
                                    "the finished trials are kept") from None
    finally:
        pool.close()
    records.write_tables(options.run_dir, spec.model.metric, prepared.hp_names)
    return 0


def _heartbeat(run_dir: Path, slots: list[str]) -> None:
    folder = Path(run_dir) / HEARTBEATS
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        for slot in slots:
            (folder / slot).touch()
        time.sleep(HEARTBEAT_EVERY_S)


def _watch(oracle, prepared: Prepared, run_dir: Path, dead_after_s: float) -> None:
    """End the trial of any worker whose heartbeat has stopped, so the chief can finish;
    its record is a row like any other (planned columns, the worker's name)."""
    from keras_tuner.engine.trial import TrialStatus

    folder = run_dir / HEARTBEATS
    while True:
        time.sleep(min(HEARTBEAT_EVERY_S, dead_after_s / 4))
        for slot, trial in list(oracle.ongoing_trials.items()):
            beat = folder / slot
            last = beat.stat().st_mtime if beat.exists() else None
            if last is None or time.time() - last < dead_after_s:
                continue
            message = f"worker {slot} stopped answering (no heartbeat for {dead_after_s:g} s)"
            if records.read_trial(run_dir, trial.trial_id) is None:
                planned = planned_row(trial.trial_id, prepared.planner, trial.hyperparameters)
                records.write_trial(run_dir, trial_row(planned, Status.ERROR, message,
                                                       worker=slot), [])
            trial.status = TrialStatus.FAILED
            trial.message = message
            oracle.end_trial(trial)
            oracle.tuner_ids.discard(slot)
            records.write_tables(run_dir, prepared.spec.model.metric, prepared.hp_names)
            print(message, flush=True)


def supervise(spec: Spec, options: RunOptions, host: str, port: int | None) -> int:
    """`distributed`: a chief and `spec.resources.workers` worker processes on this
    machine; a worker that dies before the chief has finished is started
    again under the same id."""
    if port is None:
        port = free_port(host)
    else:
        check_port(host, port)
    workers = worker_count(spec, options.max_trials).count
    base = [sys.executable, "-m", "tuning"]
    common = [str(spec.path), "--out", str(options.run_dir)]
    if spec.resources.memory_budget is not None:
        common += ["--memory-budget", str(spec.resources.memory_budget)]
    if options.max_trials:
        common += ["--max-trials", str(options.max_trials)]
    chief_args = ["--host", host, "--port", str(port)]
    if options.fresh:
        chief_args.append("--fresh")
    chief = subprocess.Popen([*base, "chief", *common, *chief_args])
    if not _wait_for_port(host, port, chief):
        return chief.wait()
    threads = str(threads_per_worker(workers))

    def start(name: str) -> subprocess.Popen:
        return subprocess.Popen([*base, "worker", *common, "--oracle", f"{host}:{port}",
                                 "--tuner-id", name, "--threads", threads])

    names = [f"worker{i}" for i in range(workers)]
    procs = {name: start(name) for name in names}
    restarts = dict.fromkeys(names, 0)
    try:
        while chief.poll() is None:
            for name, proc in list(procs.items()):
                code = proc.poll()
                if code not in (None, 0) and restarts[name] < MAX_RESTARTS:
                    restarts[name] += 1
                    print(f"{name} exited with code {code}; starting it again "
                          f"({restarts[name]}/{MAX_RESTARTS})", flush=True)
                    procs[name] = start(name)
            time.sleep(1.0)
    except KeyboardInterrupt:
        chief.terminate()
    finally:
        for proc in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return chief.wait()


def _wait_for_port(host: str, port: int, chief: subprocess.Popen, timeout_s: float = 300) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if chief.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.5)
    return False
