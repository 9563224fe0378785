"""KV cache for serving, over the C API (include/ghtier/ghtier_workloads.h, docs/kv_cache.md).

* :func:`plan_resume` -- reload a returning session's KV cache or recompute it, with the predicted times.
  Pure; works on an offline runtime (a profile).
* :class:`KvCache` -- the paged store: a device block pool and a pinned host block pool reserved once;
  sessions appended, suspended to the host tier, resumed in one batch, forked (copy on write), dropped.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, Structure, c_double, c_int32, c_size_t, c_uint32, c_uint64, c_void_p
from dataclasses import dataclass
from typing import Any, List, Optional

from . import _capi
from ._library import load
from .errors import ClosedError, InvalidArgumentError, UnsupportedError
from .runtime import Runtime, planning_runtime
from .streams import StreamLike, stream_handle

__all__ = ["KvBlockShape", "KvResumePlan", "plan_resume", "KvCache", "LLAMA3_8B"]

_TIERS = {"device": 0, "host": 1, "file": 2, "none": 3}
_ACTIONS = ("resident", "reload", "recompute")


@dataclass(frozen=True)
class KvBlockShape:
    """One block: tokens_per_block tokens of keys and values of every layer."""

    tokens_per_block: int = 16
    layers: int = 32
    kv_heads: int = 8
    head_dim: int = 128
    dtype_bytes: int = 2

    @property
    def block_bytes(self) -> int:
        return 2 * self.tokens_per_block * self.layers * self.kv_heads * self.head_dim * self.dtype_bytes

    @classmethod
    def from_config(cls, config: Any, dtype_bytes: int, tokens_per_block: int = 16) -> "KvBlockShape":
        """The shape for a transformers decoder config (layers, KV heads, head dim). Raises UnsupportedError for
        sliding-window or linear-attention layers (a paged full-attention store cannot serve them) and
        InvalidArgumentError for a config without the attention fields."""
        getter = getattr(config, "get_text_config", None)
        config = getter(decoder=True) if getter is not None else config
        layers = getattr(config, "num_hidden_layers", None)
        heads = getattr(config, "num_attention_heads", None)
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (layers, heads)):
            raise InvalidArgumentError(f"{type(config).__name__} has no num_hidden_layers / num_attention_heads: "
                                       "a decoder-only transformers config is needed")
        layer_types = getattr(config, "layer_types", None) or []
        odd = sorted({t for t in layer_types if t != "full_attention"})
        window = getattr(config, "sliding_window", None) if getattr(config, "use_sliding_window", True) else None
        if odd or window:
            what = ", ".join(odd) + " layers" if odd else f"a sliding window of {window}"
            raise UnsupportedError(f"the KV store serves full-attention layers only; this model has {what}")
        kv_heads = getattr(config, "num_key_value_heads", None) or heads
        head_dim = getattr(config, "head_dim", None) or getattr(config, "hidden_size", 0) // heads
        if head_dim <= 0:
            raise InvalidArgumentError(f"{type(config).__name__} has neither head_dim nor hidden_size")
        return cls(tokens_per_block, layers, int(kv_heads), int(head_dim), dtype_bytes)


#: Llama-3-8B: 32 layers, 8 KV heads of 128, bf16, 16-token blocks (2 MiB a block).
LLAMA3_8B = KvBlockShape()


class _Shape(Structure):
    _fields_ = [("tokens_per_block", c_size_t), ("layers", c_size_t), ("kv_heads", c_size_t),
                ("head_dim", c_size_t), ("dtype_bytes", c_size_t)]


class _ResumeRequest(Structure):
    _fields_ = [("struct_size", c_size_t), ("shape", _Shape), ("context_tokens", c_uint64),
                ("cached_tokens", c_uint64), ("tier", c_int32), ("reserved", c_int32),
                ("prefill_tokens_per_second", c_double), ("file_read_gbps", c_double), ("h2d_gbps", c_double),
                ("latency_us", c_double)]


class _ResumePlan(Structure):
    _fields_ = [("struct_size", c_size_t), ("action", c_int32), ("reserved", c_int32),
                ("predicted_seconds", c_double), ("reload_seconds", c_double), ("recompute_seconds", c_double),
                ("first_layer_seconds", c_double), ("per_block_copy_seconds", c_double),
                ("reload_bytes", c_uint64), ("prefill_tokens", c_uint64), ("speedup", c_double)]


class _Options(Structure):
    _fields_ = [("struct_size", c_size_t), ("shape", _Shape), ("device_blocks", c_size_t),
                ("host_blocks", c_size_t)]


class _Statistics(Structure):
    _fields_ = [("struct_size", c_size_t), ("block_bytes", c_uint64), ("device_blocks", c_uint64),
                ("host_blocks", c_uint64), ("device_blocks_used", c_uint64), ("host_blocks_used", c_uint64),
                ("sessions", c_uint64), ("suspended_bytes", c_uint64), ("restored_bytes", c_uint64)]


_p = c_void_p
_capi.PROTOTYPES.update({
    "ghtier_kv_plan_resume": (_capi.c_status, [_p, POINTER(_ResumeRequest), POINTER(_ResumePlan)]),
    "ghtier_kv_cache_create": (_capi.c_status, [_p, POINTER(_Options), POINTER(c_void_p)]),
    "ghtier_kv_cache_destroy": (_capi.c_status, [_p]),
    "ghtier_kv_cache_device_pool": (_capi.c_status, [_p, POINTER(c_void_p)]),
    "ghtier_kv_cache_session_create": (_capi.c_status, [_p, c_int32, POINTER(c_uint64)]),
    "ghtier_kv_cache_append": (_capi.c_status, [_p, c_uint64, c_size_t, _p, POINTER(c_uint32), c_size_t,
                                                POINTER(c_size_t)]),
    "ghtier_kv_cache_block_table": (_capi.c_status, [_p, c_uint64, POINTER(c_uint32), c_size_t, POINTER(c_size_t)]),
    "ghtier_kv_cache_suspend": (_capi.c_status, [_p, c_uint64, _p]),
    "ghtier_kv_cache_resume": (_capi.c_status, [_p, c_uint64, _p]),
    "ghtier_kv_cache_fork": (_capi.c_status, [_p, c_uint64, POINTER(c_uint64)]),
    "ghtier_kv_cache_drop": (_capi.c_status, [_p, c_uint64]),
    "ghtier_kv_cache_plan_resume": (_capi.c_status, [_p, c_uint64, c_double, POINTER(_ResumePlan)]),
    "ghtier_kv_cache_get_statistics": (_capi.c_status, [_p, POINTER(_Statistics)]),
})


@dataclass(frozen=True)
class KvResumePlan:
    """Reload or recompute, and the predicted seconds of each (until the context's KV is on the device)."""

    action: str
    predicted_seconds: float
    reload_seconds: float
    recompute_seconds: float
    first_layer_seconds: float
    per_block_copy_seconds: float
    reload_bytes: int
    prefill_tokens: int
    speedup: float


def _plan_of(p: _ResumePlan) -> KvResumePlan:
    return KvResumePlan(_ACTIONS[p.action], p.predicted_seconds, p.reload_seconds, p.recompute_seconds,
                        p.first_layer_seconds, p.per_block_copy_seconds, int(p.reload_bytes),
                        int(p.prefill_tokens), p.speedup)


def _shape(shape: KvBlockShape) -> _Shape:
    return _Shape(shape.tokens_per_block, shape.layers, shape.kv_heads, shape.head_dim, shape.dtype_bytes)


def plan_resume(context_tokens: int, prefill_tokens_per_second: float, *, cached_tokens: Optional[int] = None,
                shape: KvBlockShape = LLAMA3_8B, tier: str = "host", file_read_gbps: float = 0.0,
                runtime: Optional[Runtime] = None, profile: Optional[str] = None,
                h2d_gbps: float = 0.0, latency_us: float = 0.0) -> KvResumePlan:
    """Reload vs recompute for one returning session. The link is h2d_gbps / latency_us when given, else the
    runtime's, else the built-in `profile`'s (an offline runtime; default x86-h100-pcie)."""
    if tier not in _TIERS:
        raise InvalidArgumentError(f"tier is {tier!r}: one of {', '.join(_TIERS)}")
    request = _capi.sized(_ResumeRequest)
    request.shape = _shape(shape)
    request.context_tokens = int(context_tokens)
    request.cached_tokens = int(context_tokens if cached_tokens is None else cached_tokens)
    request.tier = _TIERS[tier]
    request.prefill_tokens_per_second = float(prefill_tokens_per_second)
    request.file_read_gbps = float(file_read_gbps)
    request.h2d_gbps = float(h2d_gbps)
    request.latency_us = float(latency_us)
    result = _capi.sized(_ResumePlan)
    lib = load()
    with planning_runtime(runtime, profile, "x86-h100-pcie", h2d_gbps == 0 and latency_us == 0) as handle:
        lib.check(lib.ghtier_kv_plan_resume(handle, ctypes.byref(request), ctypes.byref(result)),
                  "ghtier_kv_plan_resume")
    return _plan_of(result)


class KvCache:
    """``ghtier_kv_cache_t``: a paged KV store on the runtime's GPU. Keep the runtime open while it lives.
    Thread-safe. Block b of the device pool starts at ``device_pool + b * shape.block_bytes``."""

    def __init__(self, runtime: Runtime, shape: KvBlockShape, device_blocks: int, host_blocks: int) -> None:
        self._lib = load()
        self._handle: Optional[int] = None
        options = _capi.sized(_Options)
        options.shape = _shape(shape)
        options.device_blocks = int(device_blocks)
        options.host_blocks = int(host_blocks)
        handle = c_void_p()
        self._lib.check(self._lib.ghtier_kv_cache_create(runtime.handle, ctypes.byref(options),
                                                         ctypes.byref(handle)), "ghtier_kv_cache_create")
        self._handle = handle.value
        self._runtime = runtime
        self.shape = shape

    def _live(self) -> int:
        if self._handle is None:
            raise ClosedError("the KV cache was closed")
        return self._handle

    @property
    def device_pool(self) -> int:
        out = c_void_p()
        self._lib.check(self._lib.ghtier_kv_cache_device_pool(self._live(), ctypes.byref(out)),
                        "ghtier_kv_cache_device_pool")
        return int(out.value or 0)

    def create(self, priority: int = 0) -> int:
        out = c_uint64()
        self._lib.check(self._lib.ghtier_kv_cache_session_create(self._live(), int(priority), ctypes.byref(out)),
                        "ghtier_kv_cache_session_create")
        return int(out.value)

    def append(self, session: int, n_tokens: int, stream: StreamLike = None) -> List[int]:
        """Room for n_tokens more tokens; the new device block indices."""
        capacity = n_tokens // self.shape.tokens_per_block + 2
        blocks = (c_uint32 * capacity)()
        count = c_size_t()
        self._lib.check(self._lib.ghtier_kv_cache_append(self._live(), session, n_tokens, stream_handle(stream),
                                                         blocks, capacity, ctypes.byref(count)),
                        "ghtier_kv_cache_append")
        return list(blocks[:count.value])

    def block_table(self, session: int) -> List[int]:
        count = c_size_t()
        self._lib.check(self._lib.ghtier_kv_cache_block_table(self._live(), session, None, 0, ctypes.byref(count)),
                        "ghtier_kv_cache_block_table")
        table = (c_uint32 * max(count.value, 1))()
        self._lib.check(self._lib.ghtier_kv_cache_block_table(self._live(), session, table, count.value,
                                                              ctypes.byref(count)), "ghtier_kv_cache_block_table")
        return list(table[:count.value])

    def suspend(self, session: int, stream: StreamLike = None) -> None:
        self._lib.check(self._lib.ghtier_kv_cache_suspend(self._live(), session, stream_handle(stream)),
                        "ghtier_kv_cache_suspend")

    def resume(self, session: int, stream: StreamLike = None) -> None:
        self._lib.check(self._lib.ghtier_kv_cache_resume(self._live(), session, stream_handle(stream)),
                        "ghtier_kv_cache_resume")

    def fork(self, session: int) -> int:
        out = c_uint64()
        self._lib.check(self._lib.ghtier_kv_cache_fork(self._live(), session, ctypes.byref(out)),
                        "ghtier_kv_cache_fork")
        return int(out.value)

    def drop(self, session: int) -> None:
        self._lib.check(self._lib.ghtier_kv_cache_drop(self._live(), session), "ghtier_kv_cache_drop")

    def plan_resume(self, session: int, prefill_tokens_per_second: float) -> KvResumePlan:
        out = _capi.sized(_ResumePlan)
        self._lib.check(self._lib.ghtier_kv_cache_plan_resume(self._live(), session,
                                                              float(prefill_tokens_per_second), ctypes.byref(out)),
                        "ghtier_kv_cache_plan_resume")
        return _plan_of(out)

    def statistics(self) -> dict:
        out = _capi.sized(_Statistics)
        self._lib.check(self._lib.ghtier_kv_cache_get_statistics(self._live(), ctypes.byref(out)),
                        "ghtier_kv_cache_get_statistics")
        return {name: int(getattr(out, name)) for name, _ in _Statistics._fields_ if name != "struct_size"}

    def close(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            self._lib.check(self._lib.ghtier_kv_cache_destroy(handle), "ghtier_kv_cache_destroy")

    def __enter__(self) -> "KvCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass

    # ---- Prefix reuse, the file tier and expiry (kvstore branch): keep these additions together here. ----
    # Token ids are int sequences; `salt` names the model (and anything that changes its KV). The block
    # files' names are the blocks' chained hashes (prefix_hashes below), so other processes find them.

    @classmethod
    def with_file_tier(cls, runtime: Runtime, shape: KvBlockShape, device_blocks: int, host_blocks: int,
                       file_directory: str, file_blocks: int = 0) -> "KvCache":
        """A store whose host pressure moves registered blocks to files in `file_directory` (created if
        missing; a read-only one raises GhtierIOError) instead of dropping them; at most `file_blocks` of
        them (0: no limit)."""
        self = cls.__new__(cls)
        self._lib = load()
        self._handle = None
        options = _capi.sized(_FileTierOptions)
        options.shape = _shape(shape)
        options.device_blocks = int(device_blocks)
        options.host_blocks = int(host_blocks)
        directory = os.fsencode(file_directory)
        options.file_directory = directory
        options.file_blocks = int(file_blocks)
        handle = c_void_p()
        self._lib.check(self._lib.ghtier_kv_cache_create(runtime.handle, ctypes.byref(options),
                                                         ctypes.byref(handle)), "ghtier_kv_cache_create")
        self._handle = handle.value
        self._runtime = runtime
        self.shape = shape
        return self

    def register_prefix(self, session: int, tokens: Sequence[int], salt: str) -> None:
        """Registers the session's leading full blocks as the KV of `tokens` (its context so far), once
        their KV is written, so that lookups and new sessions (here and, through files, elsewhere) find them."""
        ids, n = _token_array(tokens)
        self._lib.check(self._lib.ghtier_kv_cache_register_prefix(self._live(), session, ids, n, _salt(salt)),
                        "ghtier_kv_cache_register_prefix")

    def lookup_prefix(self, tokens: Sequence[int], salt: str) -> Tuple[int, List[str]]:
        """(cached_tokens, the tier of each cached block: "device", "host" or "file")."""
        ids, n = _token_array(tokens)
        capacity = n // self.shape.tokens_per_block + 1
        tiers = (c_int32 * capacity)()
        cached = c_size_t()
        count = c_size_t()
        self._lib.check(self._lib.ghtier_kv_cache_lookup_prefix(self._live(), ids, n, _salt(salt),
                                                                ctypes.byref(cached), tiers, capacity,
                                                                ctypes.byref(count)),
                        "ghtier_kv_cache_lookup_prefix")
        return int(cached.value), [_TIER_NAMES[t] for t in tiers[:count.value]]

    def create_from_prefix(self, tokens: Sequence[int], salt: str, priority: int = 0,
                           stream: StreamLike = None) -> Tuple[int, int]:
        """(session, cached_tokens): a new active session holding the stored prefix of `tokens`; append and
        compute the tokens after cached_tokens. `stream` waits for the blocks' copies."""
        ids, n = _token_array(tokens)
        session = c_uint64()
        cached = c_size_t()
        self._lib.check(self._lib.ghtier_kv_cache_create_from_prefix(self._live(), ids, n, _salt(salt),
                                                                     int(priority), stream_handle(stream),
                                                                     ctypes.byref(session), ctypes.byref(cached)),
                        "ghtier_kv_cache_create_from_prefix")
        return int(session.value), int(cached.value)

    def set_expiry(self, session: int, seconds: Optional[float]) -> None:
        """After `seconds`, the session's unused blocks are evicted first and dropped, not moved to a slower
        tier; None: never."""
        value = math.inf if seconds is None else float(seconds)
        self._lib.check(self._lib.ghtier_kv_cache_set_expiry(self._live(), session, value),
                        "ghtier_kv_cache_set_expiry")

    def session_tokens(self, session: int) -> int:
        """The tokens the session holds (a resume that met a corrupt block file leaves fewer)."""
        out = c_size_t()
        self._lib.check(self._lib.ghtier_kv_cache_session_tokens(self._live(), session, ctypes.byref(out)),
                        "ghtier_kv_cache_session_tokens")
        return int(out.value)

    def file_statistics(self) -> dict:
        """file_blocks_used, file_written_bytes, file_read_bytes."""
        out = _capi.sized(_FileTierStatistics)
        self._lib.check(self._lib.ghtier_kv_cache_get_statistics(self._live(), ctypes.byref(out)),
                        "ghtier_kv_cache_get_statistics")
        return {name: int(getattr(out, name)) for name in ("file_blocks_used", "file_written_bytes",
                                                           "file_read_bytes")}


# ---- Prefix reuse, the file tier and expiry (kvstore branch): module part. ----

import math  # noqa: E402 - kept with the block that uses it
import os  # noqa: E402
from typing import Sequence, Tuple  # noqa: E402

from ctypes import c_char_p  # noqa: E402

__all__ += ["prefix_hashes"]

_TIER_NAMES = {v: k for k, v in _TIERS.items()}


class _FileTierOptions(Structure):
    """ghtier_kv_cache_options_t with the file tier's fields (the header after the file tier)."""

    _fields_ = _Options._fields_ + [("file_directory", c_char_p), ("file_blocks", c_size_t)]


class _FileTierStatistics(Structure):
    _fields_ = _Statistics._fields_ + [("file_blocks_used", c_uint64), ("file_written_bytes", c_uint64),
                                       ("file_read_bytes", c_uint64)]


_capi.PROTOTYPES.update({
    "ghtier_kv_prefix_hashes": (_capi.c_status, [POINTER(c_int32), c_size_t, c_size_t, c_char_p,
                                                 POINTER(c_uint64), c_size_t, POINTER(c_size_t)]),
    "ghtier_kv_cache_register_prefix": (_capi.c_status, [_p, c_uint64, POINTER(c_int32), c_size_t, c_char_p]),
    "ghtier_kv_cache_lookup_prefix": (_capi.c_status, [_p, POINTER(c_int32), c_size_t, c_char_p,
                                                       POINTER(c_size_t), POINTER(c_int32), c_size_t,
                                                       POINTER(c_size_t)]),
    "ghtier_kv_cache_create_from_prefix": (_capi.c_status, [_p, POINTER(c_int32), c_size_t, c_char_p, c_int32, _p,
                                                            POINTER(c_uint64), POINTER(c_size_t)]),
    "ghtier_kv_cache_set_expiry": (_capi.c_status, [_p, c_uint64, c_double]),
    "ghtier_kv_cache_session_tokens": (_capi.c_status, [_p, c_uint64, POINTER(c_size_t)]),
})
# The grown structs go through the same two functions: their prototypes take any struct pointer.
_capi.PROTOTYPES["ghtier_kv_cache_create"] = (_capi.c_status, [_p, c_void_p, POINTER(c_void_p)])
_capi.PROTOTYPES["ghtier_kv_cache_get_statistics"] = (_capi.c_status, [_p, c_void_p])


def _token_array(tokens: Sequence[int]) -> Tuple[ctypes.Array, int]:
    ids = [int(t) for t in tokens]
    for t in ids:
        if not -(1 << 31) <= t < (1 << 31):
            raise InvalidArgumentError(f"token id {t} does not fit in int32")
    return (c_int32 * max(len(ids), 1))(*ids), len(ids)


def _salt(salt: str) -> bytes:
    if not isinstance(salt, str):
        raise InvalidArgumentError(f"salt is {type(salt).__name__}: give the model's name as a str")
    return salt.encode("utf-8")


def prefix_hashes(tokens: Sequence[int], tokens_per_block: int, salt: str) -> List[int]:
    """The chained hash of every full block of `tokens` (the names of their block files, as 16 hex digits);
    needs no GPU."""
    ids, n = _token_array(tokens)
    lib = load()
    count = c_size_t()
    capacity = n // max(int(tokens_per_block), 1) + 1
    out = (c_uint64 * capacity)()
    lib.check(lib.ghtier_kv_prefix_hashes(ids, n, int(tokens_per_block), _salt(salt), out, capacity,
                                          ctypes.byref(count)), "ghtier_kv_prefix_hashes")
    return [int(h) for h in out[:count.value]]
