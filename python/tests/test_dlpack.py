"""The DLPack producer behind Buffer.__dlpack__, on host memory so that it runs without a GPU: the capsule's
tensor describes the bytes, keeps its owner alive until consumed and released, and NumPy (where installed)
reads the same bytes through it."""

from __future__ import annotations

import ctypes
import gc
import weakref

import pytest

from ghtier import MemoryMode, _dlpack


class HostBytes:
    """A stand-in owner: host bytes exposed the way Buffer exposes its memory."""

    def __init__(self, data: bytes) -> None:
        self.storage = ctypes.create_string_buffer(data, len(data))
        self.size = len(data)

    def __dlpack_device__(self):
        return (_dlpack.KDL_CPU, 0)

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        return _dlpack.capsule(self, ctypes.addressof(self.storage), self.size, _dlpack.KDL_CPU, 0)


def managed_tensor(capsule):
    get = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(("PyCapsule_GetPointer",
                                                                                   ctypes.pythonapi))
    return ctypes.cast(get(capsule, b"dltensor"), ctypes.POINTER(_dlpack._ManagedTensor)).contents


def test_capsule_describes_the_bytes():
    owner = HostBytes(b"0123456789")
    capsule = owner.__dlpack__()
    t = managed_tensor(capsule).dl_tensor
    assert t.data == ctypes.addressof(owner.storage) and t.ndim == 1 and t.shape[0] == 10
    assert (t.dtype.code, t.dtype.bits, t.dtype.lanes) == (1, 8, 1)  # uint8
    assert (t.device.device_type, t.device.device_id) == (_dlpack.KDL_CPU, 0)
    assert not t.strides and t.byte_offset == 0


def test_shared_pythonapi_prototypes_do_not_matter():
    # Another module giving ctypes.pythonapi's shared function objects other argtypes (as this test's first
    # version did) must not break the capsule's destructor.
    ctypes.pythonapi.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    ctypes.pythonapi.PyCapsule_IsValid.argtypes = [ctypes.py_object, ctypes.c_char_p]
    try:
        owner = HostBytes(b"xyz")
        alive = weakref.ref(owner)
        capsule = owner.__dlpack__()
        del owner, capsule
        gc.collect()
        assert alive() is None
    finally:
        ctypes.pythonapi.PyCapsule_GetPointer.argtypes = None
        ctypes.pythonapi.PyCapsule_IsValid.argtypes = None


def test_unconsumed_capsule_releases_its_owner():
    owner = HostBytes(b"abc")
    alive = weakref.ref(owner)
    capsule = owner.__dlpack__()
    del owner
    gc.collect()
    assert alive() is not None  # the capsule keeps it
    del capsule
    gc.collect()
    assert alive() is None


def test_numpy_reads_the_bytes_and_keeps_the_owner():
    numpy = pytest.importorskip("numpy")
    owner = HostBytes(bytes(range(200, 216)))
    alive = weakref.ref(owner)
    array = numpy.from_dlpack(owner)
    del owner
    gc.collect()
    assert array.dtype == numpy.uint8 and array.tolist() == list(range(200, 216))
    assert alive() is not None
    del array
    gc.collect()
    assert alive() is None


@pytest.mark.parametrize("mode,expected", [(MemoryMode.DEVICE, (_dlpack.KDL_CUDA, 3)),
                                           (MemoryMode.PINNED_HOST, (_dlpack.KDL_CUDA_HOST, 0)),
                                           (MemoryMode.MANAGED, (_dlpack.KDL_CUDA_MANAGED, 3)),
                                           (MemoryMode.SYSTEM, (_dlpack.KDL_CPU, 0))])
def test_device_of_each_mode(mode, expected):
    assert _dlpack.device_of(mode, 3, gpu_accessible=True) == expected
