"""``python -m ghtier info [--json] [--assume PROFILE] [--device N]``."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ghtier", description="ghtier from Python")
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser("info", help="the platform: class, host access, link figures (as `ghtier info`)")
    info.add_argument("--json", action="store_true", help="one JSON document, in the shape of `ghtier info --json`")
    info.add_argument("--assume", metavar="PROFILE", help="describe a built-in profile: gh200-c2c, pcie-gen5-hmm, pcie-gen5")
    info.add_argument("--device", type=int, default=0)
    args = parser.parse_args(argv)
    from .errors import Error

    try:
        if args.command == "info":
            from .info import main_info

            return main_info(args.json, args.assume, args.device)
    except Error as e:
        print(f"ghtier: {e}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
