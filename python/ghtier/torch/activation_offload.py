"""``offload_activations``: activation offload for PyTorch training with no hand-tuning.

One call wraps the decoder layers of a model (transformers' models are found by themselves)::

    handle = ghtier.torch.offload_activations(model, budget="checkpoint")   # or bytes, or 0.5, or None
    for batch in data:
        loss = model(**batch).loss
        loss.backward()
        ...
    handle.remove()

How it works. The first step(s) run with every activation kept and measure each layer (forward and backward
time with CUDA events, distinct saved bytes, input bytes). The planner (ghtier's C++ planner, the same as
``ghtier plan activations``) then chooses per layer keep / offload / recompute and the prefetch lookahead
for the shortest predicted step within the device budget, and the host arena is reserved once for the
offloaded bytes. From then on:

* offloaded layers run under ``torch.autograd.graph.saved_tensors_hooks``: pack queues a background D2H of
  the tensor's storage into the arena (once per storage: several saves or views of one storage share one
  copy) and keeps the device tensor alive only until that copy has finished; unpack makes the current stream
  wait for the urgent H2D (no host sync) and rebuilds the saved view;
* a hook on each layer's output gradient (the start of the layer's backward) prefetches the offloaded layers
  `lookahead` below it into memory from PyTorch's own allocator (so torch.cuda.max_memory_allocated sees it);
* recomputed layers run under ``torch.utils.checkpoint`` (non-reentrant);
* tensors below the size threshold (a copy shorter than a few microseconds) and the model's own parameters
  and buffers (frozen weights included) are never offloaded.

Refused, with the reason: torch.compile'd models or layers (the hooks must see every saved tensor),
CUDA graph capture (the copies are host-driven), a model that already has gradient checkpointing on
(the plan decides which layers recompute), layers not on a CUDA device.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.utils.checkpoint
from torch import nn

from ..activation import ActivationOffloader, ActivationPlan, LayerProfile, plan_activations
from ..errors import InvalidArgumentError, UnsupportedError
from ..runtime import Runtime

__all__ = ["offload_activations", "ActivationOffload", "find_decoder_layers"]

PlanLike = Union[str, Sequence[str]]
BudgetLike = Union[None, int, float, str]

_ARENA_SLACK = 1.25           # the arena holds the plan's offloaded bytes times this ...
_ARENA_MARGIN = 256 << 20     # ... plus this


def find_decoder_layers(model: nn.Module) -> List[nn.Module]:
    """The repeated blocks of a model: the longest ``nn.ModuleList`` whose members share one class (ties: the
    one with more parameters). For transformers' decoders this is ``model.model.layers``."""
    best: Optional[Tuple[Tuple[int, int], nn.ModuleList]] = None
    for module in model.modules():
        if isinstance(module, nn.ModuleList) and len(module) >= 2 and len({type(m) for m in module}) == 1:
            key = (len(module), sum(p.numel() for p in module.parameters()))
            if best is None or key > best[0]:
                best = (key, module)
    if best is None:
        raise UnsupportedError("offload_activations: no repeated layers found in the model (no nn.ModuleList of "
                               "one class); pass layers=[...] (the modules whose activations to plan)")
    return list(best[1])


def _compiled(module: nn.Module) -> bool:
    optimized = getattr(getattr(torch, "_dynamo", None), "eval_frame", None)
    optimized = getattr(optimized, "OptimizedModule", None)
    if optimized is not None and isinstance(module, optimized):
        return True
    return getattr(module, "_compiled_call_impl", None) is not None  # nn.Module.compile()


def _first_tensor(args: Sequence[Any], kwargs: Dict[str, Any]) -> Optional[torch.Tensor]:
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, torch.Tensor):
            return value
    return None


def _output_tensor(output: Any) -> Optional[torch.Tensor]:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    return None


class _Packed:
    """What autograd keeps for one offloaded save: the handle and how to rebuild the view."""

    __slots__ = ("owner", "handle", "dtype", "shape", "stride", "offset", "__weakref__")

    def __init__(self, owner: "ActivationOffload", handle: int, tensor: torch.Tensor) -> None:
        self.owner = owner
        self.handle = handle
        self.dtype = tensor.dtype
        self.shape = tensor.shape
        self.stride = tensor.stride()
        self.offset = tensor.storage_offset()

    def __del__(self) -> None:
        try:
            self.owner._drop(self.handle)
        except Exception:
            pass


class _LayerTiming:
    """CUDA events of one layer in one profiled step."""

    def __init__(self) -> None:
        self.forward: Optional[Tuple[torch.cuda.Event, torch.cuda.Event]] = None
        self.backward_start: Optional[torch.cuda.Event] = None
        self.activation_bytes = 0
        self.input_bytes = 0
        self.storages: set = set()


class ActivationOffload:
    """The handle :func:`offload_activations` returns: the plan in force, statistics, and :meth:`remove`."""

    def __init__(self, model: nn.Module, layers: List[nn.Module], budget: BudgetLike, plan: PlanLike,
                 host_budget: Optional[int], profile_steps: int, lookahead: Optional[int],
                 min_offload_bytes: Optional[int]) -> None:
        self.model = model
        self.layers = layers
        self._budget = budget
        self._plan_request = plan
        self._host_budget = host_budget
        self._profile_steps = profile_steps
        self._lookahead_override = lookahead
        self._min_offload_bytes = min_offload_bytes
        self._lock = threading.RLock()
        device = next((p.device for layer in layers for p in layer.parameters()), None)
        if device is None or device.type != "cuda":
            raise UnsupportedError(f"offload_activations: the layers are on {device}, not on a CUDA device")
        self.device = device
        self._runtime = Runtime(device=device.index if device.index is not None else torch.cuda.current_device())
        self._offloader: Optional[ActivationOffloader] = None
        self._side_stream = torch.cuda.Stream(device)
        self._own_storages = {t.untyped_storage().data_ptr() for t in list(model.parameters()) + list(model.buffers())}
        # Plan state.
        self.plan: Optional[ActivationPlan] = None
        #: The link the plan was made for (measured at planning time): d2h_gbps, h2d_gbps, latency_us.
        self.link: Dict[str, float] = {}
        #: The planner's predicted step for the actions in force (None until planned, and for explicit plans).
        self.predicted_step_seconds: Optional[float] = None
        self.actions: List[str] = ["keep"] * len(layers)
        self.lookahead = 1
        self.profiles: List[LayerProfile] = []
        self._profiling = isinstance(plan, str) and plan in ("auto", "offload")
        self._profiled_steps = 0
        self._timings: List[_LayerTiming] = []
        self._threshold = min_offload_bytes if min_offload_bytes is not None else self._default_threshold()
        if not self._profiling:
            self.actions = self._explicit_actions(plan)
            if "offload" in self.actions and host_budget is None:
                raise InvalidArgumentError("offload_activations: an explicit plan with offloaded layers needs "
                                           "host_budget= (bytes of the host arena)")
        # Offload state: saves per (forward, layer), held device tensors, restored buffers.
        self._forward_index = -1
        self._handles: Dict[Tuple[int, int], List[int]] = {}
        self._packs: Dict[int, int] = {}
        self._nbytes: Dict[int, int] = {}
        self._held: Dict[int, torch.Tensor] = {}
        self._restored: Dict[int, torch.Tensor] = {}
        self.step_offloaded_bytes = 0
        #: None: the default (see offload_activations); set by offload_activations.
        self.max_in_flight_bytes: Optional[int] = None
        self._held_bytes = 0
        if not self._profiling and "offload" in self.actions:
            self._reserve_arena(int(host_budget or 0))  # before wrapping: a refusal leaves the model as it was
        # Wrap the layers.
        self._originals: List[Callable[..., Any]] = []
        for index, layer in enumerate(layers):
            self._originals.append(layer.forward)
            layer.forward = self._wrapped_forward(index, layer.forward)

    def _default_threshold(self) -> int:
        # As the C++ offloader's default: a copy shorter than 5 us at the slower direction is not worth it.
        link = self._runtime.platform.link
        return max(4096, int(min(link["h2d_gbps"], link["d2h_gbps"]) * 1e9 * 5e-6))

    # ---- plan -------------------------------------------------------------------------------------------
    def _explicit_actions(self, plan: PlanLike) -> List[str]:
        if isinstance(plan, str):
            if plan == "keep":
                return ["keep"] * len(self.layers)
            if plan in ("checkpoint", "recompute"):
                return ["recompute"] * len(self.layers)
            raise InvalidArgumentError(f"plan is {plan!r}: 'auto', 'offload', 'checkpoint', 'keep', or one action "
                                       "per layer")
        actions = list(plan)
        if len(actions) != len(self.layers) or any(a not in ("keep", "offload", "recompute") for a in actions):
            raise InvalidArgumentError(f"plan has {len(actions)} entries for {len(self.layers)} layers; each must be "
                                       "'keep', 'offload' or 'recompute'")
        return actions

    def _reserve_arena(self, nbytes: int) -> None:
        if nbytes <= 0:
            raise InvalidArgumentError("offload_activations: host_budget must be a positive number of bytes")
        self._offloader = ActivationOffloader(self._runtime, nbytes,
                                              min_offload_bytes=self._min_offload_bytes or 0)
        self._threshold = self._offloader.statistics()["min_offload_bytes"]

    def _device_budget(self) -> Optional[int]:
        budget = self._budget
        if budget is None:
            return None
        keep_peak = sum(p.activation_bytes for p in self.profiles)
        if isinstance(budget, str):
            if budget != "checkpoint":
                raise InvalidArgumentError(f"budget is {budget!r}: bytes, a fraction of keeping everything, "
                                           "'checkpoint', or None")
            return sum(p.input_bytes for p in self.profiles) + max(p.activation_bytes for p in self.profiles)
        if isinstance(budget, float):
            return max(1, int(keep_peak * budget))
        return int(budget)

    def _finish_profile(self) -> None:
        torch.cuda.synchronize(self.device)
        profiles = []
        starts = [t.backward_start for t in self._timings]
        for i, t in enumerate(self._timings):
            forward = t.forward[0].elapsed_time(t.forward[1]) * 1e-3 if t.forward else 0.0
            if i > 0 and starts[i] is not None and starts[i - 1] is not None:
                backward = starts[i].elapsed_time(starts[i - 1]) * 1e-3
            else:
                backward = 2.0 * forward  # layer 0's end is not observable without an input gradient
            profiles.append(LayerProfile(forward, max(backward, 0.0), t.activation_bytes, t.input_bytes))
        self.profiles = profiles
        host_budget = self._host_budget
        self.link = self._measure_link()
        # plan="offload" fixes every layer's action: the planner then chooses only the lookahead for them and
        # predicts their step (the auto plan's lookahead belongs to its own actions; prefetching further ahead
        # than the link can fill holds more restored layers for nothing). At the reference shape on 2026-12-04
        # it chose 1 where the auto plan's was 3, but full offload's peak stayed 15.15 GiB (2.8 GiB over
        # save_on_cpu's): that excess lies elsewhere (docs/activation_offload.md).
        fixed = ["offload"] * len(self.layers) if self._plan_request == "offload" else None
        self.plan = plan_activations(profiles, link=self.link, device_budget=self._device_budget(),
                                     host_budget=host_budget, actions=fixed)
        self.actions = list(self.plan.actions)
        self.predicted_step_seconds = self.plan.step_seconds
        self.lookahead = self._lookahead_override if self._lookahead_override is not None \
            else max(1, self.plan.prefetch_lookahead)
        offloaded = sum(p.activation_bytes for p, a in zip(profiles, self.actions) if a == "offload")
        if not offloaded:  # nothing measurable to offload (e.g. every saved tensor below the threshold)
            self.actions = ["keep" if a == "offload" else a for a in self.actions]
        else:
            arena = host_budget if host_budget is not None else int(offloaded * _ARENA_SLACK) + _ARENA_MARGIN
            self._reserve_arena(arena)
        self._profiling = False

    def _measure_link(self) -> Dict[str, float]:
        """This machine's pinned copy rates, measured now (256 MiB each way, best of 3), so the plan's
        prediction uses the link as it is; the runtime's latency figure is kept."""
        n = 256 << 20
        device = torch.empty(n, dtype=torch.uint8, device=self.device)
        host = torch.empty(n, dtype=torch.uint8, pin_memory=True)
        stream = torch.cuda.Stream(self.device)
        rates: Dict[str, float] = {}
        with torch.cuda.stream(stream):
            for key, (dst, src) in (("d2h_gbps", (host, device)), ("h2d_gbps", (device, host))):
                best = 0.0
                for _ in range(3):
                    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    start.record(stream)
                    dst.copy_(src, non_blocking=True)
                    end.record(stream)
                    end.synchronize()
                    best = max(best, n / (start.elapsed_time(end) * 1e-3) * 1e-9)
                rates[key] = best
        rates["latency_us"] = self._runtime.platform.link["latency_us"]
        return rates

    # ---- the layer wrapper ------------------------------------------------------------------------------
    def _wrapped_forward(self, index: int, original: Callable[..., Any]) -> Callable[..., Any]:
        def forward(*args: Any, **kwargs: Any) -> Any:
            if not torch.is_grad_enabled():
                return original(*args, **kwargs)
            if torch.cuda.is_current_stream_capturing():
                raise UnsupportedError("offload_activations: CUDA graph capture is not supported (the offload copies "
                                       "are driven by the host); capture without offload_activations")
            compiling = getattr(getattr(torch, "compiler", None), "is_compiling", None)
            if compiling is not None and compiling():
                raise UnsupportedError("offload_activations: torch.compile regions are not supported (the saved-"
                                       "tensor hooks must see every saved tensor); do not compile the layers")
            if index == 0:
                self._begin_forward()
            return self._run_layer(index, original, args, kwargs)
        return forward

    def _begin_forward(self) -> None:
        with self._lock:
            if self._profiling and self._profiled_steps >= self._profile_steps:
                self._finish_profile()
            self._forward_index += 1
            if self._profiling:
                self._timings = [_LayerTiming() for _ in self.layers]
            self._poll_released()

    def _run_layer(self, index: int, original: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        forward_index = self._forward_index
        action = "profile" if self._profiling else self.actions[index]
        hidden = _first_tensor(args, kwargs)
        timing = self._timings[index] if self._profiling else None
        if timing is not None:
            start = torch.cuda.Event(enable_timing=True)
            start.record()
            if hidden is not None:
                timing.input_bytes = hidden.untyped_storage().nbytes()
        if action == "recompute":
            output = torch.utils.checkpoint.checkpoint(original, *args, use_reentrant=False, **kwargs)
        elif action == "offload":
            assert self._offloader is not None
            key = (forward_index, index)
            self._offloader.begin_layer(forward_index * len(self.layers) + index)
            try:
                with torch.autograd.graph.saved_tensors_hooks(lambda t: self._pack(t, key), self._unpack):
                    output = original(*args, **kwargs)
            finally:
                self._offloader.end_layer()
        elif action == "profile":
            with torch.autograd.graph.saved_tensors_hooks(lambda t: self._measure(t, timing), lambda t: t):
                output = original(*args, **kwargs)
        else:
            output = original(*args, **kwargs)
        if timing is not None:
            end = torch.cuda.Event(enable_timing=True)
            end.record()
            timing.forward = (start, end)
        out = _output_tensor(output)
        if out is not None and out.requires_grad:
            out.register_hook(lambda grad: self._backward_started(index, forward_index))
        return output

    # ---- saved-tensor hooks -----------------------------------------------------------------------------
    def _offloadable(self, t: torch.Tensor) -> bool:
        if t.device.type != "cuda" or t.layout != torch.strided or t.is_sparse:
            return False
        storage = t.untyped_storage()
        return storage.data_ptr() not in self._own_storages and storage.nbytes() >= max(self._threshold, 1)

    def _measure(self, t: torch.Tensor, timing: _LayerTiming) -> torch.Tensor:
        if self._offloadable(t):
            storage = t.untyped_storage()
            if storage.data_ptr() not in timing.storages:
                timing.storages.add(storage.data_ptr())
                timing.activation_bytes += storage.nbytes()
        return t

    def _pack(self, t: torch.Tensor, key: Tuple[int, int]) -> Any:
        if not self._offloadable(t):
            return t
        storage = t.untyped_storage()
        nbytes = storage.nbytes()
        stream = torch.cuda.current_stream(t.device)
        assert self._offloader is not None
        handle = self._offloader.save(storage.data_ptr(), nbytes, stream)
        with self._lock:
            if handle not in self._packs:
                self._packs[handle] = 0
                self._nbytes[handle] = nbytes
                self._held[handle] = t  # the device memory stays ours until its D2H has finished
                self._held_bytes += nbytes
                self._handles.setdefault(key, []).append(handle)
                self.step_offloaded_bytes += nbytes
            self._packs[handle] += 1
            self._poll_released()
            self._throttle()
        return _Packed(self, handle, t)

    def _in_flight_limit(self) -> Optional[int]:
        if self._plan_request == "auto":
            return None
        if self.max_in_flight_bytes is not None:
            return self.max_in_flight_bytes
        if self.profiles:
            return 2 * max(p.activation_bytes for p in self.profiles)
        return 1 << 30

    def _throttle(self) -> None:
        # Where the link is slower than the forward pass, wait (oldest copy first) until the bytes still copying
        # out fit the limit: the forward runs at the link's pace and the peak stays bounded.
        limit = self._in_flight_limit()
        if limit is None or self._offloader is None:
            return
        for handle in list(self._held):
            if self._held_bytes <= limit:
                return
            while not self._offloader.device_released(handle):
                time.sleep(20e-6)
            self._release_held(handle)

    def _unpack(self, packed: Any) -> torch.Tensor:
        if not isinstance(packed, _Packed):
            return packed
        stream = torch.cuda.current_stream(self.device)
        with self._lock:
            buffer = self._restored.get(packed.handle)
            if buffer is None:
                buffer = self._prefetch(packed.handle)
            assert self._offloader is not None
            self._offloader.restore(packed.handle, stream)
        buffer.record_stream(stream)  # the allocator must not reuse it before this stream's consumers ran
        view = torch.empty(0, dtype=packed.dtype, device=self.device)
        view.set_(buffer.untyped_storage(), packed.offset, packed.shape, packed.stride)
        return view

    def _prefetch(self, handle: int) -> torch.Tensor:
        # Allocated on a side stream that nothing else uses: the block is free of pending work, so the H2D
        # needs to wait for nothing (and record_stream at unpack keeps it until its consumers ran).
        with torch.cuda.stream(self._side_stream):
            buffer = torch.empty(self._nbytes[handle], dtype=torch.uint8, device=self.device)
        assert self._offloader is not None
        self._offloader.prefetch(handle, buffer.data_ptr())
        self._restored[handle] = buffer
        return buffer

    def _backward_started(self, index: int, forward_index: int) -> None:
        with self._lock:
            if self._profiling:
                if forward_index == self._forward_index and self._timings:
                    event = torch.cuda.Event(enable_timing=True)
                    event.record()
                    self._timings[index].backward_start = event
                    if index == 0:
                        self._profiled_steps += 1
                return
            for layer in range(index, max(-1, index - self.lookahead - 1), -1):
                if self.actions[layer] != "offload":
                    continue
                for handle in self._handles.get((forward_index, layer), []):
                    if handle in self._packs and handle not in self._restored:
                        self._prefetch(handle)

    def _poll_released(self) -> None:
        if self._offloader is None:
            return
        for handle in list(self._held):
            if self._offloader.device_released(handle):
                self._release_held(handle)

    def _release_held(self, handle: int) -> None:
        if self._held.pop(handle, None) is not None:
            self._held_bytes -= self._nbytes.get(handle, 0)

    def _drop(self, handle: int) -> None:
        with self._lock:
            if handle not in self._packs or self._offloader is None:
                return
            self._packs[handle] -= 1
            last = self._packs[handle] == 0
            if last and handle in self._held:
                while not self._offloader.device_released(handle):  # only when a graph dies before its D2H ends
                    time.sleep(0)
                self._release_held(handle)
            self._offloader.release(handle)
            if last:
                del self._packs[handle]
                self._nbytes.pop(handle, None)
                self._restored.pop(handle, None)
                for key in [k for k, hs in self._handles.items() if handle in hs]:
                    self._handles[key].remove(handle)
                    if not self._handles[key]:
                        del self._handles[key]

    # ---- public -----------------------------------------------------------------------------------------
    def statistics(self) -> Dict[str, Any]:
        """The offloader's counters (bytes offloaded and restored, arena use) and the plan in force."""
        stats: Dict[str, Any] = dict(self._offloader.statistics()) if self._offloader is not None else {}
        stats.update({"actions": list(self.actions), "lookahead": self.lookahead, "profiling": self._profiling})
        return stats

    def remove(self) -> None:
        """Unwraps the layers and frees the host arena (after every copy ended). Call between steps."""
        for layer, original in zip(self.layers, self._originals):
            if "forward" in layer.__dict__:
                del layer.forward
            if layer.forward != original:  # forward was an instance attribute before: put it back
                layer.forward = original
        self._originals = []
        with self._lock:
            self._held.clear()
            self._held_bytes = 0
            self._restored.clear()
        if self._offloader is not None:
            torch.cuda.synchronize(self.device)
            self._offloader.close()
            self._offloader = None
        self._runtime.close()


def offload_activations(model: nn.Module, budget: BudgetLike = "checkpoint", plan: PlanLike = "auto", *,
                        layers: Optional[Sequence[nn.Module]] = None, host_budget: Optional[int] = None,
                        profile_steps: int = 1, lookahead: Optional[int] = None,
                        min_offload_bytes: Optional[int] = None,
                        max_in_flight_bytes: Optional[int] = None) -> ActivationOffload:
    """Offloads (or recomputes) the activations of `model`'s layers as a plan decides.

    Args:
        budget: device memory for saved activations: bytes, a fraction (0..1] of what keeping every activation
            needs, "checkpoint" (what checkpointing every layer needs: the default) or None (no budget).
        plan: "auto" (the planner, after `profile_steps` measured steps), "offload" (every layer, measured
            first to size the arena), "checkpoint" (every layer recomputed), "keep", or one of "keep" /
            "offload" / "recompute" per layer (then give host_budget when any layer offloads).
        layers: the modules to plan (default: the decoder layers, see find_decoder_layers).
        host_budget: bytes of the host arena (default: the plan's offloaded bytes x 1.25 + 256 MiB).
        lookahead: layers prefetched ahead of the backward pass (default: the planner's).
        min_offload_bytes: smaller tensors stay on the GPU (default: from the link model).
        max_in_flight_bytes: for plan="offload" and explicit plans, the most saved bytes still copying out
            before the forward pass waits for the link (default: twice the largest layer's activations, or
            1 GiB before the profile); this bounds the peak where the link is slower than the forward pass.
            "auto" plans need no throttle: the planner counts the bytes in flight against the budget.

    Raises UnsupportedError for a torch.compile'd model or layers, a model with gradient checkpointing on, or
    layers not on a CUDA device; InvalidArgumentError for a bad budget or plan. During training: UnsupportedError
    inside CUDA graph capture; OutOfBudgetError (naming the host budget) when the arena is full, raised from the
    forward pass before the optimizer runs, so the training state is untouched.
    """
    if not isinstance(model, nn.Module):
        raise InvalidArgumentError(f"model is {type(model).__name__}: a torch.nn.Module")
    if _compiled(model):
        raise UnsupportedError("offload_activations: torch.compile'd models are not supported (the saved-tensor "
                               "hooks must see every saved tensor); pass the uncompiled model")
    if getattr(model, "is_gradient_checkpointing", False):
        raise UnsupportedError("offload_activations: the model has gradient checkpointing on; turn it off (the plan "
                               "decides which layers recompute: plan='checkpoint' recomputes all)")
    chosen = list(layers) if layers is not None else find_decoder_layers(model)
    if not chosen:
        raise InvalidArgumentError("layers is empty")
    if any(_compiled(layer) for layer in chosen):
        raise UnsupportedError("offload_activations: torch.compile'd layers are not supported (the saved-tensor hooks "
                               "must see every saved tensor)")
    if isinstance(budget, bool) or not (budget is None or isinstance(budget, (int, float, str))):
        raise InvalidArgumentError(f"budget is {budget!r}: bytes, a fraction, 'checkpoint' or None")
    if isinstance(budget, str) and budget != "checkpoint":
        raise InvalidArgumentError(f"budget is {budget!r}: bytes, a fraction, 'checkpoint' or None")
    if isinstance(budget, float) and not 0 < budget <= 1:
        raise InvalidArgumentError(f"budget is {budget}: a fraction must lie in (0, 1]")
    if isinstance(budget, int) and budget <= 0:
        raise InvalidArgumentError(f"budget is {budget}: bytes must be positive")
    if profile_steps < 1:
        raise InvalidArgumentError(f"profile_steps is {profile_steps}: at least 1")
    if max_in_flight_bytes is not None and (isinstance(max_in_flight_bytes, bool) or
                                            not isinstance(max_in_flight_bytes, int) or max_in_flight_bytes <= 0):
        raise InvalidArgumentError(f"max_in_flight_bytes is {max_in_flight_bytes!r}: a positive number of bytes")
    handle = ActivationOffload(model, chosen, budget, plan, host_budget, profile_steps, lookahead, min_offload_bytes)
    handle.max_in_flight_bytes = max_in_flight_bytes
    return handle
