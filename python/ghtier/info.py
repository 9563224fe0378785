"""``python -m ghtier info``: the platform report of ``ghtier info``, from the C API.

The JSON has the shape of ``ghtier info --json`` (keys ghtier_version, subject, assumed, device, platform,
memory_modes, link, moves; with no GPU: ghtier_version, error, profiles), from the C API: the command's raw
device attribute table, its CUDA versions and the link's pageable-copy figures are not in the C API, so
not here.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from . import PROFILES, library_path, library_version
from .enums import HostAccess, MemoryMode, PlatformClass
from .errors import NoDeviceError
from .runtime import Runtime

_CLASS = {PlatformClass.COHERENT_C2C: "coherent-c2c", PlatformClass.HMM_PCIE: "hmm-pcie", PlatformClass.PCIE: "pcie"}
_ACCESS = {HostAccess.NONE: "none", HostAccess.HMM: "hmm", HostAccess.ATS: "ats"}


def info_report(assume: Optional[str] = None, device: int = 0) -> Dict[str, Any]:
    """The report as a dict (what ``--json`` prints)."""
    version = ".".join(str(v) for v in library_version())
    try:
        runtime = Runtime(device=device, assumed_profile=assume)
    except NoDeviceError as e:
        return {"ghtier_version": version, "error": {"code": "no_device", "message": str(e)},
                "profiles": [{"name": p} for p in PROFILES], "library": library_path()}
    with runtime:
        p = runtime.platform
        modes = {m.name.lower(): runtime.mode_access(m) for m in MemoryMode}
        moves = [{"from": a.name.lower(), "to": b.name.lower(), "mechanism": runtime.move_mechanism(a, b)}
                 for a in MemoryMode for b in MemoryMode]
    return {
        "ghtier_version": version,
        "subject": f"assumed profile {assume}" if assume else f"GPU {p.device}: {p.name}",
        "assumed": assume is not None,
        "library": library_path(),
        "device": {"name": p.name, "compute_capability": f"{p.compute_capability[0]}.{p.compute_capability[1]}",
                   "sm_count": p.sm_count, "hbm_bytes": p.hbm_bytes, "copy_engines": p.async_engine_count,
                   "host_numa_node": p.host_numa_id},
        "platform": {"class": _CLASS[p.platform_class], "host_access": _ACCESS[p.host_access], "coherent": p.coherent,
                     "managed_migrates": p.managed_migrates, "gpu_reads_pageable": p.gpu_reads_pageable},
        "memory_modes": modes,
        "link": dict(p.link),
        "moves": moves,
    }


def format_text(report: Dict[str, Any]) -> str:
    if "error" in report:
        lines = [f"ghtier {report['ghtier_version']}: {report['error']['message']}",
                 "Without a GPU, ghtier can describe a built-in platform profile: "
                 + ", ".join(p["name"] for p in report["profiles"]),
                 "e.g. `python -m ghtier info --assume gh200`."]
        return "\n".join(lines) + "\n"
    d, p = report["device"], report["platform"]
    lines = [f"ghtier {report['ghtier_version']} ({report['library']})", report["subject"],
             f"  {d['name']}: CC {d['compute_capability']}, {d['sm_count']} SMs, {d['hbm_bytes'] / 2**30:.1f} GiB HBM, "
             f"{d['copy_engines']} copy engines, host NUMA node {d['host_numa_node']}",
             f"  platform class {p['class']}, host access {p['host_access']}, coherent {p['coherent']}, "
             f"managed migrates {p['managed_migrates']}, GPU reads pageable {p['gpu_reads_pageable']}",
             "  link:"]
    for key, value in report["link"].items():
        lines.append(f"    {key:<20}{value:>9.2f}")
    lines.append("  memory modes:")
    for mode, a in report["memory_modes"].items():
        lines.append(f"    {mode:<12} gpu {'yes' if a['gpu_access'] else 'no ':<4} cpu {'yes' if a['cpu_access'] else 'no ':<4}"
                     f"migrates {'yes' if a['migrates'] else 'no ':<4} relocation {a['relocation']:<9} {a['lives_in']}")
    return "\n".join(lines) + "\n"


def main_info(json_output: bool, assume: Optional[str], device: int) -> int:
    report = info_report(assume, device)
    print(json.dumps(report, indent=2) if json_output else format_text(report), end="\n" if json_output else "")
    return 0
