"""The KV cache benchmark: ``python -m ghtier.bench kv_cache [--quick] [--json FILE]``.

A random-init Llama (transformers, bf16, sdpa) with Llama-3-8B's attention and MLP shapes (hidden 4096, 32 heads,
8 KV heads of 128, FFN 14336, vocabulary 128256): 32 layers, or 4 with --quick. Sessions live in a
``ghtier.torch.SessionStore`` (16-token blocks). Cases, all in one process:

* ``kv_cache/first_token/{recompute,resume}/{2048,8192[,32768]}``: the first token of a returning session. Resume:
  the session (its context prefilled once, then suspended) is resumed and decodes one new token. Recompute: a
  prefill of the same context plus that token with a fresh DynamicCache (what a server without a KV tier does).
  Median of the timed repetitions after one warm-up; resume carries ``ratio`` (resume / recompute), ``speedup``,
  the restore time as its stream saw it, the KV bytes, and the store planner's choice and prediction for the
  measured prefill rate.
* ``kv_cache/many_users/{ghtier,no_suspension,recompute_only}``: 4x more sessions than the device pool holds, a
  seeded random multi-turn trace (each request: the user's new tokens, then greedy decoding). ghtier resumes each
  returning session, serves the request and suspends it again; no_suspension keeps every session's DynamicCache on
  the GPU (the reference for the generated tokens: they must be equal, bitwise, or the case reports an error);
  recompute_only prefills the whole conversation at every request. Each mode times the same span: from the
  request's arrival (the device idle) to its first generated token on the host. Each mode serves the trace twice
  and the second pass is reported (``p50_first_pass_us``: the first pass's p50): the first pass fills what
  PyTorch caches per shape (attention plans, lazily loaded kernels, the allocator's blocks), which otherwise the
  mode that ran first paid alone. p50 / p99 first-token time of returning requests, and the bytes in each tier.
* ``kv_cache/host_reservation/{ghtier,torch_pinned}``: reserving N GiB (32, or 2 with --quick) of host tier: a
  store's pinned host pool vs ``torch.empty(n, dtype=torch.uint8, pin_memory=True)``.

Attention runs without cuDNN's SDPA backend unless --cudnn-sdpa is given: on Hopper with cuDNN above 9.15,
PyTorch (2.9 on) puts it first, and it builds an execution plan for every new (query, key) length, its plan cache
keyed on the exact sizes. A returning session's decode step has a new key length every time: the run of
2026-12-03 on the GPU machine showed ~40 ms of constant overhead in resume + one decode step at 2k and 8k tokens
(restore 0.8 / 2.9 ms) where the prefill of an unchanged length did not pay it, and the many-users mode that ran
first (no_suspension) paid the plans that the next mode (ghtier, the same shapes) reused. Flash attention (used
instead) builds nothing per length.
"""

from __future__ import annotations

import random
import statistics
import time
import argparse
import contextlib
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from . import _report as reporting
from ._report import case as _case

MODEL = {"hidden": 4096, "heads": 32, "kv_heads": 8, "head_dim": 128, "ffn": 14336, "vocab": 128256}
QUICK = {"layers": 4, "lengths": [2048, 8192], "reps": 3, "reserve_gib": 2,
         "trace": {"sessions": 16, "fit": 4, "turns": 3, "prompt": (256, 768), "user": (16, 64), "generate": 6}}
FULL = {"layers": 32, "lengths": [2048, 8192, 32768], "reps": 5, "reserve_gib": 32,
        "trace": {"sessions": 16, "fit": 4, "turns": 4, "prompt": (1024, 3072), "user": (32, 256), "generate": 16}}

# First-token speedup of reload over a 32-layer prefill, Llama-3-8B shapes, measured on the x86 + H200 machine
# on 2026-12-03 (one pinned copy of the KV vs the prefill, docs/kv_cache.md): the bar for the full run.
ANCHOR_SPEEDUP = {2048: 12.2, 8192: 12.8}


def make_trace(sessions: int, turns: int, seed: int) -> List[Tuple[int, int]]:
    """A random interleaving of every session's turns, each session's turns in order: [(session, turn)]."""
    rng = random.Random(seed)
    left = {s: 0 for s in range(sessions)}
    trace = []
    while left:
        session = rng.choice(sorted(left))
        trace.append((session, left[session]))
        left[session] += 1
        if left[session] == turns:
            del left[session]
    return trace


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@contextlib.contextmanager
def attention_backends(cudnn: bool) -> Iterator[None]:
    """cuDNN's SDPA backend on or off inside the block (a process-wide switch: restored after)."""
    import torch

    before = torch.backends.cuda.cudnn_sdp_enabled()
    torch.backends.cuda.enable_cudnn_sdp(cudnn)
    try:
        yield
    finally:
        torch.backends.cuda.enable_cudnn_sdp(before)


def make_model(layers: int, max_positions: int, seed: int = 0) -> Any:
    """Random-init Llama with Llama-3-8B's shapes, built on the GPU (an 8 B model initialised on the CPU takes
    minutes), in bf16, sdpa attention."""
    import torch
    import transformers

    config = transformers.LlamaConfig(vocab_size=MODEL["vocab"], hidden_size=MODEL["hidden"],
                                      intermediate_size=MODEL["ffn"], num_hidden_layers=layers,
                                      num_attention_heads=MODEL["heads"], num_key_value_heads=MODEL["kv_heads"],
                                      head_dim=MODEL["head_dim"], max_position_embeddings=max_positions,
                                      bos_token_id=None, eos_token_id=None, pad_token_id=0)
    config._attn_implementation = "sdpa"
    torch.manual_seed(seed)
    with torch.device("cuda"):
        model = transformers.LlamaForCausalLM(config)
    return model.to(torch.bfloat16).eval()


def _forward(model: Any, ids: Any, cache: Any) -> Any:
    """One forward pass that keeps only the last position's logits; returns the greedy next token [1, 1]."""
    out = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
    return out.logits[:, -1].argmax(-1, keepdim=True)


# ---- first token of a returning session -------------------------------------------------------------------------
def _first_token_cases(model: Any, lengths: List[int], reps: int) -> List[Dict[str, Any]]:
    import torch
    from transformers import DynamicCache

    import ghtier.torch as gt

    cases: List[Dict[str, Any]] = []
    vocab = MODEL["vocab"]
    store = gt.SessionStore(model, device_blocks=-(-(max(lengths) + reps + 2) // 16) + 4,
                            host_blocks=-(-(max(lengths) + reps + 2) // 16) + 4)
    layers = model.config.num_hidden_layers
    try:
        for length in lengths:
            name = f"{length}"
            g = torch.Generator(device="cuda").manual_seed(length)
            context = torch.randint(3, vocab, (1, length), device="cuda", generator=g)
            news = torch.randint(3, vocab, (1, reps + 1), device="cuda", generator=g)
            recompute: List[float] = []
            resume: List[float] = []
            restore: List[float] = []
            resume_call: List[float] = []
            error = None
            cache = None
            try:
                with torch.no_grad():
                    for r in range(reps + 1):  # the first is a warm-up
                        ids = torch.cat([context, news[:, r:r + 1]], dim=1)
                        torch.cuda.synchronize()
                        start = time.perf_counter()
                        token = _forward(model, ids, DynamicCache())
                        token.item()
                        if r:
                            recompute.append(time.perf_counter() - start)
                        del ids, token
                    cache = store.session()
                    _forward(model, context, cache)
                    cache.suspend()
                    for r in range(reps + 1):
                        torch.cuda.synchronize()  # the last suspend's copy has finished
                        begin, restored = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                        start = time.perf_counter()
                        begin.record()
                        cache.resume()
                        returned = time.perf_counter()
                        restored.record()  # the stream passes it once the restore has landed
                        token = _forward(model, news[:, r:r + 1], cache)
                        token.item()
                        elapsed = time.perf_counter() - start
                        if r:
                            resume.append(elapsed)
                            restore.append(begin.elapsed_time(restored) * 1e-3)
                            resume_call.append(returned - start)
                        cache.suspend()
            except torch.cuda.OutOfMemoryError as e:
                error = f"out of memory: {str(e)[:200]}"
            except Exception as e:  # reported in the JSON, the next length still runs
                error = f"{type(e).__name__}: {str(e)[:300]}"
            kv_bytes = length * store.shape.block_bytes // store.shape.tokens_per_block
            rec = statistics.median(recompute) if recompute else None
            cases.append(_case(f"kv_cache/first_token/recompute/{name}", rec * 1e6 if rec else None,
                               label="prefill of the context + 1 token, fresh DynamicCache",
                               counters={"tokens": float(length), "layers": float(layers)},
                               error=error if rec is None else None))
            counters: Dict[str, float] = {"tokens": float(length), "layers": float(layers), "kv_bytes": float(kv_bytes)}
            label = "resume + 1 decode step"
            res = statistics.median(resume) if resume else None
            if res and rec:
                counters.update({"baseline_us": rec * 1e6, "ratio": res / rec, "speedup": rec / res})
                label += "; ratio vs recompute"
            if restore:
                r_s = statistics.median(restore)
                counters.update({"restore_us": r_s * 1e6, "restore_GBps": kv_bytes / r_s * 1e-9,
                                 "resume_call_us": statistics.median(resume_call) * 1e6})
            if layers == 32 and length in ANCHOR_SPEEDUP:
                counters["anchor_speedup"] = ANCHOR_SPEEDUP[length]
            if rec and cache is not None and not cache.closed:
                try:
                    plan = cache.plan_resume(length / rec)
                    counters.update({"planner_predicted_us": plan.predicted_seconds * 1e6,
                                     "planner_reload_us": plan.reload_seconds * 1e6,
                                     "planner_reloads": float(plan.action == "reload")})
                    label += f"; planner: {plan.action}"
                except Exception as e:  # the measurement stands without the plan
                    label += f"; planner failed: {type(e).__name__}: {str(e)[:120]}"
            cases.append(_case(f"kv_cache/first_token/resume/{name}", res * 1e6 if res else None, label=label,
                               counters=counters, error=error if res is None else None))
            if cache is not None:
                cache.close()
            torch.cuda.empty_cache()
    finally:
        store.close()
    return cases


# ---- many users -------------------------------------------------------------------------------------------------
def _conversations(spec: Dict[str, Any], seed: int) -> List[Dict[str, Any]]:
    """Per session: the prompt and each turn's user tokens (seeded)."""
    rng = random.Random(seed)
    vocab = MODEL["vocab"]
    out = []
    for _ in range(spec["sessions"]):
        prompt = [rng.randrange(3, vocab) for _ in range(rng.randint(*spec["prompt"]))]
        users = [[rng.randrange(3, vocab) for _ in range(rng.randint(*spec["user"]))] for _ in range(spec["turns"] - 1)]
        out.append({"turns": [prompt] + users})
    return out


def _serve(model: Any, trace: List[Tuple[int, int]], conversations: List[Dict[str, Any]], generate: int,
           mode: str, store: Any = None,
           reference: Optional[Dict[Tuple[int, int], List[int]]] = None) -> Dict[str, Any]:
    """Runs the trace one request at a time. mode: "ghtier" (a SessionCache per session, suspended between its
    turns), "no_suspension" (a DynamicCache per session, kept on the GPU), "recompute_only" (the conversation so
    far, prefilled at every request, with `reference`'s tokens as the earlier answers)."""
    import torch
    from transformers import DynamicCache

    caches: Dict[int, Any] = {}
    last: Dict[int, int] = {}  # the answer's last token: not yet in the cache
    history: Dict[int, List[int]] = {}
    tokens: Dict[Tuple[int, int], List[int]] = {}
    first: List[float] = []
    returning: List[float] = []
    peak = {"device_bytes": 0, "host_bytes": 0}
    with torch.no_grad():
        for session, turn in trace:
            user = conversations[session]["turns"][turn]
            feed = ([last[session]] if session in last else []) + user
            torch.cuda.synchronize()
            start = time.perf_counter()
            if mode == "recompute_only":
                history[session] = history.get(session, []) + feed
                ids = torch.tensor([history[session]], device="cuda")
                token = _forward(model, ids, DynamicCache())
                value = int(token.item())
                first.append(time.perf_counter() - start)
                if turn:
                    returning.append(first[-1])
                assert reference is not None
                answer = reference[(session, turn)]
                history[session] += answer[:-1]
                last[session] = answer[-1]
                tokens[(session, turn)] = [value]
                continue
            if session not in caches:
                caches[session] = store.session() if mode == "ghtier" else DynamicCache()
            cache = caches[session]
            if mode == "ghtier" and turn:
                cache.resume()
            token = _forward(model, torch.tensor([feed], device="cuda"), cache)
            answer = [int(token.item())]
            first.append(time.perf_counter() - start)
            if turn:
                returning.append(first[-1])
            for _ in range(generate - 1):
                token = _forward(model, token, cache)
                answer.append(int(token.item()))
            tokens[(session, turn)] = answer
            last[session] = answer[-1]
            if mode == "ghtier":
                cache.suspend()
                s = store.statistics()
                peak["device_bytes"] = max(peak["device_bytes"], s["device_bytes"])
                peak["host_bytes"] = max(peak["host_bytes"], s["host_bytes"])
    result: Dict[str, Any] = {"tokens": tokens, "first": first, "returning": returning}
    if mode == "ghtier":
        result["statistics"] = store.statistics()
        result["peak"] = peak
        for cache in caches.values():
            cache.close()
    return result


def _many_users_cases(model: Any, spec: Dict[str, Any], seed: int = 13) -> List[Dict[str, Any]]:
    import torch

    import ghtier.torch as gt

    trace = make_trace(spec["sessions"], spec["turns"], seed)
    conversations = _conversations(spec, seed)
    longest = spec["prompt"][1] + (spec["turns"] - 1) * (spec["user"][1] + 1) + spec["turns"] * spec["generate"]
    per_session = -(-longest // 16) + 1
    device_blocks = spec["fit"] * per_session  # the pool holds `fit` of the sessions at their longest
    host_blocks = spec["sessions"] * per_session  # every session fits: nothing is dropped, so tokens must match
    results: Dict[str, Dict[str, Any]] = {}
    first_pass: Dict[str, Dict[str, Any]] = {}
    errors: Dict[str, str] = {}
    store = None
    for mode in ("no_suspension", "ghtier", "recompute_only"):
        try:
            reference = results.get("no_suspension", {}).get("tokens")
            if mode == "recompute_only" and reference is None:
                raise RuntimeError("needs the no_suspension run's tokens, which failed")
            # Twice, the second timed: every mode then meets warm per-shape caches below PyTorch.
            for timed in (False, True):
                if mode == "ghtier":
                    store = gt.SessionStore(model, device_blocks=device_blocks, host_blocks=host_blocks)
                served = _serve(model, trace, conversations, spec["generate"], mode, store, reference)
                (results if timed else first_pass)[mode] = served
                if store is not None:
                    store.close()
                    store = None
        except torch.cuda.OutOfMemoryError as e:
            errors[mode] = f"out of memory: {str(e)[:200]}"
        except Exception as e:  # reported in the JSON, the next mode still runs
            errors[mode] = f"{type(e).__name__}: {str(e)[:300]}"
        finally:
            if store is not None:
                store.close()
                store = None
            torch.cuda.empty_cache()
    recompute = results.get("recompute_only", {}).get("returning")
    base = {"sessions": float(spec["sessions"]), "sessions_fitting_device_pool": float(spec["fit"]),
            "requests": float(len(trace))}
    cases = []
    for mode in ("ghtier", "no_suspension", "recompute_only"):
        r = results.get(mode)
        counters = dict(base)
        label = ""
        error = errors.get(mode)
        p50 = None
        if r is not None and r["returning"]:
            p50 = percentile(r["returning"], 50)
            counters.update({"p50_us": p50 * 1e6, "p99_us": percentile(r["returning"], 99) * 1e6,
                             "p50_all_requests_us": percentile(r["first"], 50) * 1e6})
            cold = first_pass.get(mode, {}).get("returning")
            if cold:
                counters["p50_first_pass_us"] = percentile(cold, 50) * 1e6
            if recompute:
                rp50, rp99 = percentile(recompute, 50), percentile(recompute, 99)
                counters.update({"baseline_us": rp50 * 1e6, "ratio": p50 / rp50,
                                 "ratio_p99": percentile(r["returning"], 99) / rp99})
                label = "first token of returning requests (p50); ratio vs recompute-only"
        if mode == "ghtier" and r is not None:
            s, peak = r["statistics"], r["peak"]
            counters.update({"device_bytes_peak": float(peak["device_bytes"]),
                             "host_bytes_peak": float(peak["host_bytes"]),
                             "device_pool_bytes": float(s["device_blocks"] * s["block_bytes"]),
                             "host_pool_bytes": float(s["host_blocks"] * s["block_bytes"]),
                             "suspended_bytes": float(s["suspended_bytes"]),
                             "restored_bytes": float(s["restored_bytes"])})
            reference = results.get("no_suspension", {}).get("tokens")
            if reference is not None:
                mismatched = [k for k in reference if reference[k] != r["tokens"].get(k)]
                counters["tokens_equal_no_suspension"] = float(not mismatched)
                if mismatched and error is None:
                    error = (f"generated tokens differ from the run without suspension in {len(mismatched)} of "
                             f"{len(reference)} requests (first: session {mismatched[0][0]} turn {mismatched[0][1]})")
        cases.append(_case(f"kv_cache/many_users/{mode}", p50 * 1e6 if p50 is not None else None, label=label,
                           counters=counters, error=error))
    return cases


# ---- host tier reservation --------------------------------------------------------------------------------------
def _reservation_cases(gib: int) -> List[Dict[str, Any]]:
    """One cold reservation each (a second one could come from a cache): the store's pinned host pool, then
    PyTorch's pinned empty of the same bytes."""
    import torch

    import ghtier
    from ghtier.kv_cache import LLAMA3_8B, KvCache

    n = gib << 30
    seconds: Dict[str, float] = {}
    errors: Dict[str, str] = {}
    try:
        with ghtier.Runtime(device=torch.cuda.current_device()) as runtime:
            start = time.perf_counter()
            store = KvCache(runtime, LLAMA3_8B, 1, n // LLAMA3_8B.block_bytes)
            seconds["ghtier"] = time.perf_counter() - start
            store.close()
    except Exception as e:  # reported in the JSON
        errors["ghtier"] = f"{type(e).__name__}: {str(e)[:300]}"
    empty_host_cache = getattr(torch._C, "_host_emptyCache", None)  # PyTorch's pinned cache keeps what it got
    try:
        start = time.perf_counter()
        block = torch.empty(n, dtype=torch.uint8, pin_memory=True)
        seconds["torch_pinned"] = time.perf_counter() - start
        del block
    except Exception as e:  # reported in the JSON
        errors["torch_pinned"] = f"{type(e).__name__}: {str(e)[:300]}"
    if empty_host_cache is not None:
        empty_host_cache()
    ours = {"bytes": float(n)}
    if "ghtier" in seconds and "torch_pinned" in seconds:
        ours.update({"baseline_us": seconds["torch_pinned"] * 1e6,
                     "ratio": seconds["ghtier"] / seconds["torch_pinned"]})
    return [_case(f"kv_cache/host_reservation/ghtier/{gib}GiB",
                  seconds["ghtier"] * 1e6 if "ghtier" in seconds else None,
                  label="KV store with a pinned host pool; ratio vs torch pinned empty", counters=ours,
                  error=errors.get("ghtier")),
            _case(f"kv_cache/host_reservation/torch_pinned/{gib}GiB",
                  seconds["torch_pinned"] * 1e6 if "torch_pinned" in seconds else None,
                  label="torch.empty(n, dtype=torch.uint8, pin_memory=True)", counters={"bytes": float(n)},
                  error=errors.get("torch_pinned"))]


def _cases(quick: bool, cudnn_sdpa: bool = False) -> List[Dict[str, Any]]:
    import torch

    settings = QUICK if quick else FULL
    cases: List[Dict[str, Any]] = []
    model = make_model(settings["layers"], max(settings["lengths"]) + 1024)
    try:
        with attention_backends(cudnn_sdpa):
            cases += _first_token_cases(model, settings["lengths"], settings["reps"])
            cases += _many_users_cases(model, settings["trace"])
    finally:
        model = None
        torch.cuda.empty_cache()
    cases += _reservation_cases(settings["reserve_gib"])
    return cases


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """For `python -m ghtier.bench kv_cache`."""
    parser.add_argument("--cudnn-sdpa", action="store_true",
                        help="kv_cache: leave cuDNN's attention backend on (it builds a plan per new sequence length)")


def run(json_file: Optional[str], quick: bool, cudnn_sdpa: bool = False) -> int:
    reason = reporting.skip_reason("the KV cache benchmark runs a PyTorch model",
                                   "the KV cache benchmark runs a Llama-shaped model")
    benchmarks = reporting.skipped("kv_cache", reason) if reason is not None else _cases(quick, cudnn_sdpa)
    settings = QUICK if quick else FULL
    return reporting.finish("kv_cache", json_file, benchmarks,
                            keys=("ratio", "speedup", "restore_GBps", "resume_call_us", "p50_us", "p99_us",
                                  "p50_first_pass_us", "tokens_equal_no_suspension"),
                            model=dict(MODEL, layers=settings["layers"]),
                            attention="sdpa, cuDNN backend " + ("allowed" if cudnn_sdpa else "off"))
