"""The allocator benchmark: ghtier's two PyTorch routes beside PyTorch's native caching allocator.

Cases (each route in its own process, the native one in the same run; the routes' processes interleaved over
several rounds, each ratio the median of the per-round ratios):
* torch.empty + free of 4 KiB, 1 MiB, 64 MiB: native, MemPool (device mode), default route (device_only).
  Targets: MemPool <= 1.2x native, default route <= 3x.
* one training step of a small transformer (transformers' Llama, random init): native vs the default route
  in device mode, with its freed-block cache (target <= 1.03x) and without it (every tensor through the runtime).
* oversubscribed: a device budget of 50% and 75% of the step's measured memory need: ghtier's spill policy
  (step time, bytes that lived in each tier) beside native capped to the same bytes (which OOMs) and beside
  native with activation checkpointing under the same cap.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from typing import Any, Dict, List, Optional

from . import _report

SIZES = [4096, 1 << 20, 64 << 20]
SIZE_NAMES = {4096: "4KiB", 1 << 20: "1MiB", 64 << 20: "64MiB"}


def _worker(config: Dict[str, Any], timeout: float = 300) -> Dict[str, Any]:
    env = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "ghtier.bench._worker", json.dumps(config)], capture_output=True,
                          text=True, env=env, timeout=timeout)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("GHTIER_RESULT "):
            return json.loads(line[len("GHTIER_RESULT "):])
    tail = (proc.stderr or proc.stdout)[-2000:]
    return {"error": f"worker exited {proc.returncode} without a result: {tail}"}


_case = _report.case


def skip_reason() -> Optional[str]:
    return _report.skip_reason("the allocator benchmark compares PyTorch's allocator routes")


def _alloc_cases(quick: bool) -> List[Dict[str, Any]]:
    repeats = 100 if quick else 400
    rounds = 3 if quick else 5
    common = {"task": "alloc", "sizes": SIZES, "repeats": repeats}
    runs = _rounds({"native": {"route": "native", **common},
                    "mempool": {"route": "mempool", "mode": "device", **common},
                    "default": {"route": "default", "policy": "device_only", **common}}, rounds)
    targets = {"mempool": 1.2, "default": 3.0}
    cases = []
    for size in SIZES:
        us = {name: [r.get("us", {}).get(str(size)) for r in results] for name, results in runs.items()}
        native = _summarise(us["native"], us["native"], runs["native"])
        cases.append(_case(f"allocator/empty_free/native/{SIZE_NAMES[size]}", native["us"],
                           iterations=repeats * rounds,
                           label=f"PyTorch's caching allocator (median of {rounds} processes)", error=native["error"]))
        for route, target in targets.items():
            summary = _summarise(us[route], us["native"], runs[route])
            counters = dict(summary.get("counters", {}))
            if counters and native["us"]:
                counters.update({"baseline_us": native["us"], "target_ratio": target})
            cases.append(_case(f"allocator/empty_free/{route}/{SIZE_NAMES[size]}", summary["us"],
                               iterations=repeats * rounds,
                               label=f"vs native; ratio: median of {rounds} interleaved rounds; target <= {target}x",
                               counters=counters, error=summary["error"] or native["error"]))
    return cases


def _median_us(result: Dict[str, Any]) -> Optional[float]:
    times = result.get("step_seconds")
    return statistics.median(times) * 1e6 if times else None


def _rounds(configs: Dict[str, Dict[str, Any]], rounds: int) -> Dict[str, List[Dict[str, Any]]]:
    """Runs each config in a fresh process, ``rounds`` times, the routes interleaved (and their order rotated
    each round), so that a drift of the host (clocks, other load) touches every route alike."""
    names = list(configs)
    results: Dict[str, List[Dict[str, Any]]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            results[name].append(_worker(configs[name]))
    return results


def _round_summary(runs: List[Dict[str, Any]], base_runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The median over rounds of each process's median step, and of the per-round ratios to native."""
    return _summarise([_median_us(r) for r in runs], [_median_us(r) for r in base_runs], runs)


def _summarise(us: List[Optional[float]], base: List[Optional[float]], runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The median over rounds of a route's figure, and of its per-round ratios to native's of the same round."""
    ok = [u for u in us if u]
    ratios = [u / b for u, b in zip(us, base) if u and b]
    summary: Dict[str, Any] = {"us": statistics.median(ok) if ok else None,
                               "error": next((r.get("error") for r in runs if r.get("error")), None)}
    if ratios:
        summary["counters"] = {"ratio": statistics.median(ratios), "ratio_min": min(ratios),
                               "ratio_max": max(ratios), "rounds": float(len(ratios))}
    return summary


def _training_cases(quick: bool, oversubscribed: bool = True) -> List[Dict[str, Any]]:
    steps = 10 if quick else 20
    rounds = 3 if quick else 5
    model = {"layers": 4, "hidden": 512, "seq": 512}
    common = {"task": "train", "model": model, "batch": 8, "steps": steps, "warmup": 2, "seed": 0}
    runs = _rounds({"native": {"route": "native", **common},
                    "cached": {"route": "default", "policy": "device_only", **common},
                    "uncached": {"route": "default", "policy": "device_only", "block_cache": False, **common}},
                   rounds)
    native = runs["native"][0]
    base_summary = _round_summary(runs["native"], runs["native"])
    base = base_summary["us"]
    cases = [_case("allocator/train_step/native", base, iterations=steps * rounds,
                   label=f"PyTorch's caching allocator (median of {rounds} processes)",
                   counters={"peak_bytes": float(native.get("peak_bytes", 0))}, error=base_summary["error"])]
    for name, label, target in (("cached", "default route, device_only, freed-block cache", 1.03),
                                ("uncached", "default route, device_only, every tensor through the runtime", None)):
        summary = _round_summary(runs[name], runs["native"])
        counters = dict(summary.get("counters", {}))
        if counters and base:
            counters["baseline_us"] = base
            if target:
                counters["target_ratio"] = target
        case_name = "ghtier_device" if name == "cached" else "ghtier_device_uncached"
        cases.append(_case(f"allocator/train_step/{case_name}", summary["us"], iterations=steps * rounds,
                           label=f"{label}; ratio: median of {rounds} interleaved rounds", counters=counters,
                           error=summary["error"]))
    need = native.get("peak_bytes")
    if not need or not oversubscribed:
        return cases
    import torch

    total = torch.cuda.get_device_properties(0).total_memory
    for share in (0.5, 0.75):
        budget = int(need * share)
        tag = f"{int(share * 100)}pct"
        spill = _worker({"route": "default", "policy": "spill", "device_budget": budget, **common}, timeout=600)
        capped = _worker({"route": "native", "memory_fraction": budget / total, **common})
        checkpointed = _worker({"route": "native", "memory_fraction": budget / total, "checkpointing": True, **common})
        spill_us = _median_us(spill)
        tiers = spill.get("memory_stats", {}).get("routes", [{}])[0].get("tiers", {})
        counters = {f"{mode}_peak_bytes": float(t.get("peak_bytes", 0)) for mode, t in tiers.items()}
        counters.update({"device_budget_bytes": float(budget), "need_bytes": float(need)})
        if spill_us and base:
            counters.update({"baseline_us": base, "ratio": spill_us / base})
        cases.append(_case(f"allocator/oversubscribed_{tag}/ghtier_spill", spill_us, iterations=steps,
                           label=f"device budget {share:.0%} of the native peak; ratio vs native uncapped",
                           counters=counters, error=spill.get("error") or ("OOM: " + spill.get("message", "")
                                                                            if spill.get("oom") else None)))
        cases.append(_case(f"allocator/oversubscribed_{tag}/native_capped", _median_us(capped), iterations=steps,
                           label="native capped to the same bytes",
                           error=capped.get("error") or ("OOM (expected): " + capped.get("message", "")
                                                         if capped.get("oom") else None)))
        ck_us = _median_us(checkpointed)
        ck_counters = {"baseline_us": base, "ratio": ck_us / base} if ck_us and base else {}
        cases.append(_case(f"allocator/oversubscribed_{tag}/native_checkpointing", ck_us, iterations=steps,
                           label="native capped, activation checkpointing", counters=ck_counters,
                           error=checkpointed.get("error") or ("OOM: " + checkpointed.get("message", "")
                                                               if checkpointed.get("oom") else None)))
    return cases


def run(json_file: Optional[str], quick: bool, only: Optional[str] = None) -> int:
    """``only``: "empty_free", "train_step" or "oversubscribed" (which needs the train step's native peak)."""
    reason = skip_reason()
    if reason is not None:
        benchmarks = _report.skipped("allocator", reason)
    else:
        benchmarks = (_alloc_cases(quick) if only in (None, "empty_free") else []) + \
            (_training_cases(quick, oversubscribed=only != "train_step") if only != "empty_free" else [])
    return _report.finish("allocator", json_file, benchmarks, unit="us")
