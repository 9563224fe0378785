"""Buffers in each tier seen by PyTorch (CUDA array interface, DLPack), moved by the engine, read by the
kernels; fresh random data against CPU references, outputs poisoned first; no bytes left behind."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed")

import ghtier  # noqa: E402

pytestmark = pytest.mark.gpu

MiB = 1 << 20


@pytest.fixture
def runtime():
    r = ghtier.Runtime()
    before = {m: s.current_bytes for m, s in r.all_statistics().items()}
    yield r
    after = {m: s.current_bytes for m, s in r.all_statistics().items()}
    assert after == before, f"bytes left allocated: {before} -> {after}"
    r.close()


def gpu_modes(runtime):
    modes = [ghtier.MemoryMode.DEVICE, ghtier.MemoryMode.PINNED_HOST, ghtier.MemoryMode.MANAGED]
    if runtime.platform.gpu_reads_pageable:
        modes.append(ghtier.MemoryMode.SYSTEM)
    return modes


def test_each_tier_holds_a_tensor(runtime):
    for mode in gpu_modes(runtime):
        n = 3 * MiB + int(torch.randint(0, 4096, ()).item())
        with runtime.allocate_in(mode, n, sync=True) as buffer:
            assert runtime.pointer_info(buffer).mode == mode
            view = torch.as_tensor(buffer, device="cuda")
            assert view.dtype == torch.uint8 and view.numel() == n and view.data_ptr() == buffer.ptr
            view.fill_(0xEE)  # poison
            reference = torch.randint(0, 256, (n,), dtype=torch.uint8)
            view.copy_(reference.cuda())
            doubled = (view.to(torch.int32) * 2).cpu()
            assert torch.equal(view.cpu(), reference), mode
            assert torch.equal(doubled, reference.to(torch.int32) * 2), mode
            del view
            torch.cuda.synchronize()


def test_dlpack_of_device_memory(runtime):
    with runtime.allocate_in("device", MiB, sync=True) as buffer:
        tensor = torch.from_dlpack(buffer)
        assert tensor.device.type == "cuda" and tensor.data_ptr() == buffer.ptr and tensor.numel() == MiB
        reference = torch.randint(0, 256, (MiB,), dtype=torch.uint8)
        tensor.copy_(reference.cuda())
        assert torch.equal(tensor.cpu(), reference)
        del tensor
        torch.cuda.synchronize()


def test_policy_allocation_on_a_torch_stream(runtime):
    stream = torch.cuda.Stream()
    buffer = runtime.allocate(2 * MiB, tag="py-test", stream=stream)
    assert buffer.placement is not None and buffer.placement.mode == ghtier.MemoryMode.DEVICE
    assert runtime.pointer_info(buffer.ptr + 100).tag == "py-test"
    buffer.free()
    stream.synchronize()
    with pytest.raises(ghtier.ClosedError):
        buffer.free()


def test_engine_copies_between_tiers(runtime):
    engine = ghtier.TransferEngine(runtime)
    try:
        n = 16 * MiB + 12345
        with runtime.allocate_in("pinned_host", n, sync=True) as src, runtime.allocate_in("device", n, sync=True) as dst:
            reference = torch.randint(0, 256, (n,), dtype=torch.uint8)
            memoryview(src.host_view())[:] = reference.numpy().tobytes()
            out = torch.as_tensor(dst, device="cuda")
            out.fill_(0xEE)
            torch.cuda.synchronize()
            seen = []
            token = engine.copy(dst, src, n, priority="urgent", on_complete=seen.append)
            token.wait_on_stream(torch.cuda.current_stream())
            assert torch.equal(out.cpu(), reference)  # ordered after the copy on the current stream
            assert token.wait() == ghtier.TransferState.COMPLETED and token.done
            engine.synchronize()
            assert seen == [ghtier.TransferState.COMPLETED]
            token.close()
            with pytest.raises(ghtier.ClosedError):
                token.wait()
            del out
            torch.cuda.synchronize()
        assert engine.statistics()["completed"] >= 1
    finally:
        engine.close()


def test_gather_reads_a_pinned_table_in_place(runtime):
    rows, row_bytes, count = 4096, 64, 1000
    with runtime.allocate_in("pinned_host", rows * row_bytes, sync=True) as table:
        reference = torch.randint(0, 256, (rows, row_bytes), dtype=torch.uint8)
        memoryview(table.host_view())[:] = reference.numpy().tobytes()
        indices = torch.randint(0, rows, (count,), dtype=torch.int64)
        out = torch.full((count, row_bytes), 0xEE, dtype=torch.uint8, device="cuda")
        ghtier.kernels.gather(runtime, table, row_bytes, rows, indices.cuda(), count, out,
                              stream=torch.cuda.current_stream())
        torch.cuda.synchronize()
        assert torch.equal(out.cpu(), reference[indices])
        bad = indices.clone()
        bad[7] = rows + 3
        with pytest.raises(ghtier.InvalidArgumentError):
            ghtier.kernels.gather(runtime, table, row_bytes, rows, bad.cuda(), count, out)


def test_calls_after_the_runtime_is_gone():
    runtime = ghtier.Runtime()
    buffer = runtime.allocate_in("device", MiB, sync=True)
    engine = ghtier.TransferEngine(runtime)
    engine.close()
    runtime.close()  # frees the buffer
    assert buffer.freed
    for call in (buffer.free, lambda: buffer.__cuda_array_interface__, lambda: runtime.allocate(MiB),
                 lambda: engine.synchronize()):
        with pytest.raises(ghtier.ClosedError):
            call()


def test_log_messages_reach_a_python_sink():
    got = []
    ghtier.set_log_level("info")
    ghtier.set_log_sink(lambda level, message: got.append((level, message)))
    try:
        ghtier.Runtime().close()
    finally:
        ghtier.set_log_sink(None)
        ghtier.set_log_level("warn")
    assert any(level == ghtier.LogLevel.INFO and "ghtier::Runtime on device" in message for level, message in got), got
