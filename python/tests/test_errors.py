"""Status codes become one exception hierarchy carrying the C API's message."""

from __future__ import annotations

import ctypes

import pytest

import ghtier
from ghtier import _capi, _library
from ghtier.errors import error_for_status

EXPECTED = {
    1: (ghtier.InvalidArgumentError, ValueError, "GHTIER_ERROR_INVALID_ARGUMENT"),
    2: (ghtier.NoDeviceError, RuntimeError, "GHTIER_ERROR_NO_DEVICE"),
    3: (ghtier.OutOfMemoryError, MemoryError, "GHTIER_ERROR_OUT_OF_MEMORY"),
    4: (ghtier.OutOfBudgetError, MemoryError, "GHTIER_ERROR_OUT_OF_BUDGET"),
    5: (ghtier.UnsupportedError, NotImplementedError, "GHTIER_ERROR_UNSUPPORTED"),
    6: (ghtier.CudaError, RuntimeError, "GHTIER_ERROR_CUDA"),
    7: (ghtier.NotFoundError, LookupError, "GHTIER_ERROR_NOT_FOUND"),
    8: (ghtier.GhtierIOError, OSError, "GHTIER_ERROR_IO"),
    9: (ghtier.InternalError, RuntimeError, "GHTIER_ERROR_INTERNAL"),
}


@pytest.mark.parametrize("status", sorted(EXPECTED))
def test_each_status_has_its_class(status):
    cls, builtin, name = EXPECTED[status]
    error = error_for_status(status, "why")
    assert type(error) is cls and isinstance(error, builtin) and isinstance(error, ghtier.Error)
    assert error.status == status and str(error) == "why"
    # The library names the status the same way.
    assert _library.load().ghtier_status_name(status).decode() == name
    assert error.status_name == name


def test_out_of_budget_is_out_of_memory():
    assert issubclass(ghtier.OutOfBudgetError, ghtier.OutOfMemoryError)


def test_unknown_status_is_a_plain_error():
    error = error_for_status(77, "odd")
    assert type(error) is ghtier.Error and error.status == 77


def test_c_message_reaches_the_exception():
    with pytest.raises(ghtier.NotFoundError) as info:
        ghtier.Runtime(assumed_profile="gh300")
    assert "gh300" in str(info.value)
    assert info.value.cuda_error == 0


def test_a_destroyed_handle_is_an_invalid_argument():
    runtime = ghtier.Runtime(assumed_profile="gh200")
    stale = runtime.handle
    runtime.close()
    lib = _library.load()
    with pytest.raises(ghtier.InvalidArgumentError) as info:
        lib.check(lib.ghtier_runtime_get_policy(stale, ctypes.byref(ctypes.c_int())), "ghtier_runtime_get_policy")
    assert str(info.value)  # the C API's own words, not empty
    assert info.value.status_name == "GHTIER_ERROR_INVALID_ARGUMENT"


def test_success_raises_nothing():
    _library.load().check(0)


def test_struct_sizes_are_multiples_of_eight():
    # The C API refuses a struct_size that is not a multiple of 8 (c_api_struct_version.hpp): a ctypes
    # mirror that drifted from the header would fail here or in every call.
    for struct in (_capi.RuntimeOptions, _capi.PlacementRequest, _capi.Placement, _capi.PlatformInfo,
                   _capi.Statistics, _capi.Residency, _capi.AllocationInfo, _capi.EngineOptions,
                   _capi.TransferOptions, _capi.EngineStatistics, _capi.TorchBindOptions, _capi.TorchSlotStatistics):
        assert ctypes.sizeof(struct) % 8 == 0, struct.__name__
