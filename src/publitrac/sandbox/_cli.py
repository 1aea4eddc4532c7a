"""`publitrac sandbox`: run the sandbox in the foreground until Ctrl-C.

    publitrac sandbox --port 8765 [--host 127.0.0.1] [--ttl S] [--latency-ms L] [--fault 429=0.05]
                      [--fault 5xx=0.02] [--fault drop=0.01] [--fault hang=0.01] [--fault 200error=0.05]
                      [--fault 200junk=0.02] [--fault revoke=100] [--rate-limit R [--burst B]] [--retry-after S]
                      [--seed N] [--db FILE] [--apply-delay S]

The API key is the demo key unless `PUBLITRAC_API_KEY` (or `--api-key`) says otherwise; a key of your own is
never printed.
"""

from __future__ import annotations

import argparse
import os
import sys

# Only what the option parser needs: the server's imports cost seconds, and `publitrac --help` should not wait.
from ._tokens import DEFAULT_API_KEY

#: `--fault` kinds: the probabilities, and `revoke` (every N calls).
_PROBABILITIES = {
    "429": "error_429",
    "5xx": "error_5xx",
    "drop": "drop",
    "hang": "hang",
    "200error": "error_200",
    "200junk": "junk_200",
}
_ENV_KEY = "PUBLITRAC_API_KEY"


def _fault(text: str) -> tuple[str, float]:
    kind, sep, value = text.partition("=")
    kind = kind.strip().lower()
    if not sep or kind not in (*_PROBABILITIES, "revoke"):
        raise argparse.ArgumentTypeError(
            f"expected KIND=VALUE with KIND one of {', '.join(_PROBABILITIES)}, revoke; got {text!r}"
        )
    try:
        number = int(value) if kind == "revoke" else float(value)
    except ValueError:
        wanted = "a whole number of calls" if kind == "revoke" else "a probability"
        raise argparse.ArgumentTypeError(f"{kind}: expected {wanted}, got {value!r}") from None
    return kind, number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `publitrac sandbox` options to `parser`.

    Args:
        parser: The subcommand's parser.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_arguments(parser)
        >>> args = parser.parse_args(["--port", "0", "--fault", "429=0.1", "--fault", "revoke=50"])
        >>> args.port, args.fault
        (0, [('429', 0.1), ('revoke', 50)])
    """
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8765, help="port to listen on; 0 picks a free one (default: 8765)"
    )
    parser.add_argument(
        "--api-key",
        action="append",
        metavar="KEY",
        help=f"an API key to accept (repeatable). Prefer {_ENV_KEY}: a command line shows in `ps` and shell history."
        f" Default: ${_ENV_KEY}, else the demo key {DEFAULT_API_KEY!r}",
    )
    parser.add_argument(
        "--ttl", type=int, default=900, help="token time to live in seconds, sliding (default: 900)"
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="milliseconds added to every API call")
    parser.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="KIND=VALUE",
        help="inject faults (repeatable), P a probability per API call: 429=P (with Retry-After); 5xx=P "
        "(500/503 JSON, 502/504 HTML); drop=P (connection closed, no answer); hang=P (never answered, held "
        "until the client gives up); 200error=P (delayedSync answers HTTP 200 with an error body, code 400, "
        "429 or 503, and does not take the lead); 200junk=P (delayedSync answers HTTP 200 with an HTML page or "
        "an empty body, lead not taken); revoke=N (all tokens revoked every N calls)",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        metavar="R",
        help="API calls admitted per second, a token bucket (excess: 429 with Retry-After)",
    )
    parser.add_argument(
        "--burst",
        type=float,
        metavar="B",
        help="size of the --rate-limit bucket: calls admitted at once after an idle spell (default: R, at least 1)",
    )
    parser.add_argument(
        "--retry-after", type=int, default=1, metavar="S", help="Retry-After seconds of 429s (default: 1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws (default: 0)")
    parser.add_argument("--db", metavar="FILE", help="SQLite file for the leads (default: in memory)")
    parser.add_argument(
        "--apply-delay",
        type=float,
        default=0.05,
        metavar="S",
        help="seconds before an accepted lead is applied",
    )


def run(args: argparse.Namespace) -> int:
    """Run the sandbox until Ctrl-C.

    Args:
        args: Parsed options (see `add_arguments`).

    Returns:
        0 after a clean stop; 2 if the settings are invalid or the address cannot be bound.

    Example:
        >>> parser = argparse.ArgumentParser(); add_arguments(parser)
        >>> run(parser.parse_args(["--fault", "429=2"]))  # a probability above 1: refused, nothing started
        2
    """
    from ._app import create_app
    from ._contract import base_path
    from ._server import bind, uvicorn_server

    env_key = os.environ.get(_ENV_KEY)
    keys = args.api_key or ([env_key] if env_key else [DEFAULT_API_KEY])
    options: dict[str, float | int] = {}
    for kind, value in args.fault:
        options["revoke_every" if kind == "revoke" else _PROBABILITIES[kind]] = value
    try:
        app = create_app(
            api_key=keys,
            ttl=args.ttl,
            latency_ms=args.latency_ms,
            rate_limit=args.rate_limit,
            burst=args.burst,
            retry_after=args.retry_after,
            seed=args.seed,
            db_path=args.db,
            apply_delay=args.apply_delay,
            **options,  # type: ignore[arg-type]
        )
    except ValueError as error:
        print(f"publitrac sandbox: {error}", file=sys.stderr)
        return 2
    try:
        sock = bind(args.host, args.port)
    except OSError as error:
        print(
            f"publitrac sandbox: cannot listen on {args.host}:{args.port}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 2
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    root = f"http://{shown}:{port}"
    key = DEFAULT_API_KEY if keys == [DEFAULT_API_KEY] else "(your key)"
    print(f"Publitrac sandbox: {root}{base_path()}", flush=True)
    print(f"API key: {key}", flush=True)
    print(f"Inspect: {root}/_sandbox/leads  {root}/_sandbox/stats   (Ctrl-C stops)", flush=True)
    server = uvicorn_server(app, host=args.host, port=port)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn shuts down gracefully on Ctrl-C, then raises the signal again for the caller.
        pass
    finally:
        sock.close()
    stats = app.stats
    print(f"Stopped: {sum(stats.calls.values())} API calls, {stats.applied} leads applied.", flush=True)
    return 0
