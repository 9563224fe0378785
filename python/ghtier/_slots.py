"""The library's allocator slots (include/ghtier/ghtier_torch.h) seen from Python, without torch.

A slot is a pair of exported C functions (ghtier_torch_alloc_N / ghtier_torch_free_N) that PyTorch's
CUDAPluggableAllocator loads by name; binding it to a runtime says where its memory comes from. A slot that
still holds memory cannot be unbound (PyTorch will free that memory through it later), so a closed pool's
slot is *retired* and unbound as soon as it is empty.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from typing import Dict, List, Optional, Union

from . import _capi
from ._library import load
from .enums import MemoryMode, parse_enum
from .errors import InvalidArgumentError
from .runtime import Runtime, _bytes_argument

__all__ = ["Slot", "SlotStatistics", "claim_slot", "slot_statistics", "empty_cache", "retired_slots",
           "reclaim_retired"]

_lock = threading.Lock()
_claimed: Dict[int, "Slot"] = {}
_retired: Dict[int, "Slot"] = {}


@dataclass(frozen=True)
class SlotStatistics:
    """A slot's counters (ghtier_torch_slot_statistics_t); ``bytes_by_mode`` says where its live bytes are."""

    slot: int
    bound: bool
    mode: Optional[MemoryMode]  # None: the runtime's policy decides
    current_bytes: int
    current_allocations: int
    peak_bytes: int
    total_allocations: int
    failed_allocations: int
    foreign_frees: int
    capture_allocations: int
    capture_reserve_bytes: int
    capture_reserve_used_bytes: int
    bytes_by_mode: Dict[str, int]
    deferred_free_bytes: int
    deferred_frees: int
    #: The freed-block cache (slots bound with ``cache_blocks``): device bytes and blocks kept for reuse (still
    #: allocated in the runtime, not in ``current_bytes``), allocations it served and missed, and its bound
    #: (0: the slot has no cache).
    cached_bytes: int = 0
    cached_blocks: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    cache_limit_bytes: int = 0


def slot_statistics(slot: int) -> SlotStatistics:
    lib = load()
    s = _capi.sized(_capi.TorchSlotStatistics)
    lib.check(lib.ghtier_torch_slot_statistics(slot, ctypes.byref(s)), "ghtier_torch_slot_statistics")
    return SlotStatistics(slot=slot, bound=bool(s.bound),
                          mode=None if s.mode == _capi.TORCH_MODE_POLICY else MemoryMode(s.mode),
                          current_bytes=s.current_bytes, current_allocations=s.current_allocations,
                          peak_bytes=s.peak_bytes, total_allocations=s.total_allocations,
                          failed_allocations=s.failed_allocations, foreign_frees=s.foreign_frees,
                          capture_allocations=s.capture_allocations, capture_reserve_bytes=s.capture_reserve_bytes,
                          capture_reserve_used_bytes=s.capture_reserve_used_bytes,
                          bytes_by_mode={"device": s.device_bytes, "pinned_host": s.pinned_host_bytes,
                                         "managed": s.managed_bytes, "system": s.system_bytes},
                          deferred_free_bytes=s.deferred_free_bytes, deferred_frees=s.deferred_frees,
                          cached_bytes=s.cached_bytes, cached_blocks=s.cached_blocks, cache_hits=s.cache_hits,
                          cache_misses=s.cache_misses, cache_limit_bytes=s.cache_limit_bytes)


def empty_cache(slot: int) -> None:
    """Frees every block slot `slot`'s freed-block cache holds (stream-ordered); nothing for a slot without one."""
    lib = load()
    lib.check(lib.ghtier_torch_empty_cache(slot), "ghtier_torch_empty_cache")


class Slot:
    """One bound slot: the runtime it allocates from, its mode (or the policy), its C entry point names."""

    def __init__(self, index: int, runtime: Runtime, mode: Optional[int], throw_on_failure: bool,
                 capture_reserve: int, tag: str, cache_blocks: bool = False, cache_limit: int = 0) -> None:
        self.index = index
        self.runtime = runtime
        self.process_lifetime = False
        self.mode = None if mode is None else MemoryMode(mode)
        lib = load()
        options = _capi.sized(_capi.TorchBindOptions)
        options.mode = _capi.TORCH_MODE_POLICY if mode is None else mode
        options.flags = ((_capi.TORCH_THROW_ON_FAILURE if throw_on_failure else 0)
                         | (_capi.TORCH_CACHE_FREED_BLOCKS if cache_blocks else 0))
        options.capture_reserve_bytes = capture_reserve
        options.cache_limit_bytes = cache_limit
        self._tag = tag.encode()
        options.tag = self._tag
        lib.check(lib.ghtier_torch_bind(index, runtime.handle, ctypes.byref(options)), "ghtier_torch_bind")

    @property
    def alloc_symbol(self) -> str:
        return f"ghtier_torch_alloc_{self.index}"

    @property
    def free_symbol(self) -> str:
        return f"ghtier_torch_free_{self.index}"

    def statistics(self) -> SlotStatistics:
        return slot_statistics(self.index)

    def empty_cache(self) -> None:
        """Frees what the slot's freed-block cache holds."""
        empty_cache(self.index)

    def last_error(self) -> str:
        raw = load().ghtier_torch_last_error(self.index)
        return raw.decode("utf-8", "replace") if raw else ""

    def try_unbind(self) -> bool:
        """Unbinds (and closes the runtime) when the slot holds no memory; False while it still does."""
        lib = load()
        if slot_statistics(self.index).current_allocations != 0:
            return False
        lib.check(lib.ghtier_torch_unbind(self.index), "ghtier_torch_unbind")
        self.runtime.close()
        return True

    def retire(self) -> None:
        """Gives the slot back: at once if it is empty, else as soon as a later claim finds it empty."""
        with _lock:
            _claimed.pop(self.index, None)
            if not self.try_unbind():
                _retired[self.index] = self


def reclaim_retired() -> List[int]:
    """Unbinds every retired slot that is now empty; returns those still holding memory."""
    with _lock:
        for index, slot in list(_retired.items()):
            if slot.try_unbind():
                del _retired[index]
        return sorted(_retired)


def retired_slots() -> List[int]:
    with _lock:
        return sorted(_retired)


def claim_slot(runtime: Runtime, mode: Union[MemoryMode, str, int, None], *, throw_on_failure: bool,
               capture_reserve: int = 0, tag: str = "torch", cache_blocks: bool = False,
               cache_limit: Optional[int] = None) -> Slot:
    """Binds a free slot to `runtime`. With `cache_blocks`, freed device blocks are kept for reuse where placement
    cannot matter (mode "device", or the policy while it is "device_only"), at most `cache_limit` bytes (None:
    the larger of 1 GiB and a quarter of the device budget or memory). Raises InvalidArgumentError when all slots
    are in use (each live ghtier MemPool and the default allocator hold one)."""
    m = None if mode is None else parse_enum(MemoryMode, mode, "mode")
    reserve = _bytes_argument(capture_reserve, "capture_reserve", allow_none=False)
    if not isinstance(cache_blocks, bool):
        raise InvalidArgumentError(f"cache_blocks is {cache_blocks!r}: True or False")
    limit = 0 if cache_limit is None else _bytes_argument(cache_limit, "cache_limit", allow_none=False)
    if cache_limit is not None and not 0 < limit <= _capi.UNLIMITED:
        raise InvalidArgumentError(f"cache_limit is {cache_limit}: a positive number of bytes that fits in size_t "
                                   "(None: the default bound; cache_blocks=False: no cache)")
    reclaim_retired()
    with _lock:
        for index in range(_capi.TORCH_SLOTS):
            if index in _claimed or index in _retired or slot_statistics(index).bound:
                continue
            slot = Slot(index, runtime, m, throw_on_failure, reserve, tag, cache_blocks, limit)
            _claimed[index] = slot
            return slot
    raise InvalidArgumentError(f"all {_capi.TORCH_SLOTS} ghtier allocator slots are in use (each ghtier MemPool and "
                               f"the default allocator hold one; pools still holding memory: {retired_slots()})")


def claimed_slots() -> List[Slot]:
    with _lock:
        return [_claimed[i] for i in sorted(_claimed)]


