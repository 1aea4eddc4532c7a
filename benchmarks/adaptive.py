"""Adaptive concurrency against the fixed engine: rows/s against a sandbox that limits or refuses calls.

    python benchmarks/adaptive.py                 # 3 scenarios x 2 engines x 3 repetitions (~6 min on 2 cores)
    python benchmarks/adaptive.py --quick         # a few rows, 1 repetition: results/adaptive-quick.json
    python benchmarks/adaptive.py --fixed-from 54e0371   # the fixed engine taken from a commit (git archive)

Scenarios, each against a fresh `publitrac sandbox` in its own process with 20 ms added to every call:

- `bucket`: a token-bucket rate limit (`--rate-limit 300 --burst 30`): calls over the bucket get 429 with
  `Retry-After: 1`. Reported: rows/s and the fraction of the limit reached.
- `random429`: 5% of calls answered 429 with `Retry-After: 1` whatever the load (`--fault 429=0.05`).
- `clean`: no fault (the control: what the window costs when nothing goes wrong).

Engines, each run in its own client process: `publitrac.sync(frame, pt, concurrency=64, ledger=False)`,
default settings otherwise (5 attempts, 60 s of retries); `adaptive` is the default engine, `fixed` the engine
before adaptive concurrency (64 requests in flight at all times; a Retry-After holds back every worker): the
engine's internal switch (`publitrac.engine._engine.ADAPTIVE = False`), or with `--fixed-from REF` the package
as it was at a commit, extracted with `git archive` and put first on the client's `PYTHONPATH`. The engines
alternate (fixed, adaptive, fixed, ...); medians of the repetitions.

rows/s counts accepted rows over the wall time of `sync` (token, mapping, validation, sending, report); rows
the engine gave up on (5 refusals) are counted apart as `failed`. The steady rate is read from the sandbox's
count of accepted calls, sampled every 0.25 s: rows per second between the moments 10% and 90% of the rows were
accepted (without the start-up, nor the tail of the last refused rows waiting out their `Retry-After`). The
fixed engine is slow enough under 429s that it pushes a slice (`--fixed-rows`); its rate does not depend on N.
Each run is checked against the sandbox's counters: it accepted exactly the rows the report calls accepted.

Results: a table on stdout and `benchmarks/results/adaptive.json` (`adaptive-quick.json` for `--quick`).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

import measure
from run import Sandbox, run_meta

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUTPUT = HERE / "results" / "adaptive.json"
QUICK_OUTPUT = HERE / "results" / "adaptive-quick.json"
ENGINES = ("fixed", "adaptive")
_CLIENT_TIMEOUT_S = 1800.0
_SAMPLE_S = 0.25

# Run as a file (not `-c` with PYTHONPATH=benchmarks/: `benchmarks/encodings.py` would shadow the standard library's
# `encodings` while Python starts).
_CLIENT = """
import json, os, sys, time
sys.path.insert(0, sys.argv[6])
import publitrac
import publitrac.engine._engine as engine
from leads import CUSTOM_COLUMNS, make_leads

mode, base_url, rows, tag, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
engine.ADAPTIVE = mode == "adaptive"  # an engine from before adaptive concurrency has no such switch: ignored
frame = make_leads(rows, tag=tag)
pt = publitrac.Publitrac(api_key=os.environ["PUBLITRAC_API_KEY"], base_url=base_url)
started = time.perf_counter()
report = publitrac.sync(frame, pt, email="email", custom_fields=CUSTOM_COLUMNS, concurrency=concurrency,
                        progress=False, ledger=False)
wall = time.perf_counter() - started
results = report.results
print(json.dumps({
    "wall_s": wall,
    "accepted": int((results["status"] == "accepted").sum()),
    "failed": int((results["status"] == "failed").sum()),
    "attempts": int(results["attempts"].sum()),
    "package": os.path.dirname(publitrac.__file__),
}))
"""


def scenarios(rate_limit: float, burst: float) -> dict[str, list[str]]:
    """The sandbox options of each scenario."""
    return {
        "bucket": ["--rate-limit", f"{rate_limit:g}", "--burst", f"{burst:g}", "--retry-after", "1"],
        "random429": ["--fault", "429=0.05", "--retry-after", "1"],
        "clean": [],
    }


def fixed_package(ref: str, work: Path) -> Path:
    """`src/` (and the spec) of the repository at `ref`, extracted into `work`: the package as it was then."""
    archive = work / "fixed.tar"
    paths = ["src", "openapi.yaml"]  # the package reads the spec from beside `src` in a checkout
    subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), ref, *paths], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(work / "fixed", filter="data")
    return work / "fixed" / "src"


def run_client(
    engine: str,
    sandbox: Sandbox,
    *,
    client: Path,
    rows: int,
    tag: str,
    concurrency: int,
    fixed_src: Path | None,
) -> dict[str, Any]:
    """One `publitrac.sync` in its own process; its figures, checked against the sandbox's counters."""
    env = {**os.environ, "PUBLITRAC_API_KEY": sandbox.api_key}
    if engine == "fixed" and fixed_src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(fixed_src), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    before = sandbox.stats()
    process = subprocess.Popen(
        [sys.executable, str(client), engine, sandbox.base_url, str(rows), tag, str(concurrency), str(HERE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=HERE,
    )
    # The sandbox's count of accepted calls, sampled while the client runs: the rate between the moments 10%
    # and 90% of the rows were in is the steady rate, without the client's start nor the last retries' wait.
    # One kept-alive connection: a new client per sample would cost this process more CPU than the run's client.
    samples: list[tuple[float, int]] = []
    deadline = time.monotonic() + _CLIENT_TIMEOUT_S
    busy_before, window_start = measure.machine_busy_seconds(), time.perf_counter()
    with httpx.Client(timeout=10) as http:
        while process.poll() is None and time.monotonic() < deadline:
            accepted = int(http.get(sandbox.stats_url).json()["accepted"])
            samples.append((time.monotonic(), accepted - int(before["accepted"])))
            time.sleep(_SAMPLE_S)
    machine_cores = (measure.machine_busy_seconds() - busy_before) / (time.perf_counter() - window_start)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    if process.returncode != 0 or not out.strip():
        raise RuntimeError(f"{engine} client failed ({process.returncode}):\n{out}{err}")
    figures: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    after = sandbox.stats()
    accepted_by_server = int(after["accepted"]) - int(before["accepted"])
    if accepted_by_server != figures["accepted"]:
        raise RuntimeError(
            f"{engine}: the report says {figures['accepted']} accepted, the sandbox {accepted_by_server}: {after}"
        )
    faults = after.get("faults", {})
    figures.update(
        engine=engine,
        rows=rows,
        rows_per_s=figures["accepted"] / figures["wall_s"],
        steady_rows_per_s=steady_rate(samples, rows),
        machine_busy_cores=machine_cores,
        refused_by_bucket=int(faults.get("rate_limit", 0)),
        random_429=int(faults.get("429", 0)),
    )
    return figures


def steady_rate(samples: Sequence[tuple[float, int]], rows: int) -> float | None:
    """Rows accepted per second between the samples where 10% and 90% of `rows` had been accepted."""

    def when(count: float) -> float | None:
        for (t0, c0), (t1, c1) in zip(samples, samples[1:], strict=False):
            if c0 < count <= c1:
                return t0 + (t1 - t0) * (count - c0) / (c1 - c0)
        return None

    start, end = when(0.1 * rows), when(0.9 * rows)
    if start is None or end is None or end <= start:
        return None
    return 0.8 * rows / (end - start)


def summarize(runs: list[dict[str, Any]], rate_limit: float) -> list[dict[str, Any]]:
    summary = []
    for scenario in dict.fromkeys(run["scenario"] for run in runs):
        for engine in ENGINES:
            mine = [run for run in runs if run["scenario"] == scenario and run["engine"] == engine]
            if not mine:
                continue
            rates = [run["rows_per_s"] for run in mine]
            entry: dict[str, Any] = {
                "scenario": scenario,
                "engine": engine,
                "rows": mine[0]["rows"],
                "repetitions": len(mine),
                "rows_per_s": statistics.median(rates),
                "rows_per_s_all": [round(rate, 1) for rate in rates],
                "steady_rows_per_s": _median([run["steady_rows_per_s"] for run in mine]),
                "failed": statistics.median(run["failed"] for run in mine),
                "attempts_per_row": statistics.median(run["attempts"] / run["rows"] for run in mine),
                "refused_by_bucket": statistics.median(run["refused_by_bucket"] for run in mine),
                "machine_busy_cores": [round(run["machine_busy_cores"], 2) for run in mine],
            }
            if scenario == "bucket":
                entry["fraction_of_limit"] = entry["rows_per_s"] / rate_limit
                if entry["steady_rows_per_s"] is not None:
                    entry["steady_fraction_of_limit"] = entry["steady_rows_per_s"] / rate_limit
            summary.append(entry)
        fixed, adaptive = (
            next((s for s in summary if s["scenario"] == scenario and s["engine"] == e), None)
            for e in ENGINES
        )
        if fixed and adaptive and fixed["rows_per_s"] > 0:
            adaptive["over_fixed"] = adaptive["rows_per_s"] / fixed["rows_per_s"]
    return summary


def _median(values: Sequence[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def table(summary: list[dict[str, Any]]) -> str:
    lines = [
        "| scenario | engine | rows | rows/s (median) | all runs | adaptive / fixed | of the limit "
        "| steady rows/s (10-90%) | steady, of the limit | failed rows | attempts/row |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in summary:
        ratio = f"{s['over_fixed']:.1f}x" if "over_fixed" in s else ""
        limit = f"{s['fraction_of_limit']:.0%}" if "fraction_of_limit" in s else ""
        steady = f"{s['steady_rows_per_s']:,.0f}" if s["steady_rows_per_s"] is not None else ""
        steady_limit = f"{s['steady_fraction_of_limit']:.0%}" if "steady_fraction_of_limit" in s else ""
        lines.append(
            f"| {s['scenario']} | {s['engine']} | {s['rows']:,} | {s['rows_per_s']:,.0f} | "
            f"{', '.join(f'{r:,.0f}' for r in s['rows_per_s_all'])} | {ratio} | {limit} | {steady} | "
            f"{steady_limit} | {s['failed']:g} | {s['attempts_per_row']:.2f} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a few rows, 1 repetition (the smoke test)")
    parser.add_argument("--rows", type=int, help="rows the adaptive engine pushes per run [9000; quick: 60]")
    parser.add_argument(
        "--fixed-rows", type=int, help="rows the fixed engine pushes per run [600; quick: 30]"
    )
    parser.add_argument("--repeat", type=int, help="repetitions [3; quick: 1]")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=20.0, help="added by the sandbox to every call")
    parser.add_argument(
        "--rate-limit", type=float, default=300.0, help="the bucket scenario's calls per second"
    )
    parser.add_argument("--burst", type=float, default=30.0, help="the bucket scenario's bucket size")
    parser.add_argument("--scenarios", nargs="+", choices=("bucket", "random429", "clean"))
    parser.add_argument("--fixed-from", metavar="REF", help="take the fixed engine from this git commit")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    args.rows = args.rows or (60 if args.quick else 9000)
    args.fixed_rows = args.fixed_rows or (30 if args.quick else 600)
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.output = args.output or (QUICK_OUTPUT if args.quick else OUTPUT)
    args.scenarios = args.scenarios or ["bucket", "random429", "clean"]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    options = scenarios(args.rate_limit, args.burst)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="publitrac-adaptive-") as tmp:
        work = Path(tmp)
        fixed_src = fixed_package(args.fixed_from, work) if args.fixed_from else None
        client = work / "client.py"
        client.write_text(_CLIENT, encoding="utf-8")
        for scenario in args.scenarios:
            for repetition in range(args.repeat):
                for engine in ENGINES:
                    rows = args.rows if engine == "adaptive" else args.fixed_rows
                    tag = f"{scenario[:2]}{engine[:2]}{repetition}{secrets.token_hex(3)}"
                    sandbox = Sandbox(
                        latency_ms=args.latency_ms,
                        api_key=secrets.token_urlsafe(16),
                        log_path=work / f"{tag}.log",
                        options=options[scenario],
                    )
                    try:
                        figures = run_client(
                            engine,
                            sandbox,
                            client=client,
                            rows=rows,
                            tag=tag,
                            concurrency=args.concurrency,
                            fixed_src=fixed_src,
                        )
                    finally:
                        sandbox.close()
                    figures.update(scenario=scenario, repetition=repetition)
                    runs.append(figures)
                    print(
                        f"{scenario:10} {engine:8} {figures['accepted']:>6} accepted {figures['failed']:>4} failed "
                        f"in {figures['wall_s']:6.1f} s: {figures['rows_per_s']:8.1f} rows/s",
                        flush=True,
                    )
    summary = summarize(runs, args.rate_limit)
    result = {
        "summary": summary,
        "runs": runs,
        "settings": {
            "latency_ms": args.latency_ms,
            "concurrency": args.concurrency,
            "rate_limit": args.rate_limit,
            "burst": args.burst,
            "random_429": 0.05,
            "retry_after_s": 1,
            "fixed_from": args.fixed_from or "engine switch (ADAPTIVE = False)",
        },
        "meta": run_meta(started, quick=args.quick),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print()
    print(table(summary))
    print(f"\n{args.output} ({result['meta']['runtime_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
