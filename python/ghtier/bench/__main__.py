"""``python -m ghtier.bench allocator|activation_offload|weight_streaming|kv_cache [--json FILE] [--quick]``."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ghtier.bench", description="ghtier's Python benchmarks")
    parser.add_argument("suite", choices=["allocator", "activation_offload", "weight_streaming", "kv_cache"],
                        help="allocator: PyTorch allocator routes vs native; activation_offload: keep, checkpoint, "
                             "save_on_cpu and ghtier's offload of one Llama-shaped model; weight_streaming: a "
                             "Llama-3-8B-shaped decoder resident, under accelerate's cpu_offload, a naive copy "
                             "and ghtier's stream_weights at 0-75%% budgets (--layers: its depth, default 12); "
                             "kv_cache: first-token time of returning sessions (SessionCache) vs recompute, many "
                             "users, host-tier reservation")
    parser.add_argument("--json", metavar="FILE", help="write the results in the shape of `ghtier bench --json`")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    from . import activation_offload, kv_cache, weight_streaming

    activation_offload.add_arguments(parser)
    weight_streaming.add_arguments(parser)
    kv_cache.add_arguments(parser)
    parser.add_argument("--only", choices=["empty_free", "train_step", "oversubscribed"], default=None,
                        help="allocator: run only this group of cases")
    args = parser.parse_args(argv)
    if args.suite == "kv_cache":
        return kv_cache.run(args.json, args.quick, args.cudnn_sdpa)
    if args.suite == "weight_streaming":
        return weight_streaming.run(args.json, args.quick, args.layers, args.repeats)
    if args.suite == "activation_offload":
        return activation_offload.run(args.json, args.quick, activation_offload.shape_from(args), args.steps)
    from . import allocator

    return allocator.run(args.json, args.quick, args.only)


if __name__ == "__main__":
    sys.exit(main())
