"""Activation offload for training, over the C API (include/ghtier/ghtier_workloads.h).

* :func:`plan_activations` -- the planner: per layer keep / offload / recompute and the prefetch lookahead,
  for the shortest predicted step within a device budget. Pure; works on an offline runtime (a profile).
* :class:`ActivationOffloader` -- one host arena reserved once, background D2H behind the forward pass,
  urgent H2D ahead of the backward pass, restore as a stream wait. ``ghtier.torch.offload_activations``
  drives it from PyTorch's saved-tensor hooks.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, Structure, c_double, c_int, c_int32, c_size_t, c_uint64, c_void_p
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from . import _capi
from ._owned_handle import OwnedHandle
from ._library import load
from .errors import ClosedError, InvalidArgumentError
from .runtime import Runtime, planning_runtime
from .streams import StreamLike, stream_handle

__all__ = ["LayerProfile", "ActivationPlan", "plan_activations", "ActivationOffloader", "LAYER_ACTIONS"]

#: ghtier_layer_action_t, by value.
LAYER_ACTIONS = ("keep", "offload", "recompute")


class _LayerProfile(Structure):
    _fields_ = [("forward_seconds", c_double), ("backward_seconds", c_double), ("activation_bytes", c_uint64),
                ("input_bytes", c_uint64)]


class _PlanRequest(Structure):
    _fields_ = [("struct_size", c_size_t), ("layers", POINTER(_LayerProfile)), ("num_layers", c_size_t),
                ("device_budget_bytes", c_size_t), ("host_budget_bytes", c_size_t), ("max_lookahead", c_size_t),
                ("h2d_gbps", c_double), ("d2h_gbps", c_double), ("latency_us", c_double),
                ("fixed_actions", POINTER(c_int32))]


class _PlanResult(Structure):
    _fields_ = [("struct_size", c_size_t), ("prefetch_lookahead", c_size_t), ("fits_budget", c_int32),
                ("reserved", c_int32), ("step_seconds", c_double), ("forward_seconds", c_double),
                ("backward_seconds", c_double), ("bound_seconds", c_double), ("peak_device_bytes", c_uint64),
                ("offloaded_bytes", c_uint64), ("recomputed_layers", c_uint64), ("keep_all_step_seconds", c_double),
                ("keep_all_peak_device_bytes", c_uint64), ("recompute_all_step_seconds", c_double),
                ("recompute_all_peak_device_bytes", c_uint64)]


class _OffloadOptions(Structure):
    _fields_ = [("struct_size", c_size_t), ("host_arena_bytes", c_size_t), ("min_offload_bytes", c_size_t),
                ("min_copy_microseconds", c_double)]


class _OffloadStatistics(Structure):
    _fields_ = [("struct_size", c_size_t), ("saves", c_uint64), ("deduplicated_saves", c_uint64),
                ("offloaded_bytes", c_uint64), ("restored_bytes", c_uint64), ("live_handles", c_uint64),
                ("arena_bytes", c_uint64), ("arena_used_bytes", c_uint64), ("arena_peak_bytes", c_uint64),
                ("min_offload_bytes", c_uint64)]


_p = c_void_p
_capi.PROTOTYPES.update({
    "ghtier_activation_plan": (_capi.c_status, [_p, POINTER(_PlanRequest), POINTER(c_int32), POINTER(_PlanResult)]),
    "ghtier_activation_offloader_create": (_capi.c_status, [_p, POINTER(_OffloadOptions), POINTER(c_void_p)]),
    "ghtier_activation_offloader_destroy": (_capi.c_status, [_p]),
    "ghtier_activation_offloader_begin_layer": (_capi.c_status, [_p, c_uint64]),
    "ghtier_activation_offloader_end_layer": (_capi.c_status, [_p]),
    "ghtier_activation_offloader_save": (_capi.c_status, [_p, _p, c_size_t, _p, POINTER(c_uint64)]),
    "ghtier_activation_offloader_device_released": (_capi.c_status, [_p, c_uint64, POINTER(c_int)]),
    "ghtier_activation_offloader_prefetch": (_capi.c_status, [_p, c_uint64, _p]),
    "ghtier_activation_offloader_prefetch_layer": (_capi.c_status, [_p, c_uint64, POINTER(c_size_t)]),
    "ghtier_activation_offloader_restore": (_capi.c_status, [_p, c_uint64, _p, POINTER(c_void_p)]),
    "ghtier_activation_offloader_release": (_capi.c_status, [_p, c_uint64]),
    "ghtier_activation_offloader_get_statistics": (_capi.c_status, [_p, POINTER(_OffloadStatistics)]),
})


@dataclass(frozen=True)
class LayerProfile:
    """One layer of one training step: forward and backward seconds, distinct saved bytes, input bytes."""

    forward_seconds: float
    backward_seconds: float
    activation_bytes: int
    input_bytes: int


@dataclass(frozen=True)
class ActivationPlan:
    """What the planner chose and what it predicts (seconds, bytes of activations on the device)."""

    actions: List[str]
    prefetch_lookahead: int
    fits_budget: bool
    step_seconds: float
    forward_seconds: float
    backward_seconds: float
    bound_seconds: float
    peak_device_bytes: int
    offloaded_bytes: int
    recomputed_layers: int
    keep_all_step_seconds: float
    keep_all_peak_device_bytes: int
    recompute_all_step_seconds: float
    recompute_all_peak_device_bytes: int
    extra: Dict[str, float] = field(default_factory=dict)


def _budget(value: Optional[int], what: str) -> int:
    if value is None:
        return 0  # unlimited
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidArgumentError(f"{what} is {value!r}: a positive number of bytes, or None for no budget")
    return value


def plan_activations(layers: Sequence[LayerProfile], *, runtime: Optional[Runtime] = None,
                     profile: Optional[str] = None, device_budget: Optional[int] = None,
                     host_budget: Optional[int] = None, link: Optional[Dict[str, float]] = None,
                     max_lookahead: int = 0, actions: Optional[Sequence[str]] = None) -> ActivationPlan:
    """Plans a step. The link comes from `link` ({"h2d_gbps", "d2h_gbps", "latency_us"}), else from `runtime`,
    else from the built-in `profile` (an offline runtime). A budget no plan meets is not an error:
    ``fits_budget`` is False and the leanest plan comes back. `actions` (one of LAYER_ACTIONS per layer) fixes
    the layers' actions: only the prefetch lookahead is chosen for them, and the prediction is theirs."""
    if not layers:
        raise InvalidArgumentError("layers is empty: give one LayerProfile per layer")
    fixed = None
    if actions is not None:
        actions = list(actions)
        if len(actions) != len(layers) or any(a not in LAYER_ACTIONS for a in actions):
            raise InvalidArgumentError(f"actions has {len(actions)} entries for {len(layers)} layers; each must be "
                                       "'keep', 'offload' or 'recompute'")
        fixed = (c_int32 * len(actions))(*[LAYER_ACTIONS.index(a) for a in actions])
    array = (_LayerProfile * len(layers))()
    for i, layer in enumerate(layers):
        array[i] = _LayerProfile(float(layer.forward_seconds), float(layer.backward_seconds),
                                 int(layer.activation_bytes), int(layer.input_bytes))
    request = _capi.sized(_PlanRequest)
    request.layers = array
    request.num_layers = len(layers)
    request.device_budget_bytes = _budget(device_budget, "device_budget")
    request.host_budget_bytes = _budget(host_budget, "host_budget")
    request.max_lookahead = int(max_lookahead)
    if fixed is not None:
        request.fixed_actions = fixed
    if link is not None:
        request.h2d_gbps = float(link["h2d_gbps"])
        request.d2h_gbps = float(link["d2h_gbps"])
        request.latency_us = float(link.get("latency_us", 0.0))
    chosen = (c_int32 * len(layers))()
    result = _capi.sized(_PlanResult)
    lib = load()
    with planning_runtime(runtime, profile, "gh200", link is None) as handle:
        lib.check(lib.ghtier_activation_plan(handle, ctypes.byref(request), chosen, ctypes.byref(result)),
                  "ghtier_activation_plan")
    return ActivationPlan(
        actions=[LAYER_ACTIONS[a] for a in chosen], prefetch_lookahead=int(result.prefetch_lookahead),
        fits_budget=bool(result.fits_budget), step_seconds=result.step_seconds,
        forward_seconds=result.forward_seconds, backward_seconds=result.backward_seconds,
        bound_seconds=result.bound_seconds, peak_device_bytes=int(result.peak_device_bytes),
        offloaded_bytes=int(result.offloaded_bytes), recomputed_layers=int(result.recomputed_layers),
        keep_all_step_seconds=result.keep_all_step_seconds,
        keep_all_peak_device_bytes=int(result.keep_all_peak_device_bytes),
        recompute_all_step_seconds=result.recompute_all_step_seconds,
        recompute_all_peak_device_bytes=int(result.recompute_all_peak_device_bytes))


class ActivationOffloader(OwnedHandle):
    """``ghtier_activation_offloader_t``: saves device ranges into one host arena of `host_arena_bytes`
    (reserved now) and brings them back. Keep the runtime open while it lives. Thread-safe."""

    _destroy = "ghtier_activation_offloader_destroy"

    def __init__(self, runtime: Runtime, host_arena_bytes: int, *, min_offload_bytes: int = 0,
                 min_copy_microseconds: float = 0.0) -> None:
        self._lib = load()
        self._handle: Optional[int] = None
        if isinstance(host_arena_bytes, bool) or not isinstance(host_arena_bytes, int) or host_arena_bytes <= 0:
            raise InvalidArgumentError(f"host_arena_bytes is {host_arena_bytes!r}: the host budget, a positive int")
        options = _capi.sized(_OffloadOptions)
        options.host_arena_bytes = host_arena_bytes
        options.min_offload_bytes = int(min_offload_bytes)
        options.min_copy_microseconds = float(min_copy_microseconds)
        handle = c_void_p()
        self._lib.check(self._lib.ghtier_activation_offloader_create(runtime.handle, ctypes.byref(options),
                                                                     ctypes.byref(handle)),
                        "ghtier_activation_offloader_create")
        self._handle = handle.value
        self._runtime = runtime

    def _live(self) -> int:
        if self._handle is None:
            raise ClosedError("the activation offloader was closed")
        return self._handle

    def begin_layer(self, layer: int) -> None:
        self._lib.check(self._lib.ghtier_activation_offloader_begin_layer(self._live(), layer),
                        "ghtier_activation_offloader_begin_layer")

    def end_layer(self) -> None:
        self._lib.check(self._lib.ghtier_activation_offloader_end_layer(self._live()),
                        "ghtier_activation_offloader_end_layer")

    def save(self, ptr: int, nbytes: int, stream: StreamLike = None) -> int:
        """Queues the D2H of [ptr, ptr + nbytes) after the work on `stream`; returns the handle."""
        handle = c_uint64()
        self._lib.check(self._lib.ghtier_activation_offloader_save(self._live(), ptr, nbytes, stream_handle(stream),
                                                                   ctypes.byref(handle)),
                        "ghtier_activation_offloader_save")
        return handle.value

    def device_released(self, handle: int) -> bool:
        released = c_int()
        self._lib.check(self._lib.ghtier_activation_offloader_device_released(self._live(), handle,
                                                                              ctypes.byref(released)),
                        "ghtier_activation_offloader_device_released")
        return bool(released.value)

    def prefetch(self, handle: int, device_dst: int = 0) -> None:
        self._lib.check(self._lib.ghtier_activation_offloader_prefetch(self._live(), handle, device_dst or None),
                        "ghtier_activation_offloader_prefetch")

    def prefetch_layer(self, layer: int) -> int:
        queued = c_size_t()
        self._lib.check(self._lib.ghtier_activation_offloader_prefetch_layer(self._live(), layer,
                                                                             ctypes.byref(queued)),
                        "ghtier_activation_offloader_prefetch_layer")
        return queued.value

    def restore(self, handle: int, stream: StreamLike = None) -> int:
        """Makes `stream` wait for the bytes; returns their device pointer."""
        ptr = c_void_p()
        self._lib.check(self._lib.ghtier_activation_offloader_restore(self._live(), handle, stream_handle(stream),
                                                                      ctypes.byref(ptr)),
                        "ghtier_activation_offloader_restore")
        return ptr.value or 0

    def release(self, handle: int) -> None:
        self._lib.check(self._lib.ghtier_activation_offloader_release(self._live(), handle),
                        "ghtier_activation_offloader_release")

    def statistics(self) -> Dict[str, int]:
        stats = _capi.sized(_OffloadStatistics)
        self._lib.check(self._lib.ghtier_activation_offloader_get_statistics(self._live(), ctypes.byref(stats)),
                        "ghtier_activation_offloader_get_statistics")
        return {name: int(getattr(stats, name)) for name, _ in _OffloadStatistics._fields_ if name != "struct_size"}

