"""GPU tests: marked `gpu`, skipped with the reason where PyTorch or a GPU is missing."""

from __future__ import annotations

import pathlib

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    here = pathlib.Path(__file__).parent
    reason = None
    try:
        import torch

        if not torch.cuda.is_available():
            reason = "no CUDA device is visible to PyTorch"
    except ImportError:
        reason = "PyTorch is not installed"
    for item in items:
        if here in pathlib.Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.gpu)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
