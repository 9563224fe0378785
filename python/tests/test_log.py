"""ghtier's log from Python: level and sink calls, argument checks (messages themselves need a GPU: see
tests/gpu/test_buffers_gpu.py)."""

from __future__ import annotations

import pytest

import ghtier


def test_sink_and_level_can_be_set_and_restored():
    ghtier.set_log_level("debug")
    ghtier.set_log_sink(lambda level, message: None)
    ghtier.set_log_sink(None)
    ghtier.set_log_level(ghtier.LogLevel.WARN)


def test_bad_arguments():
    with pytest.raises(ghtier.InvalidArgumentError, match="level is 'loud'"):
        ghtier.set_log_level("loud")
    with pytest.raises(ghtier.InvalidArgumentError, match="sink is not callable"):
        ghtier.set_log_sink("stderr")
