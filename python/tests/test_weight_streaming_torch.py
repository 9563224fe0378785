"""ghtier.torch.stream_weights' decisions that need no PyTorch (ghtier._streamed_layers): which module list is
the decoder, the host arena's layout, what a fractional budget means; and, where PyTorch is installed, layer
finding on real module trees (CPU only). The GPU behaviour is in tests/gpu/test_weight_streaming_gpu.py."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

import ghtier
from ghtier._streamed_layers import (DEFAULT_RING_SLOTS, TENSOR_ALIGNMENT, LayerCandidate, align_up, budget_bytes,
                                     choose_layer_list, host_layout)


def _candidate(path, signatures, parameters=0):
    return LayerCandidate(path, tuple(signatures), parameters)


def test_prefers_model_layers_when_identical():
    candidates = [_candidate("encoder.blocks", ["E"] * 40, 10), _candidate("model.layers", ["D"] * 4, 1)]
    assert choose_layer_list(candidates) == 1


def test_model_layers_of_mixed_blocks_falls_back_to_the_longest_identical_list():
    candidates = [_candidate("model.layers", ["A", "B", "A"], 100), _candidate("x.blocks", ["C"] * 3, 5),
                  _candidate("y.blocks", ["C"] * 5, 1)]
    assert choose_layer_list(candidates) == 2


def test_ties_go_to_more_parameters_then_the_first():
    candidates = [_candidate("a", ["X"] * 4, 10), _candidate("b", ["Y"] * 4, 20), _candidate("c", ["Z"] * 4, 20)]
    assert choose_layer_list(candidates) == 1


def test_no_identical_list_is_refused_with_the_way_out():
    with pytest.raises(ghtier.UnsupportedError, match="layers="):
        choose_layer_list([_candidate("a", ["X"]), _candidate("b", ["X", "Y"])])
    with pytest.raises(ghtier.UnsupportedError):
        choose_layer_list([])


def test_host_layout_packs_aligned_tensors_layer_after_layer():
    rng = random.Random(7)
    for _ in range(200):
        sizes = [[rng.randint(1, 5000) for _ in range(rng.randint(1, 6))] for _ in range(rng.randint(1, 5))]
        layout = host_layout(sizes)
        cursor = 0
        assert [len(o) for o in layout.offsets] == [len(layer) for layer in sizes]
        for i, (layer, offsets) in enumerate(zip(sizes, layout.offsets)):
            start = cursor
            for nbytes, offset in zip(layer, offsets):
                assert offset == cursor and offset % TENSOR_ALIGNMENT == 0
                cursor += -(-nbytes // TENSOR_ALIGNMENT) * TENSOR_ALIGNMENT
            assert layout.layer_bytes[i] == cursor - start
        assert layout.total_bytes == cursor == sum(layout.layer_bytes)
        # exact size: no more than alignment-1 slack per tensor
        assert layout.total_bytes - sum(map(sum, sizes)) < TENSOR_ALIGNMENT * sum(map(len, sizes))


def test_host_layout_refuses_empty_layers_and_tensors():
    with pytest.raises(ghtier.InvalidArgumentError, match="no layers"):
        host_layout([])
    with pytest.raises(ghtier.InvalidArgumentError, match="layer 1 has no"):
        host_layout([[4], []])
    with pytest.raises(ghtier.InvalidArgumentError, match="layer 0 tensor 1"):
        host_layout([[4, 0]])


def test_budget_bytes_int_is_taken_as_given_and_fraction_adds_ring_slots():
    layers = [1000, 3000, 2000]
    assert budget_bytes(12345, layers) == 12345
    assert budget_bytes(0, layers) == 0  # the streamer refuses it, naming its minimum
    assert budget_bytes(0.0, layers) == DEFAULT_RING_SLOTS * 3000
    assert budget_bytes(0.5, layers) == 3000 + DEFAULT_RING_SLOTS * 3000
    assert budget_bytes(1.0, layers, ring_slots=1) == 6000 + 3000
    assert align_up(1) == TENSOR_ALIGNMENT and align_up(TENSOR_ALIGNMENT) == TENSOR_ALIGNMENT


@pytest.mark.parametrize("bad", [-1, 1.5, -0.1, "half", None, True])
def test_budget_bytes_refuses_bad_budgets(bad):
    with pytest.raises(ghtier.InvalidArgumentError, match="device_budget"):
        budget_bytes(bad, [10])


def test_budget_bytes_refuses_a_bad_lookahead():
    with pytest.raises(ghtier.InvalidArgumentError, match="lookahead"):
        budget_bytes(0.5, [10], ring_slots=0)


def test_importing_ghtier_does_not_import_torch():
    code = "import sys, ghtier, ghtier._streamed_layers; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_find_streamed_layers_on_module_trees():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    from torch import nn

    import ghtier.torch as gt

    class Block(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.proj = nn.Linear(width, width)

    class Inner(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(Block(8) for _ in range(3))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = Inner()
            self.heads = nn.ModuleList(Block(4) for _ in range(6))  # longer, but not the decoder

    model = Model()
    assert gt.find_streamed_layers(model) == list(model.model.layers)
    model.model.layers[1] = Block(16)  # no longer identical: the longest identical list wins
    assert gt.find_streamed_layers(model) == list(model.heads)
    with pytest.raises(ghtier.UnsupportedError):
        gt.find_streamed_layers(nn.Sequential(nn.Linear(2, 2)))
    # A model on the CPU is refused before anything moves.
    with pytest.raises(ghtier.UnsupportedError, match="CUDA"):
        gt.stream_weights(Model(), 0.5)
    assert torch is not None


def test_benchmark_skips_with_a_reason_without_torch(tmp_path):
    import json
    import os
    import pathlib

    from ghtier.bench import allocator

    if allocator.skip_reason() is None:
        pytest.skip("PyTorch with CUDA is here: the GPU check runs the benchmark")
    out = tmp_path / "bench.json"
    root = pathlib.Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root / "python"))
    result = subprocess.run([sys.executable, "-m", "ghtier.bench", "weight_streaming", "--quick", "--layers", "3",
                             "--json", str(out)], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "ghtier.bench weight_streaming: skipped: " in result.stdout
    document = json.loads(out.read_text())
    assert set(document) == {"context", "benchmarks"}
    assert document["context"]["shape"]["layers"] == 3 and document["context"]["shape"]["hidden"] == 4096
    (case,) = document["benchmarks"]
    assert case["error_occurred"] is True and case["name"] == "weight_streaming"


def test_benchmark_report_ratios_and_bounds():
    from ghtier.bench import weight_streaming as ws

    shape = dict(ws.QUICK)
    names = [name for name, _, _ in ws._passes(shape)]
    rng = random.Random(3)
    resident = {n: {"seconds": rng.uniform(0.001, 0.2)} for n in names}
    ghtier_0 = {n: {"seconds": rng.uniform(0.05, 0.3), "equal": True} for n in names}
    accelerate = {n: {"seconds": rng.uniform(0.5, 1.5), "equal": False} for n in names}
    results = {"resident": resident, "ghtier_budget_0pct": ghtier_0, "accelerate_cpu_offload": accelerate}
    layer_bytes, streamed, h2d = 5 << 30, 4 << 30, 50.0
    lora = {"resident": 0.3, "ghtier_budget_0pct": 0.5, "streamed_bytes": streamed}
    cases = ws._report(shape, results, {"resident": 0, "ghtier_budget_0pct": streamed,
                                        "accelerate_cpu_offload": layer_bytes},
                       {"set_budget": {"to_0pct_us": 5.0, "to_100pct_us": 90.0}}, lora, h2d, layer_bytes, None)
    by_name = {c["name"]: c for c in cases}
    for n in names:
        c = by_name[f"weight_streaming/ghtier_budget_0pct/{n}"]
        bound = max(resident[n]["seconds"], streamed / (h2d * 1e9))
        assert c["real_time"] == pytest.approx(ghtier_0[n]["seconds"] * 1e6)
        assert c["ratio"] == pytest.approx(ghtier_0[n]["seconds"] / resident[n]["seconds"])
        assert c["ratio_to_bound"] == pytest.approx(ghtier_0[n]["seconds"] / bound)
        assert c["speedup_over_accelerate"] == pytest.approx(accelerate[n]["seconds"] / ghtier_0[n]["seconds"])
        assert c["output_equal_resident"] == 1.0
        assert by_name[f"weight_streaming/accelerate_cpu_offload/{n}"]["output_equal_resident"] == 0.0
        assert by_name[f"weight_streaming/resident/{n}"]["ratio"] == pytest.approx(1.0)
    assert by_name["weight_streaming/set_budget"]["real_time"] == 90.0
    step = by_name[f"weight_streaming/lora_step/prefill{shape['prefill']}_b1/ghtier_budget_0pct"]
    assert step["ratio_to_bound"] == pytest.approx(0.5 / max(0.3, 2 * streamed / (h2d * 1e9)))
    # A missing accelerate is reported as a skipped case, and a failed pass carries its error.
    cases = ws._report(shape, {"resident": resident, "ghtier_budget_0pct": {names[0]: {"error": "boom"}}},
                       {"ghtier_budget_0pct": streamed}, {}, {"error": "no lora"}, h2d, layer_bytes,
                       "skipped: accelerate is not installed")
    by_name = {c["name"]: c for c in cases}
    assert by_name[f"weight_streaming/ghtier_budget_0pct/{names[0]}"]["error_message"] == "boom"
    assert by_name["weight_streaming/accelerate_cpu_offload"]["error_occurred"] is True
    assert by_name[f"weight_streaming/lora_step/prefill{shape['prefill']}_b1"]["error_message"] == "no lora"


# ---- the autograd machinery of stream_weights on the CPU, over a fake ring --------------------------------
# Where PyTorch is installed (not in CI), the wrapper's forward wrappers and saved-tensor hooks run on CPU
# tensors against a fake streamer: a ring of CPU slots that copies a layer in at acquire and poisons (NaN)
# the slot at release, so any use of a weight after its release (forward or backward) shows in the gradients.


class _FakeRing:
    """Streamed layers go through `slots` ring slots (poisoned at release); layers in `resident` have a block of
    their own, filled when they become resident, poisoned (0xFF: NaN in float32) when set_budget demotes them or
    close() frees them, as the real streamer frees or reuses them."""

    def __init__(self, torch, entries, layout, slots, resident=()):
        self.torch = torch
        self.entries = entries
        self.layout = layout
        self.memory = torch.full((slots, max(layout.layer_bytes)), 0xFF, dtype=torch.uint8)
        self.blocks = torch.full((len(entries), max(layout.layer_bytes)), 0xFF, dtype=torch.uint8)
        self.holder = [None] * slots
        self.count = [0] * len(entries)
        self.slot_of = {}
        self.log = []
        self.orders = []
        self.resident = set()
        self.budgets = []
        self._make_resident(resident)

    def _fill(self, row, layer):
        base = self.layout.offsets[layer][0]
        for e, off in zip(self.entries[layer], self.layout.offsets[layer]):
            start = off - base
            row[start:start + e.nbytes] = e.host.reshape(-1).view(self.torch.uint8)

    def _make_resident(self, layers):
        for layer in set(self.resident) - set(layers):
            self.blocks[layer].fill_(0xFF)
        for layer in set(layers) - set(self.resident):
            self._fill(self.blocks[layer], layer)
        self.resident = set(layers)

    def acquire(self, layer, stream):
        base = self.layout.offsets[layer][0]
        if layer in self.resident:
            self.count[layer] += 1
            self.log.append(("acquire", layer))
            return [self.blocks[layer].data_ptr() + off - base for off in self.layout.offsets[layer]]
        if layer not in self.slot_of:
            free = [s for s, h in enumerate(self.holder) if h is None]
            if not free:
                raise ghtier.OutOfBudgetError(f"fake ring: layer {layer} needs a slot, all hold acquired layers")
            slot = free[0]
            self.holder[slot] = layer
            self.slot_of[layer] = slot
            base = self.layout.offsets[layer][0]
            for e, off in zip(self.entries[layer], self.layout.offsets[layer]):
                start = off - base
                self.memory[slot, start:start + e.nbytes] = e.host.reshape(-1).view(self.torch.uint8)
        self.count[layer] += 1
        self.log.append(("acquire", layer))
        base = self.layout.offsets[layer][0]
        return [self.memory[self.slot_of[layer]].data_ptr() + off - base for off in self.layout.offsets[layer]]

    def release(self, layer, stream):
        if self.count[layer] == 0:
            raise ghtier.InvalidArgumentError(f"fake ring: layer {layer} is not acquired")
        self.count[layer] -= 1
        self.log.append(("release", layer))
        if self.count[layer] == 0 and layer not in self.resident:
            slot = self.slot_of.pop(layer)
            self.holder[slot] = None
            self.memory[slot].fill_(0xFF)

    def set_order(self, order):
        self.orders.append(list(order))

    def plan(self):
        import types

        return types.SimpleNamespace(placements=["resident" if i in self.resident else "streamed"
                                                 for i in range(len(self.entries))])

    def set_budget(self, nbytes):
        # The fake's "budget" is the number of leading layers kept resident.
        assert not any(self.count), "set_budget while a layer is acquired"
        self.budgets.append(nbytes)
        self._make_resident(range(nbytes))

    def close(self):
        self._make_resident(())
        self.memory.fill_(0xFF)


def _fake_streamed(torch, monkeypatch, model, slots, resident=()):
    import threading
    import types

    from ghtier import _dlpack
    from ghtier.torch.weight_streaming import WeightStreamingHandle, _Streamed

    monkeypatch.setattr(torch.cuda, "current_stream", lambda *a, **k: types.SimpleNamespace(cuda_stream=0))
    monkeypatch.setattr(torch.cuda, "is_current_stream_capturing", lambda: False)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a, **k: None)
    monkeypatch.setattr(_dlpack, "KDL_CUDA", _dlpack.KDL_CPU)
    handle = WeightStreamingHandle.__new__(WeightStreamingHandle)
    handle.model, handle.layers, handle.device = model, list(model.layers), torch.device("cpu")
    handle._lookahead, handle._lock, handle._closed = None, threading.RLock(), False
    handle._runtime = types.SimpleNamespace(device=0, close=lambda: None)
    handle._arena = None
    handle._entries = []
    for layer in handle.layers:
        entries = [_Streamed(t, n) for n, t in list(layer.named_parameters()) + list(layer.named_buffers())]
        for e in entries:
            e.host = e.tensor.data.clone()
            e.tensor.data = e.host
        handle._entries.append(entries)
    handle._layout = host_layout([[e.nbytes for e in entries] for entries in handle._entries])
    handle._streamer = _FakeRing(torch, handle._entries, handle._layout, slots, resident)
    handle._install()
    return handle


def _toy(torch, seed, width=16, depth=4, write_buffer=False):
    from torch import nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.LayerNorm(width)
            self.fc1 = nn.Linear(width, 2 * width)
            self.fc2 = nn.Linear(2 * width, width)
            self.register_buffer("scale", torch.rand(width) + 0.5)

        def forward(self, x):
            if write_buffer:
                self.scale.mul_(1.0)
            return x + self.fc2(torch.relu(self.fc1(self.norm(x)))) * self.scale

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(width, width)
            self.layers = nn.ModuleList(Block() for _ in range(depth))
            self.head = nn.Linear(width, 1)

        def forward(self, x):
            x = self.embed(x)
            for layer in self.layers:
                x = layer(x)
            return self.head(x).square().mean()

    torch.manual_seed(seed)
    model = Net()
    model.requires_grad_(False)
    adapters = []
    for i, block in enumerate(model.layers):
        a = nn.Parameter(torch.randn(2, width) * 0.1)
        b = nn.Parameter(torch.randn(2 * width, 2) * 0.1)
        adapters += [a, b]
        block.fc1.register_forward_hook(lambda m, args, out, a=a, b=b: out + (args[0] @ a.t()) @ b.t())
    return model, adapters


def _on_host(e):
    return e.tensor.device.type == "cpu" and e.tensor.data_ptr() == e.host.data_ptr()


def _in_block(ring, layer, e):
    block = ring.blocks[layer]
    return block.data_ptr() <= e.tensor.data_ptr() < block.data_ptr() + block.numel()


@pytest.mark.parametrize("slots, resident", [(1, ()), (2, ()), (1, (1, 3))])
def test_backward_through_a_fake_ring_gives_the_resident_gradients(monkeypatch, slots, resident):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    data = [torch.randn(8, 16, generator=torch.Generator().manual_seed(s)) for s in (1, 2)]
    reference, ref_adapters = _toy(torch, 0)
    expected = []
    for x in data:
        for p in ref_adapters:
            p.grad = None
        reference(x).backward()
        expected.append([p.grad.clone() for p in ref_adapters])
    with torch.no_grad():
        expected_eval = reference(data[0])

    model, adapters = _toy(torch, 0)
    handle = _fake_streamed(torch, monkeypatch, model, slots, resident)
    ring = handle._streamer
    for step, x in enumerate(data):
        for p in adapters:
            p.grad = None
        ring.log.clear()
        model(x).backward()
        for g, e in zip([p.grad for p in adapters], expected[step]):
            assert torch.isfinite(g).all(), "a weight was read after its release (the ring poisons released slots)"
            assert torch.equal(g, e)
        acquires = [layer for what, layer in ring.log if what == "acquire"]
        assert acquires == [0, 1, 2, 3, 3, 2, 1, 0], "backward must acquire each layer again, in reverse"
        assert ring.count == [0] * 4 and not any(handle._held) and not handle._backward_held
        # Between passes: streamed layers on their host views, resident ones still bound to their blocks.
        for layer, entries in enumerate(handle._entries):
            assert all(_in_block(ring, layer, e) if layer in resident else _on_host(e) for e in entries)
    assert ring.orders[0] == [3, 2, 1, 0] and ring.orders[1] == [0, 1, 2, 3], "order: reverse for backward"
    with torch.no_grad():
        assert torch.equal(model(data[0]), expected_eval)


def test_fake_ring_refusals(monkeypatch):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    x = torch.randn(4, 16)
    model, _ = _toy(torch, 0, write_buffer=True)
    handle = _fake_streamed(torch, monkeypatch, model, 2)
    with torch.no_grad(), pytest.raises(ghtier.UnsupportedError, match=r"layers\[0\]\.scale was written"):
        model(x)
    assert not any(handle._held)
    model, _ = _toy(torch, 0)
    handle = _fake_streamed(torch, monkeypatch, model, 2)
    model.layers[1].fc2.weight.requires_grad_(True)
    with pytest.raises(ghtier.UnsupportedError, match=r"layers\[1\]\.fc2\.weight requires grad"):
        model(x)
    assert not any(handle._held)
    model.layers[1].fc2.weight.requires_grad_(False)
    with pytest.raises(ghtier.InvalidArgumentError, match="in use"):
        handle._held[2] = 1
        handle.set_budget(1 << 20)


def test_transformers_llama_through_a_fake_ring(monkeypatch):
    """transformers' LlamaForCausalLM (tiny, CPU) with its decoder layers on the fake ring: the layers found,
    logits and greedy generate() equal the resident model's, and a LoRA step's adapter gradients too."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    transformers = pytest.importorskip("transformers", reason="transformers is not installed")
    import ghtier.torch as gt

    def make():
        config = transformers.LlamaConfig(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
        config._attn_implementation = "eager"
        torch.manual_seed(0)
        model = transformers.LlamaForCausalLM(config).eval()
        model.requires_grad_(False)
        return model

    def lora(model):
        params = []
        for i, layer in enumerate(model.model.layers):
            for proj in (layer.self_attn.q_proj, layer.self_attn.v_proj):
                g = torch.Generator().manual_seed(len(params))
                a = torch.nn.Parameter(torch.randn(2, proj.in_features, generator=g) * 0.1)
                b = torch.nn.Parameter(torch.randn(proj.out_features, 2, generator=g) * 0.1)
                params += [a, b]
                proj.register_forward_hook(lambda m, args, out, a=a, b=b: out + (args[0] @ a.t()) @ b.t())
        return params

    ids = torch.randint(0, 128, (2, 12), generator=torch.Generator().manual_seed(5))

    def run(model):
        with torch.no_grad():
            logits = model(input_ids=ids).logits
        generated = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=6,
                                   do_sample=False, pad_token_id=0)
        params = lora(model)
        model(input_ids=ids, labels=ids).loss.backward()
        return logits, generated, [p.grad for p in params]

    expected = run(make())
    model = make()
    assert gt.find_streamed_layers(model) == list(model.model.layers)
    handle = _fake_streamed(torch, monkeypatch, model.model, slots=1)
    got = run(model)
    assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])
    for g, e in zip(got[2], expected[2]):
        assert torch.equal(g, e)
    assert handle._streamer.count == [0, 0, 0] and ("acquire", 2) in handle._streamer.log


def test_resident_layers_stay_bound_between_passes_and_are_unbound_before_their_blocks_go(monkeypatch):
    """A layer the plan keeps resident is bound to its block once, not at every call; a budget change unbinds
    every layer before the streamer demotes (here: poisons) blocks, and close() before it frees them."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    x = torch.randn(4, 16, generator=torch.Generator().manual_seed(7))
    reference, _ = _toy(torch, 0)
    with torch.no_grad():
        expected = reference(x)
    model, _ = _toy(torch, 0)
    handle = _fake_streamed(torch, monkeypatch, model, 1, resident=(0, 1, 2))
    ring = handle._streamer
    built = []
    layer_views = handle._layer_views
    monkeypatch.setattr(handle, "_layer_views", lambda layer, pointers: (built.append(layer),
                                                                          layer_views(layer, pointers))[1])
    with torch.no_grad():
        for _ in range(3):
            assert torch.equal(model(x), expected)
    assert built.count(0) == built.count(1) == built.count(2) == 1, "a resident layer was rebound after its first use"
    assert built.count(3) == 3, "a streamed layer must be bound at every use"
    for layer in range(3):
        assert all(_in_block(ring, layer, e) for e in handle._entries[layer])
    assert all(_on_host(e) for e in handle._entries[3])

    handle.set_budget(1)  # the fake keeps layer 0 resident, demotes (poisons) 1 and 2
    assert ring.budgets == [1]
    assert all(_on_host(e) for entries in handle._entries for e in entries), "set_budget left a layer bound"
    with torch.no_grad():
        got = model(x)
    assert torch.isfinite(got).all() and torch.equal(got, expected), "a demoted block was read"
    assert all(_in_block(ring, 0, e) for e in handle._entries[0])
    assert all(_on_host(e) for layer in (1, 2, 3) for e in handle._entries[layer])

    params = [e.tensor for entries in handle._entries for e in entries]
    handle.close()  # the fake poisons every block: a weight still bound to one would be NaN
    assert all(torch.isfinite(p).all() for p in params)
    assert torch.equal(model(x), expected) and model.layers[0].forward.__func__ is type(model.layers[0]).forward


def test_an_in_place_write_in_a_resident_layer_is_refused_and_unbinds_it(monkeypatch):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    model, _ = _toy(torch, 0, write_buffer=True)
    handle = _fake_streamed(torch, monkeypatch, model, 1, resident=(0, 1, 2, 3))
    with torch.no_grad(), pytest.raises(ghtier.UnsupportedError, match=r"layers\[0\]\.scale was written"):
        model(torch.randn(4, 16))
    assert not any(handle._held) and all(_on_host(e) for e in handle._entries[0])


def test_hook_overhead_probe_over_a_fake_ring(monkeypatch):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    from ghtier.bench import weight_streaming as ws

    model, _ = _toy(torch, 0)
    handle = _fake_streamed(torch, monkeypatch, model, 1, resident=(0,))
    probe = ws._hook_overhead_us(handle, passes=3)
    assert set(probe) == {"hook_pair_us", "streamer_pair_us", "current_stream_us"}
    assert all(v > 0 for v in probe.values())
    assert handle._streamer.count == [0] * 4 and not any(handle._held)
    assert all(_on_host(e) for layer in (1, 2, 3) for e in handle._entries[layer])
