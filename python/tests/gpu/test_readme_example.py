"""The README's PyTorch example, run as written in a fresh process."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.gpu

ROOT = pathlib.Path(__file__).resolve().parents[3]


def readme_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## From Python and PyTorch"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_block_is_short():
    assert len(readme_block().strip().splitlines()) <= 11


def test_readme_example_runs():
    pytest.importorskip("torch", reason="PyTorch is not installed")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", readme_block()], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "pinned_host" in result.stdout
