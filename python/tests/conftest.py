"""pytest setup: which libghtier.so to load, the `gpu` marker, and a leak check after every test.

GHTIER_LIBRARY picks the library; unset, the CMake build tree's build/src/libghtier.so is used when present
(scripts/test and scripts/gpu-check set it explicitly).
"""

from __future__ import annotations

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
_BUILD_LIBRARY = ROOT / "build" / "src" / "libghtier.so"
if not os.environ.get("GHTIER_LIBRARY") and _BUILD_LIBRARY.exists():
    os.environ["GHTIER_LIBRARY"] = str(_BUILD_LIBRARY)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU (run by scripts/gpu-check with `pytest -m gpu`)")


def gpu_available() -> bool:
    import ghtier

    try:
        with ghtier.Runtime():
            return True
    except ghtier.NoDeviceError:
        return False


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(autouse=True)
def no_slot_left_bound():
    """Every test must give back the allocator slots it bound (no leaked runtime or memory)."""
    yield
    from ghtier import _slots

    _slots.reclaim_retired()
    bound = [s.index for s in _slots.claimed_slots() if not getattr(s, "process_lifetime", False)]
    assert not bound, f"allocator slots still claimed after the test: {bound}"
