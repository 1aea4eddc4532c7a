"""Beyond memory and beyond one process: the streaming sync of big files, and the sync on Dask.

    python benchmarks/scale.py make --rows 10000000 --out /tmp/leads-10m.csv     # a big CSV, written in chunks
    python benchmarks/scale.py dry-run /tmp/leads-10m.csv                         # validate + dry run, streamed
    python benchmarks/scale.py sync --rows 1000000 --concurrency 64               # streamed vs in memory
    python benchmarks/scale.py dask --rows 50000 --latency-ms 0 20                # one process vs Dask, 2 workers

Every measured command runs in a process of its own; its peak resident memory is that process's `ru_maxrss`
(from `os.wait4`, so it is the child's own, not the largest of all children). The sandbox runs in its own
process too (see `run.py`), and each run is checked against its counters: every row accepted and applied.
Results are printed as JSON lines and appended to `benchmarks/results/scale.jsonl`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import measure
from leads import CUSTOM_COLUMNS, make_leads
from run import _wait_applied, accepted_leads, machine, sandbox, versions

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "scale.jsonl"
_CHUNK = 250_000


def make_csv(rows: int, out: Path, *, tag: str = "big") -> None:
    """Write `rows` generated leads to a CSV, a chunk at a time (the file may be larger than memory)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        for start in range(0, rows, _CHUNK):
            chunk = make_leads(min(_CHUNK, rows - start), tag=tag, seed=start)
            chunk["email"] = [f"lead{i:08d}.{tag}@example.com" for i in range(start, start + len(chunk))]
            chunk["crmLeadId"] = range(100_000 + start, 100_000 + start + len(chunk))
            chunk.to_csv(handle, index=False, header=start == 0)


def timed(command: Sequence[str], *, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a command in its own process: wall seconds, the child's peak RSS, its exit status and output."""
    started = time.perf_counter()
    busy_before = measure.machine_busy_seconds()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        output.seek(0)
        text = output.read().decode(errors="replace")
    return {
        "command": " ".join(Path(part).name if part.startswith("/") else part for part in command),
        "wall_s": round(wall, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "exit": process.returncode,
        "machine_busy_cores": round((measure.machine_busy_seconds() - busy_before) / wall, 2),
        "output_tail": text.strip().splitlines()[-3:],
    }


def _record(result: dict[str, Any]) -> None:
    result = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **result}
    print(json.dumps(result), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(result) + "\n")


def cli(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "publitrac.cli", *arguments]


def dry_run(path: Path, work: Path) -> None:
    rows = sum(1 for _ in path.open("rb")) - 1
    for name, command in (
        ("validate", cli("validate", str(path), "--custom", "Company", "--custom", "Country")),
        (
            "sync --dry-run --results",
            cli("sync", str(path), "--dry-run", "--no-progress", "--results", str(work / "dry.csv")),
        ),
    ):
        result = timed(command)
        result.update(kind="stream-dry-run", step=name, rows=rows, rows_per_s=round(rows / result["wall_s"]))
        if name.startswith("sync"):
            result["results_lines"] = sum(1 for _ in (work / "dry.csv").open("rb")) - 1
        _record(result)


_IN_MEMORY = """
import sys, time, pandas as pd, publitrac
path, base_url, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3])
frame = publitrac.read_leads(path).frame
pt = publitrac.Publitrac(base_url=base_url)
started = time.perf_counter()
report = publitrac.sync(frame, pt, custom_fields=["Company", "Country"], concurrency=concurrency, progress=False,
                        ledger=False)
report.to_csv(sys.argv[4])
print("sync_s", time.perf_counter() - started, report.describe())
"""


def real_sync(
    rows: int, concurrency: int, latency_ms: float, work: Path, *, repeat: int, modes: Sequence[str]
) -> None:
    for mode in tuple(modes) * repeat:
        tag = f"{mode[:2]}{int(time.time())}"
        path = work / f"{tag}.csv"
        make_csv(rows, path, tag=tag)
        with sandbox(latency_ms, work / f"{tag}.log") as server:
            env = {**os.environ, "PUBLITRAC_API_KEY": server.api_key}
            out = str(work / f"{tag}-results.csv")
            if mode == "stream":
                command = cli(
                    "sync", str(path), "--base-url", server.base_url, "--concurrency", str(concurrency),
                    "--custom", "Company", "--custom", "Country", "--no-progress", "--no-ledger", "--results", out,
                )  # fmt: skip
            else:
                command = [
                    sys.executable,
                    "-c",
                    _IN_MEMORY,
                    str(path),
                    server.base_url,
                    str(concurrency),
                    out,
                ]
            result = timed(command, env=env)
            stats = _wait_applied(server, rows)
        if accepted_leads(stats) != rows or stats["failed"]:
            raise RuntimeError(f"{mode}: the sandbox accepted {accepted_leads(stats)} of {rows}: {stats}")
        result.update(
            kind="real-sync",
            mode=mode,
            rows=rows,
            concurrency=concurrency,
            latency_ms=latency_ms,
            rows_per_s=round(rows / result["wall_s"]),
        )
        _record(result)
        path.unlink()


_DASK = """
import os, sys, time, pandas as pd, dask.dataframe as dd, publitrac
from distributed import Client, LocalCluster
path, base_url, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
frame = publitrac.read_leads(path).frame
pt = publitrac.Publitrac(base_url=base_url)
if workers == 0:
    started = time.perf_counter()
    report = publitrac.sync(frame, pt, custom_fields=["Company", "Country"], concurrency=64, progress=False,
                            ledger=False)
    print("sync_s", time.perf_counter() - started, report.describe())
else:
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True) as cluster, Client(cluster):
        ddf = dd.from_pandas(frame, npartitions=workers * 2)
        started = time.perf_counter()
        report = publitrac.sync(ddf, pt, custom_fields=["Company", "Country"], concurrency=64)
        print("sync_s", time.perf_counter() - started, report.describe())
"""


def dask_compare(rows: int, latencies: Sequence[float], work: Path, *, repeat: int) -> None:
    for latency in latencies:
        for workers in (0, 2) * repeat:
            tag = f"d{workers}l{int(latency)}t{int(time.time())}"
            path = work / f"{tag}.csv"
            make_csv(rows, path, tag=tag)
            with sandbox(latency, work / f"{tag}.log") as server:
                env = {**os.environ, "PUBLITRAC_API_KEY": server.api_key}
                before = server.cpu_seconds()
                result = timed(
                    [sys.executable, "-c", _DASK, str(path), server.base_url, str(workers)], env=env
                )
                stats = _wait_applied(server, rows)
                server_cpu = server.cpu_seconds() - before
            if accepted_leads(stats) != rows:
                raise RuntimeError(f"dask {workers}: the sandbox accepted {accepted_leads(stats)} of {rows}")
            sync_s = float(
                next(line for line in result["output_tail"] if line.startswith("sync_s")).split()[1]
            )
            result.update(
                kind="dask",
                workers=workers or "one process",
                rows=rows,
                latency_ms=latency,
                sync_s=round(sync_s, 2),
                rows_per_s=round(rows / sync_s),
                server_cores=round(server_cpu / result["wall_s"], 2),
            )
            _record(result)
            path.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("make", help="write a CSV of generated leads")
    make.add_argument("--rows", type=int, required=True)
    make.add_argument("--out", type=Path, required=True)
    dry = commands.add_parser("dry-run", help="publitrac validate and sync --dry-run on a file")
    dry.add_argument("file", type=Path)
    sync = commands.add_parser("sync", help="a real sync, streamed and in memory, against the sandbox")
    sync.add_argument("--rows", type=int, default=1_000_000)
    sync.add_argument("--concurrency", type=int, default=64)
    sync.add_argument("--latency-ms", type=float, default=0.0)
    sync.add_argument("--repeat", type=int, default=1, help="alternating pairs of runs (1)")
    sync.add_argument("--modes", nargs="+", choices=["in-memory", "stream"], default=["in-memory", "stream"])
    dask = commands.add_parser("dask", help="one process against Dask with 2 workers")
    dask.add_argument("--rows", type=int, default=50_000)
    dask.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 20.0])
    dask.add_argument("--repeat", type=int, default=2, help="alternating pairs of runs per latency (2)")
    args = parser.parse_args(argv)
    if args.command == "make":
        make_csv(args.rows, args.out)
        return 0
    _record({"kind": "machine", **machine(), "versions": versions(), "custom": CUSTOM_COLUMNS})
    with tempfile.TemporaryDirectory(prefix="publitrac-scale-") as folder:
        work = Path(folder)
        if args.command == "dry-run":
            dry_run(args.file, work)
        elif args.command == "sync":
            real_sync(
                args.rows, args.concurrency, args.latency_ms, work, repeat=args.repeat, modes=args.modes
            )
        else:
            dask_compare(args.rows, args.latency_ms, work, repeat=args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
