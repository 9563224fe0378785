"""``stream_weights``: run a model whose decoder layers do not fit the device budget, through ghtier's
WeightStreamer (docs/weight_streaming.md)::

    handle = ghtier.torch.stream_weights(model, device_budget=0.5)   # or bytes
    out = model.generate(input_ids, max_new_tokens=64)
    handle.set_budget(0.25)                                          # between two generate() calls
    handle.close()                                                   # the model is fully resident again

How it works. Each decoder layer's parameters and buffers are copied once from the GPU into one pinned host
arena of exact size (tensor by tensor, each GPU copy freed as soon as its bytes are on the host: never two
host copies of the model) and registered with the streamer, which keeps a planned share of the layers
resident in HBM and streams the rest through a ring of device slots ahead of compute. The parameter objects
stay the same (optimizers, LoRA wrappers and tied references keep working); only their ``.data`` changes:

* while a layer runs, its ``.data`` are views into the device memory ``acquire`` handed out (the compute
  stream waits for the layer's copy; the next layers' copies are queued behind it);
* between uses they are views into the host arena (CPU tensors: the weights' real home, so a stray use
  outside the layer fails loudly instead of reading a slot another layer now holds), except for layers the
  plan keeps resident: their device block never moves while they stay resident, so they stay bound to it
  between passes (no rebinding per call: decode is CPU-bound and pays it in full); a budget change and
  close() unbind them first.

Backward through streamed layers (LoRA: frozen base weights, trainable adapters in HBM): the weights a layer
saves for backward are packed as (layer, tensor) references by saved-tensor hooks; the backward pass acquires
the layer again (prefetching in reverse order) when it first needs one and releases it once the gradient of
the layer's input is computed (or when the backward pass ends).

Refused, with the reason: a streamed parameter with requires_grad=True (the streamer never writes weights
back), torch.compile'd models or layers, CUDA graph capture, gradient checkpointing, layers not on a CUDA
device, parameters shared between a layer and the rest of the model, a budget below the streamer's minimum
(its message gives the minimum), a layer that writes its own buffers in forward.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from .. import _dlpack
from .._streamed_layers import BudgetLike, LayerCandidate, budget_bytes, choose_layer_list, host_layout
from ..enums import MemoryMode
from ..errors import InvalidArgumentError, UnsupportedError
from ..runtime import Runtime
from ..weights import WeightLayerProfile, WeightStreamer, plan_weights

__all__ = ["stream_weights", "WeightStreamingHandle", "find_streamed_layers"]


def _signature(module: nn.Module) -> Tuple[Any, ...]:
    return (type(module),) + tuple((name, tuple(p.shape), p.dtype) for name, p in module.named_parameters())


def find_streamed_layers(model: nn.Module) -> List[nn.Module]:
    """The decoder layers of `model`: ``model.model.layers`` (transformers' decoders) when its blocks are
    identical, else the longest ``nn.ModuleList`` of identical blocks (same class, same parameter shapes)."""
    lists = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.ModuleList)]
    candidates = [LayerCandidate(name, tuple(_signature(b) for b in m), sum(p.numel() for p in m.parameters()))
                  for name, m in lists]
    return list(lists[choose_layer_list(candidates)][1])


def _compiled(module: nn.Module) -> bool:
    optimized = getattr(getattr(getattr(torch, "_dynamo", None), "eval_frame", None), "OptimizedModule", None)
    if optimized is not None and isinstance(module, optimized):
        return True
    return getattr(module, "_compiled_call_impl", None) is not None  # nn.Module.compile()


def _compiling() -> bool:
    check = getattr(getattr(torch, "compiler", None), "is_compiling", None)
    return bool(check is not None and check())


def _first_tensor(args: Sequence[Any], kwargs: Dict[str, Any]) -> Optional[torch.Tensor]:
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, torch.Tensor):
            return value
    return None


def _in_backward() -> bool:
    task = getattr(torch._C, "_current_graph_task_id", None)
    return task is None or task() != -1


class _Streamed:
    """One streamed tensor: the object whose ``.data`` is swapped, its name, its host view, and its version
    counter when its device view was bound (a change at release is an in-place write)."""

    __slots__ = ("tensor", "name", "host", "dtype", "shape", "nbytes", "version")

    def __init__(self, tensor: torch.Tensor, name: str) -> None:
        self.tensor = tensor
        self.name = name
        self.host: Optional[torch.Tensor] = None
        self.dtype = tensor.dtype
        self.shape = tuple(tensor.shape)
        self.nbytes = tensor.numel() * tensor.element_size()
        self.version = 0


class _SavedWeight:
    """What autograd keeps instead of a streamed weight (or a view of one) saved for backward."""

    __slots__ = ("layer", "index", "dtype", "shape", "stride", "offset")

    def __init__(self, layer: int, index: int, t: torch.Tensor) -> None:
        self.layer = layer
        self.index = index
        self.dtype = t.dtype
        self.shape = t.shape
        self.stride = t.stride()
        self.offset = t.storage_offset()


class WeightStreamingHandle:
    """What :func:`stream_weights` returns: :meth:`set_budget`, :meth:`statistics`, :meth:`close` (also as a
    context manager). Thread-safe; the forward and backward hooks take its lock."""

    def __init__(self, model: nn.Module, layers: List[nn.Module], device_budget: BudgetLike,
                 lookahead: Optional[int], in_place: str, compute_seconds: Optional[Sequence[float]]) -> None:
        self.model = model
        self.layers = layers
        self._lookahead = lookahead
        self._lock = threading.RLock()
        self._closed = False
        self.device = self._check_layers(model, layers)
        self._entries: List[List[_Streamed]] = []
        for i, layer in enumerate(layers):
            entries = [_Streamed(p, name) for name, p in layer.named_parameters() if p.numel() > 0]
            entries += [_Streamed(b, name) for name, b in layer.named_buffers() if b.numel() > 0]
            if not entries:
                raise InvalidArgumentError(f"stream_weights: layer {i} ({type(layer).__name__}) has no parameters "
                                           "or buffers to stream")
            self._entries.append(entries)
        self._layout = host_layout([[e.nbytes for e in entries] for entries in self._entries])
        self.host_bytes = self._layout.total_bytes
        self.device_budget = budget_bytes(device_budget, self._layout.layer_bytes, lookahead)
        if compute_seconds is not None and len(compute_seconds) != len(layers):
            raise InvalidArgumentError(f"compute_seconds has {len(compute_seconds)} entries for {len(layers)} layers")
        self._runtime = Runtime(device=self.device.index if self.device.index is not None
                                else torch.cuda.current_device())
        # Unknown compute: the plan must serve decode (short compute) and prefill (compute as long as a
        # layer's copy) alike, so the planner hedges between the two (WeightPlanRequest::hedge_compute).
        self._hedge = compute_seconds is None
        if compute_seconds is None:
            # The planner hides copies behind compute; unknown compute is at least one read of the weights at
            # HBM speed (decode at batch 1), which is what this assumes.
            hbm = self._runtime.platform.link.get("hbm_gbps", 0.0) or 3000.0
            compute_seconds = [n / (hbm * 1e9) for n in self._layout.layer_bytes]
        self._compute_seconds = [float(s) for s in compute_seconds]
        self._in_place = in_place
        platform = self._runtime.platform
        in_place_allowed = in_place == "on" or (in_place == "auto" and platform.coherent and
                                                platform.gpu_reads_pageable)
        try:  # a budget below the minimum is refused (naming it) before any weight moves
            plan_weights([WeightLayerProfile(b, c) for b, c in zip(self._layout.layer_bytes, self._compute_seconds)],
                         self.device_budget, runtime=self._runtime, allow_in_place=in_place_allowed,
                         max_slots=lookahead or 0, hedge_compute=self._hedge)
        except BaseException:
            self._runtime.close()
            raise
        self._streamer: Optional[WeightStreamer] = None
        self._arena = None
        try:
            self._move_to_host()
            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()  # the freed layer memory goes back to CUDA, where the streamer allocates
            self._streamer = self._make_streamer()
        except BaseException:
            self._restore_resident()
            self._runtime.close()
            raise
        self._install()

    def _install(self) -> None:
        """The bookkeeping of acquires and the layer wrappers, once the weights are on the host and the
        streamer exists."""
        layers = self.layers
        # Per layer: how many acquires are outstanding, and the device views they bound.
        self._held = [0] * len(layers)
        self._backward_held: set = set()
        self._callback_queued = False
        self._direction = "forward"
        # Device views per (layer, pointers): built once per slot or resident block a layer is seen in.
        self._views: Dict[Tuple[int, Tuple[int, ...]], List[torch.Tensor]] = {}
        self._bound: List[Optional[List[torch.Tensor]]] = [None] * len(layers)
        self._bound_pointers: List[Optional[Tuple[int, ...]]] = [None] * len(layers)
        self._pointer_index: Dict[int, Tuple[int, int]] = {}
        self._keep_bound: List[bool] = []
        self._refresh_resident()
        self._originals: List[Callable[..., Any]] = []
        for index, layer in enumerate(layers):
            self._originals.append(layer.forward)
            layer.forward = self._wrapped_forward(index, layer.forward)

    # ---- setup ------------------------------------------------------------------------------------------
    @staticmethod
    def _check_layers(model: nn.Module, layers: List[nn.Module]) -> torch.device:
        devices = {t.device for layer in layers for t in list(layer.parameters()) + list(layer.buffers())}
        if not devices:
            raise InvalidArgumentError("stream_weights: the layers have no parameters or buffers")
        if len(devices) > 1 or next(iter(devices)).type != "cuda":
            raise UnsupportedError(f"stream_weights: the layers are on {sorted(str(d) for d in devices)}; move the "
                                   "model to one CUDA device first (model.cuda()): its layers are copied from there to "
                                   "the host tier once")
        if torch.cuda.is_current_stream_capturing():
            raise UnsupportedError("stream_weights: a CUDA graph is being captured; set up streaming outside capture")
        if _compiled(model) or any(_compiled(layer) for layer in layers):
            raise UnsupportedError("stream_weights: torch.compile'd models or layers are not supported (the hooks "
                                   "must run at every layer call); pass the uncompiled model")
        if getattr(model, "is_gradient_checkpointing", False):
            raise UnsupportedError("stream_weights: gradient checkpointing is on; turn it off (the streamed layers' "
                                   "recomputation would run outside the streamer's pass order)")
        streamed: Dict[int, str] = {}
        for i, layer in enumerate(layers):
            for name, p in list(layer.named_parameters()) + list(layer.named_buffers()):
                if id(p) in streamed:
                    raise UnsupportedError(f"stream_weights: {streamed[id(p)]} is also layers[{i}].{name}; a tensor "
                                           "shared between layers cannot be streamed")
                streamed[id(p)] = f"layers[{i}].{name}"
                if isinstance(p, nn.Parameter) and p.requires_grad:
                    raise UnsupportedError(f"stream_weights: layers[{i}].{name} requires grad; streamed weights are "
                                           "frozen (the host copy is never written back): call "
                                           "requires_grad_(False) on the base layers and train adapters instead")
        inside = {id(m) for layer in layers for m in layer.modules()}
        for module in model.modules():
            if id(module) in inside:
                continue
            for name, t in list(module.named_parameters(recurse=False)) + list(module.named_buffers(recurse=False)):
                if id(t) in streamed:
                    raise UnsupportedError(f"stream_weights: {streamed[id(t)]} is also used outside the layers "
                                           f"({type(module).__name__}.{name}); a shared tensor cannot be streamed")
        return next(iter(devices))

    def _make_streamer(self) -> WeightStreamer:
        assert self._arena is not None
        tensors = [[(self._arena.ptr + off, e.nbytes) for off, e in zip(offsets, entries)]
                   for offsets, entries in zip(self._layout.offsets, self._entries)]
        return WeightStreamer(self._runtime, tensors, self.device_budget, compute_seconds=self._compute_seconds,
                              max_slots=self._lookahead or 0, in_place=self._in_place, hedge_compute=self._hedge)

    def _move_to_host(self) -> None:
        self._arena = self._runtime.allocate_in(MemoryMode.PINNED_HOST, self._layout.total_bytes)
        # The CPU view owns a reference to the arena: it stays alive while any parameter still points into it.
        capsule = _dlpack.capsule(self._arena, self._arena.ptr, self._arena.size, _dlpack.KDL_CPU, 0)
        arena = torch.from_dlpack(capsule)
        for offsets, entries in zip(self._layout.offsets, self._entries):
            for off, e in zip(offsets, entries):
                host = arena[off:off + e.nbytes].view(e.dtype).view(e.shape)
                host.copy_(e.tensor.data)
                e.host = host
                e.tensor.data = host  # the GPU copy is freed here (no other reference holds it)

    def _restore_resident(self) -> None:
        """Every moved tensor back on the device (used on a failed setup: the model as it was)."""
        for entries in self._entries:
            for e in entries:
                if e.host is not None:
                    e.tensor.data = e.host.to(self.device)
                    e.host = None
        torch.cuda.synchronize(self.device)

    # ---- acquire / release ------------------------------------------------------------------------------
    def _refresh_resident(self) -> None:
        """Which layers stay bound to their device block between passes: those the plan in force keeps
        resident (their block is neither moved nor freed until the next set_budget or close)."""
        assert self._streamer is not None
        self._keep_bound = [p == "resident" for p in self._streamer.plan().placements]

    def _layer_views(self, layer: int, pointers: Tuple[int, ...]) -> List[torch.Tensor]:
        key = (layer, pointers)
        views = self._views.get(key)
        if views is None:
            views = []
            with torch.inference_mode(False):  # cached: they must also serve passes with autograd
                for pointer, e in zip(pointers, self._entries[layer]):
                    capsule = _dlpack.capsule(self, pointer, e.nbytes, _dlpack.KDL_CUDA, self._runtime.device)
                    views.append(torch.from_dlpack(capsule).view(e.dtype).view(e.shape))
            self._views[key] = views
        return views

    def _acquire(self, layer: int, stream_handle: int) -> None:
        assert self._streamer is not None
        pointers = tuple(self._streamer.acquire(layer, stream_handle))
        if self._held[layer] > 0:  # acquired already: the same slot, bound already
            self._held[layer] += 1
            return
        if self._bound_pointers[layer] == pointers:  # still bound since the last use (a resident layer)
            self._held[layer] += 1
            return
        entries = self._entries[layer]
        try:
            views = self._layer_views(layer, pointers)
        except BaseException:
            self._streamer.release(layer, stream_handle)
            raise
        self._held[layer] += 1
        for view, e in zip(views, entries):
            e.tensor.data = view
            e.version = e.tensor._version
        self._bound[layer] = views
        self._bound_pointers[layer] = pointers
        # A view's storage starts at its pointer (one DLPack storage per tensor): what _pack looks up.
        self._pointer_index.update(zip(pointers, [(layer, i) for i in range(len(pointers))]))

    def _unbind(self, layer: int) -> None:
        """The layer's tensors back to their host views."""
        for pointer in self._bound_pointers[layer] or ():
            self._pointer_index.pop(pointer, None)
        self._bound[layer] = None
        self._bound_pointers[layer] = None
        for e in self._entries[layer]:
            e.tensor.data = e.host

    def _unbind_all(self) -> None:
        for layer, bound in enumerate(self._bound_pointers):
            if bound is not None:
                self._unbind(layer)

    def _release(self, layer: int, stream_handle: int) -> None:
        assert self._streamer is not None
        self._streamer.release(layer, stream_handle)
        self._held[layer] -= 1
        if self._held[layer] > 0:
            return
        written = None
        for e in self._entries[layer]:
            if e.tensor._version != e.version:
                written = e.name
        if written is None and self._keep_bound[layer]:
            return  # resident: its block stays put, so its views stay bound until set_budget or close
        self._unbind(layer)
        if written is not None:
            raise UnsupportedError(f"stream_weights: layers[{layer}].{written} was written in place while bound to "
                                   "device memory (during the layer's forward); streamed weights and buffers are "
                                   "read-only (the write is lost)")

    def _set_direction(self, direction: str) -> None:
        if direction != self._direction:
            assert self._streamer is not None
            order = list(range(len(self.layers)))
            self._streamer.set_order(order if direction == "forward" else order[::-1])
            self._direction = direction

    # ---- the layer wrapper ------------------------------------------------------------------------------
    def _wrapped_forward(self, index: int, original: Callable[..., Any]) -> Callable[..., Any]:
        def forward(*args: Any, **kwargs: Any) -> Any:
            if self._closed:
                return original(*args, **kwargs)
            if torch.cuda.is_current_stream_capturing():
                raise UnsupportedError("stream_weights: CUDA graph capture is not supported (the streamer's copies "
                                       "are driven by the host); capture without stream_weights")
            if _compiling():
                raise UnsupportedError("stream_weights: torch.compile regions are not supported (the layer hooks "
                                       "must run at every call); do not compile the streamed model")
            grad = torch.is_grad_enabled()
            if grad:
                for e in self._entries[index]:
                    if e.tensor.requires_grad:
                        raise UnsupportedError(f"stream_weights: layers[{index}].{e.name} requires grad; streamed "
                                               "weights are frozen: train adapters instead")
            # The stream the layer's work is queued on: acquire makes it wait, release covers its work.
            stream = torch.cuda.current_stream(self.device).cuda_stream
            with self._lock:
                if self._direction != "forward":
                    self._set_direction("forward")
                self._acquire(index, stream)
            try:
                if not grad:
                    return original(*args, **kwargs)
                with torch.autograd.graph.saved_tensors_hooks(lambda t: self._pack(t, index), self._unpack):
                    output = original(*args, **kwargs)
                hidden = _first_tensor(args, kwargs)
                if hidden is not None and hidden.requires_grad:
                    hidden.register_hook(lambda grad_in: self._backward_done(index))
                return output
            finally:
                with self._lock:
                    self._release(index, stream)
        return forward

    # ---- backward ---------------------------------------------------------------------------------------
    def _pack(self, t: torch.Tensor, layer: int) -> Any:
        if t.device.type != self.device.type:  # host tensors are never streamed weights
            return t
        hit = self._pointer_index.get(t.untyped_storage().data_ptr())
        if hit is None or hit[0] != layer:
            return t
        return _SavedWeight(hit[0], hit[1], t)

    def _unpack(self, saved: Any) -> torch.Tensor:
        if not isinstance(saved, _SavedWeight):
            return saved
        e = self._entries[saved.layer][saved.index]
        if not _in_backward():  # e.g. grad_fn._saved_* read by hand: a copy from the host, no slot held
            base = e.host.to(self.device)
        else:
            stream = torch.cuda.current_stream(self.device).cuda_stream
            with self._lock:
                if self._closed:
                    raise UnsupportedError("stream_weights: backward after the handle was closed: the graph "
                                           "refers to streamed weights; run backward before close()")
                if saved.layer not in self._backward_held:
                    self._set_direction("backward")
                    self._acquire(saved.layer, stream)
                    self._backward_held.add(saved.layer)
                    if not self._callback_queued:
                        torch.autograd.Variable._execution_engine.queue_callback(self._backward_finished)
                        self._callback_queued = True
                base = (self._bound[saved.layer] or [])[saved.index]
        view = torch.empty(0, dtype=saved.dtype, device=self.device)
        view.set_(base.untyped_storage(), saved.offset, saved.shape, saved.stride)
        return view

    def _backward_done(self, layer: int) -> None:
        with self._lock:
            if layer in self._backward_held:
                self._backward_held.discard(layer)
                self._release(layer, torch.cuda.current_stream(self.device).cuda_stream)

    def _backward_finished(self) -> None:
        with self._lock:
            self._callback_queued = False
            stream = torch.cuda.current_stream(self.device).cuda_stream
            for layer in sorted(self._backward_held):
                self._release(layer, stream)
            self._backward_held.clear()

    # ---- public -----------------------------------------------------------------------------------------
    def _live(self) -> WeightStreamer:
        if self._closed or self._streamer is None:
            raise InvalidArgumentError("stream_weights: the handle was closed")
        return self._streamer

    def set_budget(self, device_budget: BudgetLike) -> None:
        """Re-plans for a new budget (bytes, or a fraction of the weights as in stream_weights) between two
        passes: layers are promoted or demoted, nothing else is reloaded. Raises InvalidArgumentError while a
        layer runs (or a backward pass holds one), OutOfBudgetError below the minimum (naming it)."""
        streamer = self._live()
        nbytes = budget_bytes(device_budget, self._layout.layer_bytes, self._lookahead)
        with self._lock:
            if any(self._held):
                raise InvalidArgumentError("stream_weights set_budget: a layer is in use (a forward or backward pass "
                                           "is running); change the budget between passes")
            self._unbind_all()  # resident blocks may be demoted (freed or reused as slots)
            self._views.clear()  # slots may have been freed; their views must not be reused
            try:
                streamer.set_budget(nbytes)
                self.device_budget = nbytes
            finally:
                try:
                    self._refresh_resident()
                except Exception:  # noqa: BLE001 - no plan to read: keep nothing bound between passes
                    self._keep_bound = [False] * len(self.layers)

    def plan(self) -> Any:
        """The streamer's plan in force (ghtier.weights.WeightPlan)."""
        return self._live().plan()

    def statistics(self) -> Dict[str, Any]:
        """The streamer's counters (copies, bytes, budget changes and their time, slots, resident layers) and
        the plan's placements."""
        streamer = self._live()
        stats: Dict[str, Any] = dict(streamer.statistics())
        stats.update({"placements": streamer.plan().placements, "device_budget_bytes": self.device_budget,
                      "host_bytes": self.host_bytes, "layers": len(self.layers)})
        return stats

    def close(self) -> None:
        """Makes the model fully resident again (each tensor copied back to the device), removes the hooks and
        frees the streamer and the host arena. Call between passes. A device too full for the weights raises
        torch.OutOfMemoryError and leaves streaming in force."""
        if self._closed:
            return
        with self._lock:
            if any(self._held):
                raise InvalidArgumentError("stream_weights close: a layer is in use; close between passes")
            assert self._streamer is not None
            self._unbind_all()  # before the resident blocks are freed
            self._views.clear()
            self._streamer.close()  # waits for its copies; frees the slots and resident layers first
            self._streamer = None
            restored: List[Tuple[_Streamed, torch.Tensor]] = []
            try:
                for entries in self._entries:
                    for e in entries:
                        restored.append((e, e.host.to(self.device)))
            except BaseException:
                restored.clear()
                self._views.clear()
                self._streamer = self._make_streamer()  # streaming stays in force, as before
                self._direction = "forward"
                self._refresh_resident()
                raise
            for e, tensor in restored:
                e.tensor.data = tensor
                e.host = None
            torch.cuda.synchronize(self.device)
            self._closed = True
            self._views.clear()
            for layer, original in zip(self.layers, self._originals):
                if "forward" in layer.__dict__:
                    del layer.forward
                if layer.forward != original:
                    layer.forward = original
            self._originals = []
            self._arena = None  # freed when the last host view goes (none is left now)
            self._runtime.close()

    def __enter__(self) -> "WeightStreamingHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stream_weights(model: nn.Module, device_budget: BudgetLike, layers: Optional[Sequence[nn.Module]] = None,
                   lookahead: Optional[int] = None, *, in_place: str = "auto",
                   compute_seconds: Optional[Sequence[float]] = None) -> WeightStreamingHandle:
    """Streams `model`'s decoder layers' weights from pinned host memory under a device budget.

    Args:
        device_budget: device bytes for the layers' weights (resident layers plus the ring; the rest of the
            model stays where it is), or a float in [0, 1]: that share of the layers' weights resident plus
            `lookahead` (default 2) ring slots of the largest layer. Below the streamer's minimum (one slot):
            OutOfBudgetError naming the minimum.
        layers: the modules to stream (default: find_streamed_layers(model), model.model.layers for
            transformers' decoders).
        lookahead: the most ring slots the planner may use (default 8; also the ring share of a fractional
            budget, default 2).
        in_place: "auto" (GH200 may read layers in place over C2C where the planner finds it faster), "on",
            "off".
        compute_seconds: per-layer compute time with the weights in HBM, for the planner (default: one read of
            the layer's weights at HBM speed, decode's floor, hedged against compute as long as each layer's
            copy, as in prefill: the plan then keeps two ring slots where one would serialise copy and compute).

    Returns the handle (set_budget, statistics, close; a context manager). Raises UnsupportedError for what
    it cannot stream (see the module's doc), InvalidArgumentError for bad arguments; the model is left as it
    was when it raises.
    """
    if not isinstance(model, nn.Module):
        raise InvalidArgumentError(f"model is {type(model).__name__}: a torch.nn.Module")
    chosen = list(layers) if layers is not None else find_streamed_layers(model)
    if not chosen:
        raise InvalidArgumentError("layers is empty")
    if lookahead is not None and (isinstance(lookahead, bool) or not isinstance(lookahead, int) or lookahead < 1):
        raise InvalidArgumentError(f"lookahead is {lookahead!r}: at least 1 ring slot")
    if in_place not in ("auto", "on", "off"):
        raise InvalidArgumentError(f"in_place is {in_place!r}: 'auto', 'on' or 'off'")
    return WeightStreamingHandle(model, chosen, device_budget, lookahead, in_place, compute_seconds)
