#!/usr/bin/env python3
"""Measures how bankrace's costs grow with trials, workers and operations.

For each dimension it runs three sizes (the other two held small), records
the wall time and the coordinator's peak RSS (/usr/bin/time), and fits the
growth exponent k of cost ~ size^k between the smallest and largest size
(k = 1 is linear, k = 0 flat). Then it runs 256 workers, the most a trial
may have, fresh and reused. Every command it runs is printed with its
figures, and the load average before and after.

Usage: benches/scale.py [--quick]
"""

import argparse
import math
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BANKRACE = os.path.join(ROOT, "target", "release", "bankrace")
FAST = ["--pause", "0", "--window", "0"]


def measure(args):
    """(seconds, peak RSS in kB) of `bankrace run ARGS -q`."""
    cmd = ["/usr/bin/time", "-f", "%e %M", BANKRACE, "run", *args, "-q"]
    started = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True)
    secs = time.monotonic() - started
    if out.returncode != 0:
        sys.exit(f"scale: {' '.join(args)} failed: {out.stderr}")
    m = re.search(r"([\d.]+) (\d+)\s*$", out.stderr)
    return secs, int(m.group(2))


def fit(sizes, values):
    """k in value ~ size^k, from the smallest and largest size."""
    return math.log(values[-1] / values[0]) / math.log(sizes[-1] / sizes[0])


def dimension(name, sizes, make_args):
    print(f"\n## {name}")
    print("| size | command | time | peak RSS |")
    print("|---:|---|---:|---:|")
    times, rss = [], []
    for size in sizes:
        args = make_args(size)
        secs, kb = measure(args)
        times.append(secs)
        rss.append(kb)
        print(f"| {size:,} | `bankrace run {' '.join(args)} -q` | {secs:.2f} s | {kb / 1024:.1f} MB |")
    if len(sizes) > 1:
        print(f"\nfitted growth: time ~ {name}^{fit(sizes, times):.2f}, "
              f"peak RSS ~ {name}^{fit(sizes, rss):.2f}")


def worker_memory(workers):
    """Proportional set size (Pss) of every worker of a trial, summed, in kB:
    what the workers cost the machine together, shared pages split fairly."""
    args = ["run", "--no-lock", "--trials", "1", "--depositors", str(workers), "--withdrawers", "0",
            "--ops", "1", "--pause", "0", "--window", "3s", "--timeout", "60s", "-q"]
    child = subprocess.Popen([BANKRACE, *args], stdout=subprocess.DEVNULL)
    marker = f"\0--parent\0{child.pid}\0"
    best = (0, 0)
    deadline = time.monotonic() + 30
    while child.poll() is None and time.monotonic() < deadline:
        pss, n = 0, 0
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if marker not in open(f"/proc/{pid}/cmdline").read():
                    continue
                rollup = open(f"/proc/{pid}/smaps_rollup").read()
            except OSError:
                continue
            pss += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1))
            n += 1
        if n > best[0]:
            best = (n, pss)
        time.sleep(0.2)
    child.wait()
    n, pss = best
    print(f"\n{n} workers seen at once: Pss {pss / 1024:.1f} MB together, "
          f"{pss / max(n, 1):.0f} kB each (`bankrace {' '.join(args)}`)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a first look")
    a = p.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    q = 10 if a.quick else 1
    dimension("trials", [1_000 // q, 10_000 // q, 100_000 // q],
              lambda n: ["--no-lock", "--reuse-workers", "--trials", str(n), "--ops", "1", *FAST])
    dimension("trials (fresh workers)", [30 // min(q, 3), 100 // min(q, 3), 300 // min(q, 3)],
              lambda n: ["--no-lock", "--trials", str(n), "--ops", "1", *FAST])
    dimension("workers", [2, 16, 128],
              lambda n: ["--no-lock", "--reuse-workers", "--trials", "200", "--depositors", str(n),
                         "--withdrawers", "0", "--ops", "1", *FAST])
    dimension("workers (fresh)", [2, 16, 128],
              lambda n: ["--no-lock", "--trials", "10", "--depositors", str(n),
                         "--withdrawers", "0", "--ops", "1", *FAST])
    dimension("operations", [1_000_000 // q, 10_000_000 // q, 100_000_000 // q],
              lambda n: ["--lock=atomic", "--trials", "2", "--ops", str(n), *FAST])
    dimension("256 workers", [256],
              lambda n: ["--lock=mutex", "--trials", "5", "--depositors", str(n), "--withdrawers", "0",
                         "--ops", "100", *FAST])
    dimension("256 workers (reused)", [256],
              lambda n: ["--lock=mutex", "--reuse-workers", "--trials", "50", "--depositors", str(n),
                         "--withdrawers", "0", "--ops", "100", *FAST])
    worker_memory(256)
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
