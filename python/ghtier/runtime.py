"""Runtime and Buffer: the C API's runtime (platform, tiers, budgets, policy) and its allocations."""

from __future__ import annotations

import ctypes
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Optional, Union

from . import _capi, _dlpack
from ._library import load
from .enums import (Accessor, Advice, Frequency, HostAccess, Location, MemoryMode, PlatformClass, Policy,
                    ResidencyKind, ResidencySource, parse_enum)
from .errors import ClosedError, InvalidArgumentError
from .streams import StreamLike, stream_handle

__all__ = ["Runtime", "Buffer", "PlatformInfo", "Placement", "Statistics", "Residency", "AllocationInfo",
           "resolve_offline"]

ModeLike = Union[MemoryMode, str, int]


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _bytes_argument(value: Optional[int], what: str, *, allow_none: bool = True) -> int:
    if value is None and allow_none:
        return _capi.UNLIMITED
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{what} is {value!r}: a number of bytes (int)" + (" or None" if allow_none else ""))
    if value < 0:
        raise InvalidArgumentError(f"{what} is {value}: it must not be negative")
    return value


def _pointer_argument(value: Any, what: str) -> int:
    if isinstance(value, Buffer):
        return value.ptr
    if hasattr(value, "data_ptr") and callable(value.data_ptr):  # a torch.Tensor
        return int(value.data_ptr())
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{what} is {type(value).__name__}: a pointer (int), a Buffer or a tensor")
    if value < 0:
        raise InvalidArgumentError(f"{what} is negative")
    return value


@dataclass(frozen=True)
class PlatformInfo:
    """What the runtime knows about its GPU and the link to CPU memory (ghtier_platform_info_t)."""

    device: int
    name: str
    platform_class: PlatformClass
    host_access: HostAccess
    coherent: bool
    managed_migrates: bool
    gpu_reads_pageable: bool
    compute_capability: tuple
    sm_count: int
    async_engine_count: int
    host_numa_id: Optional[int]
    offline: bool
    hbm_bytes: int
    link: Dict[str, float]


@dataclass(frozen=True)
class Placement:
    """Where a request goes: the mode and the cudaMemAdvise set applied at allocation, and why."""

    mode: MemoryMode
    preferred_location: Location
    accessed_by_gpu: bool
    accessed_by_cpu: bool
    read_mostly: bool
    prefetch_to_gpu: bool
    reason: str

    @classmethod
    def _from_c(cls, p: _capi.Placement) -> "Placement":
        return cls(mode=MemoryMode(p.mode), preferred_location=Location(p.preferred_location),
                   accessed_by_gpu=bool(p.accessed_by & 0x1), accessed_by_cpu=bool(p.accessed_by & 0x2),
                   read_mostly=bool(p.flags & 0x1), prefetch_to_gpu=bool(p.flags & 0x2), reason=_text(p.reason))


@dataclass(frozen=True)
class Statistics:
    """One tier's counters (ghtier_statistics_t); budget_bytes is None when the tier has no budget."""

    mode: MemoryMode
    current_bytes: int
    peak_bytes: int
    current_allocations: int
    total_allocations: int
    total_bytes: int
    failed_allocations: int
    budget_bytes: Optional[int]


@dataclass(frozen=True)
class Residency:
    """Where the bytes of a range are now, and how exact that is."""

    where: ResidencyKind
    numa_node: Optional[int]
    device_bytes: int
    host_bytes: int
    unknown_bytes: int
    source: ResidencySource
    approximate: bool


@dataclass(frozen=True)
class AllocationInfo:
    """The live allocation that contains a pointer."""

    base: int
    bytes: int
    mode: MemoryMode
    tag: str


class Runtime:
    """One GPU's platform, memory tiers, budgets and tier policy (a ``ghtier_runtime_t``).

    Args:
        device: the GPU (default 0).
        policy: a :class:`~ghtier.Policy` or its name ("spill", "device_only", "size_threshold",
            "host_cache", "unified").
        size_threshold: bytes at and above which the size_threshold policy goes to the host tier (0: 64 MiB).
        device_budget, pinned_host_budget, managed_budget, system_budget: byte budgets (None: none).
        assumed_profile: "gh200", "x86-h100-hmm" or "x86-h100-pcie" for an *offline* runtime that needs no
            GPU: placement, budgets, statistics and platform info work, allocation raises UnsupportedError.
        pinned_reserve: pinned host bytes reserved up front (0: on first use).

    Raises NoDeviceError without a GPU (unless assumed_profile is given), InvalidArgumentError and
    NotFoundError (an unknown profile). Use as a context manager or call :meth:`close`; closing frees every
    Buffer still live through the runtime.
    """

    def __init__(self, device: int = 0, policy: Union[Policy, str, int] = Policy.SPILL, *, size_threshold: int = 0,
                 device_budget: Optional[int] = None, pinned_host_budget: Optional[int] = None,
                 managed_budget: Optional[int] = None, system_budget: Optional[int] = None,
                 assumed_profile: Optional[str] = None, pinned_reserve: int = 0) -> None:
        self._lib = load()
        self._handle: Optional[int] = None
        self._lock = threading.Lock()
        self._buffers: "weakref.WeakSet[Buffer]" = weakref.WeakSet()
        if isinstance(device, bool) or not isinstance(device, int):
            raise InvalidArgumentError(f"device is {device!r}: an int")
        options = _capi.sized(_capi.RuntimeOptions)
        options.device = device
        options.policy = parse_enum(Policy, policy, "policy")
        options.size_threshold_bytes = _bytes_argument(size_threshold, "size_threshold", allow_none=False)
        options.device_budget_bytes = _bytes_argument(device_budget, "device_budget")
        options.pinned_host_budget_bytes = _bytes_argument(pinned_host_budget, "pinned_host_budget")
        options.managed_budget_bytes = _bytes_argument(managed_budget, "managed_budget")
        options.system_budget_bytes = _bytes_argument(system_budget, "system_budget")
        if assumed_profile is not None and not isinstance(assumed_profile, str):
            raise InvalidArgumentError(f"assumed_profile is {assumed_profile!r}: a profile name or None")
        options.assumed_profile = assumed_profile.encode() if assumed_profile is not None else None
        options.pinned_reserve_bytes = _bytes_argument(pinned_reserve, "pinned_reserve", allow_none=False)
        handle = ctypes.c_void_p()
        self._lib.check(self._lib.ghtier_runtime_create(ctypes.byref(options), ctypes.byref(handle)),
                        "ghtier_runtime_create")
        self._handle = handle.value

    # --- lifetime -----------------------------------------------------------------------------------
    @property
    def handle(self) -> int:
        """The ``ghtier_runtime_t*`` as an int, for other C APIs. Raises ClosedError after close()."""
        if self._handle is None:
            raise ClosedError("the runtime was closed")
        return self._handle

    @property
    def closed(self) -> bool:
        return self._handle is None

    def close(self) -> None:
        """Destroys the runtime: every Buffer still live through it is freed (and becomes unusable)."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is None:
            return
        for buffer in list(self._buffers):
            buffer._forget()
        self._lib.check(self._lib.ghtier_runtime_destroy(handle), "ghtier_runtime_destroy")

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # never raise from a finalizer (e.g. at interpreter shutdown)
            pass

    def _call(self, name: str, *args: Any) -> None:
        self._lib.check(getattr(self._lib, name)(self.handle, *args), name)

    # --- platform and policy --------------------------------------------------------------------------
    @property
    def platform(self) -> PlatformInfo:
        """The platform: class, host access, device attributes and link figures."""
        info = _capi.sized(_capi.PlatformInfo)
        self._call("ghtier_runtime_get_platform_info", ctypes.byref(info))
        link = {k: float(getattr(info, k)) for k in ("h2d_gbps", "d2h_gbps", "bidirectional_gbps", "sm_read_gbps",
                                                      "sm_write_gbps", "hbm_gbps", "latency_us")}
        return PlatformInfo(device=info.device, name=_text(info.name), platform_class=PlatformClass(info.platform_class),
                            host_access=HostAccess(info.host_access), coherent=bool(info.coherent),
                            managed_migrates=bool(info.managed_migrates),
                            gpu_reads_pageable=bool(info.gpu_reads_pageable),
                            compute_capability=(info.compute_major, info.compute_minor), sm_count=info.sm_count,
                            async_engine_count=info.async_engine_count,
                            host_numa_id=info.host_numa_id if info.host_numa_id >= 0 else None,
                            offline=bool(info.offline), hbm_bytes=info.hbm_bytes, link=link)

    def mode_access(self, mode: ModeLike) -> Dict[str, Any]:
        """What `mode` is on this platform: gpu_access, cpu_access, migrates, relocation ("none" or
        "prefetch"), lives_in and gpu_path (in words)."""
        a = _capi.sized(_capi.ModeAccess)
        self._call("ghtier_runtime_get_mode_access", parse_enum(MemoryMode, mode, "mode"), ctypes.byref(a))
        return {"gpu_access": bool(a.gpu_access), "cpu_access": bool(a.cpu_access), "migrates": bool(a.migrates),
                "relocation": _capi.RELOCATIONS[a.relocation], "lives_in": _text(a.lives_in),
                "gpu_path": _text(a.gpu_path)}

    def move_mechanism(self, source: ModeLike, destination: ModeLike) -> str:
        """How ghtier moves bytes from a buffer of one mode into one of another here: "copy_engine",
        "staged_copy" or "host_copy"."""
        value = ctypes.c_int()
        self._call("ghtier_runtime_get_move_mechanism", parse_enum(MemoryMode, source, "source"),
                   parse_enum(MemoryMode, destination, "destination"), ctypes.byref(value))
        return _capi.MOVE_MECHANISMS[value.value]

    @property
    def device(self) -> int:
        return self.platform.device

    @property
    def policy(self) -> Policy:
        value = ctypes.c_int()
        self._call("ghtier_runtime_get_policy", ctypes.byref(value))
        return Policy(value.value)

    def set_policy(self, policy: Union[Policy, str, int], size_threshold: int = 0) -> None:
        """Selects a built-in policy for later allocations."""
        self._call("ghtier_runtime_set_policy", parse_enum(Policy, policy, "policy"),
                   _bytes_argument(size_threshold, "size_threshold", allow_none=False))

    @staticmethod
    def _request(nbytes: int, accessor: Any, frequency: Any, read_mostly: bool, tag: Optional[str],
                 keep: list) -> _capi.PlacementRequest:
        request = _capi.sized(_capi.PlacementRequest)
        request.bytes = _bytes_argument(nbytes, "nbytes", allow_none=False)
        request.accessor = parse_enum(Accessor, accessor, "accessor")
        request.frequency = parse_enum(Frequency, frequency, "frequency")
        request.flags = 0x1 if read_mostly else 0
        if tag is not None:
            encoded = tag.encode()
            keep.append(encoded)
            request.tag = encoded
        return request

    def resolve(self, nbytes: int, *, accessor: Any = Accessor.GPU, frequency: Any = Frequency.HOT,
                read_mostly: bool = False, tag: Optional[str] = None) -> Placement:
        """What :meth:`allocate` would choose now for such a request, without allocating."""
        keep: list = []
        request = self._request(nbytes, accessor, frequency, read_mostly, tag, keep)
        placement = _capi.sized(_capi.Placement)
        self._call("ghtier_runtime_resolve", ctypes.byref(request), ctypes.byref(placement))
        return Placement._from_c(placement)

    # --- budgets and statistics ---------------------------------------------------------------------
    def set_budget(self, mode: ModeLike, nbytes: Optional[int]) -> None:
        """Sets a tier's byte budget (None: no budget; 0: nothing may be allocated there)."""
        self._call("ghtier_runtime_set_budget", parse_enum(MemoryMode, mode, "mode"), _bytes_argument(nbytes, "nbytes"))

    def budget(self, mode: ModeLike) -> tuple:
        """(budget or None, bytes used) of a tier."""
        budget, used = ctypes.c_size_t(), ctypes.c_size_t()
        self._call("ghtier_runtime_get_budget", parse_enum(MemoryMode, mode, "mode"), ctypes.byref(budget),
                   ctypes.byref(used))
        return (None if budget.value == _capi.UNLIMITED else budget.value), used.value

    def statistics(self, mode: ModeLike) -> Statistics:
        """One tier's counters."""
        m = parse_enum(MemoryMode, mode, "mode")
        s = _capi.sized(_capi.Statistics)
        self._call("ghtier_runtime_get_statistics", m, ctypes.byref(s))
        return Statistics(mode=MemoryMode(m), current_bytes=s.current_bytes, peak_bytes=s.peak_bytes,
                          current_allocations=s.current_allocations, total_allocations=s.total_allocations,
                          total_bytes=s.total_bytes, failed_allocations=s.failed_allocations,
                          budget_bytes=None if s.budget_bytes == _capi.UNLIMITED else s.budget_bytes)

    def all_statistics(self) -> Dict[str, Statistics]:
        """Every tier's counters, by mode name ("device", "pinned_host", "managed", "system")."""
        return {m.name.lower(): self.statistics(m) for m in MemoryMode}

    # --- allocation -----------------------------------------------------------------------------------
    def allocate(self, nbytes: int, *, accessor: Any = Accessor.GPU, frequency: Any = Frequency.HOT,
                 read_mostly: bool = False, tag: Optional[str] = None, stream: StreamLike = None,
                 sync: bool = False) -> "Buffer":
        """Allocates where the policy decides (advice applied, prefetch queued).

        Stream-ordered on `stream` (None: CUDA's legacy default stream); ``sync=True`` allocates at once,
        with no stream. Raises OutOfBudgetError, OutOfMemoryError, UnsupportedError (offline), ...
        """
        keep: list = []
        request = self._request(nbytes, accessor, frequency, read_mostly, tag, keep)
        placement = _capi.sized(_capi.Placement)
        ptr = ctypes.c_void_p()
        if sync:
            self._call("ghtier_memory_alloc_sync", ctypes.byref(request), ctypes.byref(ptr), ctypes.byref(placement))
            handle = None
        else:
            handle = stream_handle(stream)
            self._call("ghtier_memory_alloc", ctypes.byref(request), handle, ctypes.byref(ptr), ctypes.byref(placement))
        return self._adopt(ptr.value or 0, request.bytes, MemoryMode(placement.mode), handle, Placement._from_c(placement))

    def allocate_in(self, mode: ModeLike, nbytes: int, *, stream: StreamLike = None, sync: bool = False) -> "Buffer":
        """Allocates `nbytes` in one mode, bypassing the policy."""
        m = parse_enum(MemoryMode, mode, "mode")
        n = _bytes_argument(nbytes, "nbytes", allow_none=False)
        ptr = ctypes.c_void_p()
        if sync:
            self._call("ghtier_memory_alloc_mode_sync", m, n, ctypes.byref(ptr))
            handle = None
        else:
            handle = stream_handle(stream)
            self._call("ghtier_memory_alloc_mode", m, n, handle, ctypes.byref(ptr))
        return self._adopt(ptr.value or 0, n, MemoryMode(m), handle, None)

    def _adopt(self, ptr: int, nbytes: int, mode: MemoryMode, stream: Optional[int],
               placement: Optional[Placement]) -> "Buffer":
        buffer = Buffer(self, ptr, nbytes, mode, stream, placement)
        self._buffers.add(buffer)
        return buffer

    def free(self, ptr: Any, *, stream: StreamLike = None, sync: bool = False) -> None:
        """Frees an allocation of this runtime by pointer (Buffer.free is the usual way)."""
        p = _pointer_argument(ptr, "ptr")
        if sync:
            self._call("ghtier_memory_free_sync", p)
        else:
            self._call("ghtier_memory_free", p, stream_handle(stream))

    # --- pointer queries and pointer-stable operations -------------------------------------------------
    def pointer_info(self, ptr: Any) -> AllocationInfo:
        """The live allocation of this runtime containing `ptr` (a pointer, Buffer or tensor); NotFoundError
        for memory that ghtier did not allocate."""
        info = _capi.sized(_capi.AllocationInfo)
        self._call("ghtier_memory_get_info", _pointer_argument(ptr, "ptr"), ctypes.byref(info))
        return AllocationInfo(base=info.base or 0, bytes=info.bytes, mode=MemoryMode(info.mode), tag=_text(info.tag))

    def residency(self, ptr: Any, nbytes: Optional[int] = None) -> Residency:
        """Where the bytes of [ptr, ptr + nbytes) are now (nbytes None: the whole Buffer, or one byte)."""
        if nbytes is None:
            nbytes = ptr.size if isinstance(ptr, Buffer) else 1
        r = _capi.sized(_capi.Residency)
        self._call("ghtier_memory_get_residency", _pointer_argument(ptr, "ptr"),
                   _bytes_argument(nbytes, "nbytes", allow_none=False), ctypes.byref(r))
        return Residency(where=ResidencyKind(r.where), numa_node=r.numa_node if r.numa_node >= 0 else None,
                         device_bytes=r.device_bytes, host_bytes=r.host_bytes, unknown_bytes=r.unknown_bytes,
                         source=ResidencySource(r.source), approximate=bool(r.approximate))

    def prefetch(self, ptr: Any, nbytes: int, location: Union[Location, str, int], *, stream: StreamLike = None) -> None:
        """Migrates a managed (or, with ATS/HMM, system) range to the device or the host, pointer-stable."""
        self._call("ghtier_memory_prefetch", _pointer_argument(ptr, "ptr"),
                   _bytes_argument(nbytes, "nbytes", allow_none=False), parse_enum(Location, location, "location"),
                   stream_handle(stream))

    def advise(self, ptr: Any, nbytes: int, advice: Union[Advice, str, int],
               location: Union[Location, str, int] = Location.NONE) -> None:
        """One cudaMemAdvise on [ptr, ptr + nbytes)."""
        self._call("ghtier_memory_advise", _pointer_argument(ptr, "ptr"),
                   _bytes_argument(nbytes, "nbytes", allow_none=False), parse_enum(Advice, advice, "advice"),
                   parse_enum(Location, location, "location"))

    def __repr__(self) -> str:
        if self.closed:
            return "<ghtier.Runtime closed>"
        return f"<ghtier.Runtime device={self.device} policy={self.policy.name.lower()}>"


class Buffer:
    """An allocation of a Runtime: ``ptr``, ``size`` (bytes), ``mode`` and the ``placement`` the policy chose.

    GPU-reachable buffers expose ``__cuda_array_interface__`` (CuPy, Numba, PyTorch) and DLPack
    (``torch.from_dlpack(buffer)``) as a 1-D uint8 array; host tiers are also visible to NumPy through
    :meth:`host_view`. Freed by :meth:`free`, by garbage collection, or when the runtime closes; the memory is
    freed stream-ordered on the stream it was allocated on.
    """

    def __init__(self, runtime: Runtime, ptr: int, size: int, mode: MemoryMode, stream: Optional[int],
                 placement: Optional[Placement]) -> None:
        self._runtime: Optional[Runtime] = runtime
        self.ptr = ptr
        self.size = size
        self.mode = mode
        self.stream = stream
        self.placement = placement

    @property
    def freed(self) -> bool:
        return self._runtime is None

    def _forget(self) -> None:  # the runtime freed it (close)
        self._runtime = None

    def _live_runtime(self) -> Runtime:
        if self._runtime is None:
            raise ClosedError("the buffer was freed (or its runtime closed)")
        return self._runtime

    def free(self, *, stream: StreamLike = None, sync: bool = False) -> None:
        """Frees the memory: on `stream`, else on the stream it was allocated on; ``sync=True``: at once."""
        runtime = self._live_runtime()
        self._runtime = None
        if runtime.closed:
            return
        if sync or (stream is None and self.stream is None):
            runtime.free(self.ptr, sync=True)
        else:
            runtime.free(self.ptr, stream=stream if stream is not None else self.stream)

    def __del__(self) -> None:
        try:
            if self._runtime is not None and not self._runtime.closed:
                self.free()
        except Exception:
            pass

    def __enter__(self) -> "Buffer":
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.freed:
            self.free()

    def __int__(self) -> int:
        return self.ptr

    def data_ptr(self) -> int:
        return self.ptr

    @property
    def gpu_accessible(self) -> bool:
        """Whether GPU kernels may dereference the memory (system memory only with ATS or HMM)."""
        if self.mode != MemoryMode.SYSTEM:
            return True
        return self._live_runtime().platform.gpu_reads_pageable

    @property
    def __cuda_array_interface__(self) -> Dict[str, Any]:
        self._live_runtime()
        if not self.gpu_accessible:
            raise AttributeError("system memory on this platform is not GPU-accessible (no ATS or HMM): "
                                 "use host_view() or allocate in another mode")
        return {"shape": (self.size,), "typestr": "|u1", "data": (self.ptr, False), "version": 3,
                "strides": None, "stream": None}

    def __dlpack_device__(self) -> tuple:
        self._live_runtime()
        return _dlpack.device_of(self.mode, self._live_runtime().device, self.gpu_accessible)

    def __dlpack__(self, *, stream: Any = None, max_version: Any = None, dl_device: Any = None,
                   copy: Any = None) -> Any:
        """A DLPack capsule of the bytes (uint8, 1-D); the Buffer stays alive while the capsule's tensor does.
        The memory is ready once the stream it was allocated on has reached this point; synchronize that
        stream (or order on it) before reading from another."""
        if copy:
            raise InvalidArgumentError("Buffer.__dlpack__(copy=True) is not supported: it shares the memory")
        device_type, device_id = self.__dlpack_device__()
        return _dlpack.capsule(self, self.ptr, self.size, device_type, device_id)

    def host_view(self) -> memoryview:
        """The bytes as a writable memoryview, for host-reachable tiers (pinned host, managed, system)."""
        self._live_runtime()
        if self.mode == MemoryMode.DEVICE:
            raise InvalidArgumentError("device memory is not reachable from the CPU: copy it out first")
        array = (ctypes.c_ubyte * self.size).from_address(self.ptr)
        return memoryview(array).cast("B")

    def __repr__(self) -> str:
        state = "freed" if self.freed else f"{self.mode.name.lower()}"
        return f"<ghtier.Buffer {self.size} bytes at {self.ptr:#x} {state}>"


def resolve_offline(profile: str, nbytes: int, *, policy: Union[Policy, str, int] = Policy.SPILL, **request: Any) -> Placement:
    """Placement for a request on a built-in profile, without a GPU (an offline runtime made and closed)."""
    with Runtime(policy=policy, assumed_profile=profile) as runtime:
        return runtime.resolve(nbytes, **request)


@contextmanager
def planning_runtime(runtime: Optional[Runtime], profile: Optional[str], default_profile: str,
                     need_runtime: bool) -> Iterator[Any]:
    """The runtime handle a planner's C call takes: the caller's runtime, else (when ``need_runtime``, i.e. no
    link figures were given) an offline runtime on ``profile`` (default ``default_profile``) made for the
    call and closed after it, else None."""
    own: Optional[Runtime] = None
    try:
        if runtime is None and need_runtime:
            own = Runtime(assumed_profile=profile or default_profile)
            runtime = own
        yield runtime.handle if runtime is not None else None
    finally:
        if own is not None:
            own.close()
