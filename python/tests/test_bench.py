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


def test_empty_free_ratios_are_medians_of_interleaved_rounds(monkeypatch):
    """Each round runs every route once, in a rotated order; a route's ratio is the median of its per-round
    ratios to native's process of the same round, so one slow process moves one round, not the figure."""
    import random

    rng = random.Random()
    order = []
    native_us = {size: [] for size in allocator.SIZES}
    mempool_us = {size: [] for size in allocator.SIZES}

    def fake_worker(config, timeout=300):
        order.append(config["route"])
        us = {}
        for size in allocator.SIZES:
            value = rng.uniform(3.0, 9.0)
            us[str(size)] = value
            if config["route"] == "native":
                native_us[size].append(value)
            elif config["route"] == "mempool":
                mempool_us[size].append(value)
        return {"us": us}

    monkeypatch.setattr(allocator, "_worker", fake_worker)
    cases = {case["name"]: case for case in allocator._alloc_cases(quick=True)}
    assert order == ["native", "mempool", "default", "mempool", "default", "native", "default", "native", "mempool"]
    for size in allocator.SIZES:
        name = allocator.SIZE_NAMES[size]
        ratios = sorted(m / n for m, n in zip(mempool_us[size], native_us[size]))
        case = cases[f"allocator/empty_free/mempool/{name}"]
        assert case["ratio"] == pytest.approx(ratios[1])
        assert case["ratio_min"] == pytest.approx(ratios[0]) and case["ratio_max"] == pytest.approx(ratios[2])
        assert case["baseline_us"] == pytest.approx(sorted(native_us[size])[1])
        assert cases[f"allocator/empty_free/native/{name}"]["real_time"] == pytest.approx(sorted(native_us[size])[1])
        assert case["target_ratio"] == 1.2


def test_empty_free_reports_a_failed_route_without_a_ratio(monkeypatch):
    def fake_worker(config, timeout=300):
        if config["route"] == "default":
            return {"error": "worker exited 1 without a result: boom"}
        return {"us": {str(size): 5.0 for size in allocator.SIZES}}

    monkeypatch.setattr(allocator, "_worker", fake_worker)
    cases = {case["name"]: case for case in allocator._alloc_cases(quick=True)}
    failed = cases["allocator/empty_free/default/4KiB"]
    assert failed["error_occurred"] is True and "boom" in failed["error_message"] and "ratio" not in failed
    assert cases["allocator/empty_free/mempool/4KiB"]["ratio"] == pytest.approx(1.0)
