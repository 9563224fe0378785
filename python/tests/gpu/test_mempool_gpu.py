"""ghtier.torch.MemPool: exactly the tensors made inside `use_mem_pool` land in the chosen tier (checked with
ghtier's pointer and residency queries), they compute like any CUDA tensor (against CPU references), and the
pool gives its memory and slot back once PyTorch frees its segments."""

from __future__ import annotations

import gc

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed")

import ghtier  # noqa: E402
import ghtier.torch as gt  # noqa: E402
from ghtier import _slots  # noqa: E402

pytestmark = pytest.mark.gpu


def modes():
    out = ["device", "pinned_host", "managed"]
    with ghtier.Runtime() as r:
        if r.platform.gpu_reads_pageable:
            out.append("system")
    return out


def released(slot):
    """After the caller dropped its pool: PyTorch frees the pool's segments, and ghtier unbinds the slot."""
    gc.collect()
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    assert slot not in _slots.reclaim_retired(), "the pool's slot still holds memory after its tensors were freed"
    assert not _slots.slot_statistics(slot).bound


@pytest.mark.parametrize("mode", modes())
def test_tensors_inside_the_block_land_in_the_mode(mode):
    pool = gt.MemPool(mode=mode)
    outside_before = torch.randn(256, 256, device="cuda")
    with torch.cuda.use_mem_pool(pool):
        a = torch.randn(512, 384, device="cuda")
        b = torch.randn(384, 256, device="cuda", dtype=torch.float64)
        big = torch.empty(24 << 20, dtype=torch.uint8, device="cuda")
    outside_after = torch.randn(256, 256, device="cuda")
    for t in (a, b, big):
        assert pool.runtime.pointer_info(t).mode == ghtier.MemoryMode[mode.upper()]
        assert pool.runtime.pointer_info(t.data_ptr() + t.numel() * t.element_size() - 1).mode.name.lower() == mode
    for t in (outside_before, outside_after):
        with pytest.raises(ghtier.NotFoundError):
            pool.runtime.pointer_info(t)
    if mode in ("device", "pinned_host"):
        residency = pool.runtime.residency(a.data_ptr(), a.numel() * a.element_size())
        expected = ghtier.ResidencyKind.DEVICE if mode == "device" else ghtier.ResidencyKind.HOST
        assert residency.where == expected and not residency.approximate
    # They compute like any CUDA tensor.
    reference = a.cpu().double() @ b.cpu()
    product = a.double() @ b
    assert torch.allclose(product.cpu(), reference, rtol=1e-10, atol=1e-10)
    big.fill_(0x5A)
    assert int(big.sum(dtype=torch.int64).item()) == 0x5A * big.numel()
    stats = gt.memory_stats()
    (route,) = [r for r in stats["routes"] if r["slot"] == pool.slot]
    assert route["route"] == "mempool" and route["bytes_by_mode"][mode] >= big.numel()
    assert route["tiers"][mode]["current_bytes"] >= big.numel() and route["foreign_frees"] == 0
    del a, b, big, product
    slot = pool.slot
    del pool
    released(slot)


def test_optimizer_state_in_pinned_host_memory():
    torch.manual_seed(0)
    model = torch.nn.Linear(256, 256).cuda()
    twin = torch.nn.Linear(256, 256).cuda()
    twin.load_state_dict(model.state_dict())
    pool = gt.MemPool(mode="pinned_host")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    reference = torch.optim.Adam(twin.parameters(), lr=1e-2)
    for step in range(3):
        x = torch.randn(64, 256, device="cuda")
        for m, opt, in_pool in ((model, optimizer, True), (twin, reference, False)):
            m(x).square().mean().backward()
            if in_pool:
                with torch.cuda.use_mem_pool(pool):
                    opt.step()  # the state (exp_avg, exp_avg_sq) is created here on the first step
            else:
                opt.step()
            opt.zero_grad()
    state = optimizer.state[model.weight]["exp_avg"]
    assert pool.runtime.pointer_info(state).mode == ghtier.MemoryMode.PINNED_HOST
    assert torch.allclose(model.weight, twin.weight, rtol=1e-6, atol=1e-7)
    del optimizer, state
    slot = pool.slot
    del pool
    released(slot)


def test_budgeted_spill_pool_goes_to_the_host_tier():
    pool = gt.MemPool(policy="spill", device_budget=32 << 20)
    with torch.cuda.use_mem_pool(pool):
        first = torch.empty(24 << 20, dtype=torch.uint8, device="cuda")
        second = torch.empty(24 << 20, dtype=torch.uint8, device="cuda")
    assert pool.runtime.pointer_info(first).mode == ghtier.MemoryMode.DEVICE
    assert pool.runtime.pointer_info(second).mode != ghtier.MemoryMode.DEVICE
    second.fill_(3)
    assert int(second.sum(dtype=torch.int64).item()) == 3 * second.numel()
    del first, second
    slot = pool.slot
    del pool
    released(slot)


def test_refused_segment_raises_torch_oom_with_ghtier_reason():
    pool = gt.MemPool(mode="device", device_budget=8 << 20, policy="device_only")
    pool.runtime.set_budget("device", 8 << 20)
    with pytest.raises(torch.OutOfMemoryError):
        with torch.cuda.use_mem_pool(pool):
            torch.empty(64 << 20, dtype=torch.uint8, device="cuda")
    assert "bytes (device)" in pool.last_error(), pool.last_error()
    assert pool.slot_statistics().failed_allocations >= 1
    slot = pool.slot
    del pool
    released(slot)


@pytest.mark.skipif(not torch.cuda.is_available() or torch.cuda.device_count() < 2, reason="needs a second GPU")
def test_tensor_on_another_device_is_refused():
    pool = gt.MemPool(mode="device", device=0)
    with pytest.raises(Exception):
        with torch.cuda.use_mem_pool(pool, device=1):
            torch.empty(1 << 20, device="cuda:1")
    slot = pool.slot
    del pool
    released(slot)
