"""What every test and every docstring example collected from `src/publitrac` shares (`tests/conftest.py` holds
the fixtures of the tests alone).

Each gets its own default ledger (`PUBLITRAC_LEDGER`, in a temporary folder, and `XDG_DATA_HOME` for subprocesses
started without the PUBLITRAC_* variables) and its own profiles' config file (`XDG_CONFIG_HOME`), with no keyring,
inherited by the subprocesses it starts: nothing reads or writes the user's own ledger, profiles or keyring, and
nothing sees another's. (A sandbox forgets its leads when it stops; a later one on the same
port with the same key is the same destination, so a ledger kept across runs would call its rows unchanged.)
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_ledger(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path_factory.mktemp("ledger")
    monkeypatch.setenv("PUBLITRAC_LEDGER", str(folder / "ledger.sqlite3"))
    # platformdirs reads XDG_DATA_HOME (Linux): the default location too is the test's own.
    monkeypatch.setenv("XDG_DATA_HOME", str(folder / "data"))
    # No saved profile of the user's (publitrac login) reaches a test: the config file is the test's own, and
    # no keyring is read unless a test sets one up (tests/test_profiles.py).
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / "config"))
    monkeypatch.setenv("PUBLITRAC_CONFIG", str(folder / "config" / "publitrac" / "config.toml"))
    monkeypatch.delenv("PUBLITRAC_PROFILE", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
