"""`make gpu-check`: a short search on a GPU, printing the device, peak memory and speed.

On a machine without a GPU it says so and exits with 2; nothing is trained.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from tuning.records.status import Status
from tuning.spec.schema import load_spec

SPEC = Path(__file__).resolve().parents[1] / "experiments" / "digits.toml"


def main() -> int:
    from tuning.spec import tensorflow_import

    tensorflow_import.quiet()
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        print("gpu-check: TensorFlow sees no GPU on this machine "
              "(install the 'gpu' extra: pip install -e '.[gpu]')", file=sys.stderr)
        return 2
    from tuning.execution.run import RunOptions, run_search
    from tuning.records.trials import read_table

    spec = load_spec(SPEC)
    budget = 512 * 2**20
    spec = replace(spec, resources=replace(spec.resources, device="gpu", memory_budget=budget))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "gpu-check"
        code = run_search(spec, RunOptions(run_dir=out, max_trials=6))
        table = read_table(out / "trials.csv")
    ok = table[table.status == Status.OK]
    details = tf.config.experimental.get_device_details(gpus[0])
    print(f"device: {details.get('device_name', gpus[0].name)}")
    print(f"trials: {len(table)} ({len(ok)} ok) under a {budget // 2**20} MiB device budget")
    if len(ok):
        print(f"peak device memory per trial: {ok.peak_memory_mb.min():.1f} to "
              f"{ok.peak_memory_mb.max():.1f} MiB")
        print(f"training speed: {(ok.samples_seen / ok.wall_s).median():,.0f} samples/s (median)")
    return code


if __name__ == "__main__":
    sys.exit(main())
