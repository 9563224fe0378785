"""``python -m ghtier.bench allocator [--json FILE] [--quick]``."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ghtier.bench", description="ghtier's Python benchmarks")
    parser.add_argument("suite", choices=["allocator"], help="allocator: PyTorch allocator routes vs native")
    parser.add_argument("--json", metavar="FILE", help="write the results in the shape of `ghtier bench --json`")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
    from . import allocator

    return allocator.run(args.json, args.quick)


if __name__ == "__main__":
    sys.exit(main())
