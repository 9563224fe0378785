"""ghtier.torch.offload_activations on the GPU: gradients bitwise equal to keeping everything for offload-only
plans (fp32 and bf16 autocast), with gradient accumulation, and close for plans that recompute; bytes really
offloaded; repeated saves of one storage copied once; parameters never offloaded; clear refusals (torch.compile,
graph capture, checkpointing on, a host arena too small, naming the budget, with the weights untouched)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed")

import ghtier  # noqa: E402
import ghtier.torch as gt  # noqa: E402

pytestmark = pytest.mark.gpu


class Block(torch.nn.Module):
    """A small residual MLP block: saves several tensors of a few MiB, one storage twice (h * h)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = torch.nn.LayerNorm(width)
        self.up = torch.nn.Linear(width, 4 * width)
        self.down = torch.nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.nn.functional.gelu(self.up(self.norm(x)))
        return x + self.down(h * h)


class Net(torch.nn.Module):
    def __init__(self, width: int = 256, depth: int = 6) -> None:
        super().__init__()
        self.embed = torch.nn.Linear(width, width)
        self.layers = torch.nn.ModuleList(Block(width) for _ in range(depth))
        self.head = torch.nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(x).float().square().mean()


def make(seed: int = 0, **kwargs) -> Net:
    torch.manual_seed(seed)
    return Net(**kwargs).cuda()


def batch(seed: int, rows: int = 4096, width: int = 256) -> torch.Tensor:
    g = torch.Generator(device="cuda").manual_seed(seed)
    return torch.randn(rows, width, device="cuda", generator=g)


def grads_after(model: Net, batches, *, autocast: bool = False):
    """Accumulates gradients over `batches` (forward, backward each) and returns them."""
    model.zero_grad(set_to_none=True)
    for x in batches:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            loss = model(x)
        loss.backward()
    torch.cuda.synchronize()
    return [p.grad.detach().clone() for p in model.parameters()]


@pytest.fixture(autouse=True)
def deterministic():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    yield


@pytest.mark.parametrize("autocast", [False, True])
def test_full_offload_gives_keep_alls_gradients_bitwise(autocast):
    reference = make()
    data = [batch(1), batch(2)]  # two micro-batches: gradient accumulation
    expected = grads_after(reference, data, autocast=autocast)
    model = make()
    handle = gt.offload_activations(model, budget=None, plan="offload", min_offload_bytes=1 << 20)
    try:
        # The first micro-batch's forward and backward are the profile (everything kept); the second
        # micro-batch's forward already runs under the plan.
        grads_after(model, data, autocast=autocast)
        assert not handle.statistics()["profiling"]
        before = handle.statistics().get("offloaded_bytes", 0)
        got = grads_after(model, data, autocast=autocast)  # planned at its first forward: everything offloaded
        assert handle.actions == ["offload"] * 6
        stats = handle.statistics()
        assert stats["offloaded_bytes"] > before, "nothing was offloaded"
        assert stats["live_handles"] == 0, "saved activations outlived the backward pass"
        for g, e in zip(got, expected):
            assert torch.equal(g, e), "offloading changed the gradients"
    finally:
        handle.remove()


def test_auto_plan_within_a_budget_and_parameters_never_offloaded():
    reference = make()
    data = [batch(3)]
    expected = grads_after(reference, data)
    model = make()
    handle = gt.offload_activations(model, budget=0.3, plan="auto", min_offload_bytes=1 << 20)
    try:
        grads_after(model, data)
        got = grads_after(model, data)
        assert handle.plan is not None and handle.predicted_step_seconds is not None
        assert len(handle.actions) == 6
        # The model's own weights are never candidates, whatever their size.
        assert not any(handle._offloadable(p) for p in model.parameters())
        for g, e in zip(got, expected):
            if "recompute" in handle.actions:
                torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-6)
            else:
                assert torch.equal(g, e)
    finally:
        handle.remove()


def test_repeated_saves_of_one_storage_are_offloaded_once():
    model = make(depth=2)
    handle = gt.offload_activations(model, budget=None, plan="offload", min_offload_bytes=1 << 20)
    try:
        grads_after(model, [batch(4)])
        grads_after(model, [batch(4)])
        assert handle.statistics()["deduplicated_saves"] > 0
    finally:
        handle.remove()


def test_host_arena_too_small_is_refused_naming_the_budget_and_weights_are_untouched():
    model = make()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    handle = gt.offload_activations(model, plan=["offload"] * 6, host_budget=1 << 20, min_offload_bytes=1 << 20)
    try:
        with pytest.raises(ghtier.OutOfBudgetError, match=str(1 << 20)):
            loss = model(batch(5))
            loss.backward()
            optimizer.step()
        for p, b in zip(model.parameters(), before):
            assert torch.equal(p, b), "a refused step changed the weights"
    finally:
        handle.remove()
    # Without the offload the model trains as before.
    grads_after(model, [batch(5)])


def test_refusals_say_what_is_not_supported():
    model = make()
    with pytest.raises(ghtier.UnsupportedError, match="torch.compile"):
        gt.offload_activations(torch.compile(model))
    layered = make()
    layered.layers[0].compile()
    with pytest.raises(ghtier.UnsupportedError, match="torch.compile"):
        gt.offload_activations(layered)
    with pytest.raises(ghtier.UnsupportedError, match="no repeated layers"):
        gt.offload_activations(torch.nn.Linear(4, 4).cuda())
    with pytest.raises(ghtier.InvalidArgumentError, match="budget"):
        gt.offload_activations(make(), budget=1.5)
    handle = gt.offload_activations(make(), plan="checkpoint")
    try:
        stream = torch.cuda.Stream()
        graph = torch.cuda.CUDAGraph()
        x = batch(6)
        with pytest.raises(ghtier.UnsupportedError, match="graph capture"):
            with torch.cuda.stream(stream), torch.cuda.graph(graph, stream=stream):
                handle.model(x).backward()
    finally:
        handle.remove()
