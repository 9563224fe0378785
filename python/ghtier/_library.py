"""Finding and loading libghtier.so, binding the C prototypes, and turning statuses into exceptions.

Which library: ``GHTIER_LIBRARY`` (a path) when set, so tests use the CMake build tree's library; else the
copy bundled in this package by ``pip install`` (``ghtier/lib*/libghtier.so*``); else the system's
(``ctypes.util.find_library("ghtier")``). The library is loaded once, on first use.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import threading
from typing import Any, Optional

from . import _capi
from .errors import Error, LibraryError, error_for_status

_lock = threading.Lock()
_library: Optional["Library"] = None


class Library:
    """The loaded libghtier.so: functions are bound on first use, by name (``lib.ghtier_runtime_create``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._cdll = ctypes.CDLL(path)
        except OSError as e:
            raise LibraryError(f"cannot load the ghtier library {path!r}: {e}") from None
        # A library without the C API's entry point is not libghtier.so (or far too old).
        if not hasattr(self._cdll, "ghtier_error_message"):
            raise LibraryError(f"{path!r} does not export ghtier_error_message: it is not a libghtier.so of this "
                               f"version's C API")

    def __getattr__(self, name: str) -> Any:
        prototype = _capi.PROTOTYPES.get(name)
        if prototype is None:
            raise AttributeError(name)
        try:
            function = getattr(self._cdll, name)
        except AttributeError:
            raise LibraryError(f"{self.path!r} does not export {name}: the library and the Python package are "
                               f"from different versions") from None
        function.restype, function.argtypes = prototype
        setattr(self, name, function)  # later lookups skip __getattr__
        return function

    def error_message(self) -> str:
        raw = self.ghtier_error_message()
        return raw.decode("utf-8", "replace") if raw else ""

    def check(self, status: int, what: str = "") -> None:
        """Raises the exception for a non-zero status, with the C API's message for the calling thread."""
        if status == 0:
            return
        message = self.error_message() or f"{what or 'ghtier'} failed"
        raw_name = self.ghtier_status_name(status)
        name = raw_name.decode() if raw_name else None
        raise error_for_status(status, message, status_name=name, cuda_error=int(self.ghtier_error_cuda()))


def _bundled() -> Optional[str]:
    here = os.path.dirname(os.path.abspath(__file__))
    for pattern in ("lib*/libghtier.so", "lib*/libghtier.so.*", "libghtier.so"):
        found = sorted(glob.glob(os.path.join(here, pattern)))
        if found:
            return found[0]
    return None


def library_path() -> str:
    """The path the package loads (or would load): GHTIER_LIBRARY, the bundled copy, or the system's."""
    override = os.environ.get("GHTIER_LIBRARY")
    if override:
        if not os.path.isfile(override):
            raise LibraryError(f"GHTIER_LIBRARY={override!r}: no such file (point it at the build tree's "
                               f"src/libghtier.so, or unset it to use the installed one)")
        return os.path.abspath(override)
    bundled = _bundled()
    if bundled:
        return bundled
    system = ctypes.util.find_library("ghtier")
    if system:
        return system
    raise LibraryError("libghtier.so not found: set GHTIER_LIBRARY to its path (e.g. build/src/libghtier.so), or "
                       "install the package with `pip install ./python`")


def load() -> Library:
    """The loaded library (loading it on the first call). Raises LibraryError when it cannot be loaded."""
    global _library
    with _lock:
        if _library is None:
            _library = Library(library_path())
        return _library


def reload_for_tests(path: Optional[str] = None) -> Library:
    """Loads a library afresh (tests of the loader); the previous one stays mapped."""
    global _library
    with _lock:
        _library = None
    if path is not None:
        with _lock:
            _library = Library(path)
            return _library
    return load()


def call(name: str, *args: Any) -> None:
    """Calls a status-returning function and raises on failure."""
    lib = load()
    lib.check(getattr(lib, name)(*args), name)


__all__ = ["Library", "load", "library_path", "call", "Error"]
