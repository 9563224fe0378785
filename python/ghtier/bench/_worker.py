"""One measurement in a fresh process: ``python -m ghtier.bench._worker '<json config>'`` prints one JSON line.

A fresh process per route, because ghtier as PyTorch's default allocator must be installed before the
process's first CUDA allocation. Config keys: route ("native", "default", "mempool"), policy, mode,
device_budget, memory_fraction (native: the caching allocator's cap), block_cache (default route: ghtier's
freed-block cache, default on), empty_cache (memory_stats before and after ghtier.torch.empty_cache()), task
("alloc", "train", "capture", "too_late"), and the task's own keys.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import traceback
from typing import Any, Dict, List


def _alloc_times(sizes: List[int], repeats: int) -> Dict[str, float]:
    import torch

    out = {}
    for size in sizes:
        for _ in range(20):  # warm the route (pools, caches)
            del_me = torch.empty(size, dtype=torch.uint8, device="cuda")
            del del_me
        torch.cuda.synchronize()
        batches = []  # the median of several timed batches: one preemption spoils one batch, not the figure
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(repeats):
                t = torch.empty(size, dtype=torch.uint8, device="cuda")
                del t
            torch.cuda.synchronize()
            batches.append((time.perf_counter() - start) / repeats * 1e6)
        out[str(size)] = statistics.median(batches)
    return out


def run(config: Dict[str, Any]) -> Dict[str, Any]:
    import torch

    route = config.get("route", "native")
    result: Dict[str, Any] = {"route": route}
    runtime = None
    pool = None
    if route == "default":
        import ghtier.torch as gt

        runtime = gt.use_as_default_allocator(policy=config.get("policy", "spill"),
                                              device_budget=config.get("device_budget"),
                                              capture_reserve=config.get("capture_reserve"),
                                              block_cache=config.get("block_cache", True))
    if config.get("memory_fraction"):
        torch.cuda.set_per_process_memory_fraction(config["memory_fraction"])
    task = config["task"]
    if task == "too_late":
        import ghtier.torch as gt

        first = torch.ones(4, device="cuda")
        try:
            gt.use_as_default_allocator()
            result["raised"] = None
        except gt.AllocatorTooLateError as e:
            result["raised"] = type(e).__name__
            result["message"] = str(e)
        result["first_still_valid"] = float(first.sum().item()) == 4.0
        result["slots_claimed"] = len(__import__("ghtier._slots", fromlist=["x"]).claimed_slots())
        return result
    if route == "mempool":
        import ghtier.torch as gt

        pool = gt.MemPool(policy=config.get("policy", "spill"), mode=config.get("mode"),
                          device_budget=config.get("device_budget"))
    if task == "alloc":
        sizes = config.get("sizes", [4096, 1 << 20, 64 << 20])
        if pool is not None:
            with torch.cuda.use_mem_pool(pool):
                result["us"] = _alloc_times(sizes, config.get("repeats", 200))
        else:
            result["us"] = _alloc_times(sizes, config.get("repeats", 200))
    elif task == "train":
        from ghtier.bench import _training

        _training.deterministic()
        if route == "native":
            torch.cuda.reset_peak_memory_stats()
        try:  # under a memory cap, even building the model may run out
            model = _training.make_model(config.get("seed", 0), **config.get("model", {}))
            result.update(_training.train(model, steps=config.get("steps", 3), batch=config.get("batch", 4),
                                          seq=config.get("model", {}).get("seq", 512), seed=config.get("seed", 0),
                                          checkpointing=config.get("checkpointing", False),
                                          warmup=config.get("warmup", 0)))
            result["oom"] = False
        except torch.OutOfMemoryError as e:
            result["oom"] = True
            result["message"] = str(e).splitlines()[0]
        if route == "native":
            result["peak_bytes"] = torch.cuda.max_memory_allocated()
    elif task == "capture":
        static_in = torch.randn(256, 256, device="cuda")
        weight = torch.randn(256, 256, device="cuda")
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):  # warm up outside the capture (cuBLAS handles, workspaces)
            for _ in range(3):
                torch.relu(static_in @ weight).sum()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        made_before = torch.empty(1 << 20, dtype=torch.uint8, device="cuda")
        with torch.cuda.graph(graph):
            static_out = torch.relu(static_in @ weight) * 2.0
            del made_before  # freed during the capture: must not become part of the graph
        results_ok = []
        for _ in range(3):
            new = torch.randn(256, 256, device="cuda")
            static_in.copy_(new)
            static_out.fill_(float("nan"))  # poison, then replay
            graph.replay()
            torch.cuda.synchronize()
            reference = torch.relu(new.cpu().double() @ weight.cpu().double()) * 2.0
            results_ok.append(bool(torch.allclose(static_out.cpu().double(), reference, rtol=1e-3, atol=1e-3)))
        result["replays_match"] = results_ok
    if route in ("default", "mempool"):
        import ghtier.torch as gt

        if config.get("empty_cache"):  # the freed-block cache before and after ghtier.torch.empty_cache()
            result["before_empty_cache"] = gt.memory_stats()
            gt.empty_cache()
            torch.cuda.synchronize()
        result["memory_stats"] = gt.memory_stats()
    if runtime is not None:
        result["runtime_device"] = runtime.device
    return result


def main() -> int:
    config = json.loads(sys.argv[1])
    try:
        result = run(config)
    except Exception as e:  # reported, so that the parent can say what failed
        result = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
    print("GHTIER_RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
