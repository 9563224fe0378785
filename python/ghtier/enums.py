"""The C API's enumerations as Python IntEnums (values equal the C ones)."""

from __future__ import annotations

import enum

__all__ = ["MemoryMode", "Accessor", "Frequency", "Location", "Policy", "Advice", "PlatformClass", "HostAccess",
           "ResidencyKind", "ResidencySource", "Priority", "TransferState", "PrefetchTarget", "parse_enum"]


class MemoryMode(enum.IntEnum):
    DEVICE = 0       #: HBM from a stream-ordered pool
    PINNED_HOST = 1  #: page-locked host memory, pooled
    MANAGED = 2      #: cudaMallocManaged: migrates on fault or prefetch
    SYSTEM = 3       #: plain mmap memory: GPU-reachable only through ATS or HMM


class Accessor(enum.IntEnum):
    GPU = 0
    CPU = 1
    BOTH = 2


class Frequency(enum.IntEnum):
    HOT = 0
    WARM = 1
    COLD = 2
    STREAMED_ONCE = 3


class Location(enum.IntEnum):
    NONE = 0
    DEVICE = 1
    HOST = 2


class Policy(enum.IntEnum):
    SPILL = 0           #: device until its budget, then the host tier
    DEVICE_ONLY = 1     #: everything in HBM
    SIZE_THRESHOLD = 2  #: at or above a size (default 64 MiB) to the host tier
    HOST_CACHE = 3      #: CPU memory the GPU reads in place
    UNIFIED = 4         #: pages migrate on demand


class Advice(enum.IntEnum):
    SET_READ_MOSTLY = 0
    UNSET_READ_MOSTLY = 1
    SET_PREFERRED_LOCATION = 2
    UNSET_PREFERRED_LOCATION = 3
    SET_ACCESSED_BY = 4
    UNSET_ACCESSED_BY = 5


class PlatformClass(enum.IntEnum):
    COHERENT_C2C = 0  #: GH200 class: ATS over coherent NVLink-C2C
    HMM_PCIE = 1      #: PCIe with HMM
    PCIE = 2          #: PCIe, no pageable access


class HostAccess(enum.IntEnum):
    NONE = 0
    HMM = 1
    ATS = 2


class ResidencyKind(enum.IntEnum):
    DEVICE = 0
    HOST = 1
    MIXED = 2
    NOT_POPULATED = 3
    UNKNOWN = 4


class ResidencySource(enum.IntEnum):
    ALLOCATION_MODE = 0
    PAGE_QUERY = 1
    LAST_PREFETCH_LOCATION = 2
    PREFERRED_LOCATION = 3
    NONE = 4


class Priority(enum.IntEnum):
    DEFAULT = 0
    URGENT = 1
    BACKGROUND = 2


class TransferState(enum.IntEnum):
    PENDING = 0
    COMPLETED = 1
    FAILED = 2
    CANCELLED = 3
    CAPTURED = 4


class PrefetchTarget(enum.IntEnum):
    DEVICE = 0
    HOST = 1


def parse_enum(enum_type: type, value: object, what: str) -> int:
    """An enum member from a member, its name (any case, '-' or '_') or its integer value.

    Raises InvalidArgumentError naming `what` and the accepted names otherwise.
    """
    from .errors import InvalidArgumentError

    if isinstance(value, enum_type):
        return int(value)  # type: ignore[call-overload]
    if isinstance(value, str):
        key = value.strip().upper().replace("-", "_")
        if key in enum_type.__members__:  # type: ignore[attr-defined]
            return int(enum_type.__members__[key])  # type: ignore[attr-defined]
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            return int(enum_type(value))
        except ValueError:
            pass
    names = ", ".join(m.lower() for m in enum_type.__members__)  # type: ignore[attr-defined]
    raise InvalidArgumentError(f"{what} is {value!r}: one of {names}")
