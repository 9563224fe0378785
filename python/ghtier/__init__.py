"""ghtier: memory tiering for NVIDIA Grace Hopper (and every other Hopper system), from Python.

A pure-Python package over ghtier's C API (ctypes; no compiled extension of its own). ``ghtier.torch``
holds the PyTorch allocator routes; ``python -m ghtier info`` describes the platform.
"""

from __future__ import annotations

from typing import Tuple

from ._library import library_path, load
from .engine import CompletionToken, TransferEngine
from .enums import (Accessor, Advice, Frequency, HostAccess, Location, MemoryMode, PlatformClass, Policy,
                    PrefetchTarget, Priority, ResidencyKind, ResidencySource, TransferState)
from .errors import (ClosedError, CudaError, Error, GhtierIOError, InternalError, InvalidArgumentError, LibraryError,
                     NoDeviceError, NotFoundError, OutOfBudgetError, OutOfMemoryError, UnsupportedError)
from .runtime import (AllocationInfo, Buffer, Placement, PlatformInfo, Residency, Runtime, Statistics,
                      resolve_offline)
from .streams import stream_handle
from . import kernels
from .log import LogLevel, log_to_python_logging, set_log_level, set_log_sink

__version__ = "0.1.0"

PROFILES = ("gh200-c2c", "pcie-gen5-hmm", "pcie-gen5")  # also accepted: the deprecated gh200, x86-h100-hmm, x86-h100-pcie


def library_version() -> Tuple[int, int, int]:
    """The loaded libghtier.so's version (major, minor, patch)."""
    import ctypes

    lib = load()
    major, minor, patch = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    lib.check(lib.ghtier_version_get(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(patch)),
              "ghtier_version_get")
    return major.value, minor.value, patch.value


__all__ = [
    "Runtime", "Buffer", "TransferEngine", "CompletionToken", "Placement", "PlatformInfo", "Statistics",
    "Residency", "AllocationInfo", "resolve_offline", "stream_handle", "kernels", "library_path",
    "library_version", "PROFILES", "LogLevel", "set_log_level", "set_log_sink", "log_to_python_logging",
    "MemoryMode", "Accessor", "Frequency", "Location", "Policy", "Advice", "PlatformClass", "HostAccess",
    "ResidencyKind", "ResidencySource", "Priority", "TransferState", "PrefetchTarget",
    "Error", "LibraryError", "InvalidArgumentError", "NoDeviceError", "OutOfMemoryError", "OutOfBudgetError",
    "UnsupportedError", "CudaError", "NotFoundError", "GhtierIOError", "InternalError", "ClosedError",
]
