"""An offline runtime (a built-in profile, no GPU): platform info, placement resolution against the table in
docs/tier_policy.md, budgets, statistics, argument checks, and calls after close."""

from __future__ import annotations

import pytest

import ghtier
from ghtier import MemoryMode as M

MiB = 1 << 20
PROFILES = ("gh200", "x86-h100-hmm", "x86-h100-pcie")

# docs/tier_policy.md, "Resolution per platform": the mode of each case, per profile in PROFILES' order.
HOST_TIER = (M.SYSTEM, M.PINNED_HOST, M.PINNED_HOST)
SHARED_TIER = (M.SYSTEM, M.MANAGED, M.MANAGED)
CPU_TIER = (M.SYSTEM, M.SYSTEM, M.SYSTEM)
DEVICE = (M.DEVICE, M.DEVICE, M.DEVICE)
CASES = [
    # policy, request, device budget, expected modes
    ("device_only", dict(nbytes=8 * MiB, accessor="gpu"), None, DEVICE),
    ("device_only", dict(nbytes=8 * MiB, accessor="cpu"), None, DEVICE),
    ("device_only", dict(nbytes=8 * MiB, accessor="both", frequency="cold"), None, DEVICE),
    ("spill", dict(nbytes=8 * MiB, accessor="gpu"), 16 * MiB, DEVICE),
    ("spill", dict(nbytes=32 * MiB, accessor="gpu"), 16 * MiB, HOST_TIER),
    ("spill", dict(nbytes=8 * MiB, accessor="cpu"), None, CPU_TIER),
    ("spill", dict(nbytes=8 * MiB, accessor="both", frequency="hot"), None, SHARED_TIER),
    ("spill", dict(nbytes=8 * MiB, accessor="both", frequency="streamed_once"), None, SHARED_TIER),
    ("size_threshold", dict(nbytes=63 * MiB, accessor="gpu"), None, DEVICE),
    ("size_threshold", dict(nbytes=64 * MiB, accessor="gpu"), None, HOST_TIER),
    ("size_threshold", dict(nbytes=64 * MiB, accessor="both"), None, HOST_TIER),
    ("size_threshold", dict(nbytes=1 * MiB, accessor="both", frequency="warm"), None, SHARED_TIER),
    ("host_cache", dict(nbytes=1 * MiB, accessor="gpu"), None, HOST_TIER),
    ("host_cache", dict(nbytes=1 * MiB, accessor="cpu"), None, CPU_TIER),
]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("policy,request_,budget,expected", CASES)
def test_resolution_follows_the_documented_table(profile, policy, request_, budget, expected):
    with ghtier.Runtime(policy=policy, device_budget=budget, assumed_profile=profile) as runtime:
        placement = runtime.resolve(**request_)
    assert placement.mode == expected[PROFILES.index(profile)], placement.reason
    assert placement.reason


def test_read_mostly_and_cold_advice_on_the_shared_tier():
    with ghtier.Runtime(assumed_profile="x86-h100-pcie") as runtime:
        p = runtime.resolve(4 * MiB, accessor="both", frequency="cold", read_mostly=True)
    assert (p.mode, p.preferred_location, p.accessed_by_gpu, p.read_mostly) == (
        M.MANAGED, ghtier.Location.HOST, True, True)


@pytest.mark.parametrize("profile,cls,access", [("gh200", ghtier.PlatformClass.COHERENT_C2C, ghtier.HostAccess.ATS),
                                                ("x86-h100-hmm", ghtier.PlatformClass.HMM_PCIE, ghtier.HostAccess.HMM),
                                                ("x86-h100-pcie", ghtier.PlatformClass.PCIE, ghtier.HostAccess.NONE)])
def test_platform_info_of_each_profile(profile, cls, access):
    with ghtier.Runtime(assumed_profile=profile) as runtime:
        info = runtime.platform
    assert (info.platform_class, info.host_access, info.offline) == (cls, access, True)
    assert info.gpu_reads_pageable == (access != ghtier.HostAccess.NONE)
    assert info.coherent == (profile == "gh200")
    assert info.compute_capability[0] >= 9 and info.hbm_bytes > 0 and info.link["h2d_gbps"] > 0


def test_budgets_and_statistics():
    with ghtier.Runtime(assumed_profile="gh200", device_budget=10 * MiB) as runtime:
        assert runtime.budget("device") == (10 * MiB, 0)
        runtime.set_budget(M.PINNED_HOST, 3 * MiB)
        assert runtime.budget("pinned_host")[0] == 3 * MiB
        runtime.set_budget("pinned_host", None)
        assert runtime.budget("pinned_host")[0] is None
        stats = runtime.all_statistics()
        assert set(stats) == {"device", "pinned_host", "managed", "system"}
        assert stats["device"].budget_bytes == 10 * MiB and stats["device"].current_bytes == 0
        assert stats["system"].budget_bytes is None


def test_policy_can_change():
    with ghtier.Runtime(assumed_profile="gh200") as runtime:
        assert runtime.policy == ghtier.Policy.SPILL
        runtime.set_policy("size-threshold", 1 * MiB)
        assert runtime.policy == ghtier.Policy.SIZE_THRESHOLD
        assert runtime.resolve(2 * MiB).mode == M.SYSTEM


def test_offline_allocation_is_unsupported():
    with ghtier.Runtime(assumed_profile="x86-h100-pcie") as runtime:
        with pytest.raises(ghtier.UnsupportedError):
            runtime.allocate(MiB)
        with pytest.raises(ghtier.UnsupportedError):
            runtime.allocate_in("device", MiB, sync=True)
        assert runtime.statistics("device").current_allocations == 0


def test_pointer_queries_on_foreign_memory():
    import ctypes

    local = ctypes.create_string_buffer(64)
    with ghtier.Runtime(assumed_profile="gh200") as runtime:
        with pytest.raises(ghtier.Error):  # not ghtier's memory (or offline): a clear error either way
            runtime.pointer_info(ctypes.addressof(local))


@pytest.mark.parametrize("kwargs,match", [
    (dict(policy="sometimes"), "policy is 'sometimes'"),
    (dict(device_budget=-1), "device_budget is -1"),
    (dict(device_budget=1.5), "device_budget is 1.5"),
    (dict(device="0"), "device is '0'"),
    (dict(assumed_profile=7), "assumed_profile is 7"),
])
def test_runtime_arguments_are_checked(kwargs, match):
    kwargs.setdefault("assumed_profile", "gh200")
    with pytest.raises(ghtier.InvalidArgumentError, match=match):
        ghtier.Runtime(**kwargs)


@pytest.mark.parametrize("call,match", [
    (lambda r: r.resolve(0), "bytes"),
    (lambda r: r.resolve(MiB, accessor="gpu-ish"), "accessor is 'gpu-ish'"),
    (lambda r: r.resolve(MiB, frequency=9), "frequency is 9"),
    (lambda r: r.set_budget("hbm", 1), "mode is 'hbm'"),
    (lambda r: r.statistics(True), "mode is True"),
])
def test_call_arguments_are_checked(call, match):
    with ghtier.Runtime(assumed_profile="gh200") as runtime:
        with pytest.raises(ghtier.InvalidArgumentError, match=match):
            call(runtime)


def test_calls_after_close_raise_closed_error():
    runtime = ghtier.Runtime(assumed_profile="gh200")
    runtime.close()
    runtime.close()  # idempotent
    for call in (lambda: runtime.platform, lambda: runtime.resolve(MiB), lambda: runtime.budget("device"),
                 lambda: runtime.allocate(MiB), lambda: runtime.handle):
        with pytest.raises(ghtier.ClosedError):
            call()
    assert "closed" in repr(runtime)


def test_resolve_offline_helper():
    assert ghtier.resolve_offline("gh200", 32 * MiB).mode == M.DEVICE
    assert ghtier.resolve_offline("x86-h100-pcie", 64 * MiB, policy="size_threshold").mode == M.PINNED_HOST


def test_engine_needs_a_gpu():
    with ghtier.Runtime(assumed_profile="gh200") as runtime:
        with pytest.raises(ghtier.UnsupportedError):
            ghtier.TransferEngine(runtime)
        with pytest.raises(ghtier.InvalidArgumentError, match="chunk_bytes is -1"):
            ghtier.TransferEngine(runtime, chunk_bytes=-1)


def test_kernel_arguments_are_checked():
    with ghtier.Runtime(assumed_profile="gh200") as runtime:
        with pytest.raises(ghtier.InvalidArgumentError, match="index_type is 'int16'"):
            ghtier.kernels.gather(runtime, 0x1000, 8, 4, 0x2000, 4, 0x3000, index_type="int16")
        with pytest.raises(ghtier.InvalidArgumentError, match="table is str"):
            ghtier.kernels.gather(runtime, "table", 8, 4, 0x2000, 4, 0x3000)
        with pytest.raises(ghtier.InvalidArgumentError, match="nbytes is -4"):
            ghtier.kernels.sm_copy(0x1000, 0x2000, -4)
