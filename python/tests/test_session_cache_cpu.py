"""What SessionCache rests on that runs without PyTorch: the block shape taken from a transformers config (and
its refusals), the KV benchmark's seeded trace and percentiles, and the benchmark and example skipping with a
reason where PyTorch is missing. The cache itself is tested on the GPU (python/tests/gpu/test_session_cache_gpu.py)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from types import SimpleNamespace

import pytest

import ghtier
from ghtier.bench import kv_cache as bench
from ghtier.kv_cache import LLAMA3_8B, KvBlockShape

ROOT = pathlib.Path(__file__).resolve().parents[2]


def llama_config(**overrides):
    fields = dict(num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8, hidden_size=4096)
    fields.update(overrides)
    return SimpleNamespace(**fields)


def test_llama3_8b_config_gives_the_reference_block():
    assert KvBlockShape.from_config(llama_config(), 2) == LLAMA3_8B
    assert KvBlockShape.from_config(llama_config(), 2).block_bytes == 2 << 20


def test_explicit_head_dim_and_missing_kv_heads():
    shape = KvBlockShape.from_config(llama_config(num_key_value_heads=None, head_dim=64), 4, tokens_per_block=32)
    assert (shape.kv_heads, shape.head_dim, shape.tokens_per_block, shape.dtype_bytes) == (32, 64, 32, 4)
    # block bytes computed independently: K and V x tokens x layers x heads x dim x bytes
    assert shape.block_bytes == 2 * 32 * 32 * 32 * 64 * 4


def test_the_text_config_of_a_composite_config_is_used():
    inner = llama_config(num_hidden_layers=3)
    outer = SimpleNamespace(get_text_config=lambda decoder=False: inner)
    assert KvBlockShape.from_config(outer, 2).layers == 3


@pytest.mark.parametrize("overrides, words", [
    ({"layer_types": ["full_attention", "sliding_attention"]}, "sliding_attention"),
    ({"layer_types": ["linear_attention"] * 2}, "linear_attention"),
    ({"sliding_window": 4096}, "sliding window of 4096"),
])
def test_non_full_attention_is_refused(overrides, words):
    with pytest.raises(ghtier.UnsupportedError, match=words):
        KvBlockShape.from_config(llama_config(**overrides), 2)


def test_a_sliding_window_that_is_off_is_accepted():
    shape = KvBlockShape.from_config(llama_config(sliding_window=4096, use_sliding_window=False), 2)
    assert shape == LLAMA3_8B


def test_a_config_without_attention_fields_is_refused():
    with pytest.raises(ghtier.InvalidArgumentError, match="num_hidden_layers"):
        KvBlockShape.from_config(SimpleNamespace(hidden_size=4), 2)
    with pytest.raises(ghtier.InvalidArgumentError, match="num_hidden_layers"):
        KvBlockShape.from_config(llama_config(num_hidden_layers=True), 2)
    with pytest.raises(ghtier.InvalidArgumentError, match="neither head_dim nor hidden_size"):
        KvBlockShape.from_config(SimpleNamespace(num_hidden_layers=2, num_attention_heads=4), 2)


def test_trace_is_seeded_and_covers_every_turn():
    a = bench.make_trace(sessions=12, turns=3, seed=7)
    assert a == bench.make_trace(sessions=12, turns=3, seed=7)
    assert a != bench.make_trace(sessions=12, turns=3, seed=8)
    assert sorted(a) == sorted((s, t) for s in range(12) for t in range(3))
    seen = {}
    for session, turn in a:  # each session's turns come in order
        assert turn == seen.get(session, -1) + 1
        seen[session] = turn
    # interleaved: not one session after another
    assert [s for s, _ in a[:12]] != sorted(s for s, _ in a[:12])


def test_percentile_against_sorted_reference():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert bench.percentile(values, 50) == 3.0
    assert bench.percentile(values, 0) == 1.0
    assert bench.percentile(values, 100) == 5.0
    assert bench.percentile([1.0, 2.0], 50) == pytest.approx(1.5)
    assert bench.percentile(list(range(101)), 99) == pytest.approx(99.0)


def _run(args, tmp_path, timeout=60):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=tmp_path)


def test_benchmark_skips_with_a_reason_without_torch(tmp_path):
    from ghtier.bench import allocator

    if allocator.skip_reason() is None:
        pytest.skip("PyTorch with CUDA is here: the GPU check runs the benchmark")
    out = tmp_path / "kv.json"
    result = _run(["-m", "ghtier.bench", "kv_cache", "--quick", "--json", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "skipped" in result.stdout and "KV cache benchmark" in result.stdout
    document = json.loads(out.read_text())
    assert set(document) == {"context", "benchmarks"}
    assert document["context"]["executable"] == "python -m ghtier.bench kv_cache"
    assert document["context"]["attention"] == "sdpa, cuDNN backend off"
    (case,) = document["benchmarks"]
    assert case["error_occurred"] is True and case["name"] == "kv_cache" and case["time_unit"] == "us"
    result = _run(["-m", "ghtier.bench", "kv_cache", "--quick", "--cudnn-sdpa", "--json", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["context"]["attention"] == "sdpa, cuDNN backend allowed"


def test_example_says_what_it_needs_without_torch(tmp_path):
    try:
        import torch  # noqa: F401

        pytest.skip("PyTorch is here: the GPU tests run the example")
    except ImportError:
        pass
    result = _run([str(ROOT / "python" / "examples" / "multi_turn_chat.py")], tmp_path)
    assert result.returncode == 2
    assert "needs PyTorch" in result.stderr


def test_attention_backends_switches_cudnn_sdpa_and_restores_it():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    before = torch.backends.cuda.cudnn_sdp_enabled()
    try:
        for start in (True, False):
            torch.backends.cuda.enable_cudnn_sdp(start)
            for inside in (True, False):
                with bench.attention_backends(inside):
                    assert torch.backends.cuda.cudnn_sdp_enabled() is inside
                assert torch.backends.cuda.cudnn_sdp_enabled() is start
            with pytest.raises(RuntimeError), bench.attention_backends(not start):
                raise RuntimeError("a failed case")
            assert torch.backends.cuda.cudnn_sdp_enabled() is start
    finally:
        torch.backends.cuda.enable_cudnn_sdp(before)


def test_many_users_times_each_mode_on_its_second_pass(monkeypatch):
    """Each mode serves the trace twice; the reported first-token times are the second pass's, whatever the
    first cost (a pass that meets cold per-shape caches is slow: the mode that ran first used to pay that alone),
    and ghtier gets a fresh store for each pass."""
    pytest.importorskip("torch", reason="PyTorch is not installed")
    import ghtier.torch as gt

    spec = dict(bench.QUICK["trace"])
    calls = []
    stores = []

    class FakeStore:
        def __init__(self, model, *, device_blocks, host_blocks):
            self.closed = False
            stores.append(self)

        def close(self):
            self.closed = True

    def fake_serve(model, trace, conversations, generate, mode, store=None, reference=None):
        passes = sum(1 for m, _ in calls if m == mode)
        calls.append((mode, store))
        assert (store is not None) == (mode == "ghtier") and (store is None or not store.closed)
        assert mode != "recompute_only" or reference is not None
        slow = passes == 0
        seconds = {"no_suspension": 0.004, "ghtier": 0.002, "recompute_only": 0.008}[mode]
        first = [(1.0 if slow else seconds) + i * 1e-6 for i in range(len(trace))]
        result = {"tokens": {key: [1, 2] for key in trace}, "first": first,
                  "returning": [t for t, (_, turn) in zip(first, trace) if turn]}
        if mode == "ghtier":
            result["statistics"] = {"device_blocks": 8, "host_blocks": 32, "block_bytes": 4096,
                                    "suspended_bytes": 1 << 20, "restored_bytes": 1 << 19}
            result["peak"] = {"device_bytes": 1 << 15, "host_bytes": 1 << 16}
        return result

    monkeypatch.setattr(bench, "_serve", fake_serve)
    monkeypatch.setattr(gt, "SessionStore", FakeStore, raising=False)
    cases = {c["name"].rsplit("/", 1)[1]: c for c in bench._many_users_cases(object(), spec)}
    assert [m for m, _ in calls] == ["no_suspension"] * 2 + ["ghtier"] * 2 + ["recompute_only"] * 2
    assert len(stores) == 2 and stores[0] is not stores[1] and all(s.closed for s in stores)
    for mode, seconds in (("no_suspension", 0.004), ("ghtier", 0.002), ("recompute_only", 0.008)):
        c = cases[mode]
        assert not c.get("error_occurred"), c
        assert c["p50_us"] == pytest.approx(seconds * 1e6, abs=100), f"{mode} reported its cold pass"
        assert c["p50_first_pass_us"] == pytest.approx(1e6, abs=100)
    assert cases["ghtier"]["tokens_equal_no_suspension"] == 1.0
    assert cases["ghtier"]["ratio"] == pytest.approx(0.25, rel=0.05)
