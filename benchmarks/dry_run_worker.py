"""Building and validating request bodies for a generated frame, measured in its own process; prints one JSON line.

    python benchmarks/dry_run_worker.py --rows 1000000

The frame is built first and its memory settled; then the peak-memory counter is reset, so that the peak
reported is what building and validating the bodies adds to a process that already holds the frame. Then the same
frame goes through `publitrac.sync(..., dry_run=True)` (mapping, validation and the report, nothing sent), with
its own peak.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import measure
from leads import CUSTOM_COLUMNS, make_leads

_MB = 1_000_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    args = parser.parse_args(argv)

    import publitrac
    from publitrac.lead._bodies import iter_bodies
    from publitrac.lead._mapping import map_columns
    from publitrac.lead._validation import find_problems

    frame = make_leads(args.rows, tag="dry")
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    measure.settle_memory()
    rss_with_frame = measure.rss_kib()
    peak_reset = measure.reset_peak()
    cpu_start, wall_start = measure.cpu_seconds(), time.perf_counter()

    mapping = map_columns(frame, email="email", custom_fields=CUSTOM_COLUMNS)
    problems = find_problems(frame, mapping)
    validated = time.perf_counter()
    validation_peak_kib = measure.peak_rss_kib()
    rss_after_validation = measure.rss_kib()
    measure.reset_peak()
    bodies = 0
    for _ in iter_bodies(frame, mapping):
        bodies += 1
    done = time.perf_counter()
    bodies_peak_kib = measure.peak_rss_kib()

    # the same checks as the toolkit's own dry run does them: what `sync(..., dry_run=True)` costs
    measure.settle_memory()
    rss_before_sync = measure.rss_kib()
    measure.reset_peak()
    sync_start = time.perf_counter()
    report = publitrac.sync(frame, email="email", custom_fields=CUSTOM_COLUMNS, dry_run=True, progress=False)
    sync_wall = time.perf_counter() - sync_start
    sync_peak_kib = measure.peak_rss_kib()
    if len(report.results) != args.rows:
        raise RuntimeError(f"the dry run reported {len(report.results)} rows of {args.rows}")

    cpu = measure.cpu_seconds() - cpu_start
    peak_kib = max(validation_peak_kib, bodies_peak_kib) if peak_reset else measure.lifetime_peak_rss_kib()
    if bodies != args.rows:
        raise RuntimeError(f"iter_bodies gave {bodies} bodies for {args.rows} rows")
    wall = done - wall_start
    peak_above_bytes = (peak_kib - rss_with_frame) * 1024
    print(
        json.dumps(
            {
                "rows": args.rows,
                "problems": len(problems),
                "wall_s": wall,
                "cpu_s": cpu,
                "rows_per_s": args.rows / wall,
                "validation_rows_per_s": args.rows / (validated - wall_start),
                "bodies_rows_per_s": args.rows / (done - validated),
                "frame_mib": frame_bytes / 2**20,
                "rss_with_frame_mib": rss_with_frame / 1024,
                "peak_rss_mib": measure.lifetime_peak_rss_kib() / 1024,
                "peak_above_frame_mib": peak_above_bytes / 2**20,
                "peak_above_frame_mb": peak_above_bytes / _MB,
                # each step's own peak above what the process held when it started (the frame; then also the problems)
                "validation_peak_above_frame_mib": (validation_peak_kib - rss_with_frame) / 1024,
                "bodies_peak_above_start_mib": (bodies_peak_kib - rss_after_validation) / 1024,
                "sync_dry_run_rows_per_s": args.rows / sync_wall,
                "sync_dry_run_peak_above_frame_mib": (sync_peak_kib - rss_before_sync) / 1024,
                "sync_dry_run_peak_above_frame_mb": (sync_peak_kib - rss_before_sync) * 1024 / _MB,
                "peak_reset": peak_reset,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
