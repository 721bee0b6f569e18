#!/usr/bin/env python3
"""Measures bankrace's defaults: five runs of `bankrace run --trials 50` per
scenario, on all CPUs and pinned to one, with the share of unlocked trials
that raced, locked trials that were exact, and the wall time of each run.

Usage: benches/measure-defaults.py [path/to/bankrace]   (default: target/release/bankrace)
"""
import json
import statistics
import subprocess
import sys
import time

BINARY = sys.argv[1] if len(sys.argv) > 1 else "target/release/bankrace"


def measure(prefix, scenario, runs=5):
    rows = []
    for _ in range(runs):
        start = time.monotonic()
        out = subprocess.run(
            prefix + [BINARY, "run", "--trials", "50", "--scenario", scenario, "--format", "json"],
            capture_output=True,
            check=True,
        ).stdout
        wall = time.monotonic() - start
        modes = json.loads(out)["modes"]
        unlocked, locked = modes[0]["summary"], modes[1]["summary"]
        rows.append((wall, unlocked["inconsistent"], locked["consistent"]))
    where = "1 CPU" if prefix else "all CPUs"
    print(
        f"{scenario}, {where}: unlocked trials that raced {[r[1] for r in rows]}, "
        f"locked exact {[r[2] for r in rows]}, "
        f"wall s {[round(r[0], 2) for r in rows]} (median {statistics.median(r[0] for r in rows):.2f})"
    )


for prefix in ([], ["taskset", "-c", "0"]):
    for scenario in ("lost-update", "overdraft"):
        measure(prefix, scenario)
