"""ghtier for PyTorch: tensors in any memory tier through PyTorch's pluggable-allocator hooks.

Two routes (docs/python.md says when to use which):

* :class:`MemPool` -- a ``torch.cuda.MemPool`` whose segments come from ghtier. Only the tensors made inside
  ``with torch.cuda.use_mem_pool(pool):`` go to it (optimizer state, a KV cache, embeddings in pinned host,
  managed or system memory) while PyTorch still sees CUDA tensors. PyTorch's caching allocator stays on top,
  so streams, ``record_stream`` and graph pools work as usual.
* :func:`use_as_default_allocator` -- every CUDA allocation of the process goes through ghtier's tier policy
  (e.g. "spill": HBM while the device budget lasts, then the host tier). Must run before the first CUDA
  allocation. PyTorch caches nothing on this route; ghtier keeps freed device blocks for reuse where placement
  cannot matter (policy "device_only"), and :func:`empty_cache` gives them back.

Workloads: :func:`offload_activations` (training) and :class:`SessionCache` / :class:`SessionStore` (a
``transformers`` Cache in ghtier's KV store, suspended to the host tier between a conversation's turns; needs
transformers, imported on first use).

:func:`memory_stats` reads ghtier's per-tier counters (PyTorch's own statistics do not cover pluggable
allocators). Importing this module needs torch; ghtier itself does not.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Dict, Optional, Union

try:
    import torch as _torch
except ImportError as _e:  # pragma: no cover - exercised where torch is missing
    raise ImportError("ghtier.torch needs PyTorch (import torch failed: "
                      f"{_e}); the rest of ghtier works without it") from None

from .._library import library_path
from ..enums import MemoryMode, Policy, parse_enum
from ..errors import Error, InvalidArgumentError
from ..runtime import Runtime
from .._slots import Slot, SlotStatistics, claim_slot, claimed_slots, reclaim_retired

__all__ = ["MemPool", "use_as_default_allocator", "default_allocator", "memory_stats", "empty_cache",
           "AllocatorTooLateError",
           "DEFAULT_CAPTURE_RESERVE", "offload_activations", "ActivationOffload", "find_decoder_layers",
           "SessionCache", "SessionStore", "stream_weights", "WeightStreamingHandle", "find_streamed_layers"]

#: Device memory the default allocator sets aside for allocations made during CUDA graph capture (at most a
#: quarter of the device budget when one is given: the reserve counts against it).
DEFAULT_CAPTURE_RESERVE = 64 << 20

_lock = threading.Lock()
_default: Optional[Slot] = None
_default_config: Dict[str, Any] = {}
_pools: "weakref.WeakSet[MemPool]" = weakref.WeakSet()
_allocators: list = []  # every CUDAPluggableAllocator handed to PyTorch (small; never freed, see MemPool)


class AllocatorTooLateError(Error, RuntimeError):
    """use_as_default_allocator was called after PyTorch's CUDA allocator had already allocated."""

    status_name = "GHTIER_ALLOCATOR_TOO_LATE"


def _device_index(device: Any) -> int:
    if device is None:
        return _torch.cuda.current_device() if _torch.cuda.is_available() else 0
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    try:
        d = _torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise InvalidArgumentError(f"device is {device!r}: {e}") from None
    if d.type != "cuda":
        raise InvalidArgumentError(f"device is {device!r}: a CUDA device")
    return d.index if d.index is not None else _torch.cuda.current_device()


def _pluggable(slot: Slot) -> Any:
    return _torch.cuda.memory.CUDAPluggableAllocator(library_path(), slot.alloc_symbol, slot.free_symbol)


class MemPool(_torch.cuda.MemPool):
    """A ``torch.cuda.MemPool`` whose memory comes from ghtier.

    Args:
        policy: the tier policy when `mode` is None ("spill", "device_only", "size_threshold", "host_cache",
            "unified").
        mode: put every segment in one mode ("device", "pinned_host", "managed", "system"); None: the policy.
        device_budget: bytes of HBM this pool may hold (None: no budget); with "spill", the rest goes to the
            host tier.
        device: the CUDA device (default: the current one).
        **runtime_options: other ghtier.Runtime options (pinned_host_budget, size_threshold, ...).

    Usage::

        pool = ghtier.torch.MemPool(mode="pinned_host")
        with torch.cuda.use_mem_pool(pool):
            state = torch.zeros(n, device="cuda")   # a CUDA tensor in pinned host memory

    A failed segment allocation returns NULL to PyTorch, which frees its cache, retries, and raises
    ``torch.OutOfMemoryError``; ``pool.last_error()`` says why ghtier refused. Close the pool (or drop it)
    after its tensors are gone; its slot is given back once PyTorch has freed every segment.
    """

    def __init__(self, policy: Union[Policy, str, int] = Policy.SPILL, mode: Union[MemoryMode, str, int, None] = None,
                 device_budget: Optional[int] = None, device: Any = None, **runtime_options: Any) -> None:
        index = _device_index(device)
        runtime = Runtime(device=index, policy=policy, device_budget=device_budget, **runtime_options)
        try:
            slot = claim_slot(runtime, mode, throw_on_failure=False, tag="torch-mempool")
        except BaseException:
            runtime.close()
            raise
        try:
            allocator = _pluggable(slot)
            super().__init__(allocator=allocator.allocator())
        except BaseException:
            slot.retire()
            raise
        self._ghtier_slot = slot
        # PyTorch's C++ pool keeps a raw pointer to the allocator and uses it in its destructor (emptyCache),
        # which runs after this object's attributes are gone: so the allocator lives as long as the process.
        _allocators.append(allocator)
        self.device_index = index
        weakref.finalize(self, Slot.retire, slot)
        _pools.add(self)

    @property
    def runtime(self) -> Runtime:
        """The ghtier runtime the pool allocates from (pointer_info, residency, budgets, statistics)."""
        return self._ghtier_slot.runtime

    @property
    def slot(self) -> int:
        return self._ghtier_slot.index

    @property
    def mode(self) -> Optional[MemoryMode]:
        return self._ghtier_slot.mode

    def slot_statistics(self) -> SlotStatistics:
        return self._ghtier_slot.statistics()

    def last_error(self) -> str:
        """Why ghtier last refused a segment (or a free), "" when never."""
        return self._ghtier_slot.last_error()

    def __repr__(self) -> str:
        what = self.mode.name.lower() if self.mode is not None else f"policy {self.runtime.policy.name.lower()}"
        return f"<ghtier.torch.MemPool slot={self.slot} {what} device={self.device_index}>"


def use_as_default_allocator(policy: Union[Policy, str, int] = Policy.SPILL, device_budget: Optional[int] = None,
                             *, device: Any = None, capture_reserve: Optional[int] = None,
                             block_cache: bool = True, block_cache_limit: Optional[int] = None,
                             **runtime_options: Any) -> Runtime:
    """Routes every CUDA allocation of this process through ghtier's tier policy.

    Must be called before the first CUDA tensor is allocated (raises :class:`AllocatorTooLateError`
    otherwise). With ``policy="spill"`` and a device budget, tensors live in HBM while the budget lasts and
    then in the host tier the platform's policy picks (managed memory with advice, or pinned zero-copy).
    Allocations made while a CUDA graph is being captured come from `capture_reserve` bytes of device memory
    set aside now (None: DEFAULT_CAPTURE_RESERVE, at most a quarter of device_budget; the reserve counts
    against the device budget; 0: no capture). A failed allocation raises a RuntimeError that carries ghtier's
    reason. Calling it again with the same arguments returns the same runtime; different ones raise.

    PyTorch's pluggable hook caches nothing, so with `block_cache` (the default) ghtier keeps the device blocks
    PyTorch frees and hands them out again to allocations of the same size class on the same stream, while the
    policy can only place on the device ("device_only"; any other policy caches nothing). Cached blocks count
    against the device budget; an allocation the budget or the device refuses first frees them all.
    `block_cache_limit` bounds the cache (None: the larger of 1 GiB and a quarter of the device budget, or of
    the device's memory without one). :func:`empty_cache` frees what is cached.

    Returns the ghtier Runtime behind the allocator (for statistics, pointer_info and residency queries).
    """
    global _default
    config = {"policy": parse_enum(Policy, policy, "policy"), "device_budget": device_budget,
              "device": device, "capture_reserve": capture_reserve, "block_cache": block_cache,
              "block_cache_limit": block_cache_limit, **runtime_options}
    with _lock:
        if _default is not None:
            if config == _default_config:
                return _default.runtime
            raise InvalidArgumentError(f"ghtier is already PyTorch's default allocator with {_default_config}; it "
                                       f"cannot be installed again with {config}")
        if not hasattr(_torch.cuda.memory, "change_current_allocator"):  # pragma: no cover - very old torch
            raise InvalidArgumentError("this PyTorch has no pluggable allocator support")
        # Not torch.cuda.current_device(): it initializes PyTorch's CUDA state and, with it, the native allocator,
        # which then can no longer be swapped.
        index = _device_index(device) if device is not None else 0
        if capture_reserve is None:
            capture_reserve = DEFAULT_CAPTURE_RESERVE
            if isinstance(device_budget, int) and not isinstance(device_budget, bool) and device_budget >= 0:
                capture_reserve = min(capture_reserve, device_budget // 4)
        runtime = Runtime(device=index, policy=policy, device_budget=device_budget, **runtime_options)
        try:
            slot = claim_slot(runtime, None, throw_on_failure=True, capture_reserve=capture_reserve,
                              tag="torch-default", cache_blocks=block_cache, cache_limit=block_cache_limit)
        except BaseException:
            runtime.close()
            raise
        try:
            allocator = _pluggable(slot)
            _torch.cuda.memory.change_current_allocator(allocator)
            _allocators.append(allocator)
        except RuntimeError as e:
            slot.retire()
            if "already initialized" in str(e):
                raise AllocatorTooLateError(
                    "ghtier.torch.use_as_default_allocator() must run before the first CUDA allocation of the "
                    "process, and PyTorch's CUDA allocator has already allocated (a CUDA tensor, a .cuda() or "
                    "a CUDA RNG/cuBLAS init came first). Call it at the very start of the program, or use "
                    "ghtier.torch.MemPool for chosen tensors instead.") from e
            raise
        slot.process_lifetime = True  # PyTorch frees through it until the process ends
        _default = slot
        _default_config.clear()
        _default_config.update(config)
        return runtime


def default_allocator() -> Optional[Runtime]:
    """The runtime behind the default allocator, or None when ghtier is not PyTorch's default allocator."""
    return _default.runtime if _default is not None else None


def empty_cache() -> None:
    """Frees the device blocks ghtier keeps for reuse on every route (stream-ordered; see
    use_as_default_allocator's `block_cache`). PyTorch's own cache over a MemPool is torch.cuda.empty_cache()'s."""
    for slot in claimed_slots():
        slot.empty_cache()


def _runtime_stats(runtime: Runtime) -> Dict[str, Dict[str, Any]]:
    out: Dict[str, Dict[str, Any]] = {}
    for name, s in runtime.all_statistics().items():
        out[name] = {"current_bytes": s.current_bytes, "peak_bytes": s.peak_bytes,
                     "current_allocations": s.current_allocations, "total_allocations": s.total_allocations,
                     "total_bytes": s.total_bytes, "failed_allocations": s.failed_allocations,
                     "budget_bytes": s.budget_bytes}
    return out


def memory_stats() -> Dict[str, Any]:
    """ghtier's view of PyTorch's memory: per route (the default allocator, each live MemPool), the bytes in
    each tier ("tiers": the runtime's per-mode counters, budgets included) and the slot's counters (live
    allocations, failures, frees of foreign pointers, graph-capture reserve use, the freed-block cache:
    "cached_bytes" are held by the runtime but not live, so they are in "tiers" and not in "bytes_by_mode")."""
    reclaim_retired()
    routes = []
    for slot in claimed_slots():
        s = slot.statistics()
        routes.append({
            "route": "default" if slot is _default else "mempool",
            "slot": slot.index,
            "mode": s.mode.name.lower() if s.mode is not None else None,
            "policy": slot.runtime.policy.name.lower(),
            "device": slot.runtime.device,
            "bytes_by_mode": dict(s.bytes_by_mode),
            "current_bytes": s.current_bytes, "peak_bytes": s.peak_bytes,
            "current_allocations": s.current_allocations, "total_allocations": s.total_allocations,
            "failed_allocations": s.failed_allocations, "foreign_frees": s.foreign_frees,
            "capture_allocations": s.capture_allocations, "capture_reserve_bytes": s.capture_reserve_bytes,
            "capture_reserve_used_bytes": s.capture_reserve_used_bytes,
            "deferred_free_bytes": s.deferred_free_bytes, "deferred_frees": s.deferred_frees,
            "cached_bytes": s.cached_bytes, "cached_blocks": s.cached_blocks, "cache_hits": s.cache_hits,
            "cache_misses": s.cache_misses, "cache_limit_bytes": s.cache_limit_bytes,
            "last_error": slot.last_error(),
            "tiers": _runtime_stats(slot.runtime),
        })
    totals = {m: sum(r["bytes_by_mode"][m] for r in routes) for m in ("device", "pinned_host", "managed", "system")}
    return {"routes": routes, "bytes_by_mode": totals}



from .activation_offload import ActivationOffload, find_decoder_layers, offload_activations  # noqa: E402
from .weight_streaming import WeightStreamingHandle, find_streamed_layers, stream_weights  # noqa: E402


def __getattr__(name: str) -> Any:
    # SessionCache needs transformers, which the rest of ghtier.torch does not: imported on first use.
    if name in ("SessionCache", "SessionStore"):
        from . import session_cache

        return getattr(session_cache, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
