"""Closeable, the closing protocol of the package's owners of native resources (OwnedHandle's C handles,
ghtier.torch's SessionStore and SessionCache): closed at the end of a ``with`` block and, unless the class says
otherwise, when collected; a failing close never escapes the finaliser."""

from __future__ import annotations

import gc
import sys

from ghtier._owned_handle import Closeable, OwnedHandle


class Recorder(Closeable):
    def __init__(self, log: list, fail: bool = False) -> None:
        self.log = log
        self.fail = fail

    def close(self) -> None:
        self.log.append(self)
        if self.fail:
            raise RuntimeError("close failed")


class KeptWhenCollected(Recorder):
    _close_when_collected = False


def test_with_block_closes_and_returns_the_object():
    log: list = []
    with Recorder(log) as r:
        assert isinstance(r, Recorder)
        assert log == []
    assert log == [r]


def test_collection_closes_unless_the_class_opts_out():
    log: list = []
    Recorder(log)
    gc.collect()
    assert len(log) == 1
    KeptWhenCollected(log)
    gc.collect()
    assert len(log) == 1
    with KeptWhenCollected(log):
        pass
    assert len(log) == 2  # a with block still closes it


def test_a_failing_close_in_the_finaliser_is_swallowed(monkeypatch):
    escaped: list = []
    monkeypatch.setattr(sys, "unraisablehook", escaped.append)
    log: list = []
    Recorder(log, fail=True)
    gc.collect()
    assert len(log) == 1
    assert escaped == []


class FakeLib:
    def __init__(self) -> None:
        self.destroyed: list = []

    def fake_destroy(self, handle: int) -> int:
        self.destroyed.append(handle)
        return 0

    def check(self, status: int, function: str) -> None:
        assert status == 0, function


class Owner(OwnedHandle):
    _destroy = "fake_destroy"

    def __init__(self, lib: FakeLib, handle: int) -> None:
        self._lib = lib
        self._handle = handle


def test_owned_handle_destroys_its_handle_once():
    lib = FakeLib()
    with Owner(lib, 7) as owner:
        pass
    owner.close()
    del owner
    gc.collect()
    assert lib.destroyed == [7]
