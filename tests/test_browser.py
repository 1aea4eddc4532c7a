"""The push app in a real browser: `publitrac app` (a subprocess) driven by headless Chromium, as an analyst would.

Debian's Chromium is driven by Playwright (no browser download). Without Chromium the test skips with a reason
on a laptop, and fails in CI (`CI` set), where .ci/run installs it. Screenshots of every step are saved in
`test-artifacts/` (git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

import publitrac

# Long, and the same on every Python: .ci/run runs it on Python 3.11 only (pytest -m "not slow" on the newest).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
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
PAGE_TIMEOUT_MS = 180_000
STEPS = ("load", "explore", "map", "connect", "dry-run", "push", "results", "history")


@dataclass
class App:
    url: str
    sandbox: str  # the shared sandbox's root, e.g. http://127.0.0.1:PORT
    log: Path
    ledger: Path


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    print(reason)
    pytest.skip(reason)


@contextlib.contextmanager
def serve(folder: Path, *options: str) -> Iterator[App]:
    """`publitrac app` as a subprocess in `folder`, with a ledger there; stopped (SIGTERM) on exit."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PUBLITRAC_")}
    # A key in the environment must never reach the page or the logs.
    env["PUBLITRAC_API_KEY"] = SECRET
    log, ledger = folder / "app.log", folder / "ledger.sqlite"
    command = [
        sys.executable,
        "-m",
        "publitrac.cli",
        "app",
        "--no-browser",
        "--port",
        "0",
        "--ledger",
        str(ledger),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, *options],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        url = sandbox = None
        while time.monotonic() < deadline and process.poll() is None:
            text = log.read_text(errors="replace")
            found_url = re.search(r"^Publitrac app: (\S+)", text, re.M)
            found_sandbox = re.search(r"^Local sandbox: (\S+)/v2", text, re.M)
            if found_url and found_sandbox:
                url, sandbox = found_url.group(1), found_sandbox.group(1)
                break
            time.sleep(0.2)
        assert url and sandbox, log.read_text(errors="replace")[-3000:]
        yield App(url=url, sandbox=sandbox, log=log, ledger=ledger)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    """`publitrac app` with a sandbox answering 5xx to half the calls, and a ledger in a temporary folder."""
    with serve(tmp_path, "--sandbox-fault", "5xx=0.5", "--sandbox-seed", "3") as served:
        yield served


@pytest.fixture
def excel_csv(tmp_path: Path) -> Path:
    """The example leads as Excel's European "CSV" writes them: Windows-1252, `;` between fields."""
    frame = pd.read_csv(ROOT / "examples" / "leads.csv", dtype=str, keep_default_na=False)
    path = tmp_path / "leads-excel.csv"
    frame.to_csv(path, sep=";", index=False, encoding="cp1252", lineterminator="\r\n")
    return path


def click_until(scope: Any, outcome: Any, *, key: str | None = None) -> None:
    """Click Connect until `outcome` shows, as a user would: the sandbox answers 5xx to half the calls, its
    getToken included, and a check that met only 5xx says "The key could not be checked... Try Connect again"."""
    from playwright.sync_api import expect

    for _ in range(5):
        if key is not None:
            scope.get_by_placeholder(re.compile("key")).fill(key)
        scope.get_by_role("button", name="Connect").click()
        try:
            expect(outcome).to_be_visible(timeout=30_000)
            return
        except AssertionError:
            busy = scope.get_by_text(re.compile(r"^The key could not be checked: .*\(HTTP 50[0234]\)"))
            assert busy.count(), "Connect said neither the expected outcome nor that the service was busy"
    raise AssertionError("Connect never got through the sandbox's faults")


def tile(page: object, status: str) -> int:
    text = page.locator(f'.publitrac-tile[data-status="{status}"] div').first.inner_text()  # type: ignore[attr-defined]
    return int(text.replace(",", ""))


def test_publitrac_app_in_chromium(app: App, excel_csv: Path) -> None:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=PAGE_TIMEOUT_MS)
    frame = publitrac.read_leads(excel_csv).frame
    email = publitrac.map_columns(frame).email
    problems = publitrac.validate(frame)
    invalid = sorted(set(problems.loc[problems["severity"] == "error", "position"]))
    valid = len(frame) - len(invalid)
    emails = frame[email].drop(index=frame.index[invalid]).astype(str).str.strip().str.lower()
    ARTIFACTS.mkdir(exist_ok=True)

    def shoot(page: object, name: str, step: str) -> None:
        page.locator(f".publitrac-step-{step}").screenshot(path=str(ARTIFACTS / f"app-{name}.png"))  # type: ignore[attr-defined]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 2400}, accept_downloads=True)
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(app.url)
            expect(page.locator(".publitrac-step-load")).to_be_visible()
            body = page.inner_text("body")
            # The first screen is the app: no code, no developer prose, no environment variables.
            for word in ("import", "PushApp", "PUBLITRAC_", "environment"):
                assert word not in body
            page.screenshot(path=str(ARTIFACTS / "app-0-first-screen.png"))

            # 1. Load, through the browser's own file chooser.
            with page.expect_file_chooser() as chooser:
                page.get_by_role("button", name=re.compile("Choose a file")).click()
            chooser.value.set_files(str(excel_csv))
            loaded = page.locator(".publitrac-step-load").get_by_text(f"leads-excel.csv: {len(frame)} rows")
            expect(loaded).to_be_visible()
            facts = loaded.inner_text()
            assert f"{frame.shape[1]} columns" in facts and "1252" in facts and "';'" in facts, facts
            shoot(page, "1-load", "load")
            expect(
                page.locator(".publitrac-step-explore").get_by_text(re.compile(r"invalid emails"))
            ).to_be_visible()
            shoot(page, "2-explore", "explore")

            # 3. Map: Company goes as a custom field (the detection leaves it out).
            mapping = page.locator(".publitrac-step-map")
            expect(mapping.get_by_text("Not sent: Company, ")).to_be_visible()
            columns = list(frame.columns)
            mapping.locator(".publitrac-mapping select").nth(columns.index("Company")).select_option(
                label="custom field"
            )
            expect(mapping.get_by_text(re.compile(r"^Not sent: Country"))).to_be_visible()
            shoot(page, "3-map", "map")

            # 4. Connect: a wrong key is refused in plain words; then the sandbox's own key.
            connect = page.locator(".publitrac-step-connect")
            refused = connect.get_by_text(re.compile(r"^Key refused"))
            click_until(connect, refused, key="not-the-key")
            assert "API key box" in refused.inner_text()
            shoot(page, "4-connect-refused", "connect")
            click_until(connect, connect.get_by_text("Connected: key accepted by the local sandbox."))
            expect(refused).to_have_count(0)  # the message belongs to the step's last run
            shoot(page, "4-connect", "connect")

            # 5. Dry run, 6. Push with confirmation.
            page.get_by_role("button", name="Dry run").click()
            expect(page.get_by_text(f"Dry run, nothing sent: {valid} rows would be sent")).to_be_visible()
            shoot(page, "5-dry-run", "dry-run")
            page.locator(".publitrac-step-push button", has_text=re.compile(r"^\s*Push\s*$")).click()
            expect(
                page.get_by_text(f"Push {valid} rows of leads-excel.csv to the local sandbox?")
            ).to_be_visible()
            page.get_by_role("button", name="Yes, push").click()
            expect(page.get_by_text(re.compile(r"^Push done"))).to_be_visible()
            shoot(page, "6-push", "push")

            # 7. Results: half the calls answered 5xx, so some rows failed past their retries.
            results = page.locator(".publitrac-step-results")
            failed = tile(page, "failed")
            assert failed > 0
            assert tile(page, "accepted") == valid - failed and tile(page, "invalid") == len(invalid)
            assert tile(page, "retrying") == 0
            expect(results.get_by_text(re.compile(r"\(HTTP 50[0234]\): tried 5 times"))).to_have_count(
                results.get_by_text(re.compile(r"\(HTTP 50[0234]\)")).count()
            )
            shoot(page, "7-results-failed", "results")
            results.scroll_into_view_if_needed()
            box = results.bounding_box()
            assert box is not None
            clip = {"x": box["x"], "y": box["y"], "width": box["width"], "height": min(box["height"], 700)}
            page.screenshot(path=str(ARTIFACTS / "app-readme.png"), clip=clip)
            retries = 0
            while tile(page, "failed") and retries < 5:
                retries += 1
                results.get_by_role("button", name=re.compile(r"Retry \d+ rows?")).click()
                expect(page.get_by_text(re.compile(r"^Retry done"))).to_be_visible()
            plural = "retry" if retries == 1 else "retries"
            summary = f"{valid} of {valid} valid rows accepted (after {retries} {plural})"
            expect(results.get_by_text(summary)).to_be_visible()
            assert tile(page, "accepted") == valid and tile(page, "failed") == 0
            assert tile(page, "invalid") == len(invalid)
            shoot(page, "7-results", "results")

            with page.expect_download() as download:
                results.locator("a.publitrac-download").click()
            written = pd.read_csv(download.value.path(), keep_default_na=False)
            shoot(page, "8-history", "history")

            # Reload: a new page, a new kernel, the same sandbox and ledger: nothing left to send.
            page.reload()
            with page.expect_file_chooser() as chooser:
                page.get_by_role("button", name=re.compile("Choose a file")).click()
            chooser.value.set_files(str(excel_csv))
            mapping = page.locator(".publitrac-step-map")
            mapping.locator(".publitrac-mapping select").nth(columns.index("Company")).select_option(
                label="custom field"
            )
            click_until(page, page.get_by_text("Connected: key accepted by the local sandbox."))
            page.get_by_role("button", name="Dry run").click()
            expect(page.get_by_text(f"0 rows would be sent; {valid} unchanged")).to_be_visible()
            page.locator(".publitrac-step-push button", has_text=re.compile(r"^\s*Push\s*$")).click()
            page.get_by_role("button", name="Yes, push").click()
            expect(page.get_by_text(re.compile(r"^Push done"))).to_be_visible()
            assert tile(page, "unchanged") == valid and tile(page, "accepted") == 0
            sizes = emails.value_counts()
            shared = int(sizes[sizes > 1].sum())
            duplicates = f"{valid} accepted or unchanged, {emails.nunique()} leads: {shared} rows share"
            expect(page.get_by_text(duplicates)).to_be_visible()
            expect(
                page.get_by_text(f"{valid} of {valid} valid rows accepted or already in Publitrac")
            ).to_be_visible()
            history = page.locator(".publitrac-step-history table tbody tr")
            expect(history).to_have_count(retries + 2)  # the first push, each retry, the rerun
            shoot(page, "9-rerun-unchanged", "results")
            shoot(page, "9-history", "history")
            text = page.inner_text("body")
            content = page.content()

            # A second tab, while the first is open: its own kernel, the same sandbox, no port taken twice.
            second = browser.new_page(viewport={"width": 1280, "height": 1200})
            second.goto(app.url)
            with second.expect_file_chooser() as chooser:
                second.get_by_role("button", name=re.compile("Choose a file")).click()
            chooser.value.set_files(str(excel_csv))
            second.locator(".publitrac-mapping select").nth(columns.index("Company")).select_option(
                label="custom field"
            )
            click_until(second, second.get_by_text("Connected: key accepted by the local sandbox."))
            second.get_by_role("button", name="Dry run").click()
            expect(second.get_by_text(f"0 rows would be sent; {valid} unchanged")).to_be_visible()
        finally:
            browser.close()

    # The download: one line per row of the file, with the file's own row numbers.
    assert list(written["row"]) == list(range(len(frame)))
    assert list(written["email"]) == list(frame[email].fillna(""))
    assert set(written.loc[written["status"] == "invalid", "row"]) == set(invalid)
    assert (written.loc[written["status"] == "accepted", "error"] == "").all()
    # What the sandbox stores: one lead per distinct valid email, with the custom field chosen in the Map step.
    httpx.get(f"{app.sandbox}/_sandbox/wait", params={"timeout": 10})
    leads = httpx.get(f"{app.sandbox}/_sandbox/leads").json()
    assert len(leads) == emails.nunique()
    companies = {lead["leadInfo"]["email"].lower(): lead.get("leadCustomField", {}) for lead in leads}
    first = frame.iloc[0]
    assert companies[first[email].strip().lower()] == {"Company": first["Company"]}
    assert SECRET not in text and SECRET not in content
    assert SECRET not in app.log.read_text(errors="replace")


def test_kernels_of_closed_and_reloaded_pages_are_shut_down(tmp_path: Path) -> None:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    with serve(tmp_path, "--idle-timeout", "4") as served, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            for _ in range(3):  # the first load and two reloads: three kernels
                page.goto(served.url)
                expect(page.locator(".publitrac-step-load")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
            page.close()
            deadline = time.monotonic() + 90
            culled = 0
            while time.monotonic() < deadline and culled < 3:
                time.sleep(1)
                culled = served.log.read_text(errors="replace").count("Culling 'idle' kernel")
        finally:
            browser.close()
    assert culled >= 3, served.log.read_text(errors="replace")[-3000:]


def test_an_ambiguous_encoding_is_shown_and_chosen_in_chromium(tmp_path: Path) -> None:
    """3,000 plain rows and one French name in Windows-1252: `è` reads as `č` in Windows-1250 as well. The page
    says so with a button per reading, the confirmation repeats it, and the reading kept is what is sent."""
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    rows = [f"lead{i}@example.com;Martin" for i in range(3000)] + ["helene@example.fr;Lefèvre"]
    export = tmp_path / "salon.csv"
    export.write_bytes(("Email;Last Name\r\n" + "\r\n".join(rows) + "\r\n").encode("cp1252"))
    with serve(tmp_path) as served, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 2400})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(served.url)
            with page.expect_file_chooser() as chooser:
                page.get_by_role("button", name=re.compile("Choose a file")).click()
            chooser.value.set_files(str(export))
            load = page.locator(".publitrac-step-load")
            doubt = load.get_by_text(re.compile(r"The encoding is a guess: read as Windows-1252"))
            expect(doubt).to_be_visible()
            said = doubt.inner_text()
            assert "'è' would be 'č'" in said and "'Lefèvre' would be 'Lefčvre'" in said, said
            assert "Encoding box" in said and "--encoding" not in said, said
            expect(load.get_by_role("button", name="Read as Windows-1250")).to_be_visible()
            ARTIFACTS.mkdir(exist_ok=True)
            load.screenshot(path=str(ARTIFACTS / "app-encoding-guess.png"))

            # The other reading, then back to the detection's: the box follows each choice.
            load.get_by_role("button", name="Read as Windows-1250").click()
            expect(load.get_by_text(re.compile(r"\(Windows-1250, delimiter ';'\)\.$"))).to_be_visible()
            expect(doubt).to_have_count(0)
            load.locator("select").nth(1).select_option(label="detect")
            expect(doubt).to_be_visible()

            # Before anything is sent the confirmation says it again; keeping the reading silences it.
            click_until(page, page.get_by_text("Connected: key accepted by the local sandbox."))
            page.get_by_role("button", name="Dry run").click()
            expect(
                page.get_by_text(re.compile(r"^Dry run, nothing sent: 3,001 rows would be sent"))
            ).to_be_visible()
            push = page.locator(".publitrac-step-push button", has_text=re.compile(r"^\s*Push\s*$"))
            push.click()
            expect(
                page.locator(".publitrac-step-push").get_by_text(re.compile("The encoding is a guess"))
            ).to_be_visible()
            page.get_by_role("button", name="Cancel").click()
            load.get_by_role("button", name="Keep Windows-1252").click()
            expect(load.get_by_text(re.compile(r"\(Windows-1252, delimiter ';'\)\.$"))).to_be_visible()
            page.get_by_role("button", name="Dry run").click()
            push.click()
            confirm = page.locator(".publitrac-step-push").get_by_text(re.compile(r"^Push 3,001 rows"))
            expect(confirm).to_be_visible()
            assert "guess" not in confirm.inner_text()
            page.get_by_role("button", name="Yes, push").click()
            expect(page.get_by_text(re.compile(r"^Push done"))).to_be_visible()
        finally:
            browser.close()
        httpx.get(f"{served.sandbox}/_sandbox/wait", params={"timeout": 10})
        leads = httpx.get(f"{served.sandbox}/_sandbox/leads").json()
    names = {lead["leadInfo"]["email"]: lead["leadInfo"].get("lastName") for lead in leads}
    assert len(names) == 3001 and names["helene@example.fr"] == "Lefèvre"
