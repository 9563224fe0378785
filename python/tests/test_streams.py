"""Stream arguments: None, raw handles, and the stream objects of PyTorch, CuPy and Numba (duck-typed here,
so the test needs none of them)."""

from __future__ import annotations

import ctypes

import pytest

import ghtier


class TorchLike:
    cuda_stream = 0x7F001000


class CupyLike:
    ptr = 0x7F002000


class NumbaLike:
    handle = ctypes.c_void_p(0x7F003000)


class ProtocolLike:
    def __cuda_stream__(self):
        return (0, 0x7F004000)


@pytest.mark.parametrize("stream,expected", [
    (None, 0), (0, 0), (0x1234, 0x1234), (TorchLike(), 0x7F001000), (CupyLike(), 0x7F002000),
    (NumbaLike(), 0x7F003000), (ProtocolLike(), 0x7F004000),
])
def test_stream_handles(stream, expected):
    assert ghtier.stream_handle(stream) == expected


@pytest.mark.parametrize("stream,match", [(True, "bool"), (-1, "negative"), ("default", "cannot use a str"),
                                          (3.0, "cannot use a float")])
def test_bad_streams(stream, match):
    with pytest.raises(ghtier.InvalidArgumentError, match=match):
        ghtier.stream_handle(stream)


def test_bad_stream_reaches_no_c_call():
    with ghtier.Runtime(assumed_profile="gh200") as runtime:
        with pytest.raises(ghtier.InvalidArgumentError, match="cannot use a str"):
            runtime.allocate(4096, stream="s1")
