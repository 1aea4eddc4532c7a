"""Tables of other libraries in (`files/_tables.py`, `syncs/_tables.py`, `syncs/_polars.py`): Polars eager and lazy,
Arrow Table and RecordBatchReader, a DuckDB relation and a bare Arrow PyCapsule stream, synced over real HTTP into
the sandbox with their exact values; the per-column errors; the Polars namespace; a 1M-row reader in bounded memory.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import subprocess
import sys
import textwrap
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import publitrac
from publitrac import ConfigurationError, Publitrac, StreamReport, SyncReport
from publitrac.files._tables import is_table, open_table
from publitrac.sandbox import SandboxServer

pa = pytest.importorskip("pyarrow")
pl = pytest.importorskip("polars")
duckdb = pytest.importorskip("duckdb")

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
BIG_ID = 2**53 + 1  # a float64 holds 2**53: an id with gaps read as floats would arrive as ...992
CUSTOM = ["Account", "Signed up", "Tier"]


def leads_table() -> Any:
    """The leads as Arrow holds them; every kind of input below is made from this table."""
    return pa.table(
        {
            "Email": ["ada@example.com", "zoe@example.com", "bjorn@example.com"],
            "First Name": ["Ada", "Zoë", "Bjørn 東京"],
            "CRM Lead ID": ["007", "00Q5e00000ABCdE", "0012"],
            "Account": pa.array([BIG_ID, None, 42], pa.int64()),
            "Signed up": pa.array(
                [
                    dt.datetime(2024, 3, 1, 9, 30, tzinfo=PARIS),
                    None,
                    dt.datetime(2024, 7, 1, 12, 0, 0, 500_000, PARIS),
                ],
                pa.timestamp("us", tz="Europe/Paris"),
            ),
            "Tier": pa.array(["gold", None, "silver"]).dictionary_encode(),
            "Notes": pa.array([["call back"], [], None], pa.list_(pa.string())),  # never sent: never blocks
        }
    )


class CapsuleOnly:
    """An object of no known library that only exports an Arrow stream (the PyCapsule interface)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self._table.__arrow_c_stream__(requested_schema)


def duckdb_relation(table: Any) -> Any:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'Europe/Paris'")  # DuckDB keeps instants; the session zone is shown
    return connection.from_arrow(table)


SOURCES: dict[str, tuple[Callable[[Any], Any], type]] = {
    "polars.DataFrame": (lambda table: pl.from_arrow(table), SyncReport),
    "polars.LazyFrame": (lambda table: pl.from_arrow(table).lazy(), StreamReport),
    "pyarrow.Table": (lambda table: table, SyncReport),
    "pyarrow.RecordBatchReader": (
        lambda table: pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=2)),
        StreamReport,
    ),
    "duckdb.DuckDBPyRelation": (duckdb_relation, StreamReport),
    "Arrow stream": (CapsuleOnly, StreamReport),
}


def connect(sandbox: SandboxServer) -> Publitrac:
    return Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)


@pytest.mark.parametrize("kind", SOURCES)
def test_each_kind_of_table_arrives_in_the_sandbox_with_its_exact_values(
    sandbox: SandboxServer, kind: str
) -> None:
    make, report_type = SOURCES[kind]
    source = make(leads_table())
    assert is_table(source)

    report = publitrac.sync(source, connect(sandbox), custom_fields=CUSTOM, progress=False)

    assert type(report) is report_type
    assert report.counts["accepted"] == 3 and report.ok, report
    sandbox.wait_until_applied(timeout=10)
    ada, zoe, bjorn = (sandbox.lead(f"{name}@example.com") for name in ("ada", "zoe", "bjorn"))
    assert ada is not None and zoe is not None and bjorn is not None
    assert ada["leadInfo"] == {"email": "ada@example.com", "firstName": "Ada", "crmLeadId": "007"}
    assert ada["leadCustomField"] == {
        "Account": BIG_ID,
        "Signed up": "2024-03-01T09:30:00+01:00",
        "Tier": "gold",
    }
    assert zoe["leadInfo"] == {"email": "zoe@example.com", "firstName": "Zoë", "crmLeadId": "00Q5e00000ABCdE"}
    assert not zoe.get("leadCustomField")  # nulls are left out, never sent as null, 0 or "None"
    assert bjorn["leadInfo"]["firstName"] == "Bjørn 東京" and bjorn["leadInfo"]["crmLeadId"] == "0012"
    assert bjorn["leadCustomField"] == {
        "Account": 42,
        "Signed up": "2024-07-01T12:00:00.500000+02:00",
        "Tier": "silver",
    }
    assert type(bjorn["leadCustomField"]["Account"]) is int


def test_the_conversion_keeps_the_types_the_engine_sends_exactly() -> None:
    frame = open_table(pl.from_arrow(leads_table())).frame(sent=["Email", "CRM Lead ID", *CUSTOM])
    assert str(frame["Account"].dtype) == "Int64" and frame["Account"].tolist() == [BIG_ID, pd.NA, 42]
    assert frame["CRM Lead ID"].tolist() == ["007", "00Q5e00000ABCdE", "0012"]
    assert str(frame["Signed up"].dtype).endswith("Europe/Paris]")
    assert frame["Tier"].tolist()[::2] == ["gold", "silver"]
    assert frame["Notes"].isna().all()  # not sent: carried empty, never converted
    assert list(frame.index) == [0, 1, 2]


def test_a_reader_is_converted_batch_by_batch_with_rows_numbered_on() -> None:
    table = leads_table()
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=2))
    opened = open_table(reader)
    batches = list(opened.batches(sent=["Email"]))
    assert opened.lazy and [list(batch.index) for batch in batches] == [[0, 1], [2]]
    assert all(
        str(batch["Account"].dtype) == "Int64" for batch in batches
    )  # the same dtype with or without nulls


UNSENDABLE = {
    "Price": (pa.array([decimal.Decimal("1.50"), None, None], pa.decimal128(10, 2)), "a Decimal column"),
    "Tags": (pa.array([["a"], None, []], pa.list_(pa.string())), "a List column"),
    "Address": (
        pa.array([{"city": "Lyon"}, None, None], pa.struct([("city", pa.string())])),
        "a Struct column",
    ),
    "Photo": (pa.array([b"\x89PNG", None, None], pa.binary()), "a Binary column"),
    "Band": (
        pa.array([decimal.Decimal("1"), None, None], pa.decimal128(5, 0)).dictionary_encode(),
        "a categorical (dictionary) column of values that are a Decimal column",
    ),
}


@pytest.mark.parametrize("column", UNSENDABLE)
@pytest.mark.parametrize("kind", ["polars.DataFrame", "pyarrow.RecordBatchReader", "Arrow stream"])
def test_a_sent_column_without_an_exact_value_is_refused_by_name_before_anything_is_sent(
    sandbox: SandboxServer, column: str, kind: str
) -> None:
    values, what = UNSENDABLE[column]
    if kind == "polars.DataFrame" and column == "Band":
        pytest.skip("Polars has no categorical of decimals")
    table = leads_table().append_column(column, values)
    make = SOURCES[kind][0]

    with pytest.raises(ConfigurationError) as raised:
        publitrac.sync(make(table), connect(sandbox), custom_fields=[column], progress=False)

    message = str(raised.value)
    assert f"column {column!r} is {what} (" in message
    assert "cast it in the source" in message and f"mapping={{{column!r}: None}}" in message
    assert "--map" in raised.value.in_words("cli")
    assert sandbox.stats()["calls"] == {}  # refused before the first request, token included


@pytest.mark.parametrize("column", ["Price", "Tags"])
def test_an_unsendable_column_left_out_does_not_block_the_run(sandbox: SandboxServer, column: str) -> None:
    table = leads_table().append_column(column, UNSENDABLE[column][0])
    pt = connect(sandbox)

    with pytest.raises(ConfigurationError) as raised:
        publitrac.sync(pl.from_arrow(table), pt, custom_fields="all", progress=False)
    assert "columns 'Notes' (a List column" in str(raised.value) and f"{column!r} (a " in str(raised.value)
    assert f"mapping={{'Notes': None, {column!r}: None}}" in str(raised.value)
    report = publitrac.sync(
        pl.from_arrow(table), pt, custom_fields="all", mapping={column: None, "Notes": None}, progress=False
    )

    assert report.counts["accepted"] == 3
    sandbox.wait_until_applied(timeout=10)
    lead = sandbox.lead("ada@example.com")
    assert (
        lead is not None
        and column not in lead["leadCustomField"]
        and lead["leadCustomField"]["Tier"] == "gold"
    )


def test_validate_and_preview_take_every_kind_and_refuse_the_same_columns() -> None:
    table = leads_table().append_column("Price", UNSENDABLE["Price"][0])
    table = table.set_column(0, "Email", pa.array(["ada@example.com", "not an email", "bjorn@example.com"]))
    for kind, (make, _) in SOURCES.items():
        problems = publitrac.validate(make(table))
        assert problems["row"].tolist() == [1] and problems["position"].tolist() == [1], kind
        bodies = publitrac.preview(make(table), 5, custom_fields=["Account"])
        assert [body["leadInfo"]["email"] for body in bodies] == ["ada@example.com", "bjorn@example.com"], (
            kind
        )
        assert (
            bodies[0]["leadCustomField"] == {"Account": BIG_ID}
            and bodies[0]["leadInfo"]["crmLeadId"] == "007"
        )
        with pytest.raises(ConfigurationError, match="'Price' is a Decimal column"):
            publitrac.validate(make(table), custom_fields=["Price"])
        with pytest.raises(ConfigurationError, match="'Price' is a Decimal column"):
            publitrac.preview(make(table), custom_fields="all", mapping={"Notes": None})


def test_a_lazy_table_is_validated_batch_by_batch_with_its_rows_numbered_from_the_start() -> None:
    emails = [f"lead{i}@example.com" if i != 7 else "broken" for i in range(10)]
    reader = pa.RecordBatchReader.from_batches(
        pa.schema([("email", pa.string())]), pa.table({"email": emails}).to_batches(max_chunksize=3)
    )
    problems = publitrac.validate(reader)
    assert problems[["row", "position"]].values.tolist() == [[7, 7]]


def test_sync_file_streams_a_table_in_batches_of_batch_rows(sandbox: SandboxServer, tmp_path: Path) -> None:
    lazy = pl.LazyFrame(
        {"Email": [f"lead{i}@example.com" for i in range(25)], "Lead ID": [f"{i:03d}" for i in range(25)]}
    )
    results = tmp_path / "results.csv"

    report = publitrac.sync_file(lazy, connect(sandbox), batch_rows=10, results_path=results, progress=False)

    assert (report.rows, report.batches, report.counts["accepted"]) == (25, 3, 25)
    assert pd.read_csv(results)["row"].tolist() == list(range(25))
    sandbox.wait_until_applied(timeout=10)
    lead = sandbox.lead("lead7@example.com")
    assert lead is not None and lead["leadInfo"]["crmLeadId"] == "007"


def test_the_polars_namespace_delegates_to_the_functions(sandbox: SandboxServer) -> None:
    frame = pl.from_arrow(leads_table())
    pt = connect(sandbox)

    eager = frame.publitrac.sync(pt, custom_fields=CUSTOM, progress=False)
    lazy = frame.lazy().publitrac.sync(pt, custom_fields=CUSTOM, progress=False, dry_run=True)

    assert isinstance(eager, SyncReport) and eager.counts["accepted"] == 3
    assert isinstance(lazy, StreamReport) and lazy.counts["unchanged"] == 3  # the ledger has them now
    assert frame.publitrac.validate().empty
    assert frame.lazy().publitrac.preview(1) == publitrac.preview(frame, 1)
    assert frame.publitrac.preview(1)[0]["leadInfo"]["crmLeadId"] == "007"


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_publitrac_imports_neither_polars_nor_duckdb_and_registers_polars_when_it_comes() -> None:
    out = _python(
        """
        import sys, publitrac
        print("polars" in sys.modules, "duckdb" in sys.modules)
        import polars as pl
        print(hasattr(pl.DataFrame(), "publitrac"), hasattr(pl.LazyFrame(), "publitrac"))
        """
    )
    assert out.split() == ["False", "False", "True", "True"]


def test_the_namespace_is_registered_when_polars_came_first_and_skipped_when_it_is_missing() -> None:
    assert _python("import polars as pl, publitrac; print(hasattr(pl.DataFrame(), 'publitrac'))") == "True"
    missing = """
        import sys
        sys.modules["polars"] = None  # as if not installed: `import polars` raises ImportError
        import pandas as pd, publitrac
        print(any(type(finder).__name__ == "_AfterPolars" for finder in sys.meta_path))
        frame = pd.DataFrame({"email": ["a@b.co"]})
        print(publitrac.sync(frame, dry_run=True, progress=False, ledger=False).counts["not_sent"])
    """
    assert _python(missing).split() == ["False", "1"]


STREAM_WORKER = """
import json, sys
sys.path.insert(0, {benchmarks!r})
import measure
import pyarrow as pa
import publitrac

ROWS, BATCH = 1_000_000, 50_000
schema = pa.schema([("email", pa.string()), ("CRM Lead ID", pa.string()), ("Account", pa.int64()),
                    ("First Name", pa.string()), ("Company", pa.string())])

def batches():
    for start in range(0, ROWS, BATCH):
        ids = range(start, start + BATCH)
        yield pa.record_batch([
            pa.array([f"lead{{i:07d}}@example.com" for i in ids]),
            pa.array([f"{{i:07d}}" for i in ids]),
            pa.array([None if i % 10 == 0 else i for i in ids], pa.int64()),
            pa.array(["Zoë"] * BATCH),
            pa.array(["Acme"] * BATCH),
        ], schema=schema)

measure.settle_memory()
start = measure.rss_kib()
measure.reset_peak()
report = publitrac.sync(pa.RecordBatchReader.from_batches(schema, batches()), dry_run=True, progress=False,
                        ledger=False, custom_fields=["Account", "Company"])
print(json.dumps({{"rows": report.rows, "not_sent": report.counts["not_sent"],
                  "peak_above_start_mb": (measure.peak_rss_kib() - start) / 1024}}))
"""


def test_a_million_row_reader_streams_in_bounded_memory() -> None:
    benchmarks = str(Path(__file__).resolve().parents[1] / "benchmarks")
    result = json.loads(_python(STREAM_WORKER.format(benchmarks=benchmarks)))
    assert result["rows"] == 1_000_000 and result["not_sent"] == 1_000_000
    assert result["peak_above_start_mb"] < 300, result


# -- the command line: Arrow IPC files (what Polars' write_ipc, DuckDB's COPY ... (FORMAT arrow) and pyarrow write)


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "batches"])
@pytest.mark.parametrize("suffix", [".arrow", ".arrows"])
def test_the_command_line_syncs_an_arrow_ipc_file_with_its_exact_values(
    sandbox: SandboxServer, tmp_path: Path, suffix: str, streamed: bool
) -> None:
    from test_cli import run_cli

    path = tmp_path / f"leads{suffix}"
    table = leads_table()
    with pa.OSFile(str(path), "wb") as sink:
        opener = pa.ipc.new_file if suffix == ".arrow" else pa.ipc.new_stream
        with opener(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=2)
    results = tmp_path / "results.csv"
    env = {"PUBLITRAC_API_KEY": sandbox.api_key, "PUBLITRAC_BASE_URL": sandbox.base_url}
    custom = [arg for column in CUSTOM for arg in ("--custom", column)]
    batches = ["--batch-rows", "2"] if streamed else []

    done = run_cli("sync", str(path), *custom, *batches, "--results", str(results), env=env)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Arrow IPC" in done.stdout and "3 rows: 3 accepted" in done.stdout
    sandbox.wait_until_applied(timeout=10)
    ada = sandbox.lead("ada@example.com")
    assert ada is not None and ada["leadInfo"]["crmLeadId"] == "007"
    assert ada["leadCustomField"] == {
        "Account": BIG_ID,
        "Signed up": "2024-03-01T09:30:00+01:00",
        "Tier": "gold",
    }


def test_read_leads_reads_an_arrow_file_with_its_types(tmp_path: Path) -> None:
    from pyarrow import feather

    path = tmp_path / "leads.feather"
    feather.write_feather(leads_table(), str(path))
    leads = publitrac.read_leads(path)
    assert leads.details() == "Arrow IPC"
    assert str(leads.frame["Account"].dtype) == "Int64" and leads.frame["CRM Lead ID"].tolist()[0] == "007"
    assert leads.frame["Notes"].tolist()[0].tolist() == [
        "call back"
    ]  # read as pyarrow reads it, as Parquet is
    with pytest.raises(publitrac.LeadFileError, match="Arrow IPC"):
        (tmp_path / "bad.arrow").write_bytes(b"not arrow at all")
        publitrac.read_leads(tmp_path / "bad.arrow")
