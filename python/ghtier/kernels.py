"""The direct-access kernels' entry points (docs/kernels.md): SM copy (1-D and 2-D), gather, sorted gather,
scatter, the column aggregates (aggregate, group_by), the row cache, the hash join and bit-packed columns,
over memory of any GPU-reachable tier."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple, Union

from . import _capi
from ._owned_handle import OwnedHandle

from ._library import load
from .errors import InvalidArgumentError
from .runtime import Runtime, _bytes_argument, _pointer_argument
from .streams import StreamLike, stream_handle

__all__ = ["sm_copy", "sm_copy_2d", "gather", "sorted_gather", "scatter", "Column", "RangeFilter", "Aggregate",
           "aggregate", "group_by", "RowCache", "HashTable", "JoinResult", "BitpackedColumn"]

_INDEX_TYPES = {"int32": 0, "int64": 1}


def _index_type(index_type: Any) -> int:
    name = str(index_type).replace("torch.", "").replace("numpy.", "")
    if name not in _INDEX_TYPES:
        raise InvalidArgumentError(f"index_type is {index_type!r}: int32 or int64")
    return _INDEX_TYPES[name]


def sm_copy(dst: Any, src: Any, nbytes: int, *, stream: StreamLike = None) -> None:
    """Copies `nbytes` with the GPU's SMs (any alignment), ordered on `stream` (None: legacy default)."""
    lib = load()
    lib.check(lib.ghtier_sm_copy(_pointer_argument(dst, "dst"), _pointer_argument(src, "src"),
                                 _bytes_argument(nbytes, "nbytes", allow_none=False), stream_handle(stream)),
              "ghtier_sm_copy")


def _gather_like(name: str, runtime: Runtime, table: Any, row_bytes: int, num_rows: int, indices: Any,
                 index_type: Any, count: int, out: Any, stream: StreamLike) -> None:
    lib = load()
    lib.check(getattr(lib, name)(runtime.handle, _pointer_argument(table, "table"),
                                 _bytes_argument(row_bytes, "row_bytes", allow_none=False),
                                 _bytes_argument(num_rows, "num_rows", allow_none=False),
                                 _pointer_argument(indices, "indices"), _index_type(index_type),
                                 _bytes_argument(count, "count", allow_none=False), _pointer_argument(out, "out"),
                                 stream_handle(stream), None), name)


def gather(runtime: Runtime, table: Any, row_bytes: int, num_rows: int, indices: Any, count: int, out: Any, *,
           index_type: Any = "int64", stream: StreamLike = None) -> None:
    """out[i] = table[indices[i]] (rows of row_bytes) for i < count; waits for the stream and raises
    InvalidArgumentError for an out-of-range index."""
    _gather_like("ghtier_gather", runtime, table, row_bytes, num_rows, indices, index_type, count, out, stream)


def sorted_gather(runtime: Runtime, table: Any, row_bytes: int, num_rows: int, indices: Any, count: int, out: Any,
                  *, index_type: Any = "int64", stream: StreamLike = None) -> None:
    """As gather, reading each distinct row once in address order (large batches over large tables)."""
    _gather_like("ghtier_sorted_gather", runtime, table, row_bytes, num_rows, indices, index_type, count, out, stream)


def scatter(runtime: Runtime, rows: Any, row_bytes: int, count: int, indices: Any, table: Any, num_rows: int, *,
            index_type: Any = "int64", stream: StreamLike = None) -> None:
    """table[indices[i]] = rows[i] for i < count; out-of-range indices write nothing and raise."""
    lib = load()
    lib.check(lib.ghtier_scatter(runtime.handle, _pointer_argument(rows, "rows"),
                                 _bytes_argument(row_bytes, "row_bytes", allow_none=False),
                                 _bytes_argument(count, "count", allow_none=False), _pointer_argument(indices, "indices"),
                                 _index_type(index_type), _pointer_argument(table, "table"),
                                 _bytes_argument(num_rows, "num_rows", allow_none=False), stream_handle(stream), None),
              "ghtier_scatter")


def sm_copy_2d(dst: Any, dst_pitch: int, src: Any, src_pitch: int, width_bytes: int, height: int, *,
               stream: StreamLike = None) -> None:
    """Copies `height` rows of `width_bytes` with the SMs, rows `src_pitch` / `dst_pitch` bytes apart."""
    lib = load()
    lib.check(lib.ghtier_sm_copy_2d(_pointer_argument(dst, "dst"), _bytes_argument(dst_pitch, "dst_pitch", allow_none=False),
                                    _pointer_argument(src, "src"), _bytes_argument(src_pitch, "src_pitch", allow_none=False),
                                    _bytes_argument(width_bytes, "width_bytes", allow_none=False),
                                    _bytes_argument(height, "height", allow_none=False), stream_handle(stream)),
              "ghtier_sm_copy_2d")


_COLUMN_TYPES = {"int32": 0, "int64": 1, "float32": 2, "float64": 3}


@dataclass(frozen=True)
class Column:
    """`rows` values of `dtype` ("int32", "int64", "float32", "float64") at `ptr`, in any GPU-reachable tier."""

    ptr: int
    rows: int
    dtype: str

    @classmethod
    def of(cls, value: Any) -> "Column":
        """A Column from a Column, a (ptr, rows, dtype) tuple, or a 1-D contiguous tensor / array."""
        if isinstance(value, Column):
            return value
        if isinstance(value, tuple) and len(value) == 3:
            return cls(_pointer_argument(value[0], "column pointer"), int(value[1]), str(value[2]))
        if hasattr(value, "data_ptr") and hasattr(value, "numel") and hasattr(value, "dtype"):  # torch.Tensor
            if value.dim() != 1 or not value.is_contiguous():
                raise InvalidArgumentError("a column tensor must be 1-D and contiguous")
            return cls(int(value.data_ptr()), int(value.numel()), str(value.dtype).replace("torch.", ""))
        raise InvalidArgumentError(f"cannot use a {type(value).__name__} as a column: a Column, (ptr, rows, dtype) or "
                                   f"a 1-D tensor")

    def _to_c(self) -> _capi.Column:
        if self.dtype not in _COLUMN_TYPES:
            raise InvalidArgumentError(f"column dtype is {self.dtype!r}: int32, int64, float32 or float64")
        c = _capi.sized(_capi.Column)
        c.data = _pointer_argument(self.ptr, "column pointer") or None
        c.rows = _bytes_argument(self.rows, "column rows", allow_none=False)
        c.type = _COLUMN_TYPES[self.dtype]
        return c


@dataclass(frozen=True)
class RangeFilter:
    """Keeps the rows whose filter value v has low <= v <= high; `column` None: the aggregated values."""

    low: Union[int, float]
    high: Union[int, float]
    column: Any = None


@dataclass(frozen=True)
class Aggregate:
    """count, sum, min, max (ints for integer columns, floats for float ones; min/max 0 when count is 0)."""

    count: int
    sum: Union[int, float]
    min: Union[int, float]
    max: Union[int, float]


def _filter_to_c(flt: Optional[RangeFilter], values: Column, keep: list) -> Optional[_capi.RangeFilter]:
    if flt is None:
        return None
    if not isinstance(flt, RangeFilter):
        raise InvalidArgumentError(f"filter is a {type(flt).__name__}: a ghtier.kernels.RangeFilter")
    f = _capi.sized(_capi.RangeFilter)
    tested = values
    if flt.column is not None:
        tested = Column.of(flt.column)
        column = tested._to_c()
        keep.append(column)
        f.column = ctypes.pointer(column)
    if tested.dtype.startswith("float"):
        f.float_bounds = 1
        f.min_float, f.max_float = float(flt.low), float(flt.high)
    else:
        f.min_int, f.max_int = int(flt.low), int(flt.high)
    return f


def _result(r: _capi.AggregateResult, dtype: str) -> Aggregate:
    if dtype.startswith("float"):
        return Aggregate(count=r.count, sum=r.sum_float, min=r.min_float, max=r.max_float)
    return Aggregate(count=r.count, sum=r.sum_int, min=r.min_int, max=r.max_int)


def aggregate(runtime: Runtime, values: Any, *, filter: Optional[RangeFilter] = None,
              stream: StreamLike = None) -> Aggregate:
    """count/sum/min/max of a column (waits for the result), with an optional range filter."""
    column = Column.of(values)
    c = column._to_c()
    keep: list = []
    f = _filter_to_c(filter, column, keep)
    r = _capi.sized(_capi.AggregateResult)
    lib = load()
    lib.check(lib.ghtier_aggregate(runtime.handle, ctypes.byref(c), ctypes.byref(f) if f is not None else None,
                                   stream_handle(stream), ctypes.byref(r)), "ghtier_aggregate")
    return _result(r, column.dtype)


def group_by(runtime: Runtime, keys: Any, values: Any, groups: int, *, filter: Optional[RangeFilter] = None,
             stream: StreamLike = None) -> Tuple[List[Aggregate], int]:
    """Per key in [0, groups): the aggregate of `values`; returns (the groups' aggregates, rows whose key was
    out of range)."""
    key_column, value_column = Column.of(keys), Column.of(values)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
        raise InvalidArgumentError(f"groups is {groups!r}: a positive int")
    k, v = key_column._to_c(), value_column._to_c()
    keep: list = []
    f = _filter_to_c(filter, value_column, keep)
    results = (_capi.AggregateResult * groups)()
    results[0].struct_size = ctypes.sizeof(_capi.AggregateResult)
    out_of_range = ctypes.c_uint64()
    lib = load()
    lib.check(lib.ghtier_group_by(runtime.handle, ctypes.byref(k), ctypes.byref(v), groups,
                                  ctypes.byref(f) if f is not None else None, stream_handle(stream), results,
                                  ctypes.byref(out_of_range)), "ghtier_group_by")
    return [_result(r, value_column.dtype) for r in results], out_of_range.value


class RowCache(OwnedHandle):
    """Copies of a table's hot rows in GPU memory, consulted first by :meth:`gather` (ghtier_row_cache_t).

    Build it from explicit row ids (``hot_rows``) or from per-row ``frequencies`` and a ``capacity_rows``.
    The table must outlive the cache. Close it (or use ``with``) to free its device memory.
    """

    _destroy = "ghtier_row_cache_destroy"

    def __init__(self, runtime: Runtime, table: Any, row_bytes: int, num_rows: int, *,
                 hot_rows: Optional[List[int]] = None, frequencies: Optional[List[int]] = None,
                 capacity_rows: int = 0, stream: StreamLike = None) -> None:
        lib = load()
        self._lib = lib
        self._runtime = runtime
        handle = ctypes.c_void_p()
        args = (runtime.handle, _pointer_argument(table, "table"), _bytes_argument(row_bytes, "row_bytes", allow_none=False),
                _bytes_argument(num_rows, "num_rows", allow_none=False))
        if (hot_rows is None) == (frequencies is None):
            raise InvalidArgumentError("give either hot_rows or frequencies (with capacity_rows)")
        if hot_rows is not None:
            ids = (ctypes.c_int64 * len(hot_rows))(*hot_rows)
            lib.check(lib.ghtier_row_cache_create(*args, ids, len(hot_rows), stream_handle(stream), ctypes.byref(handle)),
                      "ghtier_row_cache_create")
        else:
            counts = (ctypes.c_uint64 * len(frequencies))(*frequencies)
            lib.check(lib.ghtier_row_cache_create_from_frequencies(
                *args, counts, _bytes_argument(capacity_rows, "capacity_rows", allow_none=False), stream_handle(stream),
                ctypes.byref(handle)), "ghtier_row_cache_create_from_frequencies")
        self._handle: Optional[int] = handle.value

    def _live(self) -> int:
        if self._handle is None:
            from .errors import ClosedError

            raise ClosedError("the row cache was closed")
        return self._handle

    def gather(self, indices: Any, count: int, out: Any, *, index_type: Any = "int64",
               stream: StreamLike = None) -> None:
        """As :func:`gather`, cached rows from GPU memory, the rest from the table."""
        self._lib.check(self._lib.ghtier_row_cache_gather(self._live(), _pointer_argument(indices, "indices"),
                                                          _index_type(index_type),
                                                          _bytes_argument(count, "count", allow_none=False),
                                                          _pointer_argument(out, "out"), stream_handle(stream), None),
                        "ghtier_row_cache_gather")

    def statistics(self, *, stream: StreamLike = None) -> Tuple[int, int]:
        """(hits, misses) so far; waits for the stream."""
        hits, misses = ctypes.c_uint64(), ctypes.c_uint64()
        self._lib.check(self._lib.ghtier_row_cache_get_statistics(self._live(), stream_handle(stream), ctypes.byref(hits),
                                                                  ctypes.byref(misses)), "ghtier_row_cache_get_statistics")
        return hits.value, misses.value

    def info(self) -> Tuple[int, int]:
        """(cached rows, device bytes)."""
        rows, nbytes = ctypes.c_size_t(), ctypes.c_size_t()
        self._lib.check(self._lib.ghtier_row_cache_get_info(self._live(), ctypes.byref(rows), ctypes.byref(nbytes)),
                        "ghtier_row_cache_get_info")
        return rows.value, nbytes.value


@dataclass(frozen=True)


class JoinResult:
    """What a probe found: matches, the matched payloads' sum, and the pairs written (probe_row, build_row)."""

    matches: int
    payload_sum: Union[int, float]
    pairs_written: int
    pairs_overflowed: bool


class HashTable(OwnedHandle):
    """A device hash table over a join's build side (ghtier_hash_table_t): keys int32/int64, an optional
    payload column; duplicate keys kept. :meth:`probe` counts matches, sums payloads and writes pairs."""

    _destroy = "ghtier_hash_table_destroy"

    def __init__(self, runtime: Runtime, keys: Any, payload: Any = None, *, max_load_factor: float = 0.0,
                 stream: StreamLike = None) -> None:
        lib = load()
        self._lib = lib
        self._runtime = runtime
        key_column = Column.of(keys)
        k = key_column._to_c()
        self._payload_dtype = Column.of(payload).dtype if payload is not None else None
        p = Column.of(payload)._to_c() if payload is not None else None
        options = _capi.sized(_capi.HashJoinOptions)
        options.max_load_factor = float(max_load_factor)
        handle = ctypes.c_void_p()
        lib.check(lib.ghtier_hash_table_create(runtime.handle, ctypes.byref(k), ctypes.byref(p) if p is not None else None,
                                               ctypes.byref(options), stream_handle(stream), ctypes.byref(handle)),
                  "ghtier_hash_table_create")
        self._handle: Optional[int] = handle.value

    def _live(self) -> int:
        if self._handle is None:
            from .errors import ClosedError

            raise ClosedError("the hash table was closed")
        return self._handle

    def info(self) -> Tuple[int, int]:
        """(slots, device bytes)."""
        capacity, nbytes = ctypes.c_uint64(), ctypes.c_uint64()
        self._lib.check(self._lib.ghtier_hash_table_get_info(self._live(), ctypes.byref(capacity), ctypes.byref(nbytes)),
                        "ghtier_hash_table_get_info")
        return capacity.value, nbytes.value

    def probe(self, probe_keys: Any, *, pairs: Any = None, pairs_capacity: int = 0,
              stream: StreamLike = None) -> JoinResult:
        """Probes with `probe_keys` (the table's key type); `pairs`: GPU-writable memory for pairs_capacity
        (probe_row, build_row) uint64 pairs, or None."""
        k = Column.of(probe_keys)._to_c()
        r = _capi.sized(_capi.JoinResult)
        pairs_pointer = ctypes.cast(_pointer_argument(pairs, "pairs"), ctypes.POINTER(_capi.JoinPair)) if pairs is not None \
            else None
        self._lib.check(self._lib.ghtier_hash_table_probe(self._live(), ctypes.byref(k), pairs_pointer,
                                                          _bytes_argument(pairs_capacity, "pairs_capacity",
                                                                          allow_none=False),
                                                          stream_handle(stream), ctypes.byref(r)),
                        "ghtier_hash_table_probe")
        floats = self._payload_dtype is not None and self._payload_dtype.startswith("float")
        return JoinResult(matches=r.matches, payload_sum=r.payload_sum_float if floats else r.payload_sum_int,
                          pairs_written=r.pairs_written, pairs_overflowed=bool(r.pairs_overflowed))


class BitpackedColumn:
    """An int32/int64 column packed on the CPU (one header per 1024 values, width-bit offsets from a
    reference), which the GPU decodes inside :meth:`aggregate`.

    :meth:`pack` packs host values into host memory: with a `runtime`, into pinned host Buffers the GPU reads
    in place; without one, into plain host memory (CPU only: unpack, validate).
    """

    def __init__(self, column: _capi.BitpackedColumn, dtype: str, keep: tuple) -> None:
        self._column = column
        self.dtype = dtype
        self.rows = column.rows
        self._keep = keep  # the memory the headers and words live in

    @classmethod
    def pack(cls, values: Any, rows: int, dtype: str, *, runtime: Optional[Runtime] = None) -> "BitpackedColumn":
        """Packs `rows` values of `dtype` ("int32" or "int64") read from host memory at `values` (a pointer,
        a Buffer, a CPU tensor or anything with the buffer protocol)."""
        if dtype not in ("int32", "int64"):
            raise InvalidArgumentError(f"dtype is {dtype!r}: int32 or int64")
        lib = load()
        source: Any = values
        if not isinstance(values, int) and not hasattr(values, "data_ptr") and not hasattr(values, "ptr"):
            view = memoryview(values).cast("B")
            source = (ctypes.c_ubyte * len(view)).from_buffer_copy(view)
            values = ctypes.addressof(source)
        n = _bytes_argument(rows, "rows", allow_none=False)
        t = _COLUMN_TYPES[dtype]
        pointer = _pointer_argument(values, "values")
        blocks, words = ctypes.c_uint64(), ctypes.c_uint64()
        lib.check(lib.ghtier_bitpacked_get_size(pointer, t, n, ctypes.byref(blocks), ctypes.byref(words)),
                  "ghtier_bitpacked_get_size")
        header_bytes = max(1, blocks.value) * ctypes.sizeof(_capi.BitpackBlockHeader)
        word_bytes = max(1, words.value) * 4
        if runtime is not None:
            header_memory: Any = runtime.allocate_in("pinned_host", header_bytes, sync=True)
            word_memory: Any = runtime.allocate_in("pinned_host", word_bytes, sync=True)
            header_address, word_address = header_memory.ptr, word_memory.ptr
        else:
            header_memory = ctypes.create_string_buffer(header_bytes)
            word_memory = ctypes.create_string_buffer(word_bytes)
            header_address, word_address = ctypes.addressof(header_memory), ctypes.addressof(word_memory)
        column = _capi.sized(_capi.BitpackedColumn)
        lib.check(lib.ghtier_bitpacked_pack(pointer, t, n,
                                            ctypes.cast(header_address, ctypes.POINTER(_capi.BitpackBlockHeader)),
                                            blocks.value, ctypes.cast(word_address, ctypes.POINTER(ctypes.c_uint32)),
                                            words.value, ctypes.byref(column)), "ghtier_bitpacked_pack")
        return cls(column, dtype, (header_memory, word_memory, source))

    @property
    def packed_bytes(self) -> int:
        """Bytes of headers and words together."""
        blocks = (self.rows + 1023) // 1024
        return blocks * ctypes.sizeof(_capi.BitpackBlockHeader) + self._column.word_count * 4

    def validate(self) -> None:
        """Raises InvalidArgumentError when the headers and words do not follow the format."""
        lib = load()
        lib.check(lib.ghtier_bitpacked_validate(ctypes.byref(self._column)), "ghtier_bitpacked_validate")

    def unpack(self) -> bytes:
        """The values decoded on the CPU, as raw bytes of `dtype` (e.g. ``numpy.frombuffer(b, "int32")``)."""
        lib = load()
        out = ctypes.create_string_buffer(max(1, self.rows * (4 if self.dtype == "int32" else 8)))
        lib.check(lib.ghtier_bitpacked_unpack(ctypes.byref(self._column), out, self.rows), "ghtier_bitpacked_unpack")
        return out.raw[: self.rows * (4 if self.dtype == "int32" else 8)]

    def aggregate(self, runtime: Runtime, *, filter: Optional[RangeFilter] = None,
                  stream: StreamLike = None) -> Aggregate:
        """:func:`aggregate` over the packed column, decoded inside the kernel (needs the GPU to reach the
        headers and words: pack with a runtime)."""
        keep: list = []
        f = _filter_to_c(filter, Column(0, self.rows, self.dtype), keep)
        r = _capi.sized(_capi.AggregateResult)
        lib = load()
        lib.check(lib.ghtier_bitpacked_aggregate(runtime.handle, ctypes.byref(self._column),
                                                 ctypes.byref(f) if f is not None else None, stream_handle(stream),
                                                 ctypes.byref(r)), "ghtier_bitpacked_aggregate")
        return _result(r, self.dtype)
