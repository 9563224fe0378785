#!/usr/bin/env python3
"""Turns benchmark results into PNG charts.

Reads the Google Benchmark JSON that `ghtier bench --json FILE` or
`ghtier_bench --benchmark_out=FILE --benchmark_out_format=json` writes, and writes into OUTPUT_DIR:
  - one chart per case family group (e.g. bandwidth_matrix/memcpy): GB/s (or us for latency cases)
    against transfer size, one line per family, its ceiling dashed in the same colour;
  - one bar chart per suite: each family's ratio (figure / ceiling) at its largest size, 1.0 marked.

Not needed by the build or the tests. Needs matplotlib (pip install matplotlib, or
apt install python3-matplotlib).
"""

import argparse
import collections
import json
import math
import os
import re
import sys

SUFFIX = re.compile(r"/(iterations|repeats|threads|min_time|min_warmup_time):[^/]*|/(manual_time|real_time|process_time)")
SIZE = re.compile(r"^(\d+)(B|KiB|MiB|GiB)?$")
UNITS = {None: 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}

Point = collections.namedtuple("Point", "size figure ceiling ratio unit")


def case_name(entry):
    """The case's name without Google Benchmark's iterations:N/manual_time suffixes."""
    return SUFFIX.sub("", entry.get("name", ""))


def split_size(name, entry):
    """(family, size in bytes) of a case; size from the size_bytes counter or the name's last part."""
    parts = name.split("/")
    match = SIZE.match(parts[-1]) if len(parts) > 1 else None
    family = "/".join(parts[:-1]) if match else name
    if "size_bytes" in entry:
        return family, int(entry["size_bytes"])
    if match:
        return family, int(match.group(1)) * UNITS[match.group(2)]
    return family, None


def failed(entry):
    # Google Benchmark 1.7 writes error_occurred; 1.8+ may write skipped instead.
    return bool(entry.get("error_occurred")) or bool(entry.get("skipped"))


def load_points(paths, name_filter):
    """{family: [Point, ...]} from one or more JSON files, failed and aggregate rows left out."""
    families = collections.defaultdict(list)
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
        except (OSError, ValueError) as error:
            sys.exit(f"plot.py: cannot read {path}: {error}")
        if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
            sys.exit(f"plot.py: {path} is not Google Benchmark JSON (no \"benchmarks\" list)")
        for entry in document["benchmarks"]:
            if entry.get("run_type", "iteration") != "iteration" or failed(entry):
                continue
            name = case_name(entry)
            if name_filter and not re.search(name_filter, name):
                continue
            family, size = split_size(name, entry)
            if "GBps" in entry:
                point = Point(size, entry["GBps"], entry.get("ceiling_GBps", 0), entry.get("ratio", 0), "GB/s")
            elif "us" in entry:
                point = Point(size, entry["us"], entry.get("baseline_us", 0), entry.get("ratio", 0), "us")
            else:
                continue  # neither bandwidth nor latency: nothing to chart
            families[family].append(point)
    return families


def group_of(family):
    """Charts group families by their first two name parts: suite/method."""
    return "/".join(family.split("/")[:2])


def file_name(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "__", text).strip("_") + ".png"


def size_label(size):
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def plot_group(plt, group, families, out_dir):
    """Figure against size, one line per family; returns the file written (None if nothing to draw)."""
    from matplotlib.ticker import FuncFormatter

    figure, axes = plt.subplots(figsize=(11, 6.5))
    units = set()
    drawn = 0
    names = sorted(families)
    # The matrix has 16 pairs per method: more lines than the default 10-colour cycle can tell apart.
    colours = plt.get_cmap("tab20" if len(names) > 10 else "tab10")
    for index, family in enumerate(names):
        points = sorted((p for p in families[family] if p.size), key=lambda p: p.size)
        if not points:
            continue
        units.update(p.unit for p in points)
        sizes = [p.size for p in points]
        line, = axes.plot(sizes, [p.figure for p in points], marker="o", color=colours(index % colours.N),
                          label=family[len(group) + 1:] or family)
        if any(p.ceiling > 0 for p in points):
            axes.plot(sizes, [p.ceiling if p.ceiling > 0 else math.nan for p in points], linestyle="--",
                      color=line.get_color(), alpha=0.6)
        drawn += 1
    if drawn == 0:
        plt.close(figure)
        return None
    axes.set_xscale("log", base=2)
    all_sizes = sorted({p.size for f in families.values() for p in f if p.size})
    axes.set_xticks(all_sizes)
    axes.set_xticklabels([size_label(s) for s in all_sizes], rotation=45)
    unit = " or ".join(sorted(units))
    if units == {"GB/s"}:
        axes.set_yscale("log")
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.set_xlabel("transfer size")
    axes.set_ylabel(unit)
    axes.set_title(f"{group}: {unit} by size (dashed: ceiling or baseline)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small", ncol=2)
    figure.tight_layout()
    path = os.path.join(out_dir, file_name(group))
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def plot_ratios(plt, suite, families, out_dir):
    """Each family's ratio at its largest size, as horizontal bars; returns the file written."""
    rows = []
    for family in sorted(families):
        points = [p for p in families[family] if p.ratio > 0]
        if not points:
            continue
        largest = max(points, key=lambda p: p.size or 0)
        label = family[len(suite) + 1:] or family
        if largest.size:
            label += f" ({size_label(largest.size)})"
        rows.append((label, largest.ratio, largest.unit))
    if not rows:
        return None
    figure, axes = plt.subplots(figsize=(10, max(3.0, 0.28 * len(rows) + 1.5)))
    labels = [r[0] for r in rows]
    colours = ["tab:blue" if r[2] == "GB/s" else "tab:orange" for r in rows]
    axes.barh(range(len(rows)), [r[1] for r in rows], color=colours)
    axes.set_yticks(range(len(rows)))
    axes.set_yticklabels(labels, fontsize="small")
    axes.invert_yaxis()
    axes.axvline(1.0, color="black", linewidth=1)
    axes.set_xlabel("ratio (blue: GB/s over ceiling, higher is better; orange: us over baseline, lower is better)")
    axes.set_title(f"{suite}: ratio at the largest size of each case")
    axes.grid(True, axis="x", alpha=0.3)
    figure.tight_layout()
    path = os.path.join(out_dir, file_name("ratio_" + suite))
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Write PNG charts (bandwidth against size, ratio bars) from ghtier's benchmark JSON.",
        epilog="Example: bench/plot.py build/bench-quick.json charts/")
    parser.add_argument("results", nargs="+", help="Google Benchmark JSON file(s) (ghtier bench --json FILE)")
    parser.add_argument("out_dir", help="folder for the PNG files (created if missing)")
    parser.add_argument("--filter", metavar="REGEX", help="only cases whose name matches REGEX")
    args = parser.parse_args(argv)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot.py: matplotlib is missing: pip install matplotlib (or apt install python3-matplotlib)")

    families = load_points(args.results, args.filter)
    if not families:
        sys.exit("plot.py: no successful GB/s or us results in " + ", ".join(args.results))
    os.makedirs(args.out_dir, exist_ok=True)

    by_group = collections.defaultdict(dict)
    by_suite = collections.defaultdict(dict)
    for family, points in families.items():
        by_group[group_of(family)][family] = points
        by_suite[family.split("/")[0]][family] = points
    written = [plot_group(plt, group, members, args.out_dir) for group, members in sorted(by_group.items())]
    written += [plot_ratios(plt, suite, members, args.out_dir) for suite, members in sorted(by_suite.items())]
    written = [path for path in written if path]
    for path in written:
        print(path)
    print(f"plot.py: {len(written)} charts from {sum(len(p) for p in families.values())} results")
    return 0


if __name__ == "__main__":
    sys.exit(main())
