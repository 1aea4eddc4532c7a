"""Streaming: files read in batches (`read_batches`), and the batch-by-batch sync (`sync_file`, `sync(iterable)`).

The reader is checked against `read_leads` on every streamed format; the sync against a scripted API (order of
rows that share an email, across batches) and against the sandbox over real HTTP.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
import httpx
import pandas as pd
import pytest

import publitrac
import publitrac.syncs._stream
from publitrac import Publitrac, StreamReport
from publitrac.files._batches import read_batches
from publitrac.files._reader import LeadFileError
from publitrac.sandbox import SandboxServer


def frame(n: int, *, distinct: int | None = None, invalid_every: int | None = None) -> pd.DataFrame:
    distinct = distinct or n
    emails = [f"lead{i % distinct}@example.com" for i in range(n)]
    if invalid_every:
        emails = [f"broken-{i}" if i % invalid_every == 3 else email for i, email in enumerate(emails)]
    return pd.DataFrame(
        {
            "Email": emails,
            "First Name": [f"row{i}" for i in range(n)],
            "CRM Lead ID": [f"{i:05d}" for i in range(n)],  # 00007 must stay 00007
        }
    )


# -- reading in batches -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_rows", [1, 7, 1000])
def test_csv_batches_are_read_leads_cut_in_pieces(tmp_path: Path, batch_rows: int) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(
        "Email;Nom;CRM Lead ID\nzoe@example.com;Zoë;007\n;NA;\nana@example.com;Ana;0012\n".encode("cp1252")
    )
    batches = read_batches(path, batch_rows=batch_rows)
    assert (batches.encoding, batches.delimiter, batches.streamed) == ("cp1252", ";", True)
    whole = pd.concat(list(batches))
    pd.testing.assert_frame_equal(whole, publitrac.read_leads(path).frame)
    assert whole["CRM Lead ID"].tolist()[0] == "007" and whole["Nom"].tolist()[1] == "NA"
    assert all(len(batch) <= batch_rows for batch in batches)


def test_json_lines_parquet_and_json_arrays_in_batches(tmp_path: Path) -> None:
    data = frame(25)
    lines = tmp_path / "leads.jsonl"
    lines.write_text("\n".join(json.dumps(row) for row in data.to_dict("records")) + "\n", encoding="utf-8")
    parquet = tmp_path / "leads.parquet"
    data.to_parquet(parquet)
    array = tmp_path / "leads.json"
    array.write_text(json.dumps(data.to_dict("records")), encoding="utf-8")
    for path, streamed in ((lines, True), (parquet, True), (array, False)):
        batches = read_batches(path, batch_rows=10)
        assert batches.streamed is streamed
        pieces = list(batches)
        assert [len(piece) for piece in pieces] == [10, 10, 5]
        whole = pd.concat(pieces)
        assert whole.index.tolist() == list(range(25))
        expected = publitrac.read_leads(path).frame
        assert whole.astype(str).values.tolist() == expected.astype(str).values.tolist()


def test_bad_bytes_part_way_raise_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    rows = "".join(f"lead{i}@example.com,Ann\n" for i in range(5000))
    path.write_bytes(b"email,name\n" + rows.encode() + b"bad@example.com,\xff\xfe\n")
    with pytest.raises(LeadFileError, match="cannot read"):
        list(read_batches(path, batch_rows=1000, encoding="utf-8"))


def test_duplicate_headers_are_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("email,name,email\na@example.com,Ann,b@example.com\n", encoding="utf-8")
    with pytest.raises(LeadFileError, match="duplicate column names"):
        read_batches(path)


# -- the streaming sync, scripted API ---------------------------------------------------------------------------


class Recorder:
    """A delayedSync that answers after a few loop turns and records arrivals per email."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[str]] = defaultdict(list)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.most_in_flight_per_email = 0
        self.calls = 0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/getToken"):
            return httpx.Response(200, json={"token": "t0k", "ttl": "900"})
        lead = json.loads(request.content)["leadInfo"]
        email = lead["email"].lower()
        self.calls += 1
        self.in_flight[email] += 1
        self.most_in_flight_per_email = max(self.most_in_flight_per_email, self.in_flight[email])
        try:
            # Later rows of the stream answer sooner: an unchained run would let them overtake.
            for _ in range(max(0, 40 - int(lead["firstName"][3:]) % 40)):
                await asyncio.sleep(0)
            self.arrivals[email].append(lead["firstName"])
            return httpx.Response(200, json={"status": "success", "code": 200})
        finally:
            self.in_flight[email] -= 1


def interrupting_after(api: Recorder, calls: int) -> Publitrac:
    """A connection to `api` that sends one Ctrl-C to the main thread once `calls` calls were made, as Jupyter's
    interrupt button does while a cell runs (once only: a second one would land after the run)."""
    sent = threading.Event()

    async def handle(request: httpx.Request) -> httpx.Response:
        if api.calls >= calls and not sent.is_set():
            sent.set()
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # type: ignore[arg-type]
        await asyncio.sleep(0.002)
        return await api.handle(request)

    return Publitrac(
        api_key="k", base_url="http://127.0.0.1:9/v2", async_transport=httpx.MockTransport(handle)
    )


def test_a_row_never_overtakes_an_earlier_row_of_its_email_from_an_earlier_batch(tmp_path: Path) -> None:
    api = Recorder()
    pt = Publitrac(
        api_key="k", base_url="http://127.0.0.1:9/v2", async_transport=httpx.MockTransport(api.handle)
    )
    data = frame(600, distinct=45)
    batches = [data.iloc[start : start + 50] for start in range(0, 600, 50)]

    report = publitrac.sync(iter(batches), pt, concurrency=32, progress=False)

    assert isinstance(report, StreamReport)
    assert report.counts["accepted"] == 600 and report.batches == 12
    assert api.calls == 600 and api.most_in_flight_per_email == 1
    expected: dict[str, list[str]] = defaultdict(list)
    for email, name in zip(data["Email"], data["First Name"], strict=True):
        expected[email] += [name]
    assert dict(api.arrivals) == dict(expected)


def test_ctrl_c_in_a_streamed_sync_inside_a_running_loop_stops_the_sending(tmp_path: Path) -> None:
    """As in Jupyter: the stream runs on a loop of its own in a worker thread; the kernel's interrupt reaches the
    cell's thread, and the run on the worker thread must stop too, not go on sending behind the user's back."""
    api = Recorder()
    pt = interrupting_after(api, 40)
    data = frame(3000)
    results = tmp_path / "results.csv"

    async def notebook_cell() -> None:
        batches = (data.iloc[start : start + 100] for start in range(0, 3000, 100))
        publitrac.sync_file(batches, pt, concurrency=4, progress=False, results_path=results)

    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(publitrac.SyncInterrupted) as caught:
            loop.run_until_complete(notebook_cell())
    finally:
        loop.close()
    calls = api.calls
    time.sleep(0.3)
    assert api.calls == calls, "the worker thread went on sending after Ctrl-C"
    report = caught.value.report
    assert isinstance(report, StreamReport) and report.interrupted
    assert calls < 3000 and report.counts["accepted"] <= calls
    table = pd.read_csv(results, dtype=str, keep_default_na=False)
    assert table["row"].tolist() == [str(i) for i in range(report.rows)]
    assert report.rows < 3000 and not report.results_complete  # a user's generator is never drained


def test_a_notebook_streams_from_a_database_cursor_made_in_its_own_thread() -> None:
    """`pd.read_sql(..., chunksize=)` over a sqlite3 connection made in the notebook: sqlite3 refuses any other
    thread, and in a notebook the run goes on a worker thread; the batches are taken on the notebook's."""
    api = Recorder()
    pt = Publitrac(
        api_key="k", base_url="http://127.0.0.1:9/v2", async_transport=httpx.MockTransport(api.handle)
    )
    db = sqlite3.connect(":memory:")
    frame(250, invalid_every=50).to_sql("leads", db, index=False)

    async def notebook_cell() -> StreamReport:
        chunks = pd.read_sql("SELECT * FROM leads ORDER BY rowid", db, chunksize=40)
        return publitrac.sync(chunks, pt, concurrency=8, progress=False)

    report = asyncio.run(notebook_cell())
    assert report.rows == 250 and report.batches == 7
    assert report.counts["accepted"] == 245 and report.counts["invalid"] == 5 and api.calls == 245


def interrupted_while_reading(api: Recorder) -> tuple[StreamReport, float]:
    """A notebook cell syncing an iterable of 20 batches of 100 rows; Ctrl-C lands while the notebook's thread
    reads the sixth. Returns the interrupted run's report and how long the cell took."""
    pt = Publitrac(
        api_key="k", base_url="http://127.0.0.1:9/v2", async_transport=httpx.MockTransport(api.handle)
    )
    data = frame(2000)

    def batches() -> Iterator[pd.DataFrame]:
        for number, start in enumerate(range(0, 2000, 100)):
            if number == 5:
                assert threading.current_thread() is threading.main_thread()
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # type: ignore[arg-type]
                time.sleep(1)  # the interrupt arrives during the read
            yield data.iloc[start : start + 100]

    async def notebook_cell() -> None:
        publitrac.sync(batches(), pt, concurrency=4, progress=False)

    loop = asyncio.new_event_loop()
    started = time.monotonic()
    try:
        with pytest.raises(publitrac.SyncInterrupted) as caught:
            loop.run_until_complete(notebook_cell())
    finally:
        loop.close()
    report = caught.value.report
    assert isinstance(report, StreamReport)
    return report, time.monotonic() - started


def test_ctrl_c_while_a_notebook_reads_a_batch_stops_the_run() -> None:
    """The interrupt lands while the notebook's thread takes a batch for the run's worker thread: the run is
    cancelled, nothing waits forever for that batch."""
    api = Recorder()
    report, elapsed = interrupted_while_reading(api)
    assert elapsed < 30
    assert report.interrupted
    assert report.rows == 500 and sum(report.counts.values()) == 500 and api.calls <= 500


def test_ctrl_c_while_a_notebook_reads_says_interrupted_even_when_the_cancellation_comes_late(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The read that Ctrl-C stopped ends the rows to send at once; the run's cancellation, asked for from the
    notebook's thread, may land after the run has sent what it had. It still ends interrupted (seen on Python
    3.13: "500 rows: 500 accepted", not interrupted, 1,500 rows never read)."""
    from publitrac.syncs import _blocking

    cancel = _blocking._Handle.cancel

    def late_cancel(handle: _blocking._Handle) -> None:
        time.sleep(1.0)  # the run's thread goes on meanwhile
        cancel(handle)

    monkeypatch.setattr(_blocking._Handle, "cancel", late_cancel)
    report, _ = interrupted_while_reading(Recorder())
    assert report.interrupted, report
    assert report.rows == 500 and sum(report.counts.values()) == 500


def test_ctrl_c_in_a_notebook_still_lists_the_rows_of_the_file_never_read(tmp_path: Path) -> None:
    api = Recorder()
    pt = interrupting_after(api, 150)
    path = tmp_path / "leads.csv"
    frame(2000).to_csv(path, index=False)
    results = tmp_path / "results.csv"

    async def notebook_cell() -> None:
        publitrac.sync_file(path, pt, batch_rows=100, concurrency=4, progress=False, results_path=results)

    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(publitrac.SyncInterrupted) as caught:
            loop.run_until_complete(notebook_cell())
    finally:
        loop.close()
    report = caught.value.report
    assert isinstance(report, StreamReport) and report.interrupted and report.results_complete
    assert report.rows == 2000 and report.not_read >= 1000 and api.calls < 2000
    table = pd.read_csv(results, dtype=str, keep_default_na=False)
    assert table["row"].tolist() == [str(i) for i in range(2000)]
    assert (table.tail(report.not_read)["status"] == "not_sent").all()


def test_results_file_has_one_line_per_row_in_input_order(tmp_path: Path) -> None:
    api = Recorder()
    pt = Publitrac(
        api_key="k", base_url="http://127.0.0.1:9/v2", async_transport=httpx.MockTransport(api.handle)
    )
    data = frame(230, distinct=100, invalid_every=20)
    path = tmp_path / "leads.csv"
    data.to_csv(path, index=False)
    results = tmp_path / "results.csv"

    report = publitrac.sync_file(path, pt, batch_rows=16, results_path=results, progress=False)

    table = pd.read_csv(results, dtype=str, keep_default_na=False)
    assert list(table.columns) == [
        *["row", "email", "status", "http_status", "attempts", "error"],
        *["run_id", "sent_at", "body_key"],
    ]
    assert table["row"].tolist() == [str(i) for i in range(230)]
    assert table["email"].tolist() == data["Email"].tolist()
    invalid = data["Email"].str.startswith("broken")
    assert (table.loc[invalid.to_numpy(), "status"] == "invalid").all()
    assert table.loc[invalid.to_numpy(), "error"].str.contains("email").all()
    assert (table.loc[~invalid.to_numpy(), "status"] == "accepted").all()
    assert (table.loc[~invalid.to_numpy(), "http_status"] == "200").all()
    assert report.counts == {
        "accepted": 218,
        "unchanged": 0,
        "invalid": 12,
        "failed": 0,
        "in_flight": 0,
        "not_sent": 0,
    }
    assert report.problem_count == 12 and report.problems["position"].tolist()[:2] == [3, 23]
    assert report.ok is False and report.rows == 230
    assert report.results["status"].tolist() == table["status"].tolist()


def test_a_dry_run_streams_without_a_connection(tmp_path: Path) -> None:
    path = tmp_path / "leads.parquet"
    frame(1000, invalid_every=100).to_parquet(path)
    report = publitrac.sync_file(path, dry_run=True, batch_rows=128)
    assert report.counts["invalid"] == 10 and report.counts["not_sent"] == 990
    assert report.batches == 8 and not report.interrupted and "dry run" in report.describe()


def test_batches_with_other_columns_are_refused() -> None:
    batches = [frame(3), frame(3).rename(columns={"First Name": "Prénom"})]
    with pytest.raises(publitrac.ConfigurationError, match="batch 2 has other columns"):
        publitrac.sync(iter(batches), dry_run=True)


def test_a_refused_key_stops_the_stream_with_its_report(sandbox: SandboxServer, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    frame(50).to_csv(path, index=False)
    with pytest.raises(publitrac.AuthenticationError) as caught:
        publitrac.sync_file(path, Publitrac(api_key="wrong", base_url=sandbox.base_url), progress=False)
    report = caught.value.report
    assert isinstance(report, StreamReport) and report.interrupted
    assert report.counts["not_sent"] == 50


def test_a_stopped_file_stream_lists_the_rows_it_never_read(sandbox: SandboxServer, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    data = frame(95, invalid_every=20)
    data.to_csv(path, index=False)
    results = tmp_path / "results.csv"
    announced: list[str] = []
    with pytest.raises(publitrac.AuthenticationError) as caught:
        publitrac.syncs._stream.sync_stream(
            read_batches(path, batch_rows=10),
            Publitrac(api_key="wrong", base_url=sandbox.base_url),
            progress=False,
            results_path=results,
            list_unread=True,
            announce=announced.append,
        )
    report = caught.value.report
    assert isinstance(report, StreamReport) and report.interrupted and report.results_complete
    # The refusal came with the first batch: the rows after the batches read were listed without being read.
    assert 0 < report.not_read <= 90 and report.rows == 95
    assert sum(report.counts.values()) == 95 and report.counts["accepted"] == 0
    assert len(announced) == 1 and f"from row {95 - report.not_read:,} on" in announced[0]
    table = pd.read_csv(results, dtype=str, keep_default_na=False)
    assert table["row"].tolist() == [str(i) for i in range(95)]
    assert table["email"].tolist() == data["Email"].tolist()
    unread = table.tail(report.not_read)
    assert (unread["status"] == "not_sent").all() and (unread["attempts"] == "0").all()
    assert (unread["http_status"] == "").all() and (unread["error"] == "").all()
    # sync_file lists them too; validation only ever saw the rows read (no `invalid` among the unread)
    with pytest.raises(publitrac.AuthenticationError) as again:
        publitrac.sync_file(
            path, Publitrac(api_key="wrong", base_url=sandbox.base_url), batch_rows=10, results_path=results
        )
    assert again.value.report.rows == 95 and again.value.report.not_read == report.not_read
    assert len(pd.read_csv(results)) == 95


def test_a_second_interrupt_stops_the_listing_and_says_the_file_is_short(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    def batches() -> Iterator[pd.DataFrame]:
        data = frame(100)
        for start in range(0, 60, 10):
            yield data.iloc[start : start + 10]
        raise KeyboardInterrupt  # Ctrl-C pressed again while the rest is being listed

    results = tmp_path / "results.csv"
    # The run's own error is the one raised; the second interrupt only cut the listing short.
    with pytest.raises(publitrac.AuthenticationError) as caught:
        publitrac.syncs._stream.sync_stream(
            batches(),
            Publitrac(api_key="wrong", base_url=sandbox.base_url),
            progress=False,
            results_path=results,
            list_unread=True,
            announce=lambda line: None,
        )
    report = caught.value.report
    assert isinstance(report, StreamReport) and not report.results_complete
    assert report.rows == 60 and report.counts["not_sent"] == 60
    assert pd.read_csv(results)["row"].tolist() == list(range(60))


def test_a_users_iterable_is_not_drained_after_a_stop(sandbox: SandboxServer, tmp_path: Path) -> None:
    taken: list[int] = []

    def batches() -> Iterator[pd.DataFrame]:
        data = frame(1000)
        for start in range(0, 1000, 10):
            taken.append(start)
            yield data.iloc[start : start + 10]

    results = tmp_path / "results.csv"
    with pytest.raises(publitrac.AuthenticationError) as caught:
        publitrac.sync_file(
            batches(), Publitrac(api_key="wrong", base_url=sandbox.base_url), results_path=results
        )
    report = caught.value.report
    assert isinstance(report, StreamReport) and report.not_read == 0 and not report.results_complete
    assert len(taken) < 100 and report.rows == 10 * len(taken)
    assert len(pd.read_csv(results)) == report.rows


# -- the streaming sync, sandbox ---------------------------------------------------------------------------------


def test_sync_file_into_the_sandbox(make_sandbox: Callable[..., SandboxServer], tmp_path: Path) -> None:
    sandbox = make_sandbox(latency_ms=1)
    data = frame(3000, distinct=1200, invalid_every=250)
    path = tmp_path / "leads.csv"
    data.to_csv(path, index=False)
    pt = Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)

    report = publitrac.sync_file(path, pt, batch_rows=400, concurrency=64, progress=False)

    valid = data[~data["Email"].str.startswith("broken")]
    assert report.counts["accepted"] == len(valid) and report.counts["invalid"] == len(data) - len(valid)
    sandbox.wait_until_applied(timeout=30)
    assert sandbox.stats()["calls"]["delayedSync"] == len(valid)
    last = valid.groupby("Email").last()
    stored = {lead["email"]: lead for lead in sandbox.leads()}
    assert len(stored) == len(last)
    for email, row in last.iloc[::37].iterrows():
        assert stored[email]["leadInfo"]["firstName"] == row["First Name"]


def test_sync_file_takes_an_iterable_of_frames_too(tmp_path: Path) -> None:
    report = publitrac.sync_file(iter([frame(5), frame(2)]), dry_run=True, results_path=tmp_path / "r.csv")
    assert report.rows == 7 and report.batches == 2 and report.source is None
    assert report.results["row"].tolist() == list(range(7))
