"""OwnedHandle: the closing protocol of every Python object that owns one C handle."""

from __future__ import annotations

from typing import Any, TypeVar

_T = TypeVar("_T", bound="OwnedHandle")


class OwnedHandle:
    """Owns ``self._handle`` (a C handle of ``self._lib``) and destroys it with the C function named by the
    class attribute ``_destroy``: once, on close(), at the end of a ``with`` block, or when collected."""

    _destroy: str
    _handle: Any
    _lib: Any

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            self._lib.check(getattr(self._lib, self._destroy)(handle), self._destroy)

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
