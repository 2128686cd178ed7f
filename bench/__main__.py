"""`python -m bench`: every benchmark, or a subset with `--only`; tables in bench/results/."""

from __future__ import annotations

import argparse
import json
import os
import time

from bench.common import RESULTS, machine, write_csv

SECTIONS = ("overhead", "parallel", "memory", "strategies", "pruning", "data", "bigdata",
            "bookkeeping", "truth", "calibration", "epoch_end")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", action="append", choices=SECTIONS,
                        help="run this benchmark only (repeatable; default: all)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="repeats of the overhead, parallel and data comparisons")
    parser.add_argument("--bigdata-images", type=int, default=60_000,
                        help="PNG files in the bigdata benchmark's folder (it also writes "
                             "one twice as large)")
    parser.add_argument("--bigdata-repeats", type=int, default=1,
                        help="rounds of the bigdata comparison")
    parser.add_argument("--memory-trials", type=int, default=100)
    parser.add_argument("--strategy-trials", type=int, default=12,
                        help="trials for random and bayesian search")
    parser.add_argument("--truth-runs", type=int, default=4,
                        help="experiment seeds per case of the truth benchmark")
    parser.add_argument("--truth-seeds", type=int, default=3,
                        help="fresh training seeds behind each configuration's true score")
    parser.add_argument("--pruning-seeds", type=int, default=5,
                        help="fresh training seeds behind each pick's true score (pruning)")
    parser.add_argument("--truth-case", action="append",
                        help="run this case of the truth benchmark only (noisy4, digits, wine)")
    parser.add_argument("--calibration-sims", type=int, default=2000,
                        help="simulated runs per case of the calibration benchmark")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    info = machine()
    print("machine:", json.dumps(info))
    write_csv("machine", [info])
    started = time.perf_counter()
    for section in args.only or SECTIONS:
        if section == "overhead":
            from bench import answer, overhead

            overhead.run(repeats=args.repeats)
            answer.run()
        elif section == "parallel":
            from bench import parallel

            parallel.run(repeats=args.repeats)
        elif section == "bookkeeping":
            from bench import bookkeeping

            bookkeeping.run()
        elif section == "data":
            from bench import data

            data.run(repeats=args.repeats)
        elif section == "bigdata":
            from bench import bigdata

            bigdata.run(images=args.bigdata_images, repeats=args.bigdata_repeats)
        elif section == "memory":
            from bench import memory

            memory.run(trials=args.memory_trials)
        elif section == "calibration":
            from bench import calibration

            calibration.run(sims=args.calibration_sims)
        elif section == "epoch_end":
            from bench import epoch_end

            epoch_end.run(repeats=args.repeats)
        elif section == "strategies":
            from bench import pruning, strategies

            strategies.run(trials=args.strategy_trials)
            if "pruning" not in (args.only or SECTIONS):
                pruning.run(truth_seeds=args.pruning_seeds)
        elif section == "pruning":
            from bench import pruning

            pruning.run(truth_seeds=args.pruning_seeds)
        else:
            from bench import truth

            truth.run(seeds=args.truth_runs, truth_seeds=args.truth_seeds,
                      cases=tuple(args.truth_case) if args.truth_case else None)
    print(f"\nbench: {time.perf_counter() - started:.0f} s; tables in {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
