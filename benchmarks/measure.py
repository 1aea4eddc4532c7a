"""Process measurements for the benchmarks: CPU time, resident memory, and a sampler for another process's CPU.

Everything reads `resource.getrusage` or `/proc` (Linux), so that the benchmarks need no extra dependency.
"""

from __future__ import annotations

import ctypes
import gc
import os
import resource
import sys
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> float:
    """CPU time (user + system) spent so far by this process, all its threads included.

    Returns:
        Seconds of CPU time.

    Example:
        >>> cpu_seconds() >= 0.0
        True
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def rss_kib() -> int:
    """This process's resident memory now, in KiB (`VmRSS`).

    Returns:
        KiB.

    Example:
        >>> rss_kib() > 0
        True
    """
    return _status_kib("VmRSS")


def peak_rss_kib() -> int:
    """This process's peak resident memory since start or since the last `reset_peak()`, in KiB (`VmHWM`).

    Returns:
        KiB.

    Example:
        >>> peak_rss_kib() > 0
        True
    """
    # the kernel syncs VmHWM lazily, so it can lag a fresh VmRSS by a few pages
    return max(_status_kib("VmHWM"), _status_kib("VmRSS"))


def lifetime_peak_rss_kib() -> int:
    """This process's peak resident memory over its whole life (`ru_maxrss`, KiB on Linux); never reset.

    Returns:
        KiB.

    Example:
        >>> lifetime_peak_rss_kib() > 0
        True
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def settle_memory() -> None:
    """Collect garbage and hand freed memory back to the kernel, so that `rss_kib()` shows live memory only.

    Without it, memory freed by the set-up (building the frame) stays resident, in the C heap or in pyarrow's
    pool, and would be reused by the measured work, hiding part of its peak.

    Example:
        >>> settle_memory()
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the figures are then slightly conservative
        pass
    # pandas' default strings live in pyarrow's own pool (mimalloc or jemalloc), which keeps freed memory too
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()


def reset_peak() -> bool:
    """Reset this process's `VmHWM` to its current RSS (Linux 4.0+), so that a later peak is the measured work's.

    Returns:
        Whether the kernel accepted the reset; if not, peaks include the set-up's.

    Example:
        >>> isinstance(reset_peak(), bool)
        True
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def process_tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its live descendants, read from `/proc`.

    Args:
        pid: The root process (e.g. the sandbox server).

    Returns:
        Seconds of CPU time; 0.0 for processes that have gone.

    Example:
        >>> process_tree_cpu_seconds(os.getpid()) > 0
        True
    """
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _read_stat(int(entry.name))
            if stat is not None:
                children.setdefault(int(stat[1]), []).append(int(entry.name))
    total_ticks = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        stat = _read_stat(current)
        if stat is not None:
            total_ticks += int(stat[11]) + int(stat[12])  # utime, stime (fields 14 and 15 of stat)
        pending.extend(children.get(current, []))
    return total_ticks / _CLOCK_TICKS


def _read_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name in parentheses may hold spaces: split after its closing parenthesis
    return text[text.rindex(")") + 2 :].split()


def machine_busy_seconds() -> float:
    """CPU time all processors have spent busy since boot (`/proc/stat`: all but idle and iowait).

    Sampled around a run, it shows how much CPU processes other than the client and the server took: the
    benchmark's noise on a shared machine.

    Returns:
        Seconds of CPU time, summed over the processors.

    Example:
        >>> machine_busy_seconds() > 0
        True
    """
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    # guest and guest_nice (fields 9 and 10) are already counted in user and nice
    return (sum(fields[:8]) - idle) / _CLOCK_TICKS
