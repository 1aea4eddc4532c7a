"""The benchmark targets, checked against a result of `run.py` (figures to read, not timed tests)."""

from __future__ import annotations

from typing import Any

THROUGHPUT_LATENCY_MS = 20.0
CPU_LATENCY_MS = 0.0
_AT_20_MS = "rows/s, toolkit / "
# (latency, ratio key in `sync.ratios`, at least or at most, bound, what it says)
_RATIO_TARGETS = [
    (
        THROUGHPUT_LATENCY_MS,
        "rows_per_s_toolkit_over_aiohttp",
        ">=",
        0.75,
        _AT_20_MS + "raw aiohttp (aim 0.9)",
    ),
    (THROUGHPUT_LATENCY_MS, "rows_per_s_toolkit_over_naive", ">=", 40.0, _AT_20_MS + "naive loop"),
    (THROUGHPUT_LATENCY_MS, "rows_per_s_toolkit_over_httpx", ">=", 5.0, _AT_20_MS + "raw httpx.AsyncClient"),
    (
        THROUGHPUT_LATENCY_MS,
        "rows_per_s_toolkit_over_httpx-sized-pool",
        ">=",
        5.0,
        _AT_20_MS + "raw httpx.AsyncClient, pool of 64",
    ),
    (
        CPU_LATENCY_MS,
        "cpu_per_row_toolkit_over_aiohttp",
        "<=",
        3.0,
        "client CPU per row, toolkit / raw aiohttp",
    ),
]
DRY_RUN_MIN_ROWS_PER_S = 100_000
DRY_RUN_MAX_PEAK_MB = 300.0
DRY_RUN_PEAK_ROWS = 1_000_000
# (label, key prefix in a dry-run result): the building blocks, then the toolkit's own dry run
_DRY_RUNS = [("find_problems + iter_bodies", ""), ("sync(dry_run=True)", "sync_dry_run_")]


def evaluate(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target that the result has figures for, with its value and whether it is met.

    Args:
        result: The dict `run.py` writes (`sync.ratios` and `dry_run` are read).

    Returns:
        `[{"name", "value", "unit", "bound", "op", "met"}, ...]`.

    Example:
        >>> evaluate({"sync": {"ratios": []}, "dry_run": []})
        []
    """
    checks = []
    for latency_ms, key, op, bound, label in _RATIO_TARGETS:
        for entry in result["sync"]["ratios"]:
            if entry["latency_ms"] == latency_ms and key in entry:
                checks.append(
                    _check(f"{latency_ms:g} ms, N={entry['rows']:,}: {label}", entry[key], "x", op, bound)
                )
    for run in result["dry_run"]:
        for what, key in _DRY_RUNS:
            label = f"{what}, {run['rows']:,} rows"
            checks.append(
                _check(f"{label}: rows/s", run[f"{key}rows_per_s"], "rows/s", ">=", DRY_RUN_MIN_ROWS_PER_S)
            )
            if run["rows"] >= DRY_RUN_PEAK_ROWS:
                peak = run[f"{key}peak_above_frame_mb"]
                checks.append(
                    _check(f"{label}: peak RSS above the frame's", peak, "MB", "<=", DRY_RUN_MAX_PEAK_MB)
                )
    return checks


def _check(name: str, value: float, unit: str, op: str, bound: float) -> dict[str, Any]:
    met = value >= bound if op == ">=" else value <= bound
    return {"name": name, "value": value, "unit": unit, "op": op, "bound": bound, "met": met}
