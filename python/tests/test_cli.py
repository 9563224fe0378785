"""`python -m ghtier info`: the JSON shape of `ghtier info --json`, with a profile and without a GPU."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import ghtier

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    return subprocess.run([sys.executable, "-m", "ghtier", *args], capture_output=True, text=True, env=env, timeout=60)


def test_info_json_of_a_profile():
    result = run("info", "--json", "--assume", "x86-h100-pcie")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["assumed"] is True
    assert report["ghtier_version"] == ".".join(map(str, ghtier.library_version()))
    assert report["platform"] == {"class": "pcie", "host_access": "none", "coherent": False,
                                  "managed_migrates": True, "gpu_reads_pageable": False}
    assert set(report["device"]) >= {"name", "compute_capability", "sm_count", "hbm_bytes", "copy_engines"}
    assert report["link"]["h2d_gbps"] > 0


def test_info_text_of_a_profile():
    result = run("info", "--assume", "gh200")
    assert result.returncode == 0, result.stderr
    assert "platform class coherent-c2c, host access ats" in result.stdout


def test_info_without_a_gpu_lists_the_profiles():
    try:
        ghtier.Runtime().close()
    except ghtier.NoDeviceError:
        pass
    else:
        import pytest

        pytest.skip("a GPU is visible")
    result = run("info", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["error"]["code"] == "no_device"
    assert [p["name"] for p in report["profiles"]] == list(ghtier.PROFILES)


def test_unknown_profile_is_a_clear_failure():
    result = run("info", "--assume", "gh300")
    assert result.returncode == 2
    assert "gh300" in result.stderr


def test_info_json_matches_the_ghtier_command():
    import pytest

    command = ROOT / "build" / "tools" / "ghtier"
    if not command.exists():
        pytest.skip("the ghtier command is not built (build/tools/ghtier)")
    for profile in ghtier.PROFILES:
        ours = json.loads(run("info", "--json", "--assume", profile).stdout)
        theirs = json.loads(subprocess.run([str(command), "info", "--json", "--assume", profile], capture_output=True,
                                           text=True, timeout=60, check=True).stdout)
        for key in ("ghtier_version", "assumed", "platform", "memory_modes", "moves"):
            assert ours[key] == theirs[key], (profile, key)
        for key, value in ours["device"].items():
            assert value == theirs["device"][key], (profile, key)
        for key, value in ours["link"].items():
            assert value == pytest.approx(theirs["link"][key]), (profile, key)
