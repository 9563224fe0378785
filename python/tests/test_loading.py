"""Loading libghtier.so: GHTIER_LIBRARY, bad paths and foreign libraries give a LibraryError, never a crash."""

from __future__ import annotations

import ctypes.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

import ghtier
from ghtier import _library

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(ROOT / "python"), **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=60)


def test_library_path_is_the_override():
    assert ghtier.library_path() == os.path.abspath(os.environ["GHTIER_LIBRARY"])


def test_version_matches_the_header():
    header = (ROOT / "include" / "ghtier" / "ghtier.h").read_text()
    expected = tuple(int(re.search(rf"#define GHTIER_VERSION_{part} (\d+)", header).group(1))
                     for part in ("MAJOR", "MINOR", "PATCH"))
    assert ghtier.library_version() == expected


def test_missing_library_is_a_clear_error():
    result = run_python("import ghtier\ntry:\n    ghtier.Runtime(assumed_profile='gh200')\n"
                        "except ghtier.LibraryError as e:\n    print('LibraryError:', e)\n",
                        GHTIER_LIBRARY="/nonexistent/libghtier.so")
    assert result.returncode == 0, result.stderr
    assert "LibraryError: GHTIER_LIBRARY='/nonexistent/libghtier.so': no such file" in result.stdout


def test_importing_needs_no_library():
    # The package imports without a library; the error comes at first use, naming what to do.
    result = run_python("import ghtier; print(ghtier.MemoryMode.DEVICE.name)", GHTIER_LIBRARY="/nonexistent/x.so")
    assert result.returncode == 0 and result.stdout.strip() == "DEVICE", result.stderr


def test_a_file_that_is_no_library(tmp_path):
    bogus = tmp_path / "libghtier.so"
    bogus.write_text("not an ELF file")
    with pytest.raises(ghtier.LibraryError, match="cannot load the ghtier library"):
        _library.Library(str(bogus))


def test_another_library_is_refused():
    libm = ctypes.util.find_library("m")
    if libm is None:
        pytest.skip("no libm to stand in for a foreign library")
    with pytest.raises(ghtier.LibraryError, match="does not export ghtier_error_message"):
        _library.Library(libm)


def test_library_error_is_an_import_error():
    assert issubclass(ghtier.LibraryError, ImportError)
    assert issubclass(ghtier.LibraryError, ghtier.Error)


def test_unknown_function_names_are_attribute_errors():
    with pytest.raises(AttributeError):
        _library.load().ghtier_no_such_function
