"""The public names: exactly `publitrac.__all__`, each documented."""

from __future__ import annotations

import inspect

import pandas as pd

import publitrac

PUBLIC = [
    "AmbiguousEncodingWarning",
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionFailed",
    "DaskSyncReport",
    "EncodingAlternative",
    "LeadFile",
    "LeadFileError",
    "LeadMapping",
    "Ledger",
    "Publitrac",
    "PublitracError",
    "RunRefused",
    "StreamReport",
    "SyncInterrupted",
    "SyncReport",
    "last_report",
    "map_columns",
    "open_ledger",
    "preview",
    "read_leads",
    "sync",
    "sync_async",
    "sync_dask",
    "sync_file",
    "validate",
]


def test_all_is_pinned() -> None:
    assert sorted(publitrac.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(publitrac, name) is not None
        assert inspect.getdoc(getattr(publitrac, name)), f"{name} has no docstring"


def test_exception_tree() -> None:
    for name in ("ApiError", "ConfigurationError", "ConnectionFailed", "RunRefused", "SyncInterrupted"):
        assert issubclass(getattr(publitrac, name), publitrac.PublitracError)
    assert issubclass(publitrac.AuthenticationError, publitrac.ApiError)


def test_importing_registers_the_accessor() -> None:
    assert hasattr(pd.DataFrame({"email": []}), "publitrac")


def test_sync_settings_are_keyword_only_with_visible_defaults() -> None:
    for function in (publitrac.sync, publitrac.sync_async):
        parameters = inspect.signature(function).parameters
        assert list(parameters)[:2] == ["df", "client"]
        settings = {
            "email": None,
            "mapping": None,
            "custom_fields": None,
            "concurrency": 16,
            "rate_limit": None,
            "max_attempts": 5,
            "max_retry_time": 60.0,
            "progress": None,
            "dry_run": False,
            "ledger": None,
            "resend": "changed",
            "input_name": None,
        }
        for name, default in settings.items():
            assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
            assert parameters[name].default == default
