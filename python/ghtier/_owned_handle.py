"""OwnedHandle: the closing protocol of every Python object that owns one C handle; Closeable, the protocol
itself, for objects that own native resources through other objects (ghtier.torch's session store and cache)."""

from __future__ import annotations

from typing import Any, TypeVar

_T = TypeVar("_T", bound="Closeable")


class Closeable:
    """close() at the end of a ``with`` block, and when collected (a failure there is swallowed: a finaliser
    never raises) unless the class sets ``_close_when_collected = False``. Subclasses define close(), which
    must be safe to call again."""

    _close_when_collected = True

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not self._close_when_collected:
            return
        try:
            self.close()
        except Exception:
            pass


class OwnedHandle(Closeable):
    """Owns ``self._handle`` (a C handle of ``self._lib``) and destroys it with the C function named by the
    class attribute ``_destroy``: once, on close(), at the end of a ``with`` block, or when collected."""

    _destroy: str
    _handle: Any
    _lib: Any

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            self._lib.check(getattr(self._lib, self._destroy)(handle), self._destroy)
