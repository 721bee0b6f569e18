#!/usr/bin/env python3
"""Measures bankrace's performance targets side by side in one run.

Builds bankrace (release) and the C reference (benches/c/reference.c), then,
round after round, runs `bankrace bench`, the C reference, and the Python
tutorial's locked program with its sleep removed, and prints each target as
a ratio of medians measured in the same run. Optionally it also times
`bankrace run --trials 50` against 50 runs of the tutorial's program, and
measures the coordinator's peak memory and cost over the number of trials, and
its peak memory per operation of the largest trace a run may record.

The tutorial's programs are not part of this repository: pass the directory
that holds seed_lock.py and seed_nolock.py with --tutorial to include them
(they are copied to a temporary directory and edited there); without it the
Python comparisons are left out. The load average is printed before and
after: the ratios are only as steady as the machine.

Usage: benches/compare.py [--tutorial DIR] [--rounds 3] [--ops 1000000]
       [--tutorial-runs 50] [--memory-trials 10000]
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BANKRACE = os.path.join(ROOT, "target", "release", "bankrace")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def build(tmp):
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    ref = os.path.join(tmp, "reference")
    subprocess.run(
        ["gcc", "-O2", "-pthread", "-o", ref, os.path.join(ROOT, "benches", "c", "reference.c")],
        check=True,
    )
    return ref


def tutorial_copies(src, tmp, ops):
    """The tutorial's programs in `tmp`: as they are, and locked with the sleep removed."""
    paths = {}
    for name in ["seed_lock.py", "seed_nolock.py"]:
        shutil.copy(os.path.join(src, name), os.path.join(tmp, name))
        paths[name] = os.path.join(tmp, name)
    text = open(paths["seed_lock.py"]).read()
    fast = re.sub(r"\n\s*sleep\(0\.01\)", "", text).replace("range(100)", f"range({ops})")
    if "sleep(" in fast.split("__main__")[0] or f"range({ops})" not in fast:
        sys.exit("compare: could not remove the sleep from seed_lock.py")
    paths["fast_lock"] = os.path.join(tmp, "seed_lock_nosleep.py")
    open(paths["fast_lock"], "w").write(fast)
    return paths


def python_locked(path, ops, tmp):
    started = time.monotonic()
    out = run([sys.executable, path], cwd=tmp).stdout.split()
    secs = time.monotonic() - started
    if out[0] != "200":
        sys.exit(f"compare: the locked tutorial ended at {out[0]}, not 200")
    return 2 * ops / secs


def reference(ref, args):
    modes, spawn = {}, []
    for line in run([ref, *args]).stdout.splitlines():
        v = json.loads(line)
        if "mode" in v:
            modes.setdefault(v["mode"], []).append(v)
        else:
            spawn.append(v["spawn_us"])
    return modes, spawn


def throughput_rounds(a, ref, paths, tmp):
    rows = []
    for r in range(a.rounds):
        bench = json.loads(
            run([BANKRACE, "bench", "--ops", str(a.ops), "--repetitions", str(a.reps),
                 "--warmup", "1", "--trials", str(a.trials), "--loss-trials", "1",
                 "--format", "json"]).stdout
        )
        modes, spawn = reference(
            ref, ["-n", str(a.ops), "-r", str(a.reps), "-s", str(a.trials),
                  "-x", BANKRACE, "-a", "--version"],
        )
        py = python_locked(paths["fast_lock"], a.ops, tmp) if paths else float("nan")
        row = {"python_locked": py, "overhead_ratio": bench["overhead"]["ratio"]["median"],
               "trial_us": bench["overhead"]["trial_us"]["median"],
               "bankrace_spawn_us": bench["overhead"]["spawn_us"]["median"],
               "c_spawn_us": median(spawn)}
        for m in bench["modes"]:
            name = m["lock"] or "no lock"
            row[f"bankrace {name}"] = m["ops_per_sec"]["median"]
            row[f"bankrace {name} lost"] = m["lost_updates"]["median"]
            row[f"c {name}"] = median([v["ops_per_sec"] for v in modes[name]])
            row[f"c {name} lost"] = median([v["lost"] for v in modes[name]])
        rows.append(row)
        print(f"round {r + 1}: " + json.dumps(row), file=sys.stderr)
    return rows


def tutorial_race(a, paths, tmp):
    """`bankrace run --trials 50` against 50 runs of the tutorial's program, as they are."""
    bank = []
    for _ in range(3):
        started = time.monotonic()
        out = json.loads(run([BANKRACE, "run", "--trials", "50", "--format", "json"]).stdout)
        secs = time.monotonic() - started
        raced = out["modes"][0]["summary"]["inconsistent"]
        bank.append((secs, raced))
    started = time.monotonic()
    finals = []
    for _ in range(a.tutorial_runs):
        finals.append(int(run([sys.executable, paths["seed_nolock.py"]], cwd=tmp).stdout.split()[0]))
    py_secs = time.monotonic() - started
    return bank, py_secs, finals


def max_rss_kb(args):
    out = subprocess.run(["/usr/bin/time", "-v", BANKRACE, *args], check=True,
                         capture_output=True, text=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
    return int(m.group(1))


def memory_and_cost(a):
    res = {}
    for fmt in ["text", "json"]:
        for trials in [10, a.memory_trials]:
            args = ["run", "--no-lock", "--ops", "0", "--trials", str(trials), "--format", fmt]
            res[(fmt, trials)] = max_rss_kb(args)
    # The largest trace a run may record (4 trials x 20 workers x 50,000
    # operations), shown only as a verdict: coordinator RSS per traced op.
    traced = ["run", "--trace", "--trials", "4", "--depositors", "10", "--withdrawers", "10",
              "--ops", "50000", "--pause", "0", "--window", "0", "--lock=mutex", "-q"]
    res["trace"] = max_rss_kb(traced)
    cost = {}
    for trials, ops in [(100, 10_000), (400, 10_000), (100, 40_000)]:
        started = time.monotonic()
        run([BANKRACE, "run", "--lock=atomic", "--pause", "0", "--window", "0",
             "--trials", str(trials), "--ops", str(ops)])
        cost[(trials, ops)] = time.monotonic() - started
    return res, cost


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tutorial", help="directory with seed_lock.py and seed_nolock.py")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=5, help="repetitions per round, each tool")
    p.add_argument("--ops", type=int, default=1_000_000, help="operations per worker")
    p.add_argument("--trials", type=int, default=50, help="overhead trials per repetition")
    p.add_argument("--tutorial-runs", type=int, default=50, help="0 skips the run comparison")
    p.add_argument("--memory-trials", type=int, default=10_000, help="0 skips memory and cost")
    a = p.parse_args()

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bankrace-compare-") as tmp:
        ref = build(tmp)
        paths = tutorial_copies(a.tutorial, tmp, a.ops) if a.tutorial else None
        rows = throughput_rounds(a, ref, paths, tmp)
        race = tutorial_race(a, paths, tmp) if paths and a.tutorial_runs else None
    mem = memory_and_cost(a) if a.memory_trials else None

    def col(key):
        return median([r[key] for r in rows])

    load_after = os.getloadavg()
    print(f"# {a.rounds} rounds of {a.reps} repetitions, {a.ops} ops per worker, 2 workers; medians of the rounds' medians")
    print(f"# load average (1, 5, 15 min): before {', '.join(f'{x:.2f}' for x in load_before)}; "
          f"after {', '.join(f'{x:.2f}' for x in load_after)}\n")
    print("| mode | bankrace ops/s | C ops/s | bankrace / C | lost (bankrace, C) |")
    print("|---|---|---|---|---|")
    for mode in ["no lock", "mutex", "flock", "spin", "atomic"]:
        ratios = [r[f"bankrace {mode}"] / r[f"c {mode}"] for r in rows]
        print(f"| {mode} | {col('bankrace ' + mode) / 1e6:.2f}M | {col('c ' + mode) / 1e6:.2f}M | "
              f"{median(ratios):.2f} ({min(ratios):.2f}..{max(ratios):.2f}) | "
              f"{col('bankrace ' + mode + ' lost') * 100:.1f} %, {col('c ' + mode + ' lost') * 100:.1f} % |")
    py = [r["bankrace mutex"] / r["python_locked"] for r in rows]
    if paths:
        print(f"\nPython tutorial, locked, no sleep: {col('python_locked') / 1e6:.2f}M ops/s; "
              f"bankrace mutex / Python = {median(py):.1f} ({min(py):.1f}..{max(py):.1f})")
    ov = [r["overhead_ratio"] for r in rows]
    print(f"per-trial overhead {col('trial_us'):.0f}us, start+reap 2 x bankrace --version "
          f"{col('bankrace_spawn_us'):.0f}us (C posix_spawn: {col('c_spawn_us'):.0f}us); "
          f"ratio {median(ov):.2f} ({min(ov):.2f}..{max(ov):.2f})")
    if race:
        bank, py_secs, finals = race
        off = sum(1 for f in finals if f != 200)
        secs = median([b[0] for b in bank])
        print(f"\nbankrace run --trials 50: {', '.join(f'{b[0]:.2f}s' for b in bank)} "
              f"(unlocked trials off: {', '.join(str(b[1]) for b in bank)} of 50)")
        print(f"{len(finals)} runs of the tutorial: {py_secs:.1f}s, {off} of {len(finals)} off 200 "
              f"(finals {min(finals)}..{max(finals)}); speed-up for 50 runs "
              f"{py_secs / len(finals) * 50 / secs:.1f}x")
    if mem:
        rss, cost = mem
        for fmt in ["text", "json"]:
            small, big = rss[(fmt, 10)], rss[(fmt, a.memory_trials)]
            print(f"\nmax RSS, --format {fmt}: 10 trials {small} KB, {a.memory_trials} trials {big} KB "
                  f"({big / small:.2f}x)", end="")
        print()
        ops = 4 * 20 * 50_000
        print(f"max RSS, largest trace with -q: {rss['trace']} KB for {ops} traced operations "
              f"({rss['trace'] * 1024 / ops:.0f} bytes per operation)")
        for (trials, ops), secs in cost.items():
            print(f"--lock=atomic --trials {trials} --ops {ops}: {secs:.2f}s")


if __name__ == "__main__":
    main()
