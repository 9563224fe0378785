"""The direct-access kernels' entry points (docs/kernels.md): SM copy (1-D and 2-D), gather, sorted gather,
scatter, and the column aggregates (aggregate, group_by) over memory of any GPU-reachable tier. The hash join,
row cache and bit-packed columns are in the C API (ghtier_kernels.h) but not wrapped here yet."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple, Union

from . import _capi

from ._library import load
from .errors import InvalidArgumentError
from .runtime import Runtime, _bytes_argument, _pointer_argument
from .streams import StreamLike, stream_handle

__all__ = ["sm_copy", "sm_copy_2d", "gather", "sorted_gather", "scatter", "Column", "RangeFilter", "Aggregate",
           "aggregate", "group_by"]

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
