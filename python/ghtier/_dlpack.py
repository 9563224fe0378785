"""A minimal DLPack producer for Buffers (1-D uint8 over the buffer's bytes), in ctypes.

The capsule holds a DLManagedTensor whose manager_ctx keeps the Buffer alive; the consumer (or the capsule,
if nobody consumed it) calls the deleter, which lets it go.
"""

from __future__ import annotations

import ctypes
from typing import Any, Dict, Tuple

from .enums import MemoryMode

KDL_CPU = 1
KDL_CUDA = 2
KDL_CUDA_HOST = 3
KDL_CUDA_MANAGED = 13


class _Device(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _Device), ("ndim", ctypes.c_int32), ("dtype", _DataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class _ManagedTensor(ctypes.Structure):
    pass


_Deleter = ctypes.CFUNCTYPE(None, ctypes.POINTER(_ManagedTensor))
_ManagedTensor._fields_ = [("dl_tensor", _Tensor), ("manager_ctx", ctypes.c_void_p), ("deleter", _Deleter)]

_NAME = b"dltensor"
_live: Dict[int, Tuple[Any, ...]] = {}  # managed tensor address -> what must stay alive until its deleter runs


def _delete(managed: Any) -> None:
    _live.pop(ctypes.addressof(managed.contents), None)


_deleter = _Deleter(_delete)

_PyCapsule_New = ctypes.pythonapi.PyCapsule_New
_PyCapsule_New.restype = ctypes.py_object
_PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_PyCapsule_IsValid = ctypes.pythonapi.PyCapsule_IsValid
_PyCapsule_IsValid.restype = ctypes.c_int
_PyCapsule_IsValid.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_PyCapsule_GetPointer = ctypes.pythonapi.PyCapsule_GetPointer
_PyCapsule_GetPointer.restype = ctypes.c_void_p
_PyCapsule_GetPointer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]

_CapsuleDestructor = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def _capsule_destructor(capsule: int) -> None:
    # Still named "dltensor": nobody consumed it, so the producer's deleter runs here.
    if _PyCapsule_IsValid(capsule, _NAME):
        address = _PyCapsule_GetPointer(capsule, _NAME)
        _live.pop(address, None)


_destructor = _CapsuleDestructor(_capsule_destructor)


def device_of(mode: MemoryMode, device: int, gpu_accessible: bool) -> Tuple[int, int]:
    """The DLPack (device_type, device_id) of a buffer in `mode`."""
    if mode == MemoryMode.DEVICE:
        return KDL_CUDA, device
    if mode == MemoryMode.PINNED_HOST:
        return KDL_CUDA_HOST, 0
    if mode == MemoryMode.MANAGED:
        return KDL_CUDA_MANAGED, device
    return KDL_CPU, 0


def capsule(owner: Any, ptr: int, size: int, device_type: int, device_id: int) -> Any:
    """A "dltensor" capsule over [ptr, ptr + size) as uint8[size]; `owner` lives as long as the tensor."""
    managed = _ManagedTensor()
    shape = (ctypes.c_int64 * 1)(size)
    managed.dl_tensor.data = ptr
    managed.dl_tensor.device = _Device(device_type, device_id)
    managed.dl_tensor.ndim = 1
    managed.dl_tensor.dtype = _DataType(1, 8, 1)  # kDLUInt, 8 bits, 1 lane
    managed.dl_tensor.shape = ctypes.cast(shape, ctypes.POINTER(ctypes.c_int64))
    managed.dl_tensor.strides = None
    managed.dl_tensor.byte_offset = 0
    managed.manager_ctx = None
    managed.deleter = _deleter
    address = ctypes.addressof(managed)
    _live[address] = (managed, shape, owner)
    return _PyCapsule_New(address, _NAME, ctypes.cast(_destructor, ctypes.c_void_p))
