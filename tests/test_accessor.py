"""`df.publitrac`: one-line delegations that never modify the caller's frame."""

from __future__ import annotations

import json

import httpx
import pandas as pd

import publitrac

KEY = "SECRET-accessor"


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "E-mail": [" ana@exemple.fr ", "bad", "bob@exemple.fr", "ANA@exemple.fr"],
            "CRM Lead ID": [1.0, None, 3.0, 4.0],
            "Company": [" Acme ", "X", None, "Acme 2"],
        },
        index=["r1", "r2", "r3", "r4"],
    )


def connection(sent: list[dict]) -> publitrac.Publitrac:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/getToken"):
            return httpx.Response(200, json={"token": "tok", "ttl": "900"})
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"status": "success", "code": 200})

    return publitrac.Publitrac(
        api_key=KEY, base_url="http://127.0.0.1:9/v2", async_transport=httpx.MockTransport(handler)
    )


def test_accessor_sync_matches_the_function_and_leaves_the_frame_alone() -> None:
    df = frame()
    before = df.copy(deep=True)
    via_accessor: list[dict] = []
    via_function: list[dict] = []
    # Both send to the same destination: without ledger=False the second would find every row unchanged.
    report = df.publitrac.sync(
        connection(via_accessor), custom_fields=["Company"], progress=False, ledger=False
    )
    expected = publitrac.sync(
        df, connection(via_function), custom_fields=["Company"], progress=False, ledger=False
    )
    pd.testing.assert_frame_equal(df, before)
    assert via_accessor == via_function and len(via_accessor) == 3
    timings = ["elapsed_ms", "sent_at"]  # the clock's, not the sync's: they differ between two runs
    pd.testing.assert_frame_equal(
        report.results.drop(columns=timings), expected.results.drop(columns=timings)
    )
    assert report.results["sent_at"].notna().tolist() == [True, False, True, True]
    assert report.results["status"].tolist() == ["accepted", "invalid", "accepted", "accepted"]


async def test_accessor_sync_async() -> None:
    df = frame()
    sent: list[dict] = []
    report = await df.publitrac.sync_async(connection(sent), progress=False)
    assert report.summary["accepted"] == 3
    assert all("leadCustomField" not in body for body in sent)  # custom fields only when named


def test_accessor_validate_and_preview() -> None:
    df = frame()
    before = df.copy(deep=True)
    pd.testing.assert_frame_equal(df.publitrac.validate(), publitrac.validate(df))
    assert df.publitrac.preview(2, custom_fields=["Company"]) == publitrac.preview(
        df, 2, custom_fields=["Company"]
    )
    assert df.publitrac.preview(1) == [{"leadInfo": {"email": "ana@exemple.fr", "crmLeadId": 1}}]
    pd.testing.assert_frame_equal(df, before)


def test_accessor_dry_run_without_a_connection() -> None:
    report = frame().publitrac.sync(dry_run=True)
    assert report.results["status"].tolist() == ["not_sent", "invalid", "not_sent", "not_sent"]
