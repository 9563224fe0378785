"""`python -m ghtier.bench allocator`: without PyTorch it skips with a clear reason, in the JSON shape of
`ghtier bench --json`."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from ghtier.bench import allocator

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_skips_with_a_reason_without_torch(tmp_path):
    reason = allocator.skip_reason()
    if reason is None:
        pytest.skip("PyTorch with CUDA is here: the GPU check runs the benchmark")
    out = tmp_path / "bench.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "python"), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-m", "ghtier.bench", "allocator", "--json", str(out)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert reason in result.stdout
    document = json.loads(out.read_text())
    assert set(document) == {"context", "benchmarks"}
    (case,) = document["benchmarks"]
    assert case["error_occurred"] is True and reason in case["error_message"]
    assert case["time_unit"] == "us"


def test_unknown_suite_is_refused():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "python"), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-m", "ghtier.bench", "everything"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_activation_offload_skips_with_a_reason_without_torch(tmp_path):
    from ghtier.bench import activation_offload

    if allocator.skip_reason() is None:
        pytest.skip("PyTorch with CUDA is here: the GPU check runs the benchmark")
    out = tmp_path / "bench.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "python"), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-m", "ghtier.bench", "activation_offload", "--quick", "--layers", "2",
                             "--json", str(out)], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "skipped" in result.stdout and "activation offload benchmark" in result.stdout
    document = json.loads(out.read_text())
    assert document["context"]["shape"]["layers"] == 2
    assert document["context"]["shape"]["hidden"] == activation_offload.SMALL["hidden"]
    (case,) = document["benchmarks"]
    assert case["error_occurred"] is True and case["name"] == "activation_offload"
