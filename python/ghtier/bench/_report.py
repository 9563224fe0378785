"""What every Python benchmark suite shares: a case in Google Benchmark's JSON shape (the shape `ghtier bench
--json` writes), the run's context, the reason a suite cannot run here, and the end of a run (the JSON file and
one line per case)."""

from __future__ import annotations

import datetime
import json
import platform
import socket
from typing import Any, Callable, Dict, List, Optional, Sequence


def case(name: str, us: Optional[float], *, label: str = "", counters: Optional[Dict[str, float]] = None,
         error: Optional[str] = None, iterations: int = 1) -> Dict[str, Any]:
    """One case; `us` None (it did not run) with `error` saying why."""
    entry: Dict[str, Any] = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 1,
                             "repetition_index": 0, "threads": 1, "iterations": iterations,
                             "real_time": us if us is not None else 0.0, "cpu_time": us if us is not None else 0.0,
                             "time_unit": "us", "label": label}
    entry.update(counters or {})
    if error is not None:
        entry["error_occurred"] = True
        entry["error_message"] = error
    return entry


def context(suite: str, **extra: Any) -> Dict[str, Any]:
    """The run's context: date, host, Python, the ghtier library used (or why none loaded), and `extra`."""
    out: Dict[str, Any] = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
                           "host_name": socket.gethostname(), "executable": f"python -m ghtier.bench {suite}",
                           "python": platform.python_version()}
    try:
        import ghtier

        out["ghtier_version"] = ".".join(map(str, ghtier.library_version()))
        out["ghtier_library"] = ghtier.library_path()
    except Exception as e:  # reported, not fatal: the cases say why they could not run
        out["ghtier_error"] = str(e)
    out.update(extra)
    return out


def skip_reason(purpose: str, transformers_for: Optional[str] = None) -> Optional[str]:
    """Why the suite cannot run here, or None: PyTorch missing ("PyTorch is not installed: " + purpose), no CUDA
    device, or (when `transformers_for` says what for) transformers missing."""
    try:
        import torch
    except ImportError:
        return f"PyTorch is not installed: {purpose}"
    if not torch.cuda.is_available():
        return f"no CUDA device is visible to PyTorch: {purpose}"
    if transformers_for is not None:
        try:
            import transformers  # noqa: F401  (only whether it imports)
        except ImportError:
            return f"transformers is not installed: {transformers_for}"
    return None


def skipped(suite: str, reason: str) -> List[Dict[str, Any]]:
    """The one case of a suite that could not run, after saying so."""
    print(f"ghtier.bench {suite}: skipped: {reason}")
    return [case(suite, None, error=f"skipped: {reason}")]


def finish(suite: str, json_file: Optional[str], benchmarks: List[Dict[str, Any]], *, unit: str = "ms",
           keys: Sequence[str] = ("ratio",), width: int = 52, extra: Optional[Callable[[Dict[str, Any]], str]] = None,
           **context_extra: Any) -> int:
    """Writes the JSON document (when asked) and prints a line per case: the time in `unit` ("us" or "ms"), the
    counters named in `keys`, what `extra` adds, and the error of a case that failed. Returns 0: a failed case
    is reported in the JSON, not by the exit status."""
    document = {"context": context(suite, **context_extra), "benchmarks": benchmarks}
    if json_file:
        with open(json_file, "w") as f:
            json.dump(document, f, indent=2)
    scale, digits = (1.0, 1) if unit == "us" else (1e-3, 2)
    for entry in benchmarks:
        line = f"{entry['name']:<{width}} {entry['real_time'] * scale:>12.{digits}f} {unit}"
        for key in keys:
            if key in entry:
                line += f"  {key} {entry[key]:.3f}"
        if extra is not None:
            line += extra(entry)
        if entry.get("error_occurred"):
            line += f"  ({entry['error_message'][:160]})"
        print(line)
    return 0
