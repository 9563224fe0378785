"""Runs ghtier.bench._worker in a fresh process for the GPU tests (the default allocator is process-wide)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from typing import Any, Dict

ROOT = pathlib.Path(__file__).resolve().parents[3]


def run_worker(config: Dict[str, Any], timeout: float = 300) -> Dict[str, Any]:
    """One ghtier.bench._worker run in a fresh process (the default allocator is process-wide)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "ghtier.bench._worker", json.dumps(config)], capture_output=True,
                          text=True, env=env, timeout=timeout)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("GHTIER_RESULT "):
            result = json.loads(line[len("GHTIER_RESULT "):])
            assert "error" not in result, result.get("traceback", result["error"])
            return result
    raise AssertionError(f"worker exited {proc.returncode} without a result:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
