"""Benchmarks of the sync: throughput, client CPU and memory, side by side with what a user would otherwise write.

    python benchmarks/run.py            # the default run (N = 10,000 and 100,000; 3 repetitions)
    python benchmarks/run.py --quick    # a small run (the smoke test's): results/quick.json, targets not judged

For each added latency (0 and 20 ms per call), a fresh sandbox (`publitrac sandbox`, its own process) receives the
same N generated leads from each client, each client in its own process so that its CPU time and peak memory are
its own: the naive `iterrows()` loop, raw `httpx.AsyncClient`, raw `aiohttp`, and the toolkit's `sync`. The
clients alternate (A B C D A B C D ...) and the medians of the repetitions are reported. Every run is checked
against the sandbox's own counters: the run fails unless the sandbox accepted and applied every row.

The two slow baselines (the naive loop, raw httpx) push a slice of the N rows (`--naive-rows`, `--httpx-rows`):
their rate does not depend on N, and pushing 100,000 rows one at a time would take most of an hour. Their rows
per second are measured on the slice; the table marks them and the JSON says `extrapolated`.

A second benchmark times building and validating request bodies (`iter_bodies` + `find_problems`) for 10,000 to
1,000,000 rows, with the peak memory above the frame's own.

Results: a table on stdout and `benchmarks/results/latest.json` (committed: the figures the READMEs quote); a quick
run writes `benchmarks/results/quick.json` instead (git-ignored), and shows the targets without judging them: its
few rows measure start-up more than throughput.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

import measure
import targets as target_checks

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results" / "latest.json"
QUICK_OUTPUT = HERE / "results" / "quick.json"
CLIENTS = ("naive", "httpx", "httpx-sized-pool", "aiohttp", "toolkit")
_READY_TIMEOUT_S = 60.0
_APPLY_TIMEOUT_S = 120.0
_CLIENT_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class Plan:
    """What one invocation measures."""

    rows: tuple[int, ...]
    latencies_ms: tuple[float, ...]
    repeat: int
    concurrency: int
    naive_rows: int
    httpx_rows: int
    dry_run_rows: tuple[int, ...]
    clients: tuple[str, ...]
    sandbox_per: str

    def rows_for(self, client: str, rows: int) -> int:
        """How many of the N rows this client pushes (the slow baselines push a slice)."""
        cap = {"naive": self.naive_rows, "httpx": self.httpx_rows, "httpx-sized-pool": self.httpx_rows}.get(
            client
        )
        return rows if cap is None else min(rows, cap)


# --- the sandbox, in its own process ------------------------------------------------------------------------------


class Sandbox:
    """A `publitrac sandbox` process on a free port, with an added latency per call."""

    def __init__(
        self, *, latency_ms: float, api_key: str, log_path: Path, options: Sequence[str] = ()
    ) -> None:
        self.latency_ms = latency_ms
        self.api_key = api_key
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v2"
        self.stats_url = f"http://127.0.0.1:{self.port}/_sandbox/stats"
        command = [
            *_sandbox_command(),
            "--port",
            str(self.port),
            "--latency-ms",
            _format_number(latency_ms),
            *options,  # further `publitrac sandbox` options: faults, a rate limit (adaptive.py)
        ]
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # a throw-away key made up for this run, in the environment rather than on the command line
            env={**os.environ, "PUBLITRAC_API_KEY": api_key},
        )
        self._wait_ready(log_path)

    def _wait_ready(self, log_path: Path) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the sandbox exited at start-up:\n{log_path.read_text(errors='replace')}")
            try:
                self.stats()
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError(f"the sandbox was not ready after {_READY_TIMEOUT_S:.0f} s")

    def stats(self) -> dict[str, Any]:
        """The sandbox's counters (`GET /_sandbox/stats`)."""
        response = httpx.get(self.stats_url, timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def cpu_seconds(self) -> float:
        """CPU time used so far by the sandbox process (and any children)."""
        return measure.process_tree_cpu_seconds(self.process.pid)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def _sandbox_command() -> list[str]:
    return [sys.executable, "-m", "publitrac.cli", "sandbox"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@contextmanager
def sandbox(latency_ms: float, log_path: Path) -> Iterator[Sandbox]:
    """A sandbox for the duration of a `with` block, with a throw-away API key of its own."""
    server = Sandbox(latency_ms=latency_ms, api_key=secrets.token_urlsafe(16), log_path=log_path)
    try:
        yield server
    finally:
        server.close()


def applied_leads(stats: dict[str, Any]) -> int:
    """How many leads the sandbox has applied (stored after the delay of the delayed sync), from its stats."""
    return int(stats["applied"])


def accepted_leads(stats: dict[str, Any]) -> int:
    """How many delayedSync calls the sandbox has accepted (answered 200), from its stats."""
    return int(stats["accepted"])


# --- one client run -----------------------------------------------------------------------------------------------


def run_client(client: str, server: Sandbox, *, rows: int, tag: str, plan: Plan) -> dict[str, Any]:
    """One client process pushing `rows` new leads to `server`; its figures and the server's, checked.

    Raises:
        RuntimeError: the client failed, or the sandbox did not accept and apply every row.
    """
    command = [sys.executable, str(HERE / "client_worker.py"), client, "--base-url", server.base_url,
               "--rows", str(rows), "--tag", tag, "--concurrency", str(plan.concurrency)]  # fmt: skip
    before = server.stats()
    server_cpu_before = server.cpu_seconds()
    machine_before, window_start = measure.machine_busy_seconds(), time.perf_counter()
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=_CLIENT_TIMEOUT_S,
        env={**os.environ, "PUBLITRAC_API_KEY": server.api_key},
    )
    window = time.perf_counter() - window_start
    machine_busy = measure.machine_busy_seconds() - machine_before
    server_cpu_in_window = server.cpu_seconds() - server_cpu_before
    if completed.returncode != 0 or not completed.stdout.strip():
        raise RuntimeError(
            f"client {client} failed (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
        )
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    after = _wait_applied(server, applied_leads(before) + rows)
    server_cpu = server.cpu_seconds() - server_cpu_before

    accepted_by_server = accepted_leads(after) - accepted_leads(before)
    stored = after.get("leads_stored", rows) - before.get("leads_stored", 0)
    if figures["accepted"] != rows or accepted_by_server != rows or after.get("failed", 0) or stored != rows:
        raise RuntimeError(
            f"client {client}: {figures['accepted']} rows answered 200; the sandbox accepted {accepted_by_server}"
            f" and stores {stored} new leads, of {rows} (stats: {after}): nothing is measured that did not happen"
        )
    wall, cpu = figures["wall_s"], figures["cpu_s"]
    return {
        **figures,
        "latency_ms": server.latency_ms,
        "tag": tag,
        "applied_by_server": applied_leads(after) - applied_leads(before),
        "rows_per_s": rows / wall,
        "cpu_ms_per_row": 1000 * cpu / rows,
        "client_cores": cpu / wall,
        "server_cpu_s": server_cpu,
        # the token request is a request too; the server's work includes applying the leads after the answer
        "server_cpu_ms_per_request": 1000 * server_cpu / (rows + 1),
        "server_cores": server_cpu / wall,
        # CPU taken by other processes while the client ran (its whole process, start-up included): the noise
        "other_cores": max(0.0, machine_busy - figures["process_cpu_s"] - server_cpu_in_window) / window,
    }


def _wait_applied(server: Sandbox, expected: int) -> dict[str, Any]:
    deadline = time.monotonic() + _APPLY_TIMEOUT_S
    while True:
        stats = server.stats()
        if applied_leads(stats) >= expected:
            return stats
        if time.monotonic() > deadline:
            raise RuntimeError(f"the sandbox applied {applied_leads(stats)} leads of {expected}: {stats}")
        time.sleep(0.1)


def run_sync_benchmark(plan: Plan, work_dir: Path, log: Any) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for latency_ms in plan.latencies_ms:
        with ExitStack() as latency_scope:
            shared = None
            if plan.sandbox_per == "latency":
                shared = latency_scope.enter_context(
                    sandbox(latency_ms, work_dir / f"sandbox-l{_format_number(latency_ms)}.log")
                )
            for rows in plan.rows:
                for repetition in range(1, plan.repeat + 1):
                    for client in plan.clients:  # alternate the clients: A B C D A B C D ...
                        pushed = plan.rows_for(client, rows)
                        tag = f"l{_format_number(latency_ms)}n{rows}r{repetition}{client}"
                        with ExitStack() as run_scope:
                            server = shared or run_scope.enter_context(
                                sandbox(latency_ms, work_dir / f"sandbox-{tag}.log")
                            )
                            run = run_client(client, server, rows=pushed, tag=tag, plan=plan)
                        _report_run(run, rows=rows, repetition=repetition, log=log)
                        runs.append(run)
    return runs


def _report_run(run: dict[str, Any], *, rows: int, repetition: int, log: Any) -> None:
    pushed, latency_ms, client = run["rows"], run["latency_ms"], run["client"]
    run.update(target_rows=rows, repetition=repetition, extrapolated=pushed < rows)
    print(
        f"  {latency_ms:>4g} ms  N={rows:<8,} #{repetition} {client:<8} {pushed:>8,} rows "
        f"{run['rows_per_s']:>9,.0f} rows/s  {run['cpu_ms_per_row']:6.3f} ms CPU/row  "
        f"server {run['server_cpu_ms_per_request']:.3f} ms CPU/request  "
        f"other processes {run['other_cores']:.2f} cores",
        file=log,
        flush=True,
    )


def summarise_sync(runs: list[dict[str, Any]], plan: Plan) -> list[dict[str, Any]]:
    """Medians over the repetitions, per latency, N and client."""
    summary = []
    for latency_ms in plan.latencies_ms:
        for rows in plan.rows:
            for client in plan.clients:
                group = [
                    r
                    for r in runs
                    if r["latency_ms"] == latency_ms and r["target_rows"] == rows and r["client"] == client
                ]
                if not group:
                    continue
                rate = statistics.median(r["rows_per_s"] for r in group)
                summary.append(
                    {
                        "latency_ms": latency_ms,
                        "rows": rows,
                        "client": client,
                        "rows_measured": group[0]["rows"],
                        "extrapolated": group[0]["extrapolated"],
                        "repetitions": len(group),
                        "rows_per_s": rate,
                        "rows_per_s_min": min(r["rows_per_s"] for r in group),
                        "rows_per_s_max": max(r["rows_per_s"] for r in group),
                        "wall_s_for_rows": rows / rate,
                        "cpu_ms_per_row": statistics.median(r["cpu_ms_per_row"] for r in group),
                        "client_cores": statistics.median(r["client_cores"] for r in group),
                        "peak_rss_mib": statistics.median(r["peak_rss_kib"] for r in group) / 1024,
                        "push_rss_growth_mib": _median_growth_mib(group),
                        "server_cpu_ms_per_request": statistics.median(
                            r["server_cpu_ms_per_request"] for r in group
                        ),
                        "server_cores": statistics.median(r["server_cores"] for r in group),
                        "other_cores": statistics.median(r["other_cores"] for r in group),
                    }
                )
    return summary


def _median_growth_mib(group: list[dict[str, Any]]) -> float | None:
    growth = [
        (r["peak_during_push_kib"] - r["rss_before_kib"]) / 1024 for r in group if r["peak_during_push_kib"]
    ]
    return statistics.median(growth) if growth else None


def ratios(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The toolkit against each baseline, per latency and N: rows per second and CPU per row."""
    by_key = {(s["latency_ms"], s["rows"], s["client"]): s for s in summary}
    result = []
    for (latency_ms, rows, client), toolkit in by_key.items():
        if client != "toolkit":
            continue
        entry: dict[str, Any] = {"latency_ms": latency_ms, "rows": rows}
        for baseline in ("aiohttp", "naive", "httpx", "httpx-sized-pool"):
            other = by_key.get((latency_ms, rows, baseline))
            if other is not None:
                entry[f"rows_per_s_toolkit_over_{baseline}"] = toolkit["rows_per_s"] / other["rows_per_s"]
                entry[f"cpu_per_row_toolkit_over_{baseline}"] = (
                    toolkit["cpu_ms_per_row"] / other["cpu_ms_per_row"]
                )
        result.append(entry)
    return result


# --- the dry run: building and validating bodies ------------------------------------------------------------------


def run_dry_run_benchmark(plan: Plan, log: Any) -> list[dict[str, Any]]:
    runs = []
    for rows in plan.dry_run_rows:
        completed = subprocess.run(
            [sys.executable, str(HERE / "dry_run_worker.py"), "--rows", str(rows)],
            capture_output=True,
            text=True,
            timeout=_CLIENT_TIMEOUT_S,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"dry run of {rows} rows failed:\n{completed.stdout}\n{completed.stderr}")
        run = json.loads(completed.stdout.strip().splitlines()[-1])
        runs.append(run)
        print(
            f"  dry run {rows:>10,} rows  {run['rows_per_s']:>10,.0f} rows/s  "
            f"peak {run['peak_above_frame_mib']:.1f} MiB above the frame's {run['frame_mib']:.1f} MiB; "
            f"sync(dry_run=True) {run['sync_dry_run_rows_per_s']:,.0f} rows/s, "
            f"peak {run['sync_dry_run_peak_above_frame_mib']:.1f} MiB",
            file=log,
            flush=True,
        )
    return runs


# --- report -------------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "memory_gib": round(memory_kib / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run_meta(started: float, **extra: Any) -> dict[str, Any]:
    """The `meta` of a benchmark's results: the date, what `extra` says of the run, its duration, the machine,
    the versions and the load (other work on the machine shows there)."""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **extra,
        "runtime_s": time.perf_counter() - started,
        "machine": machine(),
        "versions": versions(),
        "load_average": os.getloadavg(),
    }


def versions() -> dict[str, str]:
    found = {}
    for package in (
        "publitrac",
        "httpx",
        "httpx-aiohttp",
        "aiohttp",
        "pandas",
        "numpy",
        "uvicorn",
        "starlette",
    ):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def git_commit() -> str | None:
    completed = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE, check=False
    )
    return completed.stdout.strip() or None


_CLIENT_LABELS = {
    "naive": "naive loop (iterrows, blocking httpx)",
    "httpx": "httpx.AsyncClient, prebuilt bodies",
    "aiohttp": "aiohttp, prebuilt bodies",
    "toolkit": "publitrac.sync",
    "httpx-sized-pool": "httpx.AsyncClient, pool of 64, prebuilt bodies",
}


def markdown_tables(result: dict[str, Any]) -> str:
    """The README tables: the sync figures per latency and N, then the dry run's."""
    lines = [
        "| latency | N | client | rows/s | x toolkit | client CPU/row | peak RSS | server CPU/request |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    summary = result["sync"]["summary"]
    by_key = {(s["latency_ms"], s["rows"], s["client"]): s for s in summary}
    for s in summary:
        toolkit = by_key.get((s["latency_ms"], s["rows"], "toolkit"))
        relative = (
            f"{toolkit['rows_per_s'] / s['rows_per_s']:.2f}" if toolkit and s["client"] != "toolkit" else ""
        )
        measured = f" ({s['rows_measured']:,} rows)" if s["extrapolated"] else ""
        lines.append(
            f"| {s['latency_ms']:g} ms | {s['rows']:,} | {_CLIENT_LABELS[s['client']]}{measured} "
            f"| {s['rows_per_s']:,.0f} | {relative} | {s['cpu_ms_per_row']:.3f} ms "
            f"| {s['peak_rss_mib']:.0f} MiB | {s['server_cpu_ms_per_request']:.3f} ms |"
        )
    if result["dry_run"]:
        lines += [
            "",
            "| rows | find_problems + iter_bodies rows/s | find_problems rows/s | iter_bodies rows/s | frame "
            "| peak above frame | sync(dry_run=True) rows/s | its peak above frame |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for d in result["dry_run"]:
            lines.append(
                f"| {d['rows']:,} | {d['rows_per_s']:,.0f} | {d['validation_rows_per_s']:,.0f} "
                f"| {d['bodies_rows_per_s']:,.0f} | {d['frame_mib']:.0f} MiB | {d['peak_above_frame_mib']:.0f} MiB "
                f"| {d['sync_dry_run_rows_per_s']:,.0f} | {d['sync_dry_run_peak_above_frame_mib']:.0f} MiB |"
            )
    if result["targets"] and result["meta"].get("quick"):
        # a quick run's few rows measure start-up, not throughput: the targets are shown, not judged
        lines += ["", "Targets (not judged: a quick run is too small)", "", "| target | value | bound |"]
        lines.append("| --- | ---: | --- |")
        for t in result["targets"]:
            lines.append(f"| {t['name']} | {t['value']:.2f} {t['unit']} | {t['op']} {t['bound']} |")
    elif result["targets"]:
        lines += ["", "| target | value | met |", "| --- | ---: | --- |"]
        for t in result["targets"]:
            lines.append(
                f"| {t['name']} | {t['value']:.2f} {t['unit']} | {'yes' if t['met'] else '**no**'} |"
            )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> tuple[Plan, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description="Benchmark publitrac.sync against hand-written clients.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="a small run: 300 rows, 1 repetition")
    parser.add_argument("--rows", type=int, nargs="+", help="N, leads per run [10000 100000; quick: 300]")
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 20.0], help="added per call")
    parser.add_argument("--repeat", type=int, help="repetitions per client [3; quick: 1]")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--naive-rows", type=int, help="rows the naive loop pushes at most [400; quick: 100]")
    parser.add_argument("--httpx-rows", type=int, help="rows raw httpx pushes at most [1500; quick: 300]")
    parser.add_argument(
        "--dry-run-rows",
        type=int,
        nargs="*",
        help="frame sizes of the dry-run benchmark [10000 100000 1000000; quick: 2000 20000]; none to skip",
    )
    parser.add_argument(
        "--clients",
        nargs="+",
        choices=CLIENTS,
        default=list(CLIENTS),
        help="httpx-sized-pool: raw httpx with its pool sized to the concurrency (all connections kept alive)",
    )
    parser.add_argument(
        "--sandbox-per",
        choices=["run", "latency"],
        help="a fresh sandbox for every run, or one per latency with fresh emails per run [run; quick: latency]",
    )
    parser.add_argument("--skip-sync", action="store_true", help="only the dry-run benchmark")
    parser.add_argument(
        "--output",
        type=Path,
        help=f"where the JSON goes [{DEFAULT_OUTPUT.relative_to(HERE.parent)}; quick: "
        f"{QUICK_OUTPUT.relative_to(HERE.parent)}]",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    if args.output is None:
        args.output = QUICK_OUTPUT if quick else DEFAULT_OUTPUT
    plan = Plan(
        rows=tuple(args.rows or ([300] if quick else [10_000, 100_000])),
        latencies_ms=tuple(args.latency_ms),
        repeat=args.repeat or (1 if quick else 3),
        concurrency=args.concurrency,
        naive_rows=args.naive_rows or (100 if quick else 400),
        httpx_rows=args.httpx_rows or (300 if quick else 1_500),
        dry_run_rows=tuple(
            args.dry_run_rows
            if args.dry_run_rows is not None
            else ([2_000, 20_000] if quick else [10_000, 100_000, 1_000_000])
        ),
        clients=() if args.skip_sync else tuple(args.clients),
        sandbox_per=args.sandbox_per or ("latency" if quick else "run"),
    )
    return plan, args


def main(argv: Sequence[str] | None = None) -> int:
    plan, args = parse_args(argv)
    started, wall_start, load_start = dt.datetime.now(dt.UTC), time.perf_counter(), os.getloadavg()
    log = sys.stdout
    # the sandboxes' logs: removed after a successful run, kept (and named in the error) after a failed one
    work_dir = Path(tempfile.mkdtemp(prefix="publitrac-bench-"))
    print(f"publitrac benchmarks: {plan}", file=log, flush=True)

    try:
        runs = run_sync_benchmark(plan, work_dir, log) if plan.clients else []
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n(the sandboxes' logs are in {work_dir})") from exc
    shutil.rmtree(work_dir, ignore_errors=True)
    summary = summarise_sync(runs, plan)
    dry_runs = run_dry_run_benchmark(plan, log)
    result: dict[str, Any] = {
        "meta": {
            "date": started.isoformat(timespec="seconds"),
            "command": " ".join(
                ["python", "benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]
            ),
            "runtime_s": None,
            "quick": bool(args.quick),
            "load_average_start": load_start,
            "machine": machine(),
            "versions": versions(),
            "git_commit": git_commit(),
        },
        "plan": {**plan.__dict__, "clients": list(plan.clients)},
        "sync": {"summary": summary, "ratios": ratios(summary), "runs": runs},
        "dry_run": dry_runs,
    }
    result["targets"] = target_checks.evaluate(result)
    result["meta"]["runtime_s"] = round(time.perf_counter() - wall_start, 1)
    result["meta"]["load_average_end"] = os.getloadavg()

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print("\n" + markdown_tables(result), file=log)
    print(f"\n{result['meta']['runtime_s']:.0f} s; JSON written to {args.output}", file=log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
