"""What keeping the accepted bodies in the ledger costs a sync: rows/s and CPU, with the bodies, without, no ledger.

    python benchmarks/kept_bodies.py                      # 20,000 rows, 3 repetitions (~2 min on 2 cores)
    python benchmarks/kept_bodies.py --package-from REF   # the same, plus the package as it was at a commit

Each run: a fresh `publitrac sandbox` process (no added latency: the client is the bottleneck, so what the
ledger costs the client shows), and one client process running `publitrac.sync(frame, pt, concurrency=64)` on N
generated leads with a fresh SQLite ledger: `bodies` (the default, `keep_bodies=True`), `no-bodies`
(`keep_bodies=False`, `--no-bodies`) or `no-ledger` (`ledger=False`). With `--package-from REF`, the `bodies`
variant runs a second time with the package extracted from that commit (`git archive`), as `bodies@REF`. The
variants alternate; medians of the repetitions. rows/s is accepted rows over the wall time of `sync`; CPU is the
client process's. Each run is checked against the sandbox's count of accepted calls.

Results: a table on stdout and `benchmarks/results/kept-bodies.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adaptive import fixed_package
from run import Sandbox, run_meta

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "results" / "kept-bodies.json"

_CLIENT = """
import json, os, sys, time
sys.path.insert(0, sys.argv[5])
import publitrac
from leads import CUSTOM_COLUMNS, make_leads

variant, base_url, rows, ledger = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
frame = make_leads(rows, tag=os.urandom(3).hex())
pt = publitrac.Publitrac(api_key=os.environ["PUBLITRAC_API_KEY"], base_url=base_url)
options = {"ledger": False} if variant == "no-ledger" else {"ledger": ledger}
if variant == "no-bodies":
    options["keep_bodies"] = False
cpu, started = time.process_time(), time.perf_counter()
report = publitrac.sync(frame, pt, email="email", custom_fields=CUSTOM_COLUMNS, concurrency=64, progress=False,
                        **options)
wall, cpu = time.perf_counter() - started, time.process_time() - cpu
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "accepted": int(report.counts["accepted"]),
                  "package": os.path.dirname(publitrac.__file__)}))
"""


def run_client(variant: str, client: Path, rows: int, work: Path, package: Path | None) -> dict[str, Any]:
    api_key = secrets.token_urlsafe(16)
    sandbox = Sandbox(latency_ms=0, api_key=api_key, log_path=work / f"{variant}-{secrets.token_hex(3)}.log")
    env = {**os.environ, "PUBLITRAC_API_KEY": api_key}
    if package is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(package), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    ledger = work / f"ledger-{secrets.token_hex(4)}.sqlite3"
    try:
        done = subprocess.run(
            [
                sys.executable,
                str(client),
                variant.split("@")[0],
                sandbox.base_url,
                str(rows),
                str(ledger),
                str(HERE),
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=HERE,
            timeout=1800,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{variant} client failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        accepted = int(sandbox.stats()["accepted"])
    finally:
        sandbox.close()
    if accepted != figures["accepted"] or accepted != rows:
        raise RuntimeError(
            f"{variant}: {figures['accepted']} reported accepted, the sandbox {accepted}, of {rows}"
        )
    return {**figures, "variant": variant, "rows": rows, "rows_per_s": rows / figures["wall_s"]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--package-from", metavar="REF", help="also run `bodies` with the package at this commit"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    variants = ["bodies", "no-bodies", "no-ledger"]
    if args.package_from:
        variants.append(f"bodies@{args.package_from}")
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="publitrac-bodies-") as tmp:
        work = Path(tmp)
        package = fixed_package(args.package_from, work) if args.package_from else None
        client = work / "client.py"
        client.write_text(_CLIENT, encoding="utf-8")
        for repetition in range(args.repeat):
            for variant in variants:
                figures = run_client(variant, client, args.rows, work, package if "@" in variant else None)
                figures["repetition"] = repetition
                runs.append(figures)
                print(
                    f"{variant:18} {figures['rows_per_s']:8.0f} rows/s  {figures['cpu_s']:6.2f} s CPU",
                    flush=True,
                )
    summary = []
    for variant in variants:
        mine = [run for run in runs if run["variant"] == variant]
        summary.append(
            {
                "variant": variant,
                "rows_per_s": statistics.median(run["rows_per_s"] for run in mine),
                "rows_per_s_all": [round(run["rows_per_s"]) for run in mine],
                "cpu_us_per_row": statistics.median(run["cpu_s"] for run in mine) / args.rows * 1e6,
            }
        )
    result = {
        "summary": summary,
        "runs": runs,
        "meta": run_meta(started, rows=args.rows),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print("\n| variant | rows/s (median) | all runs | client CPU per row |")
    print("| --- | ---: | --- | ---: |")
    for entry in summary:
        runs_text = ", ".join(f"{rate:,}" for rate in entry["rows_per_s_all"])
        print(
            f"| {entry['variant']} | {entry['rows_per_s']:,.0f} | {runs_text} | {entry['cpu_us_per_row']:.0f} us |"
        )
    print(f"\n{args.output} ({result['meta']['runtime_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
