"""The documentation site: built with `mkdocs build --strict` as CI builds it, its pages opened in headless Chromium,
and the generated pages held to what they document (the command's parser, `publitrac.__all__`, the README).

Chromium is Debian's, driven by Playwright as in tests/test_browser.py: without it the browser test skips with a
reason on a laptop and fails in CI (`CI` set). The screenshot is saved in `test-artifacts/` (git-ignored).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import importlib.util
import io
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import publitrac
from publitrac.cli._main import build_parser
from test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_chromium

# Long, and the same on every Python: .ci/run runs it on Python 3.11 only (pytest -m "not slow" on the newest).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGE_TIMEOUT_MS = 60_000


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cli_reference = _load(DOCS / "hooks" / "cli_reference.py")


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command and subcommand of `parser`, found by walking argparse's own objects."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                yield from _commands(subparser, (*path, name))


def _section(markdown: str, title: str) -> str:
    """The text of the section headed `title`, up to the next heading of any level."""
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#+ |\Z)", markdown, re.M | re.S)
    assert match is not None, f"no section {title!r}"
    return match.group(1)


def test_the_cli_reference_has_every_command_and_every_flag_of_sync() -> None:
    markdown = cli_reference.render()
    commands = dict(_commands(build_parser(), ("publitrac",)))
    assert {"sync", "validate", "sandbox", "app", "runs", "ledger"} <= {
        path[1] for path in commands if len(path) > 1
    }
    headings = set(re.findall(r"^#+ (publitrac.*)$", markdown, re.M))
    assert headings == {" ".join(path) for path in commands}
    sync = _section(markdown, "publitrac sync")
    flags = [flag for action in commands[("publitrac", "sync")]._actions for flag in action.option_strings]
    assert "--dry-run" in flags and "--ledger" in flags
    for flag in flags:
        assert re.search(rf"^- `([^`]*, )?{re.escape(flag)}\b", sync, re.M), (
            f"publitrac sync {flag} is missing from the reference"
        )
    assert "`FILE`" in sync
    assert "Exit status: 0 every row accepted or unchanged" in sync  # the epilog


def test_the_cli_reference_follows_the_parser_it_is_given() -> None:
    parser = argparse.ArgumentParser(prog="tool", description="A tool.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    push = commands.add_parser("push", help="push things", description="Push the *things*.", epilog="Exit 0.")
    push.add_argument("--zap", metavar="N", help="zap N <things> (%(default)s)", default=3)
    markdown = cli_reference.render(parser)
    push_section = _section(markdown, "tool push")
    assert "- `--zap N`: zap N \\<things\\> (3)" in push_section
    assert "Push the \\*things\\*." in push_section and "Exit 0." in push_section
    assert "usage: tool push [-h] [--zap N]" in push_section


def test_the_cli_reference_page_keeps_its_marker() -> None:
    page = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    assert page.count(cli_reference.MARKER) == 1


def test_the_api_page_documents_exactly_the_public_names() -> None:
    page = (DOCS / "reference" / "python.md").read_text(encoding="utf-8")
    documented = re.findall(r"^::: publitrac\.(\w+)$", page, re.M)
    assert len(documented) == len(set(documented)), "a name is documented twice"
    missing = set(publitrac.__all__) - set(documented)
    extra = set(documented) - set(publitrac.__all__)
    assert not missing, f"add `::: publitrac.NAME` to docs/reference/python.md for: {sorted(missing)}"
    assert not extra, f"not in publitrac.__all__: {sorted(extra)}"


def _python_block(path: Path) -> str:
    match = re.search(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    assert match is not None, path
    return match.group(1)


def test_the_readme_keeps_its_two_commands_and_links_to_existing_guides() -> None:
    text = README.read_text(encoding="utf-8")
    quick_start = re.search(r"## Quick start.*?```bash\n(.*?)```", text, re.S)
    assert quick_start is not None
    commands = [line.split("#")[0].strip() for line in quick_start.group(1).splitlines()]
    assert "publitrac sync examples/leads.csv --sandbox" in commands
    assert "python -m pytest" in commands
    links = re.findall(r"\]\(((?:docs|benchmarks)/[^)#]+)", text)
    assert len(links) >= 10
    for link in links:
        assert (ROOT / link).is_file(), f"README links to {link}, which does not exist"


def test_the_readme_python_example_is_the_home_pages_and_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    code = _python_block(README)
    assert code == _python_block(DOCS / "index.md")
    assert len(code.strip().splitlines()) <= 12
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {})  # noqa: S102
    assert re.match(r"SyncReport: 300 rows: 295 accepted, 5 invalid", out.getvalue()), out.getvalue()


def _build(site: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr


@contextlib.contextmanager
def _served(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def _check_screenshot(png: bytes) -> None:
    from PIL import Image  # matplotlib's dependency (notebooks extra)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 20_000, f"a {len(png)}-byte screenshot is too small to hold a page"
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (1280, 900)
    low, high = image.convert("L").getextrema()
    assert high - low > 128, "the screenshot is blank"
    assert len(image.getcolors(maxcolors=1_000_000) or []) > 50, "the screenshot holds almost no colours"


@pytest.mark.timeout(300)
def test_the_built_site_opens_in_a_browser(tmp_path: Path) -> None:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    site = tmp_path / "site"
    _build(site)
    for page_path in ("index.html", "get-started/index.html", "reference/python/index.html",
                      "reference/cli/index.html", "notebooks/02-push-leads/index.html"):  # fmt: skip
        assert (site / page_path).is_file(), page_path

    with _served(site) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            failed: list[str] = []
            page.on("requestfailed", lambda request: failed.append(request.url))

            page.goto(url + "reference/python/")
            sync = page.locator('[id="publitrac.sync"]')
            expect(sync).to_be_visible()
            expect(sync).to_contain_text("publitrac.sync")
            expect(page.get_by_text("Send every valid row of", exact=False).first).to_be_visible()
            sync.scroll_into_view_if_needed()
            ARTIFACTS.mkdir(exist_ok=True)
            png = page.screenshot()
            (ARTIFACTS / "docs-python-api.png").write_bytes(png)
            _check_screenshot(png)

            page.goto(url + "get-started/")
            expect(page.locator("h1")).to_have_text(re.compile(r"^Get started"))
            expect(page.get_by_role("heading", name="Connect your account")).to_be_visible()

            page.goto(url + "reference/cli/")
            expect(page.locator("h1")).to_have_text(re.compile(r"^Command line"))
            expect(page.locator('[id="publitrac-sync"]')).to_contain_text("publitrac sync")
            expect(page.get_by_text("--dry-run", exact=False).first).to_be_visible()
            assert not failed, f"requests that failed (nothing may come from the web): {failed}"
        finally:
            browser.close()
