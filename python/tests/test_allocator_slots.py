"""The allocator slots behind ghtier.torch, without torch: binding, refusals with their reason, frees of
foreign pointers, slot exhaustion, giving slots back. The C entry points are called as PyTorch would."""

from __future__ import annotations

import ctypes

import pytest

import ghtier
from ghtier import _capi, _library, _slots


@pytest.fixture
def runtime():
    r = ghtier.Runtime(assumed_profile="gh200")
    yield r
    r.close()


def test_claim_bind_and_give_back(runtime):
    slot = _slots.claim_slot(runtime, "pinned_host", throw_on_failure=False, tag="test")
    try:
        s = slot.statistics()
        assert s.bound and s.mode == ghtier.MemoryMode.PINNED_HOST and s.current_allocations == 0
        assert slot.alloc_symbol == f"ghtier_torch_alloc_{slot.index}"
        lib = _library.load()
        assert getattr(lib, slot.alloc_symbol) is not None and getattr(lib, slot.free_symbol) is not None
    finally:
        slot.retire()
    assert not _slots.slot_statistics(slot.index).bound
    assert runtime.closed  # the slot's runtime goes with it


def test_refused_allocation_returns_null_with_the_reason(runtime):
    slot = _slots.claim_slot(runtime, None, throw_on_failure=False)
    try:
        alloc = getattr(_library.load(), slot.alloc_symbol)
        assert alloc(1 << 20, 0, None) is None  # offline: refused
        assert "1048576 bytes (policy)" in slot.last_error()
        assert alloc(4096, 5, None) is None  # another device's tensor
        assert "cuda:5" in slot.last_error()
        assert slot.statistics().failed_allocations == 2
    finally:
        slot.retire()


def test_foreign_pointer_freed_through_the_allocator_is_left_alone(runtime):
    slot = _slots.claim_slot(runtime, "device", throw_on_failure=True)
    try:
        local = ctypes.create_string_buffer(b"intact", 16)
        free = getattr(_library.load(), slot.free_symbol)
        free(ctypes.addressof(local), 16, 0, None)
        assert local.value == b"intact"
        s = slot.statistics()
        assert s.foreign_frees == 1 and s.current_allocations == 0
        assert "was not allocated through this slot" in slot.last_error()
    finally:
        slot.retire()


def test_every_slot_in_use_is_a_clear_error(runtime):
    claimed = []
    try:
        with pytest.raises(ghtier.InvalidArgumentError, match=f"all {_capi.TORCH_SLOTS} ghtier allocator slots"):
            for _ in range(_capi.TORCH_SLOTS + 1):
                claimed.append(_slots.claim_slot(runtime, "device", throw_on_failure=False))
        assert len(claimed) == _capi.TORCH_SLOTS
    finally:
        for slot in claimed:
            slot.retire()
    assert all(not _slots.slot_statistics(i).bound for i in range(_capi.TORCH_SLOTS))


def test_capture_reserve_needs_a_gpu(runtime):
    with pytest.raises(ghtier.UnsupportedError, match="capture reserve needs a GPU"):
        _slots.claim_slot(runtime, None, throw_on_failure=True, capture_reserve=1 << 20)
    assert not _slots.claimed_slots()


def test_bad_slot_arguments(runtime):
    with pytest.raises(ghtier.InvalidArgumentError, match="mode is 'hbm'"):
        _slots.claim_slot(runtime, "hbm", throw_on_failure=False)
    with pytest.raises(ghtier.InvalidArgumentError, match="capture_reserve is -1"):
        _slots.claim_slot(runtime, None, throw_on_failure=False, capture_reserve=-1)
    lib = _library.load()
    with pytest.raises(ghtier.InvalidArgumentError, match="out of range"):
        lib.check(lib.ghtier_torch_unbind(_capi.TORCH_SLOTS))


def test_block_cache_is_bound_where_placement_cannot_matter(runtime):
    hbm = runtime.platform.hbm_bytes
    device = _slots.claim_slot(runtime, "device", throw_on_failure=True, cache_blocks=True)
    policy = _slots.claim_slot(runtime, None, throw_on_failure=True, cache_blocks=True, cache_limit=96 << 20)
    pinned = _slots.claim_slot(runtime, "pinned_host", throw_on_failure=True, cache_blocks=True)
    plain = _slots.claim_slot(runtime, "device", throw_on_failure=True)
    try:
        s = device.statistics()
        assert s.cache_limit_bytes == max(1 << 30, hbm // 4)
        assert (s.cached_bytes, s.cached_blocks, s.cache_hits, s.cache_misses) == (0, 0, 0, 0)
        assert policy.statistics().cache_limit_bytes == 96 << 20
        assert pinned.statistics().cache_limit_bytes == 0  # only device blocks are cached
        assert plain.statistics().cache_limit_bytes == 0
        for slot in (device, policy, pinned, plain):
            slot.empty_cache()  # nothing cached: nothing to do, no error
    finally:
        for slot in (device, policy, pinned, plain):
            slot.retire()


def test_block_cache_miss_is_counted_under_device_only(runtime):
    runtime.set_policy("device_only")
    slot = _slots.claim_slot(runtime, None, throw_on_failure=False, cache_blocks=True)
    try:
        alloc = getattr(_library.load(), slot.alloc_symbol)
        assert alloc(1000, 0, None) is None  # offline: refused, after a cache miss
        assert "1000 bytes (policy)" in slot.last_error()
        s = slot.statistics()
        assert (s.cache_misses, s.cache_hits, s.failed_allocations) == (1, 0, 1)
    finally:
        slot.retire()


def test_bad_block_cache_arguments(runtime):
    with pytest.raises(ghtier.InvalidArgumentError, match="cache_blocks is 'yes'"):
        _slots.claim_slot(runtime, "device", throw_on_failure=False, cache_blocks="yes")
    for bad, what in ((0, "cache_limit is 0"), (-1, "cache_limit is -1"), ("1G", "cache_limit is '1G'"),
                      (1 << 64, "cache_limit is 18446744073709551616")):
        with pytest.raises(ghtier.InvalidArgumentError, match=what):
            _slots.claim_slot(runtime, "device", throw_on_failure=False, cache_blocks=True, cache_limit=bad)
    assert not _slots.claimed_slots()
    with pytest.raises(ghtier.InvalidArgumentError, match="out of range"):
        _slots.empty_cache(_capi.TORCH_SLOTS)
    _slots.empty_cache(0)  # an unbound slot has nothing cached


def test_torch_module_says_it_needs_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="ghtier.torch needs PyTorch"):
            import ghtier.torch  # noqa: F401
    else:
        pytest.skip("torch is installed here")
