"""ghtier's log from Python: the level, and a sink that receives each message (e.g. the ``logging`` module).

The library is loaded with ctypes.CDLL, which releases the GIL during every ghtier call: the C API serialises
sink calls under a lock, so a sink that needs the GIL must never wait on a thread that holds it inside ghtier.
"""

from __future__ import annotations

import ctypes
import enum
import logging
import threading
from typing import Callable, Optional, Union

from ._library import load
from .enums import parse_enum

__all__ = ["LogLevel", "set_log_level", "set_log_sink", "log_to_python_logging"]


class LogLevel(enum.IntEnum):
    DEBUG = 0
    INFO = 1
    WARN = 2
    ERROR = 3
    OFF = 4


_Sink = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
_lock = threading.Lock()
_current: Optional[object] = None  # the installed ctypes callback: alive until another sink replaces it
_PYTHON_LEVELS = {LogLevel.DEBUG: logging.DEBUG, LogLevel.INFO: logging.INFO, LogLevel.WARN: logging.WARNING,
                  LogLevel.ERROR: logging.ERROR}


def set_log_level(level: Union[LogLevel, str, int]) -> None:
    """Messages below `level` ("debug", "info", "warn", "error", "off") are dropped."""
    lib = load()
    lib.check(lib.ghtier_log_set_level(parse_enum(LogLevel, level, "level")), "ghtier_log_set_level")


def set_log_sink(sink: Optional[Callable[[LogLevel, str], None]]) -> None:
    """Sends every log message to ``sink(level, message)`` (from any ghtier thread); None restores stderr.

    The sink must not call ghtier. An exception it raises is printed and dropped (none may cross into C).
    """
    global _current
    lib = load()
    if sink is not None and not callable(sink):
        from .errors import InvalidArgumentError

        raise InvalidArgumentError("sink is not callable")
    callback = None
    if sink is not None:
        def trampoline(level: int, message: bytes, _user_data: object) -> None:
            try:
                sink(LogLevel(level), message.decode("utf-8", "replace") if message else "")
            except Exception:
                import traceback

                traceback.print_exc()

        callback = _Sink(trampoline)
    with _lock:
        lib.check(lib.ghtier_log_set_sink(callback, None), "ghtier_log_set_sink")
        _current = callback  # the previous one is no longer called once set_sink returned


def log_to_python_logging(logger: Optional[logging.Logger] = None) -> None:
    """Routes ghtier's log to a ``logging`` logger (default ``logging.getLogger("ghtier")``)."""
    target = logger or logging.getLogger("ghtier")
    set_log_sink(lambda level, message: target.log(_PYTHON_LEVELS.get(level, logging.INFO), "%s", message))
