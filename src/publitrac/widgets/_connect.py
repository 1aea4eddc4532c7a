"""The app's Connect step: where to push (the local sandbox or an account), a key box, and a checked key.

Connecting fetches a token, so "Connected: key accepted" means the key and the address really work. What goes
wrong is said in the words of the page (the boxes the analyst typed in), never as an exception's class name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import ipywidgets as widgets
import traitlets

import publitrac
from publitrac.connection._verify import verify_key

from ._common import message_html

#: Set by `publitrac app`: the address of the sandbox every page of the app shares.
SANDBOX_URL_VARIABLE = "PUBLITRAC_APP_SANDBOX_URL"


class BoxProblem(publitrac.ConfigurationError):
    """A box of the Connect step holds something that cannot work; the message says so in the page's words."""


def explain_connection_error(error: BaseException, *, base_url: str, sandbox: bool) -> str:
    """What went wrong while connecting, in the words of the app's boxes.

    Args:
        error: what the library raised.
        base_url: the address tried (the Base URL box, or the sandbox's address).
        sandbox: whether "Local sandbox" was on.

    Returns:
        One or two plain sentences.

    Example:
        >>> explain_connection_error(publitrac.AuthenticationError("401"), base_url="https://h/v2", sandbox=False)
        'Key refused: Publitrac did not accept the key in the API key box. Paste it again, whole.'
    """
    if isinstance(error, BoxProblem):
        return str(error)
    where = "the local sandbox" if sandbox else base_url
    if isinstance(error, publitrac.AuthenticationError):
        if sandbox:
            return (
                "Key refused: the local sandbox did not accept the key in the API key box. "
                "Leave the box empty to use the sandbox's demo key."
            )
        return "Key refused: Publitrac did not accept the key in the API key box. Paste it again, whole."
    if isinstance(error, publitrac.ConnectionFailed | httpx.TransportError | OSError):
        return f"Host unreachable: nothing answered at {where}. Check the Base URL box and the network."
    if isinstance(error, publitrac.ApiError):
        if error.status_code == 404:
            return (
                f"Nothing found at {base_url}: the Base URL box must hold the API's address, ending in /v2 "
                "(e.g. https://your-host/v2)."
            )
        from publitrac.engine._outcome import explain_status

        code = error.status_code or 0
        return f"The key could not be checked: {explain_status(code)}. Try Connect again in a moment."
    if isinstance(error, publitrac.ConfigurationError):
        text = str(error)
        if "plain http" in text:
            return (
                "The Base URL box must start with https:// (plain http would send the key unencrypted over "
                "the network)."
            )
        if "API key" in text and "base URL" not in text:
            return "Type your API key in the API key box."
        if "base URL" in text or "Base URL" in text:
            return "Type the API's address in the Base URL box, ending in /v2 (e.g. https://your-host/v2)."
        return "The Base URL box does not hold a web address such as https://your-host/v2."
    return "Could not connect: something unexpected went wrong; try Connect again."


def base_url_problem(base_url: str) -> str:
    """'' when the Base URL box looks like an API address, else what is wrong with it in plain words.

    Example:
        >>> base_url_problem("https://api.example.com")
        'The Base URL box must end in /v2, the API version (e.g. https://api.example.com/v2).'
    """
    text = base_url.strip()
    if not text:
        return "Type the API's address in the Base URL box, ending in /v2 (e.g. https://your-host/v2)."
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError):
        return "The Base URL box does not hold a web address such as https://your-host/v2."
    if url.scheme not in ("http", "https") or not url.host:
        return "The Base URL box must start with https:// and name a host, e.g. https://your-host/v2."
    if not url.path.rstrip("/").endswith("/v2"):
        suggestion = text.rstrip("/") + "/v2"
        return f"The Base URL box must end in /v2, the API version (e.g. {suggestion})."
    return ""


class ConnectStep(widgets.VBox):
    """Choose where to push, check the key by fetching a token, and hold the connection.

    With "Local sandbox" on, the connection goes to the sandbox at `sandbox_url` (the one `publitrac app`
    shares between pages), or to a sandbox this step starts on a free port and keeps until `close()`. Its key is
    the one typed, else `PUBLITRAC_API_KEY`, else the sandbox's demo key. The key box is cleared as soon as it
    is read (a Password widget's value travels to the browser like any other).

    Args:
        sandbox: "Local sandbox" at start (None: on unless both environment variables are set).
        sandbox_url: a running sandbox's base URL to share (None: start one on Connect).
        sandbox_options: keywords for `run_sandbox` when this step starts its own.
        environ: where to read `PUBLITRAC_API_KEY` and `PUBLITRAC_BASE_URL` (default `os.environ`).
        verify: fetches a token with a connection (injectable for tests).

    Example (not run by the doctests: `connect()` starts the sandbox, a local server):
        >>> step = ConnectStep(sandbox=True)
        >>> step.connect().base_url.endswith("/v2")    # doctest: +SKIP
        True
    """

    client = traitlets.Any(None, allow_none=True, help="The checked connection, or None.")

    def __init__(
        self,
        *,
        sandbox: bool | None = None,
        sandbox_url: str | None = None,
        sandbox_options: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        verify: Callable[[publitrac.Publitrac], None] = verify_key,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self.sandbox_url = sandbox_url
        self.sandbox_options = dict(sandbox_options or {})
        self._verify = verify
        self._stack = contextlib.ExitStack()
        self.sandbox: Any = None
        #: The ledger of the sandbox this step started (None until then).
        self.sandbox_ledger: Path | None = None
        self.destination = ""
        env_key = bool(self._environ.get("PUBLITRAC_API_KEY"))
        env_url = self._environ.get("PUBLITRAC_BASE_URL", "")
        if sandbox is None:
            sandbox = not (env_key and env_url)
        self.use_sandbox = widgets.Checkbox(
            value=sandbox, description="Local sandbox", indent=False, layout={"width": "140px"}
        )
        self.base_url = widgets.Text(
            value=env_url,
            description="Base URL",
            placeholder="https://your-host/v2",
            layout={"width": "420px"},
        )
        self.api_key = widgets.Password(
            description="API key",
            placeholder="(the key set for this app)" if env_key else "paste your API key",
            layout={"width": "420px"},
        )
        self.connect_button = widgets.Button(description="Connect", icon="plug", button_style="primary")
        self.message = widgets.HTML()
        super().__init__(
            [
                widgets.HBox([self.use_sandbox, self.base_url]),
                widgets.HBox([self.api_key, self.connect_button]),
                self.message,
            ]
        )
        self.use_sandbox.observe(self._on_switch, names="value")
        self.base_url.observe(lambda _: self._forget("the Base URL changed"), names="value")
        self.connect_button.on_click(lambda _: self._on_click())
        self.base_url.disabled = sandbox

    @property
    def connected(self) -> bool:
        """Whether a checked connection is held."""
        return self.client is not None

    def connect(self) -> publitrac.Publitrac:
        """Connect with the boxes' settings and check the key by fetching a token.

        Returns:
            The connection, also kept as `.client`.

        Raises:
            PublitracError: the key was refused, the host is unreachable, a box is empty or malformed.
        """
        typed = self.api_key.value.strip()
        self.api_key.value = ""
        self.disconnect()
        self.message.value = message_html("Connecting…")
        key = typed or self._environ.get("PUBLITRAC_API_KEY") or None
        if self.use_sandbox.value:
            from publitrac.sandbox import DEFAULT_API_KEY

            key = key or DEFAULT_API_KEY
            base_url = self._sandbox_base_url()
            self.destination = "the local sandbox"
        else:
            problem = base_url_problem(self.base_url.value)
            if problem:
                raise BoxProblem(problem)
            base_url = self.base_url.value.strip()
            self.destination = base_url
        client = publitrac.Publitrac(api_key=key, base_url=base_url)
        self._verify(client)
        self.client = client
        self.message.value = message_html(f"Connected: key accepted by {self.destination}.", kind="ok")
        return client

    def disconnect(self, reason: str = "") -> None:
        """Drop the connection (the local sandbox, shared or not, keeps running)."""
        client, self.client = self.client, None
        if client is not None:
            client.close()
        self.message.value = message_html(f"Not connected: {reason}.", kind="warning") if reason else ""

    def close(self) -> None:
        """Disconnect, stop a sandbox this step started, and close the widgets."""
        self.disconnect()
        self._stack.close()
        self.sandbox, self.sandbox_ledger = None, None
        super().close()

    def _sandbox_base_url(self) -> str:
        shared = self.sandbox_url or self._environ.get(SANDBOX_URL_VARIABLE)
        if shared:
            return shared
        if self.sandbox is None:
            from publitrac.sandbox import DEFAULT_API_KEY, run_sandbox

            env_key = self._environ.get("PUBLITRAC_API_KEY")
            keys = [DEFAULT_API_KEY, env_key] if env_key else [DEFAULT_API_KEY]
            options: dict[str, Any] = {"api_key": keys, "port": 0} | self.sandbox_options
            self.sandbox = self._stack.enter_context(run_sandbox(**options))
            # The sandbox forgets its leads when it stops: its ledger must too, or a rerun would skip them.
            folder = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="publitrac-sandbox-"))
            self.sandbox_ledger = Path(folder, "ledger.sqlite3")
        return str(self.sandbox.base_url)

    def _on_click(self) -> None:
        try:
            self.connect()
        except Exception as error:  # a click has no caller: say what is wrong in the page's words
            sandbox = bool(self.use_sandbox.value)
            base_url = self.destination if not sandbox else "the local sandbox"
            self.message.value = message_html(
                explain_connection_error(error, base_url=base_url, sandbox=sandbox), kind="error"
            )

    def _on_switch(self, change: dict[str, Any]) -> None:
        self.base_url.disabled = bool(change["new"])
        if self.connected:
            where = "on" if change["new"] else "off"
            self.disconnect(f"Local sandbox was switched {where}; connect again")

    def _forget(self, reason: str) -> None:
        if self.connected and not self.use_sandbox.value:
            self.disconnect(f"{reason}; connect again")
