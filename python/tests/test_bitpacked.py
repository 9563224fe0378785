"""Bit-packed columns on the CPU (packing, validation and unpacking need no GPU): fresh random values of
several ranges round-trip; a corrupted header is refused; arguments are checked."""

from __future__ import annotations

import array
import ctypes
import random

import pytest

import ghtier
from ghtier import _capi
from ghtier.kernels import BitpackedColumn


@pytest.mark.parametrize("typecode,dtype,low,high", [("i", "int32", 0, 1), ("i", "int32", -5000, 5000),
                                                     ("i", "int32", -2**31, 2**31 - 1),
                                                     ("q", "int64", 10**12, 10**12 + 70000),
                                                     ("q", "int64", 2**40, 2**40 + 2**32 - 1)])
def test_round_trip(typecode, dtype, low, high):
    rng = random.Random()
    rows = rng.randint(1, 9000)
    values = array.array(typecode, [rng.randint(low, high) for _ in range(rows)])
    column = BitpackedColumn.pack(values, rows, dtype)
    column.validate()
    back = array.array(typecode)
    back.frombytes(column.unpack())
    assert back == values
    if high - low < 2**16 and rows >= 4096:  # narrow ranges take fewer bytes (a short tail block pays 128 B a bit)
        assert column.packed_bytes < rows * values.itemsize


def test_a_block_wider_than_32_bits_is_refused():
    values = array.array("q", [0, 2**33])
    with pytest.raises(ghtier.InvalidArgumentError, match="32 bits"):
        BitpackedColumn.pack(values, len(values), "int64")


def test_corrupted_header_is_refused():
    values = array.array("i", range(3000))
    column = BitpackedColumn.pack(values, len(values), "int32")
    column._column.blocks[1].width = 40  # widths are 0..32
    with pytest.raises(ghtier.InvalidArgumentError):
        column.validate()


def test_arguments_are_checked():
    with pytest.raises(ghtier.InvalidArgumentError, match="dtype is 'float32'"):
        BitpackedColumn.pack(array.array("f", [1.0]), 1, "float32")
    with pytest.raises(ghtier.InvalidArgumentError, match="rows is -1"):
        BitpackedColumn.pack(array.array("i", [1]), -1, "int32")
    assert ctypes.sizeof(_capi.BitpackBlockHeader) == 16
