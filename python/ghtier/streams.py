"""Turning the stream objects of PyTorch, CuPy and Numba (or raw handles) into a cudaStream_t value."""

from __future__ import annotations

from typing import Any

from .errors import InvalidArgumentError

__all__ = ["stream_handle", "StreamLike"]

StreamLike = Any  # None, an int handle, torch.cuda.Stream, cupy.cuda.Stream, a Numba stream, __cuda_stream__


def stream_handle(stream: StreamLike) -> int:
    """The cudaStream_t of `stream` as an integer; 0 (CUDA's legacy default stream) for None.

    Accepts an int handle; an object with the ``__cuda_stream__`` protocol (returns (version, handle));
    ``torch.cuda.Stream`` (``.cuda_stream``); ``cupy.cuda.Stream`` (``.ptr``); a Numba stream
    (``.handle``). Raises InvalidArgumentError for anything else.
    """
    if stream is None:
        return 0
    if isinstance(stream, bool):
        raise InvalidArgumentError("stream is a bool: pass a stream object, a handle (int) or None")
    if isinstance(stream, int):
        if stream < 0:
            raise InvalidArgumentError(f"stream handle {stream} is negative")
        return stream
    protocol = getattr(stream, "__cuda_stream__", None)
    if protocol is not None:
        value = protocol() if callable(protocol) else protocol
        if isinstance(value, tuple) and len(value) == 2:
            return int(value[1])
        raise InvalidArgumentError(f"{type(stream).__name__}.__cuda_stream__ gave {value!r}, not (version, handle)")
    for attribute in ("cuda_stream", "ptr"):  # torch.cuda.Stream, cupy.cuda.Stream
        value = getattr(stream, attribute, None)
        if isinstance(value, int):
            return value
    handle = getattr(stream, "handle", None)  # numba.cuda streams: a ctypes c_void_p
    if handle is not None:
        value = getattr(handle, "value", handle)
        if value is None:
            return 0
        if isinstance(value, int):
            return value
    raise InvalidArgumentError(f"cannot use a {type(stream).__name__} as a CUDA stream: pass torch.cuda.Stream, "
                               f"a CuPy or Numba stream, an int handle, or None (the legacy default stream)")
