"""The push panel as an app: Voilà serves notebooks/02-push-leads.ipynb, headless Chromium clicks through it.

Debian's Chromium is driven by Playwright (no browser download). Without Chromium the test skips with a reason
on a laptop, and fails in CI (`CI` set), where .ci/run installs it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

import publitrac

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "02-push-leads.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium phones home at start, which a closed network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECRET = "vk-Browser!distinctive-key-7731"
PAGE_TIMEOUT_MS = 120_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"voila exited with status {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"voila did not listen on port {port} within {timeout} s")


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    print(reason)
    pytest.skip(reason)


@pytest.fixture
def voila_app(tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    """Voilà serving the push notebook; yields (app URL, the port of the notebook's sandbox, voila's log)."""
    port, sandbox_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PUBLITRAC_")}
    env |= {"PUBLITRAC_API_KEY": SECRET, "PUBLITRAC_SANDBOX_PORT": str(sandbox_port)}
    log = tmp_path / "voila.log"
    command = [
        sys.executable,
        "-m",
        "voila",
        str(NOTEBOOK.relative_to(ROOT)),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/", sandbox_port, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def expected_counts() -> tuple[int, int, int]:
    """(rows to send, invalid rows, distinct emails sent) of examples/leads.csv, by publitrac.validate."""
    frame = pd.read_csv(ROOT / "examples" / "leads.csv")
    problems = publitrac.validate(frame)
    invalid = set(problems.loc[problems["severity"] == "error", "position"])
    valid = frame.drop(index=frame.index[sorted(invalid)])
    email = publitrac.map_columns(frame).email
    distinct = valid[email].astype(str).str.strip().str.lower().nunique()
    return len(frame) - len(invalid), len(invalid), distinct


def test_voila_push_panel_in_chromium(voila_app: tuple[str, int, Path]) -> None:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    url, sandbox_port, log = voila_app
    to_send, invalid, distinct = expected_counts()
    stats_url = f"http://127.0.0.1:{sandbox_port}/_sandbox/stats"
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(url)
            connect = page.get_by_role("button", name="Connect")
            expect(connect).to_be_visible(timeout=PAGE_TIMEOUT_MS)
            # Opening the app sends nothing: the sandbox only starts on Connect.
            with pytest.raises(httpx.ConnectError):
                httpx.get(stats_url)

            connect.click()
            expect(page.get_by_text("Connected to the local sandbox")).to_be_visible()
            assert httpx.get(stats_url).json()["accepted"] == 0

            page.get_by_role("button", name="Dry run").click()
            expect(page.get_by_text("Dry run: nothing was sent")).to_be_visible()
            assert httpx.get(stats_url).json()["accepted"] == 0

            page.locator("button", has_text=re.compile(r"^\s*Push\s*$")).click()
            question = page.get_by_text(re.compile(r"^Push \d+ rows? to the local sandbox"))
            expect(question).to_be_visible()
            assert f"Push {to_send} rows" in question.inner_text()
            page.get_by_role("button", name="Yes, push").click()

            held = page.get_by_text(re.compile(r"The local sandbox now holds \d+ leads"))
            expect(held).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "voila-push-panel.png"), full_page=True)
            text = page.inner_text("body")
            content = page.content()
        finally:
            browser.close()

    summary = re.search(r"Push of \d+ rows: (.*)", text)
    assert summary, text[-2000:]
    assert f"{to_send} accepted" in summary.group(1)
    assert f"{invalid} invalid" in summary.group(1)
    assert f"holds {distinct} leads" in text
    stats = httpx.get(stats_url).json()
    assert stats["accepted"] == to_send
    leads = httpx.get(f"http://127.0.0.1:{sandbox_port}/_sandbox/leads").json()
    assert len(leads) == distinct
    assert SECRET not in text and SECRET not in content
    assert SECRET not in log.read_text(errors="replace")
