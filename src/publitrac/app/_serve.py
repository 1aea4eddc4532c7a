"""Serve the push app: one shared local sandbox in this process, Voilà in a child process, until Ctrl-C.

publitrac app [--port P] [--no-browser] [--ledger FILE] [--sandbox-fault 5xx=0.3] [--sandbox-seed N]
              [--idle-timeout S]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from publitrac.sandbox._cli import _PROBABILITIES, _fault

#: The app's notebook, inside the package.
NOTEBOOK = Path(__file__).with_name("push-app.ipynb")
DEFAULT_PORT = 8866
#: Variables the app's kernels read (see `publitrac.widgets.PushApp.from_environment`).
SANDBOX_URL_VARIABLE = "PUBLITRAC_APP_SANDBOX_URL"
SANDBOX_LEDGER_VARIABLE = "PUBLITRAC_APP_SANDBOX_LEDGER"
LEDGER_VARIABLE = "PUBLITRAC_APP_LEDGER"
CWD_VARIABLE = "PUBLITRAC_APP_CWD"
_STARTUP_TIMEOUT = 120.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `publitrac app` options to `parser`.

    Args:
        parser: the subcommand's parser.

    Example:
        >>> parser = argparse.ArgumentParser(); add_arguments(parser)
        >>> args = parser.parse_args(["--port", "0", "--sandbox-fault", "5xx=0.3"])
        >>> args.port, args.sandbox_fault
        (0, [('5xx', 0.3)])
    """
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        metavar="P",
        help=f"port of the app on 127.0.0.1; 0 picks a free one (default: {DEFAULT_PORT}, else a free one)",
    )
    parser.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    parser.add_argument(
        "--ledger",
        type=Path,
        metavar="FILE",
        help="the ledger of accepted leads (default: the usual ledger for an account; for the local sandbox, "
        "one that lives as long as the app, as the sandbox does)",
    )
    parser.add_argument(
        "--sandbox-fault",
        type=_fault,
        action="append",
        default=[],
        metavar="KIND=VALUE",
        help="faults of the local sandbox, as `publitrac sandbox --fault`: 429=P, 5xx=P, drop=P, revoke=N",
    )
    parser.add_argument(
        "--sandbox-seed", type=int, default=0, metavar="N", help="seed of the sandbox's faults"
    )
    parser.add_argument(
        "--idle-timeout",
        type=int,
        default=900,
        metavar="S",
        help="seconds after which the kernel of a page closed or left idle is shut down (default: 900)",
    )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the time of asking."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def voila_command(notebook: Path, *, port: int, idle_timeout: int) -> list[str]:
    """The Voilà command line serving `notebook` on 127.0.0.1:`port`, culling idle kernels.

    Example:
        >>> voila_command(Path("app.ipynb"), port=8866, idle_timeout=900)[3:6]
        ['--no-browser', '--port=8866', '--Voila.ip=127.0.0.1']
    """
    return [
        sys.executable,
        "-m",
        "voila",
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        # A reload or a closed tab leaves its kernel behind: shut those down once idle.
        f"--MappingKernelManager.cull_idle_timeout={idle_timeout}",
        f"--MappingKernelManager.cull_interval={max(1, min(60, idle_timeout // 2))}",
        "--MappingKernelManager.cull_connected=False",
        str(notebook),
    ]


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


@contextlib.contextmanager
def _terminate_on_sigterm() -> Iterator[None]:
    """SIGTERM (a scheduler, `kill`) ends the app as Ctrl-C does: the sandbox and Voilà are stopped."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    """Serve the app until Ctrl-C (or SIGTERM).

    Args:
        args: parsed options (see `add_arguments`).

    Returns:
        0 after a clean stop; 2 when the app's port is taken or Voilà cannot start.

    Example (not run by the doctests: it serves the app with Voilà and the sandbox until Ctrl-C):
        >>> parser = argparse.ArgumentParser(); add_arguments(parser)
        >>> run(parser.parse_args(["--no-browser"]))    # doctest: +SKIP
    """
    from publitrac.sandbox import DEFAULT_API_KEY, run_sandbox

    if importlib.util.find_spec("voila") is None or importlib.util.find_spec("ipywidgets") is None:
        print(
            'publitrac app: the app needs Voila and ipywidgets: pip install "publitrac[notebooks]"',
            file=sys.stderr,
        )
        return 2

    port = args.port
    if port is None:
        port = DEFAULT_PORT if _port_is_free(DEFAULT_PORT) else free_port()
    elif port == 0:
        port = free_port()
    elif not _port_is_free(port):
        print(
            f"publitrac app: port {port} is taken; choose another with --port, or 0 for a free one",
            file=sys.stderr,
        )
        return 2
    options: dict[str, float | int] = {}
    for kind, value in args.sandbox_fault:
        options["revoke_every" if kind == "revoke" else _PROBABILITIES[kind]] = value
    env_key = os.environ.get("PUBLITRAC_API_KEY")
    keys = [DEFAULT_API_KEY, env_key] if env_key else [DEFAULT_API_KEY]
    with contextlib.ExitStack() as stack:
        try:
            sandbox = stack.enter_context(
                run_sandbox(api_key=keys, seed=args.sandbox_seed, port=0, **options)  # type: ignore[arg-type]
            )
        except ValueError as error:
            print(f"publitrac app: --sandbox-fault: {error}", file=sys.stderr)
            return 2
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="publitrac-app-"))
        env = dict(os.environ)
        env[SANDBOX_URL_VARIABLE] = sandbox.base_url
        env[CWD_VARIABLE] = os.getcwd()
        # The sandbox forgets its leads when the app stops: so must its ledger, unless one is named.
        env[SANDBOX_LEDGER_VARIABLE] = str(args.ledger or Path(folder, "sandbox-ledger.sqlite"))
        if args.ledger is not None:
            env[LEDGER_VARIABLE] = str(args.ledger)
        url = f"http://127.0.0.1:{port}/"
        command = voila_command(NOTEBOOK, port=port, idle_timeout=args.idle_timeout)
        process = subprocess.Popen(command, cwd=folder, env=env)
        try:
            with _terminate_on_sigterm():
                if not _wait_for_port(port, process):
                    print("publitrac app: Voilà did not start (see above)", file=sys.stderr)
                    return 2
                root = sandbox.base_url.removesuffix("/v2")
                print(f"Publitrac app: {url}", flush=True)
                print(f"Local sandbox: {sandbox.base_url} (its leads: {root}/_sandbox/leads)", flush=True)
                print("Ctrl-C stops the app.", flush=True)
                if not args.no_browser:
                    webbrowser.open(url)
                process.wait()
        except KeyboardInterrupt:
            pass
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    return 0
