"""ghtier as PyTorch's default allocator, each case in a fresh process: a training loop gives the native
allocator's losses on the same seed; with a device budget below its need it completes where the capped
native allocator raises OOM; CUDA graph capture and replay; installing it too late is a clear error."""

from __future__ import annotations

import math

import pytest

from worker import run_worker

pytestmark = pytest.mark.gpu

MODEL = {"layers": 2, "hidden": 256, "seq": 256}
COMMON = {"task": "train", "model": MODEL, "batch": 4, "steps": 3, "seed": 1234}


def same_losses(a, b):
    if a == b:
        return True  # bitwise: cuBLAS chose the same algorithms
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=1e-5) for x, y in zip(a, b))


def test_training_matches_the_native_allocator():
    native = run_worker({"route": "native", **COMMON})
    ghtier_run = run_worker({"route": "default", "policy": "spill", **COMMON})
    assert len(native["losses"]) == 3 and all(math.isfinite(x) for x in native["losses"])
    assert same_losses(ghtier_run["losses"], native["losses"]), (ghtier_run["losses"], native["losses"])
    (route,) = ghtier_run["memory_stats"]["routes"]
    assert route["route"] == "default" and route["total_allocations"] > 0 and route["foreign_frees"] == 0
    assert route["failed_allocations"] == 0


def test_training_through_the_freed_block_cache():
    """device_only: PyTorch's freed blocks are reused by ghtier's cache; the losses stay the native ones, and
    empty_cache() gives the runtime back exactly the cached bytes."""
    native = run_worker({"route": "native", **COMMON})
    cached = run_worker({"route": "default", "policy": "device_only", "empty_cache": True, **COMMON})
    assert same_losses(cached["losses"], native["losses"]), (cached["losses"], native["losses"])
    (before,) = cached["before_empty_cache"]["routes"]
    (after,) = cached["memory_stats"]["routes"]
    assert after["cache_hits"] > 0 and after["cache_misses"] > 0, after
    assert after["failed_allocations"] == 0 and after["foreign_frees"] == 0
    assert before["cache_limit_bytes"] >= 1 << 30
    assert before["cached_bytes"] > 0 and after["cached_bytes"] == 0 and after["cached_blocks"] == 0
    # The cached bytes were the runtime's (on its device tier) and only they went back; live bytes are unchanged.
    assert after["current_bytes"] == before["current_bytes"]
    released = before["tiers"]["device"]["current_bytes"] - after["tiers"]["device"]["current_bytes"]
    assert released == before["cached_bytes"], (released, before["cached_bytes"])


def test_spill_route_caches_nothing():
    result = run_worker({"route": "default", "policy": "spill", **COMMON})
    (route,) = result["memory_stats"]["routes"]
    assert route["cache_hits"] == 0 and route["cached_bytes"] == 0 and route["cache_misses"] == 0


def test_oversubscribed_training_completes_where_native_ooms():
    import torch

    native = run_worker({"route": "native", **COMMON})
    need = native["peak_bytes"]
    budget = need // 2
    total = torch.cuda.get_device_properties(0).total_memory
    capped = run_worker({"route": "native", "memory_fraction": budget / total, **COMMON})
    assert capped["oom"], "the native allocator was expected to run out of memory under the cap"
    spill = run_worker({"route": "default", "policy": "spill", "device_budget": budget, **COMMON}, timeout=600)
    assert not spill["oom"] and len(spill["losses"]) == 3
    assert same_losses(spill["losses"], native["losses"]), (spill["losses"], native["losses"])
    (route,) = spill["memory_stats"]["routes"]
    tiers = route["tiers"]
    assert tiers["device"]["peak_bytes"] <= budget
    host_peak = sum(tiers[m]["peak_bytes"] for m in ("pinned_host", "managed", "system"))
    assert host_peak > 0, tiers


def test_graph_capture_and_replay_through_the_default_route():
    result = run_worker({"route": "default", "policy": "spill", "task": "capture", "capture_reserve": 64 << 20})
    assert result["replays_match"] == [True, True, True]
    (route,) = result["memory_stats"]["routes"]
    assert route["capture_allocations"] > 0 and route["failed_allocations"] == 0
    assert route["deferred_frees"] >= 1  # the tensor freed during the capture was held, not freed in the graph


def test_graph_capture_with_the_native_allocator_still_works():
    result = run_worker({"route": "native", "task": "capture"})
    assert result["replays_match"] == [True, True, True]


def test_installing_too_late_is_a_clear_error():
    result = run_worker({"route": "native", "task": "too_late"})
    assert result["raised"] == "AllocatorTooLateError"
    assert "before the first CUDA allocation" in result["message"]
    assert result["first_still_valid"] and result["slots_claimed"] == 0
