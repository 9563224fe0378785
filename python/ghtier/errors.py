"""One exception hierarchy for everything the C API reports.

Every C function returns a ``ghtier_status_t``; a non-zero status becomes the matching subclass of
:class:`Error`, carrying the C API's own message (``ghtier_error_message``) and, where CUDA was the cause,
CUDA's error code.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

__all__ = [
    "Error",
    "LibraryError",
    "InvalidArgumentError",
    "NoDeviceError",
    "OutOfMemoryError",
    "OutOfBudgetError",
    "UnsupportedError",
    "CudaError",
    "NotFoundError",
    "GhtierIOError",
    "InternalError",
    "ClosedError",
    "error_for_status",
]


class Error(Exception):
    """Base of every ghtier error.

    Attributes:
        status: the C API's status code (0 for errors raised by the Python layer itself).
        status_name: e.g. ``"GHTIER_ERROR_OUT_OF_BUDGET"``.
        cuda_error: CUDA's ``cudaError_t`` value when CUDA was the cause, else 0.
    """

    status: int = 0
    status_name: str = "GHTIER_ERROR"

    def __init__(self, message: str, *, status: Optional[int] = None, status_name: Optional[str] = None,
                 cuda_error: int = 0) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        if status_name is not None:
            self.status_name = status_name
        self.cuda_error = cuda_error


class LibraryError(Error, ImportError):
    """libghtier.so could not be found or loaded, or lacks a symbol this package needs."""


class InvalidArgumentError(Error, ValueError):
    """An argument was null, out of range, of the wrong kind, or a handle that is no longer live."""

    status = 1
    status_name = "GHTIER_ERROR_INVALID_ARGUMENT"


class NoDeviceError(Error, RuntimeError):
    """No CUDA device is visible (use an offline runtime: ``Runtime(assumed_profile="gh200")``)."""

    status = 2
    status_name = "GHTIER_ERROR_NO_DEVICE"


class OutOfMemoryError(Error, MemoryError):
    """CUDA or the OS could not provide the memory."""

    status = 3
    status_name = "GHTIER_ERROR_OUT_OF_MEMORY"


class OutOfBudgetError(OutOfMemoryError):
    """An allocation would pass a tier's byte budget."""

    status = 4
    status_name = "GHTIER_ERROR_OUT_OF_BUDGET"


class UnsupportedError(Error, NotImplementedError):
    """The platform (or an offline runtime) cannot do this."""

    status = 5
    status_name = "GHTIER_ERROR_UNSUPPORTED"


class CudaError(Error, RuntimeError):
    """Any other CUDA failure; ``cuda_error`` holds CUDA's code."""

    status = 6
    status_name = "GHTIER_ERROR_CUDA"


class NotFoundError(Error, LookupError):
    """A pointer, token or name ghtier does not know."""

    status = 7
    status_name = "GHTIER_ERROR_NOT_FOUND"


class GhtierIOError(Error, OSError):
    """A file could not be read or written."""

    status = 8
    status_name = "GHTIER_ERROR_IO"


class InternalError(Error, RuntimeError):
    """A broken invariant inside ghtier (a bug: please report it)."""

    status = 9
    status_name = "GHTIER_ERROR_INTERNAL"


class ClosedError(Error, RuntimeError):
    """A call on a Runtime, Buffer, engine or token that was already closed (or whose runtime was)."""

    status_name = "GHTIER_CLOSED"


_BY_STATUS: Dict[int, Type[Error]] = {
    cls.status: cls
    for cls in (InvalidArgumentError, NoDeviceError, OutOfMemoryError, OutOfBudgetError, UnsupportedError,
                CudaError, NotFoundError, GhtierIOError, InternalError)
}


def error_for_status(status: int, message: str, *, status_name: Optional[str] = None, cuda_error: int = 0) -> Error:
    """The exception for a C status code (an unknown code gives a plain :class:`Error`)."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        return Error(message, status=status, status_name=status_name or f"GHTIER_STATUS_{status}",
                     cuda_error=cuda_error)
    return cls(message, status=status, status_name=status_name, cuda_error=cuda_error)
