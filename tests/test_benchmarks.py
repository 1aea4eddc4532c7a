"""The benchmark script runs end to end on a tiny N and writes every figure, so that it cannot rot.

The figures themselves are not asserted against their targets here (a loaded CI machine would make that flaky);
`benchmarks/targets.py` is checked on crafted results instead.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Long, and the same on every Python: .ci/run runs it on Python 3.11 only (pytest -m "not slow" on the newest).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import adaptive  # noqa: E402
import measure  # noqa: E402
import run as bench_run  # noqa: E402
import targets  # noqa: E402
from leads import CUSTOM_COLUMNS, STANDARD_COLUMNS, make_leads, prebuilt_bodies  # noqa: E402

CLIENTS = ["naive", "httpx", "httpx-sized-pool", "aiohttp", "toolkit"]
SUMMARY_FIGURES = [
    "rows_per_s",
    "rows_per_s_min",
    "rows_per_s_max",
    "wall_s_for_rows",
    "cpu_ms_per_row",
    "client_cores",
    "peak_rss_mib",
    "push_rss_growth_mib",
    "server_cpu_ms_per_request",
    "server_cores",
    "other_cores",
]
RATIOS = [
    f"{figure}_toolkit_over_{baseline}"
    for figure in ("rows_per_s", "cpu_per_row")
    for baseline in ("aiohttp", "naive", "httpx", "httpx-sized-pool")
]
DRY_RUN_FIGURES = [
    "rows_per_s",
    "validation_rows_per_s",
    "bodies_rows_per_s",
    "frame_mib",
    "rss_with_frame_mib",
    "peak_rss_mib",
    "peak_above_frame_mib",
    "peak_above_frame_mb",
    "validation_peak_above_frame_mib",
    "bodies_peak_above_start_mib",
    "sync_dry_run_rows_per_s",
    "sync_dry_run_peak_above_frame_mib",
    "sync_dry_run_peak_above_frame_mb",
]


def _is_figure(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@pytest.fixture(scope="module")
def quick_result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("bench")
    output = folder / "latest.json"
    # The toolkit's client runs with the default ledger, as users do: a file of this run's, not the user's.
    env = {
        **os.environ,
        "PUBLITRAC_LEDGER": str(folder / "ledger.sqlite3"),
        "XDG_DATA_HOME": str(folder / "data"),
    }
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--quick", "--rows", "120", "--naive-rows", "40",
         "--dry-run-rows", "1000", "5000", "--output", str(output)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    # a quick run shows the targets without judging them (its few rows measure start-up, not throughput)
    assert "| target | value | bound |" in completed.stdout
    assert "| met |" not in completed.stdout and "**no**" not in completed.stdout
    return dict(json.loads(output.read_text()))


def test_every_client_has_every_figure_at_both_latencies(quick_result: dict[str, Any]) -> None:
    summary = quick_result["sync"]["summary"]
    keys = {(s["latency_ms"], s["client"]) for s in summary}
    assert keys == {(latency, client) for latency in (0.0, 20.0) for client in CLIENTS}
    for entry in summary:
        for figure in SUMMARY_FIGURES:
            assert _is_figure(entry[figure]) and entry[figure] >= 0, (entry["client"], figure, entry[figure])
        assert entry["rows_per_s"] > 0 and entry["cpu_ms_per_row"] > 0 and entry["peak_rss_mib"] > 10
    naive = [s for s in summary if s["client"] == "naive"]
    assert all(s["extrapolated"] and s["rows_measured"] == 40 for s in naive)


def test_every_run_was_accepted_and_applied_by_the_sandbox(quick_result: dict[str, Any]) -> None:
    runs = quick_result["sync"]["runs"]
    assert len(runs) == 2 * len(CLIENTS)
    for run in runs:
        assert run["accepted"] == run["rows"] > 0
        assert run["applied_by_server"] == run["rows"]


def test_ratios_and_targets_are_all_there(quick_result: dict[str, Any]) -> None:
    ratios = quick_result["sync"]["ratios"]
    assert {r["latency_ms"] for r in ratios} == {0.0, 20.0}
    for entry in ratios:
        for ratio in RATIOS:
            assert _is_figure(entry[ratio]) and entry[ratio] > 0, ratio
    names = [t["name"] for t in quick_result["targets"]]
    # 4 throughput ratios at 20 ms, the CPU ratio at 0 ms, two dry-run rates per size (the 1M-row peaks: not run)
    assert len(names) == 4 + 1 + 2 * 2
    assert all(isinstance(t["met"], bool) and _is_figure(t["value"]) for t in quick_result["targets"])


def test_dry_run_figures_for_each_size(quick_result: dict[str, Any]) -> None:
    dry_run = quick_result["dry_run"]
    assert [d["rows"] for d in dry_run] == [1000, 5000]
    for entry in dry_run:
        for figure in DRY_RUN_FIGURES:
            assert _is_figure(entry[figure]), figure
        assert entry["rows_per_s"] > 0 and entry["frame_mib"] > 0


def test_meta_describes_the_machine(quick_result: dict[str, Any]) -> None:
    machine = quick_result["meta"]["machine"]
    assert machine["nproc"] >= 1 and machine["cpu_model"] and machine["python"].startswith("3.")
    assert quick_result["meta"]["runtime_s"] > 0


def _result(ratio: float, cpu_ratio: float, dry_rate: float, dry_peak_mb: float) -> dict[str, Any]:
    return {
        "sync": {
            "ratios": [
                {"latency_ms": 20.0, "rows": 10, "rows_per_s_toolkit_over_aiohttp": ratio},
                {"latency_ms": 0.0, "rows": 10, "cpu_per_row_toolkit_over_aiohttp": cpu_ratio},
            ]
        },
        "dry_run": [
            {
                "rows": 1_000_000,
                "rows_per_s": dry_rate,
                "peak_above_frame_mb": dry_peak_mb,
                "sync_dry_run_rows_per_s": dry_rate,
                "sync_dry_run_peak_above_frame_mb": dry_peak_mb,
            }
        ],
    }


def test_targets_pass_and_fail_on_their_bounds() -> None:
    met = [t["met"] for t in targets.evaluate(_result(0.75, 3.0, 100_000, 300.0))]
    assert met == [True] * 6
    missed = [t["met"] for t in targets.evaluate(_result(0.74, 3.1, 99_999, 300.1))]
    assert missed == [False] * 6


def test_baseline_bodies_match_the_frame() -> None:
    frame = make_leads(3, tag="t1", seed=1)
    bodies = prebuilt_bodies(frame)
    assert [b["leadInfo"]["email"] for b in bodies] == list(frame["email"])
    assert set(bodies[0]["leadInfo"]) == set(STANDARD_COLUMNS)
    assert set(bodies[0]["leadCustomField"]) == set(CUSTOM_COLUMNS)
    assert json.loads(json.dumps(bodies)) == bodies  # plain Python values, no numpy scalars


def test_peak_reset_sees_a_new_allocation() -> None:
    measure.settle_memory()
    if not measure.reset_peak():
        pytest.skip("this kernel does not allow resetting VmHWM")
    before = measure.rss_kib()
    block = bytearray(64 * 2**20)
    block[::4096] = b"\x01" * len(block[::4096])  # touch every page so that it is resident
    assert measure.peak_rss_kib() - before >= 60 * 1024
    del block


def test_a_quick_run_leaves_the_committed_results_alone() -> None:
    _, quick = bench_run.parse_args(["--quick"])
    _, full = bench_run.parse_args([])
    assert quick.output == BENCHMARKS / "results" / "quick.json" != full.output
    assert full.output == BENCHMARKS / "results" / "latest.json"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "benchmarks/results/quick.json"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, "benchmarks/results/quick.json must be git-ignored"


def test_a_quick_run_shows_targets_without_judging_them() -> None:
    missed = targets.evaluate(_result(0.74, 3.1, 99_999, 300.1))
    result = {
        "sync": {"summary": [], "ratios": []},
        "dry_run": [],
        "targets": missed,
        "meta": {"quick": True},
    }
    table = bench_run.markdown_tables(result)
    assert "not judged" in table and "**no**" not in table and ">= 0.75" in table
    result["meta"]["quick"] = False
    assert "**no**" in bench_run.markdown_tables(result)


def test_the_ledger_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    output = tmp_path / "ledger.json"
    completed = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "ledger.py"),
            "--rows",
            "2000",
            "--repeat",
            "1",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result = json.loads(output.read_text(encoding="utf-8"))
    decide, rerun = result["decide"], result["rerun"]
    assert decide["rows"] == decide["ledger_leads"] == 2000
    for figure in ("decide_rows_per_s", "decide_rows_per_cpu_s", "keys_rows_per_s", "lookup_rows_per_s"):
        assert math.isfinite(decide[figure]) and decide[figure] > 0
    assert 0 < decide["bytes_per_lead"] < 1000
    assert rerun["rows"] == 2000 and rerun["posts"] == 0 and rerun["exit_status"] == 0
    bodies = result["bodies"]
    assert bodies["rows"] == 2000 and 0 < bodies["packed_bytes_per_body"] < bodies["json_bytes_per_body"]
    assert bodies["bytes_per_lead_with_bodies"] > bodies["bytes_per_lead_fingerprints_only"] > 0
    assert result["machine"]["nproc"] >= 1 and "before" in result["load_average_1min"]


def test_the_encodings_benchmark_runs_and_judges_every_file() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "encodings.py"),
            "--quick",
            "--label",
            "quick",
            "--speed-rows",
            "2000",
        ]
        + ["--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads((BENCHMARKS / "results" / "encodings-quick.json").read_text(encoding="utf-8"))
    matrix = result["matrix"]
    assert sum(matrix["totals"].values()) == matrix["files"] == sum(cell["tried"] for cell in matrix["cells"])
    assert matrix["totals"]["silently wrong"] == 0, matrix["not right nor flagged"]
    assert result["speed"]["rows"] == 2000 and result["speed"]["ratio"] > 0
    assert "0 silently wrong" in completed.stdout


def test_the_tables_benchmark_runs_end_to_end_and_stays_out_of_git() -> None:
    pytest.importorskip("polars")
    pytest.importorskip("duckdb")
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "tables.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads((BENCHMARKS / "results" / "tables-quick.json").read_text(encoding="utf-8"))
    assert result["rows"] == 20_000 and result["pandas_dry_run_s"] > 0
    assert set(result["conversion"]) == {
        "polars.DataFrame",
        "polars.LazyFrame",
        "pyarrow.Table",
        "pyarrow.RecordBatchReader",
        "duckdb relation",
        "Arrow PyCapsule stream",
    }
    assert all(figures["s_per_1M_rows"] > 0 for figures in result["conversion"].values())
    assert {stream["rows"] for stream in result["streamed"].values()} == {20_000}
    assert "peak" in completed.stdout
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "benchmarks/results/tables-quick.json"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0


def test_the_adaptive_benchmark_runs_both_engines_side_by_side(tmp_path: Path) -> None:
    output = tmp_path / "adaptive.json"
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "adaptive.py"), "--quick", "--scenarios", "bucket",
         "--rows", "20", "--fixed-rows", "10", "--output", str(output)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result = json.loads(output.read_text(encoding="utf-8"))
    summary = {(s["scenario"], s["engine"]): s for s in result["summary"]}
    assert set(summary) == {("bucket", "fixed"), ("bucket", "adaptive")}
    for entry in summary.values():
        assert _is_figure(entry["rows_per_s"]) and entry["rows_per_s"] > 0
        assert entry["repetitions"] == 1 and entry["attempts_per_row"] >= 1
    assert _is_figure(summary["bucket", "adaptive"]["fraction_of_limit"])
    assert _is_figure(summary["bucket", "adaptive"]["over_fixed"])
    runs = result["runs"]
    # each report adds up, and was checked against the sandbox's own count of accepted calls (else the script fails)
    assert [run["accepted"] + run["failed"] for run in runs] == [run["rows"] for run in runs]
    assert result["settings"]["rate_limit"] == 300 and "| bucket | adaptive |" in completed.stdout


def test_the_kept_bodies_benchmark_runs_every_variant(tmp_path: Path) -> None:
    output = tmp_path / "kept-bodies.json"
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "kept_bodies.py"), "--rows", "60", "--repeat", "1",
         "--package-from", "HEAD", "--output", str(output)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result = json.loads(output.read_text(encoding="utf-8"))
    summary = {entry["variant"]: entry for entry in result["summary"]}
    assert set(summary) == {"bodies", "no-bodies", "no-ledger", "bodies@HEAD"}
    for entry in summary.values():
        assert _is_figure(entry["rows_per_s"]) and entry["rows_per_s"] > 0
        assert _is_figure(entry["cpu_us_per_row"])
    # every run was checked against the sandbox's count (else the script fails); the old package was the one used
    packages = {run["variant"]: run["package"] for run in result["runs"]}
    assert packages["bodies@HEAD"] != packages["bodies"]
    assert "| no-bodies |" in completed.stdout


def test_the_steady_rate_is_read_between_10_and_90_percent_of_the_rows() -> None:
    samples = [(0.0, 0), (1.0, 0), (2.0, 100), (3.0, 200), (4.0, 300), (5.0, 400), (10.0, 400)]
    # 40 rows in at t=1.4, 360 at t=4.6: 320 rows in 3.2 s; the idle start and the long tail do not count
    assert adaptive.steady_rate(samples, 400) == pytest.approx(100.0)
    assert adaptive.steady_rate(samples[:3], 400) is None  # never reached 90%
