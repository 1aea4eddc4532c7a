"""Profiles: `publitrac login`, `profiles`, `logout`, `--profile` / `PUBLITRAC_PROFILE` / `Publitrac(profile=...)`.

Over real HTTP against the sandbox, with a real keyring backend that writes a file (keyrings.alt's
PlaintextKeyring, under the test's own XDG_DATA_HOME) and the test's own config file (XDG_CONFIG_HOME): never
the developer's keyring or config. Subprocesses get the same backend through PYTHON_KEYRING_BACKEND.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pandas as pd
import pytest
from keyring.backends import fail
from keyrings.alt.file import PlaintextKeyring

import publitrac
from publitrac._words import CLI
from publitrac.cli._main import main
from publitrac.connection._profiles import (
    KEYRING_SERVICE,
    Profile,
    config_path,
    read_profiles,
    save_profile,
    store_key,
)
from publitrac.connection._verify import verify_key

from test_cli import ROOT, run_cli

FILE_BACKEND = "keyrings.alt.file.PlaintextKeyring"
NO_BACKEND = "keyring.backends.fail.Keyring"
KEY_A = "key-A-do-not-leak-91c2"
KEY_B = "key-B-do-not-leak-5e07"


@pytest.fixture(autouse=True)
def file_keyring(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[PlaintextKeyring]:
    """The test's own keyring file and config file, in this process and in the subprocesses it starts."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    # the default location (platformdirs, from XDG_CONFIG_HOME) is the one under test here
    monkeypatch.delenv("PUBLITRAC_CONFIG", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FILE_BACKEND)
    for name in ("PUBLITRAC_API_KEY", "PUBLITRAC_BASE_URL", "PUBLITRAC_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    previous = keyring.get_keyring()
    backend = PlaintextKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def sandbox_a(make_sandbox: Any) -> Any:
    return make_sandbox(api_key=KEY_A)


@pytest.fixture
def leads_csv(tmp_path: Path) -> Path:
    path = tmp_path / "leads.csv"
    frame = pd.DataFrame({"Email": [f"lead{i}@example.com" for i in range(12)], "First Name": ["Ann"] * 12})
    path.write_text(frame.to_csv(index=False), encoding="utf-8")
    return path


def login(
    profile: str, base_url: str, key: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`echo KEY | publitrac login --profile NAME --base-url URL`, as a script would run it."""
    command = [sys.executable, "-m", "publitrac.cli", "login", "--profile", profile, "--base-url", base_url]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PUBLITRAC_")}
    environment.update(env or {})
    return subprocess.run(
        [*command, *extra],
        input=key + "\n",
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        cwd=ROOT,
    )


def test_the_config_file_is_in_the_users_config_directory(tmp_path: Path) -> None:
    assert config_path() == tmp_path / "config" / "publitrac" / "config.toml"


def test_login_checks_the_key_then_stores_it_in_the_keyring_and_the_rest_in_the_file(
    sandbox_a: Any, file_keyring: PlaintextKeyring
) -> None:
    done = login("ci", sandbox_a.base_url, KEY_A, "--timeout", "12")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert sandbox_a.stats()["tokens_issued"] == 1  # checked with one getToken
    assert file_keyring.get_password(KEYRING_SERVICE, "ci") == KEY_A
    text = config_path().read_text(encoding="utf-8")
    assert KEY_A not in text and KEY_A not in output
    assert tomllib.loads(text) == {"profiles": {"ci": {"base_url": sandbox_a.base_url, "timeout": 12.0}}}
    assert "Key stored in the keyring (file PlaintextKeyring)" in done.stdout
    assert "publitrac sync FILE --profile ci" in done.stdout


def test_login_with_a_wrong_key_stores_nothing_and_exits_2(
    sandbox_a: Any, file_keyring: PlaintextKeyring
) -> None:
    done = login("ci", sandbox_a.base_url, "wrong-do-not-leak")
    assert done.returncode == 2
    assert "the API key was refused" in done.stderr and "nothing was stored" in done.stderr
    assert "wrong-do-not-leak" not in done.stdout + done.stderr
    assert not config_path().exists()
    assert file_keyring.get_password(KEYRING_SERVICE, "ci") is None


def test_login_to_nothing_stores_nothing_and_exits_2(file_keyring: PlaintextKeyring) -> None:
    done = login("ci", "http://127.0.0.1:9/v2", KEY_A)
    assert done.returncode == 2
    assert "Could not reach http://127.0.0.1:9/v2" in done.stderr and "Nothing was stored" in done.stderr
    assert not config_path().exists() and file_keyring.get_password(KEYRING_SERVICE, "ci") is None


def test_login_refuses_an_empty_key_and_plain_http_to_a_remote_host(file_keyring: PlaintextKeyring) -> None:
    empty = login("ci", "http://127.0.0.1:9/v2", "")
    assert empty.returncode == 2 and "no API key given" in empty.stderr
    remote = login("ci", "http://api.example.com/v2", KEY_A)
    assert remote.returncode == 2 and "--allow-insecure-http" in remote.stderr
    assert not config_path().exists()


def test_sync_with_a_profile_pushes_to_its_account(sandbox_a: Any, leads_csv: Path) -> None:
    assert login("ci", sandbox_a.base_url, KEY_A).returncode == 0
    done = run_cli("sync", str(leads_csv), "--profile", "ci", "--no-progress", "--no-ledger")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "12 rows: 12 accepted" in done.stdout
    sandbox_a.wait_until_applied()
    assert len(sandbox_a.leads()) == 12
    assert KEY_A not in done.stdout + done.stderr


def test_profile_from_the_environment_and_the_default_profile(
    make_sandbox: Any, sandbox_a: Any, leads_csv: Path
) -> None:
    sandbox_b = make_sandbox(api_key=KEY_B)
    assert login("default", sandbox_a.base_url, KEY_A).returncode == 0
    assert login("eu", sandbox_b.base_url, KEY_B).returncode == 0
    # nothing named: the profile "default"
    done = run_cli("sync", str(leads_csv), "--no-progress", "--no-ledger")
    assert done.returncode == 0, done.stdout + done.stderr
    # PUBLITRAC_PROFILE names another
    done = run_cli("sync", str(leads_csv), "--no-progress", "--no-ledger", env={"PUBLITRAC_PROFILE": "eu"})
    assert done.returncode == 0, done.stdout + done.stderr
    for sandbox in (sandbox_a, sandbox_b):
        sandbox.wait_until_applied()
        assert len(sandbox.leads()) == 12


def test_environment_variables_win_over_the_profile(
    make_sandbox: Any, sandbox_a: Any, leads_csv: Path
) -> None:
    sandbox_b = make_sandbox(api_key=KEY_B)
    assert login("ci", sandbox_a.base_url, KEY_A).returncode == 0
    env = {"PUBLITRAC_API_KEY": KEY_B, "PUBLITRAC_BASE_URL": sandbox_b.base_url}
    done = run_cli("sync", str(leads_csv), "--profile", "ci", "--no-progress", "--no-ledger", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    sandbox_b.wait_until_applied()
    assert len(sandbox_b.leads()) == 12
    assert sandbox_a.stats()["tokens_issued"] == 1 and sandbox_a.leads() == []  # login's check only
    # and --base-url wins over both
    explicit = run_cli(
        "sync", str(leads_csv), "--profile", "ci", "--base-url", sandbox_a.base_url, "--no-progress",
        "--no-ledger", env={"PUBLITRAC_API_KEY": KEY_A, "PUBLITRAC_BASE_URL": sandbox_b.base_url},
    )  # fmt: skip
    assert explicit.returncode == 0, explicit.stdout + explicit.stderr
    sandbox_a.wait_until_applied()
    assert len(sandbox_a.leads()) == 12


def test_profiles_lists_without_the_key(make_sandbox: Any, sandbox_a: Any) -> None:
    sandbox_b = make_sandbox(api_key=KEY_B)
    assert login("default", sandbox_a.base_url, KEY_A).returncode == 0
    assert login("eu", sandbox_b.base_url, KEY_B).returncode == 0
    done = run_cli("profiles")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].split() == ["PROFILE", "BASE", "URL", "KEY"]
    assert lines[2].split() == ["*", "default", sandbox_a.base_url, "keyring"]
    assert lines[3].split() == ["eu", sandbox_b.base_url, "keyring"]
    as_json = run_cli("profiles", "--output", "json", env={"PUBLITRAC_API_KEY": KEY_B})
    document = json.loads(as_json.stdout)
    assert document["selected"] == "default"
    assert [(p["name"], p["base_url"], p["key"]) for p in document["profiles"]] == [
        ("default", sandbox_a.base_url, "environment"),
        ("eu", sandbox_b.base_url, "environment"),
    ]
    for result in (done, as_json):
        for key in (KEY_A, KEY_B):
            assert key not in result.stdout + result.stderr


def test_logout_removes_the_key_and_the_profile(sandbox_a: Any, file_keyring: PlaintextKeyring) -> None:
    assert login("ci", sandbox_a.base_url, KEY_A).returncode == 0
    assert login("other", sandbox_a.base_url, KEY_A).returncode == 0
    done = run_cli("logout", "--profile", "ci")
    assert done.returncode == 0, done.stderr
    assert "key deleted from the keyring" in done.stdout and "settings removed" in done.stdout
    assert file_keyring.get_password(KEYRING_SERVICE, "ci") is None
    assert list(read_profiles()) == ["other"]
    assert file_keyring.get_password(KEYRING_SERVICE, "other") == KEY_A
    again = run_cli("logout", "--profile", "ci")
    assert again.returncode == 2 and "no profile 'ci'" in again.stderr and "other" in again.stderr


def test_without_a_keyring_login_says_so_and_keeps_the_settings(sandbox_a: Any, leads_csv: Path) -> None:
    env = {"PYTHON_KEYRING_BACKEND": NO_BACKEND}
    done = login("ci", sandbox_a.base_url, KEY_A, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the API key was NOT stored: no keyring backend is available" in done.stderr
    assert "Set PUBLITRAC_API_KEY" in done.stderr
    assert KEY_A not in done.stdout + done.stderr + config_path().read_text(encoding="utf-8")
    assert read_profiles() == {"ci": Profile("ci", sandbox_a.base_url)}
    listed = run_cli("profiles", env=env)
    assert "none: set PUBLITRAC_API_KEY" in listed.stdout and "Keyring: none on this machine" in listed.stdout
    # without the key in the environment, the run says where to put it; with it, the profile's URL is used
    missing = run_cli("sync", str(leads_csv), "--profile", "ci", "--no-progress", env=env)
    assert missing.returncode == 2 and "PUBLITRAC_API_KEY in the environment" in missing.stderr
    env["PUBLITRAC_API_KEY"] = KEY_A
    done = run_cli("sync", str(leads_csv), "--profile", "ci", "--no-progress", "--no-ledger", env=env)
    assert done.returncode == 0, done.stdout + done.stderr


def _read_until(fd: int, wanted: bytes, timeout: float = 60) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"no {wanted!r} within {timeout} s; saw {seen!r}")
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    return seen


def test_login_on_a_terminal_asks_and_does_not_echo_the_key(
    sandbox_a: Any, file_keyring: PlaintextKeyring
) -> None:
    save_profile(Profile("ci", sandbox_a.base_url))  # the current value, offered as the default
    controller, terminal = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PUBLITRAC_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "publitrac.cli", "login", "--profile", "ci"],
        stdin=terminal, stdout=terminal, stderr=terminal, env=environment, cwd=ROOT,
        start_new_session=True,  # no controlling terminal: getpass turns echo off on stdin, the pty
    )  # fmt: skip
    os.close(terminal)
    try:
        shown = _read_until(controller, f"Base URL [{sandbox_a.base_url}]: ".encode())
        os.write(controller, b"\n")  # Enter: keep the current base URL
        shown += _read_until(controller, b"(not shown): ")
        os.write(controller, KEY_A.encode() + b"\n")
        shown += _read_until(controller, b"Next: publitrac sync")
        assert process.wait(timeout=60) == 0, shown
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    assert KEY_A.encode() not in shown
    assert file_keyring.get_password(KEYRING_SERVICE, "ci") == KEY_A


# -- in Python -------------------------------------------------------------------------------------------------


def test_publitrac_with_a_profile(sandbox_a: Any, tmp_path: Path) -> None:
    save_profile(Profile("ci", sandbox_a.base_url, timeout=7.0))
    store_key("ci", KEY_A)
    with publitrac.Publitrac(profile="ci") as pt:
        assert (pt.base_url, pt.profile, pt.timeout.read) == (sandbox_a.base_url, "ci", 7.0)
        assert repr(pt) == f"Publitrac(base_url={sandbox_a.base_url!r}, profile='ci')"
        verify_key(pt)
    report = publitrac.sync(pd.DataFrame({"Email": ["ana@example.com"]}), pt, progress=False, ledger=False)
    assert report.ok
    sandbox_a.wait_until_applied()
    assert sandbox_a.lead("ana@example.com") is not None
    # explicit arguments win over the profile
    assert publitrac.Publitrac(profile="ci", timeout=3.0).timeout.read == 3.0
    assert (
        publitrac.Publitrac(profile="ci", base_url="http://127.0.0.1:1/v2").base_url
        == "http://127.0.0.1:1/v2"
    )


def test_the_selection_order(sandbox_a: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    save_profile(Profile("default", sandbox_a.base_url))
    save_profile(Profile("eu", "https://eu.example.com/v2"))
    store_key("default", KEY_A)
    store_key("eu", KEY_B)
    assert publitrac.Publitrac().profile == "default"
    monkeypatch.setenv("PUBLITRAC_PROFILE", "eu")
    assert publitrac.Publitrac().base_url == "https://eu.example.com/v2"
    assert publitrac.Publitrac(profile="default").base_url == sandbox_a.base_url  # the argument wins
    monkeypatch.setenv("PUBLITRAC_BASE_URL", "https://env.example.com/v2")
    assert publitrac.Publitrac().base_url == "https://env.example.com/v2"  # the environment wins
    # profile=False: no profile at all (the sandbox)
    monkeypatch.delenv("PUBLITRAC_BASE_URL")
    with pytest.raises(publitrac.ConfigurationError, match="Missing the API key"):
        publitrac.Publitrac(profile=False)


def test_an_unknown_profile_names_the_setting_and_lists_the_known_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    save_profile(Profile("default", "https://api.example.com/v2"))
    save_profile(Profile("eu", "https://eu.example.com/v2"))
    with pytest.raises(publitrac.ConfigurationError) as caught:
        publitrac.Publitrac(profile="us")
    assert "Unknown profile 'us' (profile='us')" in str(caught.value)
    assert str(caught.value).endswith("config.toml: default, eu.")
    assert "(--profile us)" in caught.value.in_words(CLI)
    monkeypatch.setenv("PUBLITRAC_PROFILE", "us")
    with pytest.raises(publitrac.ConfigurationError, match=r"\(PUBLITRAC_PROFILE=us\)"):
        publitrac.Publitrac()


def test_a_profile_without_a_stored_key_says_how_to_get_one() -> None:
    save_profile(Profile("ci", "https://api.example.com/v2"))
    with pytest.raises(publitrac.ConfigurationError) as caught:
        publitrac.Publitrac(profile="ci")
    message = caught.value.in_words(CLI)
    assert "none is stored for profile 'ci'" in message and "publitrac login --profile ci" in message


def test_no_keyring_backend_reads_as_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_keyring(fail.Keyring())
    save_profile(Profile("ci", "https://api.example.com/v2"))
    with pytest.raises(publitrac.ConfigurationError, match="none is stored for profile 'ci'"):
        publitrac.Publitrac(profile="ci")
    monkeypatch.setenv("PUBLITRAC_API_KEY", KEY_A)
    assert publitrac.Publitrac(profile="ci").base_url == "https://api.example.com/v2"


def test_the_sandbox_ignores_profiles(
    leads_csv: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    save_profile(Profile("default", "http://127.0.0.1:1/v2", timeout=0.5))
    store_key("default", KEY_A)
    monkeypatch.setenv("PUBLITRAC_PROFILE", "default")
    assert main(["sync", str(leads_csv), "--sandbox", "--no-progress"]) == 0
    assert "The sandbox now holds 12 leads" in capsys.readouterr().out
    assert main(["sync", str(leads_csv), "--sandbox", "--profile", "default"]) == 2
    assert "--sandbox and --profile exclude each other" in capsys.readouterr().err


def test_a_broken_config_file_is_a_clear_error() -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("[profiles.ci\nbase_url = 1\n", encoding="utf-8")
    with pytest.raises(publitrac.ConfigurationError, match="is not valid TOML"):
        publitrac.Publitrac()
    path.write_text("[profiles.ci]\nbase_url = 1\n", encoding="utf-8")
    with pytest.raises(publitrac.ConfigurationError, match=r"profiles\.ci\.base_url is not a string"):
        publitrac.Publitrac(profile="ci")


def test_ledger_stats_takes_the_profiles_destination(sandbox_a: Any) -> None:
    save_profile(Profile("ci", sandbox_a.base_url))
    store_key("ci", KEY_A)
    pt = publitrac.Publitrac(profile="ci")
    publitrac.sync(pd.DataFrame({"Email": ["ana@example.com"]}), pt, progress=False)
    done = run_cli("ledger", "stats", "--profile", "ci")
    assert done.returncode == 0, done.stderr
    assert "Leads accepted: 1" in done.stdout


def test_both_settings_in_code_read_no_profile_unless_one_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    save_profile(Profile("default", "https://api.example.com/v2", timeout=2.0))
    monkeypatch.setenv("PUBLITRAC_PROFILE", "nowhere")  # not even an unknown name stops it
    pt = publitrac.Publitrac(api_key=KEY_A, base_url="http://127.0.0.1:1/v2")
    assert (pt.profile, pt.timeout.read) == (None, 30.0)
    named = publitrac.Publitrac(api_key=KEY_A, base_url="http://127.0.0.1:1/v2", profile="default")
    assert (named.profile, named.base_url, named.timeout.read) == ("default", "http://127.0.0.1:1/v2", 2.0)
