#!/usr/bin/env python3
"""Compares two benchmark runs case by case: is the second run slower anywhere beyond noise?

    python3 bench/compare.py BEFORE.json AFTER.json [--noise 0.10] [--markdown]

Reads the JSON that `ghtier bench --json FILE` (or `python -m ghtier.bench ... --json FILE`) writes. A case is
matched by name (Google Benchmark's iterations:N/manual_time suffixes ignored). Its figure is the `ratio`
counter when both runs have one (the figure over a ceiling or baseline measured in the same run, so it is
robust to a host that is faster or slower that day), else the time. Prints the matched cases whose figure
moved by more than the noise band, the cases only one run has, and a one-line summary; exits 1 when any case
regressed beyond the band, 0 otherwise. Not needed by the build or the tests; standard library only.
"""

import argparse
import json
import re
import sys

SUFFIX = re.compile(r"/(iterations|repeats|threads|min_time|min_warmup_time):[^/]*|/(manual_time|real_time|process_time)")


def load(path):
    with open(path) as f:
        document = json.load(f)
    cases = {}
    for entry in document.get("benchmarks", []):
        if entry.get("error_occurred") or entry.get("run_type", "iteration") != "iteration":
            continue
        cases[SUFFIX.sub("", entry["name"])] = entry
    return cases


def better_is_higher(entry):
    # `ratio` is GB/s over a ceiling (higher is better) for bandwidth cases and time over a baseline (lower is
    # better) for latency cases; the latter carry baseline_us.
    return "baseline_us" not in entry


def change(before, after):
    """(relative change, what was compared), positive = better."""
    if "ratio" in before and "ratio" in after and before["ratio"] > 0:
        moved = after["ratio"] / before["ratio"] - 1.0
        return (moved if better_is_higher(after) else -moved), "ratio"
    if before.get("real_time", 0) > 0:
        return before["real_time"] / after["real_time"] - 1.0 if after.get("real_time", 0) > 0 else 0.0, "time"
    return 0.0, "time"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--noise", type=float, default=0.10, help="relative band counted as noise (default 0.10)")
    parser.add_argument("--markdown", action="store_true", help="print the moved cases as a Markdown table")
    args = parser.parse_args(argv)
    before, after = load(args.before), load(args.after)
    common = [name for name in after if name in before]
    moved = []
    for name in common:
        delta, what = change(before[name], after[name])
        if abs(delta) > args.noise:
            moved.append((delta, name, what))
    moved.sort()
    if args.markdown:
        print("| case | compared | before | after | change |")
        print("| --- | --- | --- | --- | --- |")
    for delta, name, what in moved:
        b = before[name]["ratio"] if what == "ratio" else before[name]["real_time"]
        a = after[name]["ratio"] if what == "ratio" else after[name]["real_time"]
        word = "better" if delta > 0 else "WORSE"
        if args.markdown:
            print(f"| {name} | {what} | {b:.3g} | {a:.3g} | {delta:+.0%} ({word}) |")
        else:
            print(f"{word:<6} {delta:+7.1%}  {what:<5} {b:10.3g} -> {a:<10.3g} {name}")
    only_before = sorted(set(before) - set(after))
    only_after = sorted(set(after) - set(before))
    for name in only_before:
        print(f"only in {args.before}: {name}")
    for name in only_after:
        print(f"only in {args.after}: {name}")
    worse = sum(1 for delta, _, _ in moved if delta < 0)
    print(f"{len(common)} cases in both runs: {len(common) - len(moved)} within +-{args.noise:.0%}, "
          f"{len(moved) - worse} better, {worse} worse; {len(only_before)} only before, {len(only_after)} only after")
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
