"""ghtier.torch.stream_weights on the GPU, with a small random-init LlamaForCausalLM (transformers): forward
logits and greedy generate() bitwise equal to the all-resident model at budgets 0%, 50%, 100%; a budget
change between two generate() calls without reloading; a LoRA-style step (adapters on q_proj/v_proj, base
frozen and streamed) gives the resident model's adapter gradients bitwise; clear refusals that leave the
model as it was; close() makes the model resident again."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed")
transformers = pytest.importorskip("transformers", reason="transformers is not installed")

import ghtier  # noqa: E402
import ghtier.torch as gt  # noqa: E402
from ghtier.bench import _training  # noqa: E402

pytestmark = pytest.mark.gpu

SHAPE = {"layers": 5, "hidden": 256, "heads": 4, "vocab": 1024, "seq": 256}


@pytest.fixture(autouse=True)
def deterministic():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    yield


def make(seed: int = 0, dtype=torch.float32):
    model = _training.make_model(seed, **SHAPE).to(dtype)
    model.eval()
    model.requires_grad_(False)
    return model


def tokens(seed: int, batch: int = 2, seq: int = 24):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, SHAPE["vocab"], (batch, seq), generator=g).cuda()


def poison_free_memory(nbytes: int) -> None:
    """NaN over memory PyTorch's allocator just got back (the layers' old device copies): a dangling
    reference to it would read NaN instead of the weights."""
    filler = torch.full((nbytes // 4,), float("nan"), device="cuda")
    torch.cuda.synchronize()
    del filler


def layer_bytes(model) -> int:
    return sum(t.numel() * t.element_size() for layer in model.model.layers
               for t in list(layer.parameters()) + list(layer.buffers()))


def logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits.clone()


def generate(model, ids, new_tokens: int = 12):
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                         do_sample=False, output_logits=True, return_dict_in_generate=True,
                         pad_token_id=0)
    return out.sequences.clone(), torch.stack(out.logits).clone()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("budget", [0.0, 0.5, 1.0])
def test_forward_and_generate_equal_the_resident_model_bitwise(budget, dtype):
    reference = make(dtype=dtype)
    inputs = [tokens(1), tokens(2, batch=1, seq=40)]
    expected_logits = [logits(reference, ids) for ids in inputs]
    expected_generate = generate(reference, inputs[0])
    del reference
    model = make(dtype=dtype)
    before = torch.cuda.memory_allocated()
    handle = gt.stream_weights(model, device_budget=budget)
    try:
        poison_free_memory(layer_bytes(model))
        params = dict(model.model.layers[0].named_parameters())
        assert all(p.device.type == "cpu" for p in params.values()), "between uses the weights live on the host"
        assert torch.cuda.memory_allocated() < before - layer_bytes(model) // 2, "the layers' GPU copies stayed"
        for _ in range(2):  # twice: the ring's slots are reused across passes
            for ids, want in zip(inputs, expected_logits):
                got = logits(model, ids)
                assert torch.equal(got, want), f"logits differ at budget {budget}"
        sequences, scores = generate(model, inputs[0])
        assert torch.equal(sequences, expected_generate[0])
        assert torch.equal(scores, expected_generate[1])
        stats = handle.statistics()
        assert stats["acquires"] > 0
        if budget < 1.0:
            assert stats["copied_bytes"] > layer_bytes(model), "nothing was streamed"
            assert "streamed" in stats["placements"]
        else:
            assert stats["placements"] == ["resident"] * SHAPE["layers"]
        assert stats["device_bytes"] <= handle.device_budget
        assert all(p is q for p, q in zip(params.values(), dict(model.model.layers[0].named_parameters()).values()))
    finally:
        handle.close()
    assert all(p.device.type == "cuda" for p in model.parameters()), "close() left weights on the host"
    assert torch.equal(logits(model, inputs[0]), expected_logits[0])


def test_set_budget_between_generate_calls_takes_effect_without_reloading():
    reference = make()
    ids = tokens(3)
    expected = generate(reference, ids)
    del reference
    model = make()
    with gt.stream_weights(model, device_budget=0.0) as handle:
        assert torch.equal(generate(model, ids)[0], expected[0])
        streamed = handle.statistics()
        handle.set_budget(1.0)
        promoted = handle.statistics()
        assert promoted["budget_changes"] == 1
        # At 0% (two slots' bytes) the planner may keep a layer resident; every other one is promoted now.
        assert promoted["promoted_layers"] == sum(p != "resident" for p in streamed["placements"]) > 0
        assert promoted["last_budget_change_seconds"] > 0
        assert promoted["placements"] == ["resident"] * SHAPE["layers"]
        # The promotion copied each layer once; generate() at full residency copies nothing more.
        assert promoted["copied_bytes"] - streamed["copied_bytes"] <= layer_bytes(model) + 256 * 20 * SHAPE["layers"]
        got = generate(model, ids)
        assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])
        assert handle.statistics()["copied_bytes"] == promoted["copied_bytes"]
        handle.set_budget(0.25)
        demoted = handle.statistics()
        assert demoted["demoted_layers"] > 0 and "streamed" in demoted["placements"]
        got = generate(model, ids)
        assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])


class LoRA(torch.nn.Module):
    """A low-rank adapter added to a projection's output by a forward hook: out + B(A(x))."""

    def __init__(self, module: torch.nn.Linear, rank: int, seed: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.a = torch.nn.Parameter((torch.randn(rank, module.in_features, generator=g) * 0.05).cuda())
        self.b = torch.nn.Parameter((torch.randn(module.out_features, rank, generator=g) * 0.05).cuda())
        module.register_forward_hook(lambda m, args, out: out + (args[0] @ self.a.t()) @ self.b.t())


def lora_gradients(model, batches, steps: int = 2):
    """Adds adapters to every layer's q_proj and v_proj, then per step: forward, LM loss, backward, SGD."""
    adapters = []
    for i, layer in enumerate(model.model.layers):
        adapters.append(LoRA(layer.self_attn.q_proj, 4, seed=10 + i))
        adapters.append(LoRA(layer.self_attn.v_proj, 4, seed=100 + i))
    params = [p for a in adapters for p in a.parameters()]
    optimizer = torch.optim.SGD(params, lr=0.1)
    history = []
    for step in range(steps):
        ids = batches[step % len(batches)]
        optimizer.zero_grad(set_to_none=True)
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.cuda.synchronize()
        history.append([p.grad.detach().clone() for p in params])
        optimizer.step()
    return history


@pytest.mark.parametrize("budget", [0.0, 0.5])
def test_lora_step_through_streamed_layers_gives_the_resident_gradients(budget):
    batches = [tokens(4), tokens(5)]
    reference = make()
    reference.train()
    expected = lora_gradients(reference, batches)
    del reference
    model = make()
    model.train()
    handle = gt.stream_weights(model, device_budget=budget)
    try:
        poison_free_memory(layer_bytes(model))
        got = lora_gradients(model, batches, steps=3)[:2]  # a third step: forward after backward still works
        for step, (g_step, e_step) in enumerate(zip(got, expected)):
            for g, e in zip(g_step, e_step):
                assert torch.isfinite(g).all()
                assert torch.equal(g, e), f"adapter gradients differ at step {step} (budget {budget})"
        stats = handle.statistics()
        assert stats["acquires"] >= 2 * 3 * SHAPE["layers"], "backward did not acquire the layers again"
        assert not any(handle._held), "a layer stayed acquired after backward"
    finally:
        handle.close()


def minimum_budget(model) -> int:
    """One ring slot for the largest layer, tensors 256-byte aligned (what the streamer needs at least)."""
    from ghtier._streamed_layers import host_layout

    return max(host_layout([[t.numel() * t.element_size() for t in list(layer.parameters()) + list(layer.buffers())]
                            for layer in model.model.layers]).layer_bytes)


def test_the_minimum_budget_runs_and_one_byte_less_is_refused_naming_it():
    reference = make()
    ids = tokens(8)
    want = logits(reference, ids)
    expected = generate(reference, ids)
    del reference
    model = make()
    minimum = minimum_budget(model)
    with pytest.raises(ghtier.OutOfBudgetError, match=f"minimum of {minimum} bytes"):
        gt.stream_weights(model, device_budget=minimum - 1)
    with gt.stream_weights(model, device_budget=minimum) as handle:  # one slot: every copy waits for the layer
        poison_free_memory(layer_bytes(model))
        assert handle.statistics()["ring_slots"] == 1
        assert torch.equal(logits(model, ids), want)
        got = generate(model, ids)
        assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])


def test_refusals_leave_the_model_as_it_was():
    model = make()
    ids = tokens(6)
    want = logits(model, ids)
    first = model.model.layers[0].self_attn.q_proj.weight
    first.requires_grad_(True)
    with pytest.raises(ghtier.UnsupportedError, match=r"layers\[0\]\.self_attn\.q_proj\.weight"):
        gt.stream_weights(model, 0.5)
    first.requires_grad_(False)
    with pytest.raises(ghtier.OutOfBudgetError, match="minimum"):
        gt.stream_weights(model, device_budget=1024)
    with pytest.raises(ghtier.UnsupportedError, match="compile"):
        gt.stream_weights(torch.compile(model), 0.5)
    with pytest.raises(ghtier.InvalidArgumentError):
        gt.stream_weights(model, device_budget=1.5)
    cpu = make().cpu()
    with pytest.raises(ghtier.UnsupportedError, match="CUDA"):
        gt.stream_weights(cpu, 0.5)
    assert all(p.device.type == "cuda" for p in model.parameters())
    assert torch.equal(logits(model, ids), want)


def test_refusals_while_streaming():
    model = make()
    ids = tokens(7)
    want = logits(model, ids)
    with gt.stream_weights(model, 0.0) as handle:
        with pytest.raises(ghtier.OutOfBudgetError, match="minimum"):
            handle.set_budget(1024)
        # A base weight made trainable after streaming started is refused at the next forward with grad.
        model.model.layers[2].mlp.down_proj.weight.requires_grad_(True)
        with pytest.raises(ghtier.UnsupportedError, match=r"layers\[2\]\.mlp\.down_proj\.weight"):
            model(input_ids=ids)
        model.model.layers[2].mlp.down_proj.weight.requires_grad_(False)
        assert not any(handle._held), "a refused forward left a layer acquired"
        # A streamed layer called during CUDA graph capture is refused (the copies are host-driven) before it
        # queues anything.
        hidden = torch.zeros(1, 4, SHAPE["hidden"], device="cuda")
        graph = torch.cuda.CUDAGraph()
        with pytest.raises(ghtier.UnsupportedError, match="capture"):
            with torch.no_grad(), torch.cuda.graph(graph):
                model.model.layers[0](hidden)
        assert not any(handle._held)
        assert torch.equal(logits(model, ids), want)
