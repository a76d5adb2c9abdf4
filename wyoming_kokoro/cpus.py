"""How many CPU cores this process may really use.

ONNX Runtime is given one thread per physical core (hyper-threads add
nothing for this model). Counting the host's cores is wrong in a container
or under taskset: `docker run --cpus 2` on a 16-core host would get 16
threads fighting over a quota of 2 (each throttled every 100 ms period).
So the count is the physical cores among the CPUs in this process's
affinity mask, capped by the cgroup CPU quota (v2 `cpu.max` or v1
`cpu.cfs_quota_us`), never less than 1.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

ROOT = Path("/")


def allowed_cpus() -> set[int]:
    """CPUs in this process's affinity mask (taskset, docker --cpuset-cpus)."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return set(range(os.cpu_count() or 1))


def physical_cores(allowed: Iterable[int] | None = None, root: Path = ROOT) -> int:
    """Physical cores among `allowed` CPUs, capped by the cgroup quota."""
    cpus = set(allowed_cpus() if allowed is None else allowed) or {0}
    cores = _cores(cpus, root)
    quota = cpu_quota(root)
    if quota is not None:
        cores = min(cores, max(1, int(quota + 0.5)))
    return max(1, cores)


def _cores(cpus: set[int], root: Path) -> int:
    """Distinct (package, core) pairs of `cpus`, from sysfs, else /proc/cpuinfo, else one per CPU."""
    pairs = set()
    for cpu in cpus:
        topology = root / f"sys/devices/system/cpu/cpu{cpu}/topology"
        try:
            pairs.add(((topology / "physical_package_id").read_text().strip(),
                       (topology / "core_id").read_text().strip()))
        except OSError:
            break
    else:
        return len(pairs) or len(cpus)
    return _cores_from_cpuinfo(cpus, root)


def _cores_from_cpuinfo(cpus: set[int], root: Path) -> int:
    try:
        text = (root / "proc/cpuinfo").read_text()
    except OSError:
        return len(cpus)
    pairs = set()
    for block in text.split("\n\n"):
        fields = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        try:
            processor = int(fields["processor"])
        except (KeyError, ValueError):
            continue
        if processor in cpus and "core id" in fields:
            pairs.add((fields.get("physical id", "0"), fields["core id"]))
    return len(pairs) or len(cpus)


def cpu_quota(root: Path = ROOT) -> float | None:
    """CPUs' worth of time the cgroup allows (e.g. 1.5), None if unlimited.

    The tightest limit on the way from this process's cgroup to the root
    counts (a parent's limit binds its children).
    """
    limits = [q for q in (_v2_quota(d) for d in _v2_dirs(root)) if q is not None]
    v1 = _v1_quota(root)
    if v1 is not None:
        limits.append(v1)
    return min(limits) if limits else None


def _v2_dirs(root: Path) -> list[Path]:
    base = root / "sys/fs/cgroup"
    dirs = [base]
    try:
        for line in (root / "proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                relative = Path(line[3:].strip().lstrip("/"))
                for depth in range(1, len(relative.parts) + 1):
                    dirs.append(base.joinpath(*relative.parts[:depth]))
    except OSError:
        pass
    return dirs


def _v2_quota(directory: Path) -> float | None:
    try:
        quota, _, period = (directory / "cpu.max").read_text().strip().partition(" ")
    except OSError:
        return None
    return _ratio(quota, period or "100000")


def _v1_quota(root: Path) -> float | None:
    for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        directory = root / "sys/fs/cgroup" / name
        try:
            quota = (directory / "cpu.cfs_quota_us").read_text().strip()
            period = (directory / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            continue
        return _ratio(quota, period)
    return None


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:  # "max": no limit
        return None
    if q <= 0 or p <= 0:  # v1 uses -1 for no limit
        return None
    return q / p
