"""The KV resume planner from Python (offline runtimes: no GPU): Llama-3-8B's reload on the PCIe profile
against the measured copy, a given link, GH200, argument errors; the store's refusal on an offline runtime."""

from __future__ import annotations

import pytest

import ghtier
from ghtier.kv_cache import LLAMA3_8B, KvBlockShape, KvCache, plan_resume


def test_llama3_8b_reload_matches_the_measured_copy():
    # Measured on the H200 machine: 8192 tokens (1 GiB of KV) reload in one pinned copy in 19.5 ms; a
    # 8192-token prefill took 250 ms.
    plan = plan_resume(8192, 8192 / 0.250, profile="x86-h100-pcie")
    assert plan.action == "reload"
    assert plan.reload_bytes == 1 << 30
    assert plan.reload_seconds == pytest.approx(0.0195, abs=0.001)
    assert plan.recompute_seconds == pytest.approx(0.250)
    assert plan.speedup == pytest.approx(12.8, abs=0.5)
    assert LLAMA3_8B.block_bytes == 2 << 20


def test_a_slow_link_recomputes_and_gh200_reloads_faster():
    slow = plan_resume(2048, 32768, h2d_gbps=1.0)
    assert slow.action == "recompute"
    assert slow.prefill_tokens == 2048
    gh200 = plan_resume(32768, 32768, profile="gh200")
    pcie = plan_resume(32768, 32768, profile="x86-h100-pcie")
    assert gh200.reload_seconds * 5 < pcie.reload_seconds


def test_partial_prefix_prefills_the_tail():
    plan = plan_resume(8192, 32768, cached_tokens=4096, shape=KvBlockShape(tokens_per_block=16))
    assert plan.prefill_tokens == 4096
    assert plan.reload_bytes == 4096 * 128 * 1024


def test_bad_arguments_are_named():
    with pytest.raises(ghtier.InvalidArgumentError, match="cached_tokens"):
        plan_resume(2048, 32768, cached_tokens=4096)
    with pytest.raises(ghtier.InvalidArgumentError, match="prefill"):
        plan_resume(2048, 0.0)
    with pytest.raises(ghtier.InvalidArgumentError, match="tier"):
        plan_resume(2048, 32768, tier="ssd")
    with pytest.raises(ghtier.InvalidArgumentError, match="file_read_gbps"):
        plan_resume(2048, 32768, tier="file")


def test_the_store_needs_a_gpu():
    runtime = ghtier.Runtime(assumed_profile="x86-h100-pcie")
    try:
        with pytest.raises(ghtier.UnsupportedError, match="offline"):
            KvCache(runtime, LLAMA3_8B, device_blocks=4, host_blocks=4)
    finally:
        runtime.close()
