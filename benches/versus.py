#!/usr/bin/env python3
"""Compares the contended throughput of two or more bankrace builds side by side.

Each round runs every build once, in a rotating order, with the workload of
one `bankrace bench` throughput trial: two depositors, no pause, no window,
one mode. Every trial's ops/s (from `--format json`) is kept; the script
prints each build's median and its ratio to the first build's median.

Contended throughput swings by several percent from one batch to the next on
a shared machine, so compare builds only within one run of this script, and
run it more than once before believing a gap.

Usage: benches/versus.py [--rounds 40] [--trials 3] [--ops 2000000]
       [--mode=--lock=mutex ...] NAME=PATH NAME=PATH ...
Example (the parent commit built in a worktree at ../base):
       benches/versus.py base=../base/target/release/bankrace \\
                         main=target/release/bankrace
"""

import argparse
import json
import os
import statistics
import subprocess

MODES = ["--no-lock", "--lock=mutex", "--lock=spin", "--lock=atomic", "--lock=flock"]
# flock costs a system call per operation: fewer operations keep it short.
OPS_DIVISOR = {"--lock=flock": 10}


def trial_rates(binary, mode, ops, trials):
    out = subprocess.run(
        [binary, "run", mode, "--depositors", "2", "--withdrawers", "0", "--ops", str(ops),
         "--pause", "0", "--window", "0", "--trials", str(trials), "--format", "json"],
        capture_output=True, text=True, check=True,
    ).stdout
    return [t["ops_per_sec"] for t in json.loads(out)["modes"][0]["trials"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--ops", type=int, default=2_000_000)
    ap.add_argument("--mode", action="append", help="a mode flag of `run` (default: all five)")
    ap.add_argument("builds", nargs="+", metavar="NAME=PATH")
    args = ap.parse_args()
    builds = dict(b.split("=", 1) for b in args.builds)
    names = list(builds)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for mode in args.mode or MODES:
        ops = args.ops // OPS_DIVISOR.get(mode, 1)
        rates = {n: [] for n in names}
        for r in range(args.rounds):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                rates[name] += trial_rates(builds[name], mode, ops, args.trials)
        first = statistics.median(rates[names[0]])
        cells = "  ".join(
            f"{n} {statistics.median(rates[n]) / 1e6:8.2f} M/s ({statistics.median(rates[n]) / first:.3f})"
            for n in names
        )
        print(f"{mode:14} {cells}  load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
