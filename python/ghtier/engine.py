"""TransferEngine and CompletionToken: asynchronous copies and prefetches between tiers."""

from __future__ import annotations

import ctypes
import threading
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

from . import _capi
from ._owned_handle import OwnedHandle
from ._library import load
from .enums import Priority, PrefetchTarget, TransferState, parse_enum
from .errors import ClosedError, InvalidArgumentError
from .runtime import Runtime, _bytes_argument, _pointer_argument
from .streams import StreamLike, stream_handle

__all__ = ["TransferEngine", "CompletionToken", "EngineStatistics"]

EngineStatistics = dict


class CompletionToken(OwnedHandle):
    """One submitted request: :meth:`wait`, :attr:`done`, :meth:`wait_on_stream`. Closing it (or garbage
    collection) releases the handle; it does not cancel the request."""

    _destroy = "ghtier_token_destroy"

    def __init__(self, handle: int, engine: "TransferEngine", callback_keepalive: Any = None) -> None:
        self._lib = load()
        self._handle: Optional[int] = handle
        self._engine = engine  # the engine outlives its tokens' use
        self._keepalive = callback_keepalive
        self.state: TransferState = TransferState.PENDING

    def _live(self) -> int:
        if self._handle is None:
            raise ClosedError("the token was closed")
        return self._handle

    @property
    def done(self) -> bool:
        """True once the request has ended (and its callback has run). Does not block."""
        ready = ctypes.c_int()
        self._lib.check(self._lib.ghtier_token_poll(self._live(), ctypes.byref(ready)), "ghtier_token_poll")
        return bool(ready.value)

    def wait(self) -> TransferState:
        """Blocks until the request ended; returns COMPLETED, CANCELLED or CAPTURED, raises the failure."""
        state = ctypes.c_int()
        self._lib.check(self._lib.ghtier_token_wait(self._live(), ctypes.byref(state)), "ghtier_token_wait")
        self.state = TransferState(state.value)
        return self.state

    def wait_on_stream(self, stream: StreamLike) -> None:
        """Makes work enqueued on `stream` after this call wait for the request's bytes."""
        self._lib.check(self._lib.ghtier_token_wait_on_stream(self._live(), stream_handle(stream)),
                        "ghtier_token_wait_on_stream")


class TransferEngine:
    """The transfer engine of a runtime's GPU (``ghtier_engine_t``): copy streams by priority, chunking,
    staging for pageable memory, batches. Keep the runtime open while the engine lives."""

    def __init__(self, runtime: Runtime, *, chunk_bytes: int = 0, staging_chunk_bytes: int = 0,
                 staging_slots: int = 0, copy_threads: int = 0) -> None:
        self._lib = load()
        self._runtime = runtime
        self._lock = threading.Lock()
        self._callbacks: List[Tuple[Any, List[bool]]] = []
        options = _capi.sized(_capi.EngineOptions)
        options.chunk_bytes = _bytes_argument(chunk_bytes, "chunk_bytes", allow_none=False)
        options.staging_chunk_bytes = _bytes_argument(staging_chunk_bytes, "staging_chunk_bytes", allow_none=False)
        options.staging_slots = _bytes_argument(staging_slots, "staging_slots", allow_none=False)
        options.copy_threads = _bytes_argument(copy_threads, "copy_threads", allow_none=False)
        handle = ctypes.c_void_p()
        self._lib.check(self._lib.ghtier_engine_create(runtime.handle, ctypes.byref(options), ctypes.byref(handle)),
                        "ghtier_engine_create")
        self._handle: Optional[int] = handle.value

    def _live(self) -> int:
        if self._handle is None:
            raise ClosedError("the engine was closed")
        if self._runtime.closed:
            raise ClosedError("the engine's runtime was closed")
        return self._handle

    def _options(self, priority: Any, wait_streams: Sequence[StreamLike],
                 on_complete: Optional[Callable[[TransferState], None]], keep: list) -> _capi.TransferOptions:
        o = _capi.sized(_capi.TransferOptions)
        o.priority = parse_enum(Priority, priority, "priority")
        if wait_streams:
            handles = (ctypes.c_void_p * len(wait_streams))(*[stream_handle(s) or None for s in wait_streams])
            keep.append(handles)
            o.wait_streams = ctypes.cast(handles, ctypes.POINTER(ctypes.c_void_p))
            o.num_wait_streams = len(wait_streams)
        if on_complete is not None:
            if not callable(on_complete):
                raise InvalidArgumentError("on_complete is not callable")

            ran: List[bool] = []

            def trampoline(_user_data: Any, state: int) -> None:
                try:
                    on_complete(TransferState(state))
                except Exception:  # an exception cannot cross into the engine's thread
                    import traceback
                    traceback.print_exc()
                finally:
                    ran.append(True)

            callback = _capi.TransferCallback(trampoline)
            # The C thunk must outlive the request even when the token is dropped: the engine keeps it until
            # it has run (pruned at a later submit, never from inside the callback) or the engine is closed.
            with self._lock:
                self._callbacks = [(c, r) for c, r in self._callbacks if not r]
                self._callbacks.append((callback, ran))
            o.on_complete = callback
        return o

    def copy(self, dst: Any, src: Any, nbytes: int, *, priority: Union[Priority, str, int] = Priority.DEFAULT,
             wait_streams: Sequence[StreamLike] = (), on_complete: Optional[Callable[[TransferState], None]] = None
             ) -> CompletionToken:
        """Queues a copy of `nbytes` from src to dst (pointers, Buffers or tensors; any tiers)."""
        keep: list = []
        options = self._options(priority, wait_streams, on_complete, keep)
        token = ctypes.c_void_p()
        self._lib.check(self._lib.ghtier_engine_copy(self._live(), _pointer_argument(dst, "dst"),
                                                     _pointer_argument(src, "src"),
                                                     _bytes_argument(nbytes, "nbytes", allow_none=False),
                                                     ctypes.byref(options), ctypes.byref(token)), "ghtier_engine_copy")
        return CompletionToken(token.value or 0, self, keep)

    def prefetch(self, ptr: Any, nbytes: int, target: Union[PrefetchTarget, str, int], *,
                 priority: Union[Priority, str, int] = Priority.DEFAULT, wait_streams: Sequence[StreamLike] = (),
                 on_complete: Optional[Callable[[TransferState], None]] = None) -> CompletionToken:
        """Queues a prefetch of a managed (or, with ATS/HMM, system) range to "device" or "host"."""
        keep: list = []
        options = self._options(priority, wait_streams, on_complete, keep)
        token = ctypes.c_void_p()
        self._lib.check(self._lib.ghtier_engine_prefetch(self._live(), _pointer_argument(ptr, "ptr"),
                                                         _bytes_argument(nbytes, "nbytes", allow_none=False),
                                                         parse_enum(PrefetchTarget, target, "target"),
                                                         ctypes.byref(options), ctypes.byref(token)),
                        "ghtier_engine_prefetch")
        return CompletionToken(token.value or 0, self, keep)

    def copy_batch(self, dsts: Sequence[Any], srcs: Sequence[Any], sizes: Sequence[int], *,
                   priority: Union[Priority, str, int] = Priority.DEFAULT) -> CompletionToken:
        """Queues many copies (dsts[i] <- srcs[i], sizes[i] bytes) as one request."""
        if not (len(dsts) == len(srcs) == len(sizes)):
            raise InvalidArgumentError(f"dsts, srcs and sizes differ in length ({len(dsts)}, {len(srcs)}, {len(sizes)})")
        n = len(dsts)
        d = (ctypes.c_void_p * n)(*[_pointer_argument(p, "dsts[i]") for p in dsts])
        s = (ctypes.c_void_p * n)(*[_pointer_argument(p, "srcs[i]") for p in srcs])
        z = (ctypes.c_size_t * n)(*[_bytes_argument(b, "sizes[i]", allow_none=False) for b in sizes])
        keep: list = []
        options = self._options(priority, (), None, keep)
        token = ctypes.c_void_p()
        self._lib.check(self._lib.ghtier_engine_copy_batch(self._live(), ctypes.cast(d, ctypes.POINTER(ctypes.c_void_p)),
                                                           ctypes.cast(s, ctypes.POINTER(ctypes.c_void_p)), z, n,
                                                           ctypes.byref(options), ctypes.byref(token)),
                        "ghtier_engine_copy_batch")
        return CompletionToken(token.value or 0, self, keep)

    def synchronize(self) -> None:
        """Blocks until every request submitted so far has ended."""
        self._lib.check(self._lib.ghtier_engine_synchronize(self._live()), "ghtier_engine_synchronize")

    def statistics(self) -> dict:
        """The engine's counters as a dict (lanes as nested dicts)."""
        s = _capi.sized(_capi.EngineStatistics)
        self._lib.check(self._lib.ghtier_engine_get_statistics(self._live(), ctypes.byref(s)),
                        "ghtier_engine_get_statistics")
        out: dict = {}
        for name, _ in _capi.EngineStatistics._fields_:
            if name == "struct_size":
                continue
            value = getattr(s, name)
            if isinstance(value, _capi.LaneStatistics):
                value = {f: getattr(value, f) for f, _ in _capi.LaneStatistics._fields_}
            out[name] = value
        return out

    def close(self) -> None:
        """Destroys the engine: requests not yet started are cancelled, started ones finish."""
        handle, self._handle = self._handle, None
        if handle is not None:
            self._lib.check(self._lib.ghtier_engine_destroy(handle), "ghtier_engine_destroy")
            with self._lock:  # destroy ran (or cancelled) every callback
                self._callbacks = []

    def __enter__(self) -> "TransferEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
