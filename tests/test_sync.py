"""The sync engine and `publitrac.sync` / `sync_async`.

Unit tests drive the engine through httpx.MockTransport (retries, Retry-After, final 4xx, ordering of
duplicate emails, interruption, dry run). Integration tests at the end run over real HTTP against the sandbox.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import publitrac
from publitrac import AuthenticationError, Publitrac, SyncInterrupted
from publitrac.engine._report import SyncReport
from publitrac.engine._engine import Engine, rate_limiter

KEY = "SECRET-engine-key"
TOKEN = "T0KEN-engine!"


class FakeApi:
    """A scripted delayedSync: `script(email, attempt)` returns the answer for each call."""

    def __init__(self, script: Callable[[str, int], httpx.Response] | None = None, *, delay: int = 0) -> None:
        self.script = script or (lambda email, attempt: ok())
        self.delay = delay
        self.calls: dict[str, int] = defaultdict(int)
        self.order: list[str] = []
        self.in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight_per_email = 0
        self.max_in_flight = 0
        self.token_calls = 0
        self.hook: Callable[[int], Any] | None = None

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/getToken"):
            self.token_calls += 1
            if request.headers["authorization"] != KEY:
                return httpx.Response(401, json={"status": "error", "code": 401, "message": "bad key"})
            return httpx.Response(200, json={"token": TOKEN, "ttl": "900"})
        email = json.loads(request.content)["leadInfo"]["email"]
        self.calls[email] += 1
        self.order.append(email)
        self.in_flight[email] += 1
        self.max_in_flight_per_email = max(self.max_in_flight_per_email, self.in_flight[email])
        self.max_in_flight = max(self.max_in_flight, sum(self.in_flight.values()))
        if self.hook is not None:
            await self.hook(len(self.order))
        try:
            for _ in range(self.delay):
                await asyncio.sleep(0)
            return self.script(email, self.calls[email])
        finally:
            self.in_flight[email] -= 1


def ok() -> httpx.Response:
    return httpx.Response(200, json={"status": "success", "code": 200})


def error(code: int, message: str = "nope", **headers: str) -> httpx.Response:
    return httpx.Response(code, json={"status": "error", "code": code, "message": message}, headers=headers)


def connect(api: FakeApi, key: str = KEY) -> Publitrac:
    return Publitrac(
        api_key=key, base_url="http://127.0.0.1:9/v2", async_transport=httpx.MockTransport(api.handle)
    )


def leads(n: int, **columns: Any) -> pd.DataFrame:
    frame = pd.DataFrame({"Email": [f"lead{i}@example.com" for i in range(n)], "First Name": ["Ann"] * n})
    for name, values in columns.items():
        frame[name] = values
    return frame


class Sleeps:
    """An injected sleep that only moves an injected clock."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 0.0

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


async def run_engine(
    api: FakeApi,
    n: int,
    *,
    max_attempts: int = 5,
    max_retry_time: float = 60.0,
    concurrency: int = 8,
    emails: list[str] | None = None,
    sleeps: Sleeps | None = None,
    adaptive: bool | None = None,
) -> tuple[SyncReport, Sleeps]:
    pt = connect(api)
    emails = emails or [f"lead{i}@example.com" for i in range(n)]
    frame = pd.DataFrame({"Email": emails})
    report = SyncReport(frame, emails=emails)
    sleeps = sleeps or Sleeps()
    async with pt.async_client() as client:
        engine = Engine(
            client,
            redact=pt.redact,
            concurrency=concurrency,
            rate_limit=None,
            max_attempts=max_attempts,
            max_retry_time=max_retry_time,
            progress=None,
            sleep=sleeps,
            clock=sleeps.clock,
            adaptive=adaptive,
        )
        await engine.run(((report, i, {"leadInfo": {"email": e}}) for i, e in enumerate(emails)))
    report._finish()
    return report, sleeps


# -- the engine ---------------------------------------------------------------------------------------------


async def test_every_row_is_accepted_with_one_attempt() -> None:
    api = FakeApi(delay=3)
    report, sleeps = await run_engine(api, 50, concurrency=8)
    results = report.results
    assert (results["status"] == "accepted").all()
    assert (results["http_status"] == 200).all()
    assert (results["attempts"] == 1).all()
    assert results["elapsed_ms"].notna().all()
    assert sleeps.waits == []
    assert api.token_calls == 1
    assert 1 < api.max_in_flight <= 8


async def test_transient_errors_are_retried_with_backoff() -> None:
    api = FakeApi(lambda email, attempt: error(503) if attempt < 3 else ok())
    report, sleeps = await run_engine(api, 4)
    results = report.results
    assert (results["status"] == "accepted").all()
    assert (results["attempts"] == 3).all()
    assert len(sleeps.waits) == 8  # two waits per row
    assert all(0 <= wait <= 10 for wait in sleeps.waits)


@pytest.mark.parametrize("code", [408, 429, 500, 502, 504])
async def test_each_retryable_status_is_retried(code: int) -> None:
    api = FakeApi(lambda email, attempt: error(code) if attempt == 1 else ok())
    report, _ = await run_engine(api, 1)
    assert report.results["attempts"].tolist() == [2]
    assert report.results["status"].tolist() == ["accepted"]


async def test_retry_after_is_honoured() -> None:
    api = FakeApi(
        lambda email, attempt: error(429, "slow down", **{"Retry-After": "7"}) if attempt == 1 else ok()
    )
    report, sleeps = await run_engine(api, 3, concurrency=1)
    assert (report.results["status"] == "accepted").all()
    assert len(sleeps.waits) == 3
    assert all(7 <= wait <= 8 for wait in sleeps.waits)


async def test_retry_after_delays_only_the_row_that_got_it() -> None:
    others_sent = asyncio.Event()
    order: list[tuple[str, int]] = []

    def script(email: str, attempt: int) -> httpx.Response:
        order.append((email, attempt))
        if len(order) == 4:
            others_sent.set()
        if email == "lead0@example.com" and attempt == 1:
            return error(429, "slow down", **{"Retry-After": "5"})
        return ok()

    class WaitForTheOthers(Sleeps):
        # lead0's wait ends only once every other row was sent: an engine that held them back until then
        # would never get there (and the test fails on its timeout instead of hanging).
        async def __call__(self, seconds: float) -> None:
            await super().__call__(seconds)
            await asyncio.wait_for(others_sent.wait(), timeout=10)

    sleeps = WaitForTheOthers()
    report, _ = await run_engine(FakeApi(script, delay=2), 4, concurrency=2, sleeps=sleeps)
    assert (report.results["status"] == "accepted").all()
    assert order[-1] == ("lead0@example.com", 2)  # retried after the others, which did not wait for it
    assert len(sleeps.waits) == 1 and sleeps.waits[0] >= 5.0  # the row itself waited its Retry-After
    assert report.results["attempts"].tolist() == [2, 1, 1, 1]


async def test_an_overload_shrinks_the_window_for_every_row() -> None:
    sleeps = Sleeps()
    api = FakeApi(lambda email, attempt: error(503, "busy") if attempt == 1 else ok(), delay=3)
    pt = connect(api)
    emails = [f"lead{i}@example.com" for i in range(60)]
    report = SyncReport(pd.DataFrame({"Email": emails}), emails=emails)
    async with pt.async_client() as client:
        engine = Engine(
            client,
            redact=pt.redact,
            concurrency=16,
            rate_limit=None,
            max_attempts=3,
            max_retry_time=60.0,
            progress=None,
            sleep=sleeps,
            clock=sleeps.clock,
        )
        await engine.run(((report, i, {"leadInfo": {"email": e}}) for i, e in enumerate(emails)))
    assert (report.results["status"] == "accepted").all()
    assert engine.window is not None and engine.window.decreases >= 1 and not engine.window.slow_start
    assert api.max_in_flight <= 16


async def test_the_fixed_engine_holds_back_every_worker_on_retry_after() -> None:
    sleeps = Sleeps()
    sent_at: dict[str, float] = {}

    def script(email: str, attempt: int) -> httpx.Response:
        sent_at.setdefault(email, sleeps.now)
        if email == "lead0@example.com":
            return error(429, "slow down", **{"Retry-After": "5"})
        return ok()

    api = FakeApi(script, delay=2)
    report, _ = await run_engine(api, 4, concurrency=2, sleeps=sleeps, max_attempts=1, adaptive=False)
    assert report.results["status"].tolist() == ["failed", "accepted", "accepted", "accepted"]
    assert sent_at["lead2@example.com"] >= 5.0 and sent_at["lead3@example.com"] >= 5.0
    assert 5.0 in sleeps.waits  # the gate's wait, without jitter


@pytest.mark.parametrize("code", [400, 403, 404, 405, 422, 501, 505])
async def test_other_answers_are_final_for_their_row(code: int) -> None:
    api = FakeApi(lambda email, attempt: error(code, "refused"))
    report, sleeps = await run_engine(api, 2)
    results = report.results
    assert results["status"].tolist() == ["failed", "failed"]
    assert results["http_status"].tolist() == [code, code]
    assert results["attempts"].tolist() == [1, 1]
    assert all(f"HTTP {code}" in text for text in results["error"])
    assert sleeps.waits == []


async def test_attempts_are_capped() -> None:
    api = FakeApi(lambda email, attempt: error(503, "down"))
    report, sleeps = await run_engine(api, 2, max_attempts=4)
    results = report.results
    assert results["status"].tolist() == ["failed", "failed"]
    assert results["attempts"].tolist() == [4, 4]
    assert results["http_status"].tolist() == [503, 503]
    assert sum(api.calls.values()) == 8
    assert len(sleeps.waits) == 6


async def test_total_retry_time_is_capped() -> None:
    api = FakeApi(lambda email, attempt: error(429, "later", **{"Retry-After": "120"}))
    report, sleeps = await run_engine(api, 1, max_retry_time=30.0)
    assert report.results["status"].tolist() == ["failed"]
    assert report.results["attempts"].tolist() == [1]  # waiting 120 s would pass the 30 s budget: give up now
    assert sleeps.waits == []


async def test_transport_errors_are_retried_and_reported() -> None:
    def flaky(email: str, attempt: int) -> httpx.Response:
        if email == "lead0@example.com" or attempt == 1:
            raise httpx.ConnectError("connection reset by peer")
        return ok()

    api = FakeApi(flaky)
    report, _ = await run_engine(api, 3, max_attempts=3)
    results = report.results
    assert results["status"].tolist() == ["failed", "accepted", "accepted"]
    assert pd.isna(results["http_status"].iloc[0])
    assert "ConnectError" in results["error"].iloc[0]
    assert results["attempts"].tolist() == [3, 2, 2]


async def test_rows_sharing_an_email_are_sent_one_after_another_in_row_order() -> None:
    emails = ["a@example.com", "b@example.com", "A@Example.com", "c@example.com", "a@example.com"] * 6
    api = FakeApi(delay=5)
    report, _ = await run_engine(api, len(emails), emails=emails, concurrency=16)
    assert (report.results["status"] == "accepted").all()
    assert api.max_in_flight_per_email == 1
    assert api.max_in_flight > 1  # different emails still go concurrently
    sent_a = [email for email in api.order if email.lower() == "a@example.com"]
    assert sent_a == [email for email in emails if email.lower() == "a@example.com"]


async def test_a_refused_api_key_stops_the_run_with_its_report() -> None:
    api = FakeApi()
    frame = leads(30)
    with pytest.raises(AuthenticationError) as caught:
        await publitrac.sync_async(frame, connect(api, key="wrong-SECRET"), progress=False)
    assert api.token_calls == 1
    assert api.calls == {}
    report = caught.value.report
    assert report is not None and report.interrupted
    assert report.counts["not_sent"] == 30
    assert "wrong-SECRET" not in str(caught.value)


async def test_cancelling_sync_async_keeps_a_report_of_every_row() -> None:
    api = FakeApi()
    started = asyncio.Event()
    release = asyncio.Event()

    async def hold(count: int) -> None:
        if count >= 20:
            started.set()
            await release.wait()  # these requests stay out until the run is cancelled

    api.hook = hold
    frame = leads(200)
    task = asyncio.create_task(publitrac.sync_async(frame, connect(api), concurrency=8, progress=False))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    report = publitrac.last_report()
    assert report is not None and report.interrupted and len(report) == 200
    counts = report.counts
    assert counts["accepted"] == 19
    assert counts["in_flight"] == 8
    assert counts["not_sent"] == 200 - 19 - 8
    assert sum(counts.values()) == 200
    assert set(report.rows_to_retry().index) == set(frame.index[19:])


def test_ctrl_c_in_a_blocking_sync_raises_with_the_report() -> None:
    api = FakeApi()

    async def interrupt(count: int) -> None:
        if count == 25:
            signal.raise_signal(signal.SIGINT)
        await asyncio.sleep(0)

    api.hook = interrupt
    frame = leads(300)
    with pytest.raises(SyncInterrupted) as caught:
        publitrac.sync(frame, connect(api), concurrency=4, progress=False)
    report = caught.value.report
    assert report is not None and report.interrupted
    counts = report.counts
    assert sum(counts.values()) == 300
    assert counts["accepted"] >= 20 and counts["not_sent"] >= 200
    assert isinstance(caught.value.__cause__, KeyboardInterrupt)


def test_blocking_sync_works_inside_a_running_event_loop() -> None:
    api = FakeApi()
    frame = leads(40)

    async def notebook_cell() -> publitrac.SyncReport:
        asyncio.get_running_loop()  # as in Jupyter: a loop is running in this thread
        return publitrac.sync(frame, connect(api), progress=False)

    report = asyncio.run(notebook_cell())
    assert report.counts["accepted"] == 40


def test_ctrl_c_in_a_blocking_sync_inside_a_running_loop() -> None:
    api = FakeApi()

    async def interrupt(count: int) -> None:
        if count == 10:
            # What Jupyter's interrupt button does: SIGINT to the thread running the cell.
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # type: ignore[arg-type]
        await asyncio.sleep(0.001)

    api.hook = interrupt
    frame = leads(500)
    loop = asyncio.new_event_loop()

    async def notebook_cell() -> None:
        publitrac.sync(frame, connect(api), concurrency=2, progress=False)

    try:
        with pytest.raises(SyncInterrupted) as caught:
            loop.run_until_complete(notebook_cell())
    finally:
        loop.close()
    counts = caught.value.report.counts
    assert sum(counts.values()) == 500
    assert counts["not_sent"] > 0


def test_dry_run_sends_nothing() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("a dry run must not touch the network")

    pt = Publitrac(api_key=KEY, base_url="http://127.0.0.1:9/v2", async_transport=httpx.MockTransport(refuse))
    frame = leads(5)
    frame.loc[2, "Email"] = "not-an-email"
    report = publitrac.sync(frame, pt, dry_run=True)
    assert report.results["status"].tolist() == ["not_sent", "not_sent", "invalid", "not_sent", "not_sent"]
    assert report.dry_run and not report.interrupted
    assert publitrac.sync(frame, None, dry_run=True).counts["invalid"] == 1  # no connection needed


def test_invalid_rows_are_reported_and_never_sent() -> None:
    api = FakeApi()
    frame = leads(6, **{"CRM Lead ID": [1, 2, float("inf"), 4, 5, 6]})  # inf: no JSON number
    frame.loc[4, "Email"] = None
    report = publitrac.sync(frame, connect(api), progress=False)
    assert report.results["status"].tolist() == ["accepted"] * 2 + [
        "invalid",
        "accepted",
        "invalid",
        "accepted",
    ]
    assert set(api.calls) == {f"lead{i}@example.com" for i in (0, 1, 3, 5)}
    assert "CRM Lead ID" in report.results.loc[2, "error"]
    assert list(report.invalid_rows().index) == [2, 4]
    assert not report.problems.empty


def test_the_callers_frame_is_never_modified() -> None:
    frame = leads(10, Company=["  Acme  "] * 10)
    frame.loc[3, "Email"] = "broken"
    before = frame.copy(deep=True)
    publitrac.sync(frame, connect(FakeApi()), custom_fields=["Company"], progress=False)
    pd.testing.assert_frame_equal(frame, before)


def test_results_are_aligned_to_the_input_index() -> None:
    frame = leads(4)
    frame.index = pd.Index(["w", "x", "y", "z"], name="lead")
    report = publitrac.sync(frame, connect(FakeApi()), progress=False)
    assert list(report.results.index) == ["w", "x", "y", "z"]
    assert report.results.index.name == "lead"


@pytest.mark.parametrize(
    "settings",
    [
        {"concurrency": 0},
        {"rate_limit": 0},
        {"max_attempts": 0},
        {"max_retry_time": -1},
        {"concurrency": 2.5},
    ],
)
def test_bad_settings_are_configuration_errors(settings: dict[str, Any]) -> None:
    with pytest.raises(publitrac.ConfigurationError):
        publitrac.sync(leads(2), connect(FakeApi()), progress=False, **settings)


def test_rate_limiter_settings() -> None:
    assert rate_limiter(None) is None
    fast = rate_limiter(20)
    assert fast is not None and fast.max_rate == 20 and fast.time_period == 1.0
    slow = rate_limiter(0.5)
    assert slow is not None and slow.max_rate == 1 and slow.time_period == 2.0


def test_unreachable_host_mid_run_stops_instead_of_waiting_out_every_row() -> None:
    calls = {"n": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/getToken"):
            return httpx.Response(200, json={"token": TOKEN, "ttl": "900"})
        calls["n"] += 1
        raise httpx.ConnectError("connection refused")

    pt = Publitrac(
        api_key=KEY, base_url="http://127.0.0.1:9/v2", async_transport=httpx.MockTransport(handler)
    )
    with pytest.raises(publitrac.ConnectionFailed) as caught:
        publitrac.sync(leads(1000), pt, max_attempts=1, progress=False)
    report = caught.value.report
    assert report is not None
    assert report.counts["failed"] >= 64 and report.counts["not_sent"] > 800
    assert calls["n"] < 200


def test_email_column_in_results_and_body_json_is_clean() -> None:
    seen: list[dict[str, Any]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/getToken"):
            return httpx.Response(200, json={"token": TOKEN, "ttl": "900"})
        seen.append(json.loads(request.content))
        return ok()

    frame = pd.DataFrame(
        {
            "E-mail": [" ana@exemple.fr "],
            "CRM Lead ID": [np.float64(12387.0)],
            "Company": [" Acme "],
            "Notes": ["x"],
        }
    )
    pt = Publitrac(
        api_key=KEY, base_url="http://127.0.0.1:9/v2", async_transport=httpx.MockTransport(handler)
    )
    report = publitrac.sync(frame, pt, custom_fields=["Company"], progress=False)
    assert seen == [
        {"leadInfo": {"email": "ana@exemple.fr", "crmLeadId": 12387}, "leadCustomField": {"Company": "Acme"}}
    ]
    assert report.results["email"].tolist() == [" ana@exemple.fr "]


# -- integration: real HTTP against the sandbox -------------------------------------------------------------


def fault_frame(n: int) -> tuple[pd.DataFrame, set[int]]:
    """n leads: some invalid (never to be stored), some emails on two or three rows with different values."""
    rng = np.random.default_rng(7)
    emails = [f"lead{i}@example.com" for i in range(n)]
    for i in range(0, n, 37):  # a later row with the same address (other case, spaces): the later row wins
        if i + 11 < n:
            emails[i + 11] = f" LEAD{i}@Example.com "
    for i in range(5, n, 101):
        if i + 3 < n:
            emails[i + 3] = emails[i]
    frame = pd.DataFrame(
        {
            "Email": emails,
            "First Name": [f"First{i}" for i in range(n)],
            "Last Name": [None if i % 9 == 0 else f"Last{i}" for i in range(n)],
            "CRM Lead ID": pd.array([None if i % 13 == 0 else i * 10 for i in range(n)], dtype="Int64"),
            "Company": [f"Company {i % 17}" for i in range(n)],
            "Score": rng.integers(0, 100, n).astype(float),
        }
    )
    invalid = {
        i
        for i in range(3, n, 53)
        if frame.loc[i, "Email"].strip().lower()
        not in {e.strip().lower() for j, e in enumerate(emails) if j != i}
    }
    crm = frame["CRM Lead ID"].astype(object)
    for i in invalid:
        crm.iloc[i] = float(
            "inf"
        )  # a valid email, a value JSON cannot carry: the row must not be stored at all
    frame["CRM Lead ID"] = crm
    return frame, invalid


def expected_store(frame: pd.DataFrame, invalid: set[int], custom: list[str]) -> dict[str, dict[str, Any]]:
    """What Publitrac should hold: the bodies of the valid rows, upserted field by field in row order."""
    from publitrac.lead._bodies import iter_bodies
    from publitrac.lead._mapping import map_columns

    mapping = map_columns(frame, custom_fields=custom)
    valid = [i for i in range(len(frame)) if i not in invalid]
    store: dict[str, dict[str, Any]] = {}
    for _, body in iter_bodies(frame, mapping, valid):
        key = body["leadInfo"]["email"].lower()
        lead = store.setdefault(key, {"leadInfo": {}, "leadCustomField": {}})
        lead["leadInfo"].update(body["leadInfo"])
        lead["leadCustomField"].update(body.get("leadCustomField", {}))
    return store


def test_every_valid_row_arrives_exactly_despite_faults(make_sandbox: Callable[..., Any]) -> None:
    frame, invalid = fault_frame(2500)
    sandbox = make_sandbox(
        error_429=0.03, error_5xx=0.04, drop=0.02, revoke_every=400, retry_after=0, apply_delay=0.01, seed=11
    )
    pt = Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    custom = ["Company", "Score"]
    report = publitrac.sync(frame, pt, custom_fields=custom, concurrency=32, max_attempts=8, progress=False)

    statuses = report.results["status"]
    assert set(np.flatnonzero(statuses == "invalid")) == invalid
    assert (statuses[statuses != "invalid"] == "accepted").all(), report
    sandbox.wait_until_applied(timeout=60)
    stats = sandbox.stats()
    assert (
        stats["faults"].get("drop", 0) > 0
        and stats["faults"].get("503", 0) > 0
        and stats["faults"]["revoke"] > 0
    )
    assert stats["tokens_issued"] <= stats["faults"]["revoke"] + 1
    assert pt.token_requests == stats["tokens_issued"]

    expected = expected_store(frame, invalid, custom)
    stored = {lead["email"].lower(): lead for lead in sandbox.leads()}
    assert set(stored) == set(expected)  # invalid rows absent, duplicates merged into one lead
    for key, lead in expected.items():
        assert stored[key]["leadInfo"] == lead["leadInfo"], key
        assert stored[key]["leadCustomField"] == lead["leadCustomField"], key
    retried = report.results["attempts"] > 1
    assert retried.any()


def test_duplicate_emails_later_row_wins_under_concurrency(make_sandbox: Callable[..., Any]) -> None:
    n = 400
    frame = pd.DataFrame(
        {
            "Email": [f"same{i % 5}@example.com" for i in range(n)],
            "Job Title": [f"title {i}" for i in range(n)],
        }
    )
    sandbox = make_sandbox(latency_ms=2, drop=0.05, error_5xx=0.05, retry_after=0, apply_delay=0.0, seed=3)
    pt = Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    report = publitrac.sync(frame, pt, concurrency=32, max_attempts=10, progress=False)
    assert report.ok
    sandbox.wait_until_applied(timeout=30)
    for k in range(5):
        assert sandbox.lead(f"same{k}@example.com")["leadInfo"]["jobTitle"] == f"title {n - 5 + k}"


def test_idle_token_is_refreshed_before_use_against_the_sandbox(make_sandbox: Callable[..., Any]) -> None:
    from publitrac.sandbox import ManualClock

    clock = ManualClock()
    sandbox = make_sandbox(ttl=60, clock=clock, apply_delay=0.0)
    pt = Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url, clock=clock, refresh_margin=5)
    # ledger=False: each run sends the same leads again (with the ledger, they would be unchanged)
    assert publitrac.sync(leads(20), pt, progress=False, ledger=False).ok
    clock.advance(50)  # the TTL slides: still valid
    assert publitrac.sync(leads(20), pt, progress=False, ledger=False).ok
    clock.advance(61)  # idle past the TTL: a new token before the next call, without a 401 round trip
    assert publitrac.sync(leads(20), pt, progress=False, ledger=False).ok
    stats = sandbox.stats()
    assert stats["tokens_issued"] == 2
    assert stats["unauthorized"] == 0


def test_retry_after_and_rate_limit_against_the_sandbox(make_sandbox: Callable[..., Any]) -> None:
    sandbox = make_sandbox(rate_limit=150, retry_after=1, apply_delay=0.0)
    pt = Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    report = publitrac.sync(leads(500), pt, concurrency=32, progress=False)
    assert report.ok, report
    stats = sandbox.stats()
    assert stats["faults"].get("rate_limit", 0) > 0  # it did hit the limit, and came through
    assert report.elapsed >= 2.0  # 500 calls at 150/s, with one second's burst


def test_the_adaptive_window_finds_a_token_bucket_of_small_burst(make_sandbox: Callable[..., Any]) -> None:
    # 100 calls a second with a bucket of 5: far below one call per round trip on loopback. A fixed window of 64
    # would meet ~59 refusals for every 5 admitted; the adaptive one slows down to the bucket instead.
    sandbox = make_sandbox(rate_limit=100, burst=5, retry_after=1, apply_delay=0.0)
    pt = Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    report = publitrac.sync(leads(300), pt, concurrency=64, progress=False, ledger=False)
    assert report.ok, report
    refused = sandbox.stats()["faults"].get("rate_limit", 0)
    assert 0 < refused < 300


def test_random_429s_cost_only_their_own_rows_an_attempt_against_the_sandbox(
    make_sandbox: Callable[..., Any],
) -> None:
    sandbox = make_sandbox(error_429=0.05, retry_after=1, apply_delay=0.0, seed=3)
    pt = Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    report = publitrac.sync(leads(400), pt, concurrency=32, progress=False, ledger=False)
    assert report.ok, report
    injected = sandbox.stats()["faults"]["429"]
    attempts = report.results["attempts"]
    assert injected > 0 and attempts.sum() == 400 + injected  # each 429 cost its own row one more attempt
    assert sandbox.stats()["accepted"] == 400


def test_client_side_rate_limit_avoids_429s(make_sandbox: Callable[..., Any]) -> None:
    sandbox = make_sandbox(rate_limit=100, retry_after=1, apply_delay=0.0)
    pt = Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    report = publitrac.sync(leads(150), pt, concurrency=16, rate_limit=60, progress=False)
    assert report.ok
    assert sandbox.stats()["faults"].get("rate_limit", 0) == 0


def test_wrong_key_against_the_sandbox_fails_fast(make_sandbox: Callable[..., Any]) -> None:
    sandbox = make_sandbox()
    pt = Publitrac(api_key="not-the-key", base_url=sandbox.base_url)
    with pytest.raises(AuthenticationError) as caught:
        publitrac.sync(leads(200), pt, concurrency=32, progress=False)
    assert sandbox.stats()["calls"] == {"getToken": 1}
    assert caught.value.report.counts["not_sent"] == 200


def test_blocking_sync_in_a_running_loop_against_the_sandbox(make_sandbox: Callable[..., Any]) -> None:
    sandbox = make_sandbox(latency_ms=1)
    pt = Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)

    async def cell() -> publitrac.SyncReport:
        return publitrac.sync(leads(100), pt, progress=False)

    assert asyncio.run(cell()).ok
    sandbox.wait_until_applied()
    assert sandbox.stats()["leads_stored"] == 100


async def test_cancelled_run_against_the_sandbox_accounts_for_every_row(
    make_sandbox: Callable[..., Any],
) -> None:
    sandbox = make_sandbox(latency_ms=20, apply_delay=0.0)
    pt = Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    frame = leads(3000)
    task = asyncio.create_task(publitrac.sync_async(frame, pt, concurrency=16, progress=False))
    report = None
    while report is None or report.counts["accepted"] < 100:
        await asyncio.sleep(0.02)
        report = publitrac.last_report()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    report = publitrac.last_report()
    assert report is not None and report.interrupted
    counts = report.counts
    assert sum(counts.values()) == 3000 and counts["not_sent"] > 0 and counts["failed"] == 0
    await asyncio.to_thread(sandbox.wait_until_applied)
    stored = {lead["email"] for lead in await asyncio.to_thread(sandbox.leads)}
    results = report.results
    assert set(results.loc[results["status"] == "accepted", "email"]) <= stored
    assert not set(results.loc[results["status"] == "not_sent", "email"]) & stored


async def test_a_row_accepted_after_retries_has_no_error() -> None:
    api = FakeApi(lambda email, attempt: error(503, "busy") if attempt == 1 else ok())
    report, _ = await run_engine(api, 2)
    results = report.results
    assert (results["status"] == "accepted").all()
    assert results["error"].isna().all()


def test_rows_answered_with_a_final_error_reset_the_unreachable_count() -> None:
    calls = {"n": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/getToken"):
            return httpx.Response(200, json={"token": TOKEN, "ttl": "900"})
        calls["n"] += 1
        if calls["n"] % 2:
            raise httpx.ConnectError("connection refused")
        return error(400, "bad lead")

    pt = Publitrac(
        api_key=KEY, base_url="http://127.0.0.1:9/v2", async_transport=httpx.MockTransport(handler)
    )
    report = publitrac.sync(leads(200), pt, max_attempts=1, concurrency=1, progress=False)
    assert report.counts["failed"] == 200
    assert calls["n"] == 200


# -- answers that say they were not accepted, servers that never answer -------------------------------------


def error_body(code: int, message: str, **headers: str) -> httpx.Response:
    """HTTP 200 whose body reports an error, as an API that repeats its status in the body may send."""
    return httpx.Response(200, json={"status": "error", "code": code, "message": message}, headers=headers)


async def test_a_200_whose_body_reports_a_final_error_fails_the_row_with_its_message() -> None:
    api = FakeApi(lambda email, attempt: error_body(400, "invalid lead"))
    report, _ = await run_engine(api, 3)
    results = report.results
    assert (results["status"] == "failed").all()
    assert (results["http_status"] == 200).all()  # the real HTTP status
    assert (results["attempts"] == 1).all()  # final, as an HTTP 400 would be
    assert (results["error"] == "HTTP 200, body code 400: invalid lead").all()


@pytest.mark.parametrize("code", [429, 500, 503])
async def test_a_200_whose_body_reports_a_transient_error_is_retried(code: int) -> None:
    api = FakeApi(lambda email, attempt: error_body(code, "busy") if attempt < 3 else ok())
    report, sleeps = await run_engine(api, 4)
    results = report.results
    assert (results["status"] == "accepted").all() and results["error"].isna().all()
    assert (results["attempts"] == 3).all()
    assert len(sleeps.waits) >= 8  # the same backoff as an HTTP error gets


async def test_a_200_body_429_with_retry_after_holds_back_like_an_http_429() -> None:
    api = FakeApi(
        lambda email, attempt: error_body(429, "slow", **{"Retry-After": "4"}) if attempt == 1 else ok()
    )
    report, sleeps = await run_engine(api, 1)
    assert report.results["status"].tolist() == ["accepted"]
    assert sleeps.now >= 4.0


@pytest.mark.parametrize("content", [b"", b"<html><body>Welcome!</body></html>", b'{"ok": true}'])
async def test_a_200_whose_body_is_not_understood_is_retried_then_failed(content: bytes) -> None:
    api = FakeApi(lambda email, attempt: httpx.Response(200, content=content))
    report, _ = await run_engine(api, 2, max_attempts=3)
    results = report.results
    assert (results["status"] == "failed").all()
    assert (results["attempts"] == 3).all()
    assert results["error"].str.startswith("HTTP 200: answer not understood").all()


async def test_a_server_that_never_answers_stops_the_run_after_a_retry() -> None:
    def hang(email: str, attempt: int) -> httpx.Response:
        raise httpx.ReadTimeout("timed out")

    api = FakeApi(hang)
    with pytest.raises(publitrac.ConnectionFailed) as caught:
        await run_engine(api, 500, concurrency=8)
    message = str(caught.value)
    assert message.startswith("Stopped: no answer within 30 s on two tries in a row")
    assert "does not answer" in message
    assert sum(api.calls.values()) <= 16  # the first tries of 8 workers, then at most one more each


async def test_timeouts_among_answers_do_not_stop_the_run() -> None:
    def flaky(email: str, attempt: int) -> httpx.Response:
        if attempt == 1 and int(email[4:].split("@")[0]) % 2:
            raise httpx.ReadTimeout("timed out")
        return ok()

    api = FakeApi(flaky)
    report, _ = await run_engine(api, 100, concurrency=4)
    assert (report.results["status"] == "accepted").all()


def test_a_hung_server_mid_run_leaves_every_row_with_a_status() -> None:
    calls = {"n": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/getToken"):
            return httpx.Response(200, json={"token": TOKEN, "ttl": "900"})
        calls["n"] += 1
        if calls["n"] > 50:
            raise httpx.ReadTimeout("timed out")
        return ok()

    pt = Publitrac(
        api_key=KEY, base_url="http://127.0.0.1:9/v2", timeout=7, async_transport=httpx.MockTransport(handler)
    )
    with pytest.raises(publitrac.ConnectionFailed, match="no answer within 7 s") as caught:
        publitrac.sync(leads(400), pt, max_attempts=1, concurrency=4, progress=False)
    report = caught.value.report
    assert report is not None
    counts = report.counts
    assert sum(counts.values()) == 400 and counts["accepted"] == 50
    assert counts["failed"] >= 1 and counts["not_sent"] > 300
    failed = report.results[report.results["status"] == "failed"]
    assert (failed["error"] == "no answer within 7 s").all() and (failed["http_status"] == 0).all()


def test_200s_that_do_not_accept_are_retried_or_failed_never_accepted(
    make_sandbox: Callable[..., Any],
) -> None:
    sandbox = make_sandbox(error_200=0.2, junk_200=0.1, retry_after=0, apply_delay=0.0, seed=5)
    pt = Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    report = publitrac.sync(leads(300), pt, concurrency=16, max_attempts=6, progress=False)
    results = report.results
    assert set(results["status"]) == {"accepted", "failed"}
    assert (results["http_status"] == 200).all()  # every row's last answer was an HTTP 200
    accepted = results[results["status"] == "accepted"]
    failed = results[results["status"] == "failed"]
    assert (accepted["attempts"] > 1).any()  # a retry succeeded after a 200 that did not accept
    assert accepted["error"].isna().all()
    final = failed["error"] == "HTTP 200, body code 400: Invalid lead (injected by the sandbox)."
    assert final.any()
    assert (failed.loc[final, "attempts"] == 1).any()  # a final body code ends its row at once
    # any other failure spent the whole budget on retryable answers
    assert (failed.loc[~final, "attempts"] == 6).all()
    assert (
        failed.loc[~final, "error"]
        .str.match(r"HTTP 200(, body code (429|503)|: answer not understood)")
        .all()
    )

    sandbox.wait_until_applied(timeout=30)
    stored = {lead["email"] for lead in sandbox.leads()}
    assert stored == set(accepted["email"])  # the sandbox holds exactly the accepted rows
    faults = sandbox.stats()["faults"]
    assert {"200error:400", "200error:429", "200error:503", "200html", "200empty"} <= set(faults)


class NeverAnswers:
    """A real HTTP server on 127.0.0.1 that gives tokens and takes every delayedSync call, never answering it.

    One thread per connection; a held call ends when its client gives up and closes the connection.
    """

    def __init__(self) -> None:
        import socketserver

        token = json.dumps({"token": TOKEN, "ttl": "900"}).encode()
        held = self.held = []

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while True:
                    request_line = self.rfile.readline()
                    if not request_line:
                        return
                    length = 0
                    while (line := self.rfile.readline()) not in (b"\r\n", b""):
                        name, _, value = line.decode("latin-1").partition(":")
                        if name.strip().lower() == "content-length":
                            length = int(value)
                    self.rfile.read(length)
                    if b"/auth/getToken" not in request_line:
                        held.append(request_line)
                        while self.rfile.read(1):  # until the client closes the connection
                            pass
                        return
                    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(token)}\r\n\r\n"
                    self.wfile.write(head.encode() + token)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v2"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> NeverAnswers:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_server_that_takes_calls_and_never_answers_stops_the_run_in_bounded_time() -> None:
    import time

    with NeverAnswers() as server:
        pt = Publitrac(api_key=KEY, base_url=server.base_url, timeout=0.5)
        started = time.monotonic()
        with pytest.raises(publitrac.ConnectionFailed) as caught:
            publitrac.sync(leads(300), pt, concurrency=8, progress=False)
        elapsed = time.monotonic() - started
    # two timeouts in a row (0.5 s each) and one backoff (at most 0.5 s) before the second try
    assert elapsed < 3.0, elapsed
    assert str(caught.value).startswith("Stopped: no answer within 0.5 s on two tries in a row")
    report = caught.value.report
    assert report is not None and sum(report.counts.values()) == 300
    results = report.results
    assert set(results["status"]) <= {"failed", "in_flight", "not_sent"}
    failed = results[results["status"] == "failed"]
    # on a loaded machine this process's server may not even accept a connection within the timeout
    assert len(failed) >= 1 and (failed["error"] == "no answer within 0.5 s").any()
    assert failed["error"].isin(["no answer within 0.5 s", "no connection within 0.5 s"]).all()
    assert len(server.held) <= 16  # the first try of each of 8 workers, and at most one more each


def test_a_sandbox_that_never_answers_stops_the_run_at_gettoken(make_sandbox: Callable[..., Any]) -> None:
    import time

    sandbox = make_sandbox(hang=1.0)
    pt = Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(publitrac.ConnectionFailed) as caught:
        publitrac.sync(leads(50), pt, progress=False)
    assert time.monotonic() - started < 3.0  # two tries of 0.5 s and one backoff of at most 1 s
    assert str(caught.value) == (
        f"No answer within 0.5 s from {sandbox.base_url} (getToken, 2 tries): the server takes connections but "
        "does not answer."
    )
    assert caught.value.report.counts["not_sent"] == 50
    assert sandbox.stats()["calls"] == {"getToken": 2}
