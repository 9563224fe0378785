"""Weight streaming for models larger than the device budget, over the C API (include/ghtier/ghtier_workloads.h).

* :func:`plan_weights` -- the planner: which layers stay resident, how many ring slots the streamed rest
  cycles through, where GH200 reads weights in place; the predicted pass. Pure; works on an offline runtime.
* :class:`WeightStreamer` -- carries a plan out: ``acquire(layer, stream)`` gives device pointers once the
  layer's copy is in (queuing the next layers), ``release(layer, stream)`` frees the slot after the stream's
  work, ``set_budget`` re-plans between passes.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, Structure, c_double, c_int32, c_size_t, c_uint64, c_void_p
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from . import _capi
from ._owned_handle import OwnedHandle
from ._library import load
from .errors import ClosedError, InvalidArgumentError
from .runtime import Runtime, planning_runtime
from .streams import StreamLike, stream_handle

__all__ = ["WeightLayerProfile", "WeightPlan", "plan_weights", "WeightStreamer", "WEIGHT_PLACEMENTS"]

#: ghtier_weight_placement_t, by value.
WEIGHT_PLACEMENTS = ("resident", "streamed", "in_place")
_IN_PLACE = {"auto": 0, "on": 1, "off": 2}


class _LayerProfile(Structure):
    _fields_ = [("weight_bytes", c_uint64), ("compute_seconds", c_double)]


class _PlanRequest(Structure):
    _fields_ = [("struct_size", c_size_t), ("layers", POINTER(_LayerProfile)), ("num_layers", c_size_t),
                ("device_budget_bytes", c_size_t), ("max_slots", c_size_t), ("allow_in_place", c_int32),
                ("hedge_compute", c_int32), ("h2d_gbps", c_double), ("sm_read_gbps", c_double), ("latency_us", c_double)]


class _PlanResult(Structure):
    _fields_ = [("struct_size", c_size_t), ("ring_slots", c_size_t), ("slot_bytes", c_uint64),
                ("step_seconds", c_double), ("first_step_seconds", c_double), ("bound_seconds", c_double),
                ("resident_bytes", c_uint64), ("streamed_bytes", c_uint64), ("in_place_bytes", c_uint64),
                ("device_bytes", c_uint64), ("all_resident_step_seconds", c_double),
                ("naive_step_seconds", c_double)]


class _Tensor(Structure):
    _fields_ = [("host", c_void_p), ("bytes", c_uint64)]


class _StreamerOptions(Structure):
    _fields_ = [("struct_size", c_size_t), ("device_budget_bytes", c_size_t), ("max_slots", c_size_t),
                ("in_place", c_int32), ("hedge_compute", c_int32)]


class _StreamerStatistics(Structure):
    _fields_ = [("struct_size", c_size_t), ("acquires", c_uint64), ("prefetch_copies", c_uint64),
                ("urgent_copies", c_uint64), ("copied_bytes", c_uint64), ("budget_changes", c_uint64),
                ("promoted_layers", c_uint64), ("demoted_layers", c_uint64),
                ("last_budget_change_seconds", c_double), ("ring_slots", c_uint64), ("slot_bytes", c_uint64),
                ("resident_layers", c_uint64), ("device_bytes", c_uint64)]


_p = c_void_p
_capi.PROTOTYPES.update({
    "ghtier_weight_plan": (_capi.c_status, [_p, POINTER(_PlanRequest), POINTER(c_int32), POINTER(_PlanResult)]),
    "ghtier_weight_streamer_create": (_capi.c_status, [_p, POINTER(_Tensor), c_size_t, POINTER(c_size_t),
                                                       POINTER(c_double), c_size_t, POINTER(_StreamerOptions),
                                                       POINTER(c_void_p)]),
    "ghtier_weight_streamer_destroy": (_capi.c_status, [_p]),
    "ghtier_weight_streamer_acquire": (_capi.c_status, [_p, c_size_t, _p, POINTER(c_void_p), c_size_t]),
    "ghtier_weight_streamer_release": (_capi.c_status, [_p, c_size_t, _p]),
    "ghtier_weight_streamer_set_order": (_capi.c_status, [_p, POINTER(c_size_t), c_size_t]),
    "ghtier_weight_streamer_set_budget": (_capi.c_status, [_p, c_size_t]),
    "ghtier_weight_streamer_get_plan": (_capi.c_status, [_p, POINTER(c_int32), c_size_t, POINTER(_PlanResult)]),
    "ghtier_weight_streamer_get_statistics": (_capi.c_status, [_p, POINTER(_StreamerStatistics)]),
})


@dataclass(frozen=True)
class WeightLayerProfile:
    """One layer of one pass: its weight bytes and its compute seconds with the weights in device memory."""

    weight_bytes: int
    compute_seconds: float = 0.0


@dataclass(frozen=True)
class WeightPlan:
    """What the planner chose and what it predicts for one pass in the steady state (seconds, bytes)."""

    placements: List[str]
    ring_slots: int
    slot_bytes: int
    step_seconds: float
    first_step_seconds: float
    bound_seconds: float
    resident_bytes: int
    streamed_bytes: int
    in_place_bytes: int
    device_bytes: int
    all_resident_step_seconds: float
    naive_step_seconds: float


def _plan_of(placements: Sequence[int], result: _PlanResult) -> WeightPlan:
    return WeightPlan(placements=[WEIGHT_PLACEMENTS[p] for p in placements], ring_slots=int(result.ring_slots),
                      slot_bytes=int(result.slot_bytes), step_seconds=result.step_seconds,
                      first_step_seconds=result.first_step_seconds, bound_seconds=result.bound_seconds,
                      resident_bytes=int(result.resident_bytes), streamed_bytes=int(result.streamed_bytes),
                      in_place_bytes=int(result.in_place_bytes), device_bytes=int(result.device_bytes),
                      all_resident_step_seconds=result.all_resident_step_seconds,
                      naive_step_seconds=result.naive_step_seconds)


def _bytes(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"{what} is {value!r}: a number of bytes >= 0")
    return value


def plan_weights(layers: Sequence[WeightLayerProfile], device_budget: int, *, runtime: Optional[Runtime] = None,
                 profile: Optional[str] = None, link: Optional[Dict[str, float]] = None, allow_in_place: bool = False,
                 max_slots: int = 0, hedge_compute: bool = False) -> WeightPlan:
    """Plans a pass. The link comes from `link` ({"h2d_gbps", "sm_read_gbps", "latency_us"}), else from
    `runtime`, else from the built-in `profile` (an offline runtime, default gh200). A budget below one ring
    slot for the largest layer raises OutOfBudgetError naming the minimum. `hedge_compute`: the compute times
    are estimates (or the plan serves passes of several lengths): the plan with the least worse relative loss
    between the given times and times as long as each layer's copy."""
    if not layers:
        raise InvalidArgumentError("layers is empty: give one WeightLayerProfile per layer")
    array = (_LayerProfile * len(layers))()
    for i, layer in enumerate(layers):
        array[i] = _LayerProfile(_bytes(int(layer.weight_bytes), f"layers[{i}].weight_bytes"),
                                 float(layer.compute_seconds))
    request = _capi.sized(_PlanRequest)
    request.layers = array
    request.num_layers = len(layers)
    request.device_budget_bytes = _bytes(device_budget, "device_budget")
    request.max_slots = int(max_slots)
    request.allow_in_place = 1 if allow_in_place else 0
    request.hedge_compute = 1 if hedge_compute else 0
    if link is not None:
        request.h2d_gbps = float(link.get("h2d_gbps", 0.0))
        request.sm_read_gbps = float(link.get("sm_read_gbps", 0.0))
        request.latency_us = float(link.get("latency_us", 0.0))
    placements = (c_int32 * len(layers))()
    result = _capi.sized(_PlanResult)
    lib = load()
    with planning_runtime(runtime, profile, "gh200", link is None) as handle:
        lib.check(lib.ghtier_weight_plan(handle, ctypes.byref(request), placements, ctypes.byref(result)),
                  "ghtier_weight_plan")
    return _plan_of(list(placements), result)


class WeightStreamer(OwnedHandle):
    """``ghtier_weight_streamer_t`` over layers of host tensors: `layers` is one list per layer of
    (host pointer, bytes) pairs (pinned memory; on GH200 also system memory), which must stay valid while the
    streamer lives. Keep the runtime open while it lives. Thread-safe."""

    _destroy = "ghtier_weight_streamer_destroy"

    def __init__(self, runtime: Runtime, layers: Sequence[Sequence[Tuple[int, int]]], device_budget: int, *,
                 compute_seconds: Optional[Sequence[float]] = None, max_slots: int = 0, in_place: str = "auto",
                 hedge_compute: bool = False) -> None:
        self._lib = load()
        self._handle: Optional[int] = None
        if not layers:
            raise InvalidArgumentError("layers is empty: give one list of (host pointer, bytes) per layer")
        if in_place not in _IN_PLACE:
            raise InvalidArgumentError(f"in_place is {in_place!r}: 'auto', 'on' or 'off'")
        flat = [t for layer in layers for t in layer]
        tensors = (_Tensor * max(1, len(flat)))()
        for i, (ptr, nbytes) in enumerate(flat):
            tensors[i] = _Tensor(ptr, nbytes)
        counts = (c_size_t * len(layers))(*[len(layer) for layer in layers])
        seconds = None
        if compute_seconds is not None:
            if len(compute_seconds) != len(layers):
                raise InvalidArgumentError(f"compute_seconds has {len(compute_seconds)} entries for {len(layers)} layers")
            seconds = (c_double * len(layers))(*[float(s) for s in compute_seconds])
        options = _capi.sized(_StreamerOptions)
        options.device_budget_bytes = _bytes(device_budget, "device_budget")
        options.max_slots = int(max_slots)
        options.in_place = _IN_PLACE[in_place]
        options.hedge_compute = 1 if hedge_compute else 0
        handle = c_void_p()
        self._lib.check(self._lib.ghtier_weight_streamer_create(runtime.handle, tensors, len(flat), counts, seconds,
                                                                len(layers), ctypes.byref(options),
                                                                ctypes.byref(handle)),
                        "ghtier_weight_streamer_create")
        self._handle = handle.value
        self._runtime = runtime
        self._tensor_counts = [len(layer) for layer in layers]

    def _live(self) -> int:
        if self._handle is None:
            raise ClosedError("the weight streamer was closed")
        return self._handle

    def acquire(self, layer: int, stream: StreamLike = None) -> List[int]:
        """Makes `stream` wait for the layer's weights; returns one device pointer per tensor."""
        if not 0 <= layer < len(self._tensor_counts):
            count = 1  # the C API names the unknown layer
        else:
            count = self._tensor_counts[layer]
        pointers = (c_void_p * count)()
        self._lib.check(self._lib.ghtier_weight_streamer_acquire(self._live(), layer, stream_handle(stream), pointers,
                                                                 count),
                        "ghtier_weight_streamer_acquire")
        return [p or 0 for p in pointers]

    def release(self, layer: int, stream: StreamLike = None) -> None:
        self._lib.check(self._lib.ghtier_weight_streamer_release(self._live(), layer, stream_handle(stream)),
                        "ghtier_weight_streamer_release")

    def set_order(self, order: Sequence[int]) -> None:
        array = (c_size_t * max(1, len(order)))(*order)
        self._lib.check(self._lib.ghtier_weight_streamer_set_order(self._live(), array, len(order)),
                        "ghtier_weight_streamer_set_order")

    def set_budget(self, device_budget: int) -> None:
        self._lib.check(self._lib.ghtier_weight_streamer_set_budget(self._live(), _bytes(device_budget, "device_budget")),
                        "ghtier_weight_streamer_set_budget")

    def plan(self) -> WeightPlan:
        placements = (c_int32 * len(self._tensor_counts))()
        result = _capi.sized(_PlanResult)
        self._lib.check(self._lib.ghtier_weight_streamer_get_plan(self._live(), placements, len(self._tensor_counts),
                                                                  ctypes.byref(result)),
                        "ghtier_weight_streamer_get_plan")
        return _plan_of(list(placements), result)

    def statistics(self) -> Dict[str, float]:
        stats = _capi.sized(_StreamerStatistics)
        self._lib.check(self._lib.ghtier_weight_streamer_get_statistics(self._live(), ctypes.byref(stats)),
                        "ghtier_weight_streamer_get_statistics")
        return {name: getattr(stats, name) for name, _ in _StreamerStatistics._fields_ if name != "struct_size"}

