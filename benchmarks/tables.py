"""What reading a table of another library costs: conversion to pandas per 1M rows, and a streamed reader's memory.

Conversion: the same 1M leads (email, a text id `0000123`, an int id with 10% nulls, a time-zoned date-time, a
name, a categorical tier) held as a Polars DataFrame and LazyFrame, an Arrow Table and RecordBatchReader, a DuckDB
relation and a bare Arrow PyCapsule stream, converted to the pandas frames the engine takes
(`files._tables`: `open_table(x).frame()` for eager tables, `.batches()` drained for lazy ones). Each kind
alternates with the others, 3 repetitions, the median kept. The reference is the dry run of the same rows held as
a plain pandas frame (`publitrac.sync(df, dry_run=True)`: mapping, validation, the report; median of 3), the work
every input pays after its conversion; and the same dry run on each kind of input (conversion included), against
it.

Memory: a 1M-row `pa.RecordBatchReader` whose batches are made as they are read (the source never holds the rows),
and a 1M-row Polars LazyFrame computed by Polars (`int_range`), are each synced as a dry run in their own process;
the figure is the peak resident memory above the process's memory just before the run (`VmHWM` reset, as
`dry_run_worker.py` measures).

    python benchmarks/tables.py                  # 1M rows (~4 min on 2 cores)
    python benchmarks/tables.py --rows 100000    # shorter
    python benchmarks/tables.py --quick          # 20,000 rows, 1 repetition

Results: `benchmarks/results/tables.json` (`tables-quick.json` with `--quick`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

STREAM_WORKER = """
import json, sys
sys.path.insert(0, {here!r})
import measure
import pyarrow as pa
import publitrac

ROWS, BATCH = {rows}, 50_000
schema = pa.schema([("email", pa.string()), ("CRM Lead ID", pa.string()), ("Account", pa.int64()),
                    ("First Name", pa.string()), ("Company", pa.string())])

def batches():
    for start in range(0, ROWS, BATCH):
        ids = range(start, min(ROWS, start + BATCH))
        yield pa.record_batch([
            pa.array([f"lead{{i:07d}}@example.com" for i in ids]),
            pa.array([f"{{i:07d}}" for i in ids]),
            pa.array([None if i % 10 == 0 else i for i in ids], pa.int64()),
            pa.array(["Zoë"] * len(ids)),
            pa.array(["Acme"] * len(ids)),
        ], schema=schema)

def lazy_frame():
    import polars as pl
    i = pl.int_range(0, ROWS)
    return pl.LazyFrame().select(
        email=pl.format("lead{{}}@example.com", i), **{{"CRM Lead ID": i.cast(pl.String).str.zfill(7)}},
        Account=pl.when(i % 10 == 0).then(None).otherwise(i), **{{"First Name": pl.lit("Zoë")}},
        Company=pl.lit("Acme"),
    )

source = pa.RecordBatchReader.from_batches(schema, batches()) if {source!r} == "reader" else lazy_frame()
measure.settle_memory()
start = measure.rss_kib()
measure.reset_peak()
began = __import__("time").perf_counter()
report = publitrac.sync(source, dry_run=True, progress=False, ledger=False, custom_fields=["Account", "Company"])
seconds = __import__("time").perf_counter() - began
print(json.dumps({{"rows": report.rows, "seconds": seconds, "start_mb": start / 1024,
                  "peak_above_start_mb": (measure.peak_rss_kib() - start) / 1024}}))
"""


def make_table(rows: int) -> Any:
    import pyarrow as pa

    ids = range(rows)
    paris = dt.timezone(dt.timedelta(hours=1))
    base = dt.datetime(2024, 3, 1, 9, 30, tzinfo=paris)
    return pa.table(
        {
            "email": pa.array([f"lead{i:07d}@example.com" for i in ids]),
            "CRM Lead ID": pa.array([f"{i:07d}" for i in ids]),
            "Account": pa.array([None if i % 10 == 0 else 100_000 + i for i in ids], pa.int64()),
            "Signed up": pa.array(
                [base + dt.timedelta(minutes=i) for i in ids], pa.timestamp("us", tz="Europe/Paris")
            ),
            "First Name": pa.array(["Zoë", "Ada", "Bjørn"] * (rows // 3) + ["Ada"] * (rows % 3)),
            "Tier": pa.array(["gold", "silver"] * (rows // 2) + ["gold"] * (rows % 2)).dictionary_encode(),
        }
    )


class CapsuleOnly:
    def __init__(self, table: Any) -> None:
        self._table = table

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self._table.__arrow_c_stream__(requested_schema)


def kinds(table: Any) -> dict[str, Callable[[], Any]]:
    """Each kind of input, made fresh for a repetition (readers and streams are read once); not timed."""
    import duckdb
    import polars as pl
    import pyarrow as pa

    polars_frame = pl.from_arrow(table)
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'Europe/Paris'")
    return {
        "polars.DataFrame": lambda: polars_frame,
        "polars.LazyFrame": lambda: polars_frame.lazy(),
        "pyarrow.Table": lambda: table,
        "pyarrow.RecordBatchReader": lambda: pa.RecordBatchReader.from_batches(
            table.schema, table.to_batches(max_chunksize=50_000)
        ),
        "duckdb relation": lambda: connection.from_arrow(table),
        "Arrow PyCapsule stream": lambda: CapsuleOnly(table),
    }


def convert(source: Any) -> int:
    from publitrac.files._tables import open_table

    opened = open_table(source)
    if not opened.lazy:
        return len(opened.frame(sent=opened.columns))
    return sum(len(frame) for frame in opened.batches(sent=opened.columns))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 1 repetition")
    args = parser.parse_args(argv)
    rows, repeat = (20_000, 1) if args.quick else (args.rows, args.repeat)

    import pandas as pd
    import polars as pl
    import pyarrow as pa

    import publitrac

    table = make_table(rows)
    makers = kinds(table)
    frame = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    frame["Tier"] = frame["Tier"].astype(str)
    settings: dict[str, Any] = {"custom_fields": ["Account", "Signed up", "Tier"], "progress": False}

    seconds: dict[str, list[float]] = {name: [] for name in makers}
    dry_runs: dict[str, list[float]] = {name: [] for name in makers}
    reference: list[float] = []
    for _ in range(repeat):
        for name, make in makers.items():
            source = make()
            started = time.perf_counter()
            converted = convert(source)
            seconds[name].append(time.perf_counter() - started)
            assert converted == rows, (name, converted)
            source = make()
            started = time.perf_counter()
            report = publitrac.sync(source, dry_run=True, ledger=False, **settings)
            dry_runs[name].append(time.perf_counter() - started)
            assert report.counts["not_sent"] == rows, (name, report)
        started = time.perf_counter()
        publitrac.sync(frame, dry_run=True, ledger=False, **settings)
        reference.append(time.perf_counter() - started)

    dry_run = statistics.median(reference)
    per_million = 1_000_000 / rows
    conversion = {
        name: {
            "median_s": statistics.median(times),
            "s_per_1M_rows": statistics.median(times) * per_million,
            "vs_pandas_dry_run": statistics.median(times) / dry_run,
            "runs_s": times,
            "dry_run_s": statistics.median(dry_runs[name]),
            "dry_run_vs_pandas": statistics.median(dry_runs[name]) / dry_run,
            "dry_run_runs_s": dry_runs[name],
        }
        for name, times in seconds.items()
    }
    streamed = {}
    for source in ("reader", "polars-lazy"):
        worker = subprocess.run(
            [sys.executable, "-c", STREAM_WORKER.format(here=str(HERE), rows=rows, source=source)],
            capture_output=True,
            text=True,
            check=True,
        )
        streamed[source] = json.loads(worker.stdout)

    print(f"{rows:,} rows; pandas dry run (the reference): {dry_run:.2f} s (median of {repeat})")
    print(
        f"{'input':<28}{'conversion s':>14}{'s per 1M rows':>15}{'x dry run':>11}{'dry run s':>11}{'x pandas':>10}"
    )
    for name, figures in conversion.items():
        print(
            f"{name:<28}{figures['median_s']:>14.2f}{figures['s_per_1M_rows']:>15.2f}"
            f"{figures['vs_pandas_dry_run']:>11.2f}{figures['dry_run_s']:>11.2f}{figures['dry_run_vs_pandas']:>10.2f}"
        )
    for source, stream in streamed.items():
        print(
            f"streamed {source}, {stream['rows']:,} rows, dry run: {stream['seconds']:.1f} s, "
            f"peak {stream['peak_above_start_mb']:.0f} MB above the start ({stream['start_mb']:.0f} MB)"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("tables-quick.json" if args.quick else "tables.json")
    out.write_text(
        json.dumps(
            {
                "rows": rows,
                "repeat": repeat,
                "pandas_dry_run_s": dry_run,
                "pandas_dry_run_runs_s": reference,
                "conversion": conversion,
                "streamed": streamed,
                "versions": {
                    "python": platform.python_version(),
                    "pandas": pd.__version__,
                    "pyarrow": pa.__version__,
                    "polars": pl.__version__,
                    "duckdb": __import__("duckdb").__version__,
                },
                "machine": {
                    "cpus": __import__("os").cpu_count(),
                    "load_1min": __import__("os").getloadavg()[0],
                },
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written: {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
