"""The ledger's costs: deciding `unchanged` in bulk, bytes per lead on disk, and an unchanged rerun end to end.

    python benchmarks/ledger.py                  # 1,000,000 rows against a ledger of 1,000,000 leads (~3 min)
    python benchmarks/ledger.py --rows 10000 --repeat 1     # a quick run (what tests/test_benchmarks.py runs)

1. **Deciding unchanged.** A frame of N generated leads (`leads.py`) and a ledger that holds those N leads as
   accepted (recorded with the keys a sync computes: the state a previous accepted run leaves). Timed, in this
   process: `IncrementalRun.decide`, i.e. every row's email and body keys computed column-wise, one bulk lookup,
   the comparison, the statuses set. Median of `--repeat` runs, and the two parts apart (keys, lookup).
2. **Bytes per lead.** The ledger file's size after its WAL is checkpointed (`VACUUM`ed first), over N.
3. **Kept bodies** (the guards' diff and column guard): a run recording N new leads as accepted, as a sync does
   (`IncrementalRun.accepted` per row, a commit every `FLUSH_ROWS` rows), once keeping fingerprints only and once
   keeping the bodies too; the time to record, the file's bytes per lead each way (VACUUMed), the packed body's
   mean size; and the diff of a mass change (every lead's `jobTitle` changed: `IncrementalRun.changes`).
4. **An unchanged rerun, end to end.** The N leads written to a CSV; a `publitrac sandbox` process; the ledger
   seeded as in 1 for that sandbox's destination; then `publitrac sync leads.csv --base-url ...` as a
   subprocess, timed by wall clock: reading the file, mapping, validation, keys, lookup, the report, the
   results line. The sandbox's `delayedSync` count must stay 0 and every row must be reported unchanged.

Results: printed, and written to `benchmarks/results/ledger.json` with the machine and the date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as suite  # noqa: E402  (the sandbox process helper, machine and versions)
from leads import CUSTOM_COLUMNS, make_leads  # noqa: E402

DEFAULT_OUTPUT = HERE / "results" / "ledger.json"


def seeded_ledger(path: Path, frame: Any, destination: Any) -> Any:
    """A ledger holding every row of `frame` as accepted at `destination` (what a first run leaves)."""
    import publitrac
    from publitrac.ledger._fingerprints import lead_keys
    from publitrac.ledger._store import SQLiteLedger

    mapping = publitrac.map_columns(frame, email="email", custom_fields=CUSTOM_COLUMNS)
    emails, bodies = lead_keys(frame, mapping, np.arange(len(frame)))
    ledger = SQLiteLedger(path)
    run_id = ledger.start_run(destination, input_name="seed", rows=len(frame))
    for start in range(0, len(frame), 100_000):  # batches, as a sync records them
        ledger.record_accepted(
            destination, run_id, emails[start : start + 100_000], bodies[start : start + 100_000]
        )
    ledger.finish_run(run_id, counts={"accepted": len(frame)}, interrupted=False)
    return ledger


def decide_benchmark(rows: int, repeat: int, work: Path) -> dict[str, Any]:
    import publitrac
    from publitrac.ledger._fingerprints import lead_keys
    from publitrac.ledger._incremental import IncrementalRun
    from publitrac.ledger._store import Destination, key_fingerprint
    from publitrac.engine._report import SyncReport

    frame = make_leads(rows, tag="ledger")
    destination = Destination("http://127.0.0.1:1/v2", key_fingerprint("benchmark"))
    path = work / "decide.sqlite3"
    seed_start = time.perf_counter()
    ledger = seeded_ledger(path, frame, destination)
    seed_s = time.perf_counter() - seed_start
    mapping = publitrac.map_columns(frame, email="email", custom_fields=CUSTOM_COLUMNS)
    positions = np.arange(rows)
    serial = np.zeros(rows, dtype=bool)
    decide, decide_cpu, keys, lookup = [], [], [], []
    for _ in range(repeat):
        report = SyncReport(frame)
        incremental = IncrementalRun(ledger, destination, owns_ledger=False)
        start, cpu_start = time.perf_counter(), time.process_time()
        to_send = incremental.decide(frame, mapping, positions, serial, report, resend="changed")
        decide.append(time.perf_counter() - start)
        decide_cpu.append(time.process_time() - cpu_start)
        if len(to_send) or report.counts["unchanged"] != rows:
            raise RuntimeError(f"expected {rows} unchanged rows, got {report.counts}")
        start = time.perf_counter()
        emails, _ = lead_keys(frame, mapping, positions)
        keys.append(time.perf_counter() - start)
        start = time.perf_counter()
        found, _ = ledger.lookup(destination, emails)
        lookup.append(time.perf_counter() - start)
        if not found.all():
            raise RuntimeError("a seeded lead was not found")
    ledger.close()
    with sqlite3.connect(path) as db:
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    wal = path.with_name(path.name + "-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    return {
        "rows": rows,
        "ledger_leads": rows,
        "repeat": repeat,
        "decide_s": decide,
        "decide_rows_per_s": rows / statistics.median(decide),
        # rows per second of this process's own CPU time: what a quiet machine would give (the wall figure
        # drops when other processes share the cores)
        "decide_rows_per_cpu_s": rows / statistics.median(decide_cpu),
        "keys_rows_per_s": rows / statistics.median(keys),
        "lookup_rows_per_s": rows / statistics.median(lookup),
        "seed_record_rows_per_s": rows / seed_s,
        "file_bytes": size + wal_size,
        "bytes_per_lead": (size + wal_size) / rows,
    }


FLUSH_ROWS = 5_000  # rows committed together (a sync commits every second: a few thousand rows at full speed)


def bodies_benchmark(rows: int, work: Path) -> dict[str, Any]:
    import publitrac
    from publitrac.engine._report import SyncReport
    from publitrac.ledger._incremental import IncrementalRun
    from publitrac.ledger._packing import pack_body
    from publitrac.ledger._store import Destination, SQLiteLedger, key_fingerprint
    from publitrac.lead._bodies import build_bodies

    frame = make_leads(rows, tag="bodies")
    mapping = publitrac.map_columns(frame, email="email", custom_fields=CUSTOM_COLUMNS)
    destination = Destination("http://127.0.0.1:1/v2", key_fingerprint("benchmark"))
    positions = np.arange(rows)
    serial = np.zeros(rows, dtype=bool)
    sample = [body for _, body in build_bodies(frame, mapping, positions[: min(rows, 10_000)])]
    result: dict[str, Any] = {
        "rows": rows,
        "flush_rows": FLUSH_ROWS,
        "json_bytes_per_body": statistics.mean(len(json.dumps(b, separators=(",", ":"))) for b in sample),
        "packed_bytes_per_body": statistics.mean(len(pack_body(b)) for b in sample),
    }
    paths = {}
    for keep in (False, True):
        name = "with_bodies" if keep else "fingerprints_only"
        path = paths[keep] = work / f"record-{name}.sqlite3"
        ledger = SQLiteLedger(path)
        report = SyncReport(frame)
        run = IncrementalRun(
            ledger, destination, owns_ledger=True, keep_bodies=keep, flush_interval=float("inf")
        )
        run.decide(frame, mapping, positions, serial, report, resend="changed")
        run.start(report, input_name="benchmark", mapping=mapping)
        start, cpu_start = time.perf_counter(), time.process_time()
        for first in range(0, rows, FLUSH_ROWS):
            for position in range(first, min(first + FLUSH_ROWS, rows)):
                run.accepted(position)
            run.flush()
        result[f"record_s_{name}"] = time.perf_counter() - start
        result[f"record_cpu_s_{name}"] = time.process_time() - cpu_start
        run.finish(report)
        with sqlite3.connect(path) as db:
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        result[f"bytes_per_lead_{name}"] = path.stat().st_size / rows
    result["body_bytes_per_lead"] = (
        result["bytes_per_lead_with_bodies"] - result["bytes_per_lead_fingerprints_only"]
    )
    result["record_overhead_s"] = result["record_s_with_bodies"] - result["record_s_fingerprints_only"]
    result["record_overhead_us_per_row"] = 1e6 * result["record_overhead_s"] / rows
    # a mass change against the kept bodies: what --dry-run --diff and the column guard compute
    changed = frame.assign(jobTitle=frame["jobTitle"] + " (new)")
    ledger = SQLiteLedger(paths[True])
    run = IncrementalRun(ledger, destination, owns_ledger=True)
    start = time.perf_counter()
    run.decide(changed, mapping, positions, serial, SyncReport(changed), resend="changed")
    decided = time.perf_counter()
    diff = run.changes(examples=True)
    result["mass_change_decide_s"] = decided - start
    result["mass_change_diff_s"] = time.perf_counter() - decided
    ledger.close()
    if diff.changed != {"leadInfo.jobTitle": rows} or diff.known != rows:
        raise RuntimeError(f"the diff of a mass change is wrong: {diff.changed}, {diff.known} known")
    return result


def rerun_benchmark(rows: int, work: Path) -> dict[str, Any]:
    from publitrac.ledger._store import Destination, key_fingerprint

    frame = make_leads(rows, tag="rerun")
    csv_path = work / "leads.csv"
    frame.to_csv(csv_path, index=False)
    ledger_path = work / "rerun.sqlite3"
    with suite.sandbox(0.0, work / "sandbox.log") as server:
        destination = Destination(server.base_url, key_fingerprint(server.api_key))
        seeded_ledger(ledger_path, frame, destination).close()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PUBLITRAC_")},
            "PUBLITRAC_API_KEY": server.api_key,
            "PUBLITRAC_LEDGER": str(ledger_path),
        }
        command = [
            sys.executable, "-m", "publitrac.cli", "sync", str(csv_path), "--base-url", server.base_url,
            "--email-column", "email", *[arg for column in CUSTOM_COLUMNS for arg in ("--custom", column)],
            "--no-progress",
        ]  # fmt: skip
        start = time.perf_counter()
        before = os.times()
        completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - start
        after = os.times()
        cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
        posts = int(server.stats()["calls"].get("delayedSync", 0))
    if completed.returncode != 0 or posts or f"{rows:,} unchanged" not in completed.stdout:
        raise RuntimeError(f"the rerun sent {posts} rows or failed:\n{completed.stdout}\n{completed.stderr}")
    return {
        "rows": rows,
        "wall_s": wall,
        "rows_per_s": rows / wall,
        "cpu_s": cpu,
        "posts": posts,
        "exit_status": 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows, and leads in the ledger")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of the decision (median)")
    parser.add_argument("--skip-rerun", action="store_true", help="no end-to-end rerun")
    parser.add_argument("--bodies-only", action="store_true", help="only the kept bodies' part (3)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="publitrac-ledger-bench-") as folder:
        work = Path(folder)
        decide = None
        if not args.bodies_only:
            decide = decide_benchmark(args.rows, args.repeat, work)
            print(
                f"decide unchanged: {decide['rows']:,} rows vs {decide['ledger_leads']:,} leads: "
                f"{decide['decide_rows_per_s']:,.0f} rows/s ({decide['decide_rows_per_cpu_s']:,.0f} per CPU "
                f"second; keys {decide['keys_rows_per_s']:,.0f}/s, "
                f"lookup {decide['lookup_rows_per_s']:,.0f}/s); {decide['bytes_per_lead']:.1f} bytes per lead"
            )
        bodies = bodies_benchmark(args.rows, work)
        print(
            f"kept bodies: {bodies['rows']:,} leads recorded in {bodies['record_s_with_bodies']:.1f} s with bodies, "
            f"{bodies['record_s_fingerprints_only']:.1f} s without ({bodies['record_overhead_us_per_row']:.1f} us "
            f"a row more); {bodies['bytes_per_lead_with_bodies']:.1f} bytes per lead with bodies, "
            f"{bodies['bytes_per_lead_fingerprints_only']:.1f} without (bodies {bodies['body_bytes_per_lead']:.1f}; "
            f"packed {bodies['packed_bytes_per_body']:.1f} of {bodies['json_bytes_per_body']:.1f} JSON bytes); "
            f"diff of a mass change {bodies['mass_change_diff_s']:.1f} s"
        )
        rerun = None
        if not args.skip_rerun and not args.bodies_only:
            rerun = rerun_benchmark(args.rows, work)
            print(f"unchanged rerun end to end: {rerun['rows']:,} rows in {rerun['wall_s']:.1f} s "
                  f"({rerun['rows_per_s']:,.0f} rows/s, {rerun['cpu_s']:.1f} s of CPU), {rerun['posts']} sent")  # fmt: skip
    result = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": suite.machine(),
        "versions": suite.versions(),
        "commit": suite.git_commit(),
        "load_average_1min": {"before": load_before[0], "after": os.getloadavg()[0]},
        "decide": decide,
        "bodies": bodies,
        "rerun": rerun,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
