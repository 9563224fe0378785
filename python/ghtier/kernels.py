"""The direct-access kernels' entry points: SM copy, gather, sorted gather, scatter (docs/kernels.md)."""

from __future__ import annotations

from typing import Any

from ._library import load
from .errors import InvalidArgumentError
from .runtime import Runtime, _bytes_argument, _pointer_argument
from .streams import StreamLike, stream_handle

__all__ = ["sm_copy", "gather", "sorted_gather", "scatter"]

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
