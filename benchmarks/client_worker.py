"""One client pushing generated leads, measured in its own process; prints one JSON line of figures.

Run by `run.py`, one process per run, so that CPU time and peak memory are this client's alone:

    PUBLITRAC_API_KEY=... python benchmarks/client_worker.py aiohttp --base-url URL --rows N --tag T

The libraries are imported and the frame (and, for the baselines that take them, the prebuilt bodies) made before
the clock starts; the timed part is what the user waits for: getting a token and pushing every row (for the
toolkit: mapping, validation, body building, sending and the report).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

import baselines
import publitrac
import measure
from leads import CUSTOM_COLUMNS, make_leads, prebuilt_bodies

CLIENTS = ("naive", "httpx", "aiohttp", "toolkit", "httpx-sized-pool")


def toolkit_sync(frame: pd.DataFrame, *, base_url: str, api_key: str, concurrency: int) -> int:
    """The toolkit's `sync` with its defaults but the concurrency, the progress bar off.

    Args:
        frame: Leads from `leads.make_leads`.
        base_url: API base URL ending in `/v2`.
        api_key: The API key.
        concurrency: Requests in flight at most.

    Returns:
        How many rows the report counts as accepted by the server.

    Example:
        >>> toolkit_sync(frame, base_url=url, api_key=key, concurrency=64)  # doctest: +SKIP
        10000
    """
    client = publitrac.Publitrac(api_key=api_key, base_url=base_url)
    report = publitrac.sync(
        frame, client, email="email", custom_fields=CUSTOM_COLUMNS, concurrency=concurrency, progress=False
    )
    return int((report.results["status"] == "accepted").sum())


def _runner(args: argparse.Namespace, frame: pd.DataFrame, api_key: str) -> Callable[[], int]:
    """The timed call for the chosen client, with whatever it prepares beforehand already done."""
    if args.client == "naive":
        return lambda: baselines.naive_loop(frame, base_url=args.base_url, api_key=api_key)
    if args.client == "toolkit":
        return lambda: toolkit_sync(
            frame, base_url=args.base_url, api_key=api_key, concurrency=args.concurrency
        )
    bodies = prebuilt_bodies(frame)
    settings = {"base_url": args.base_url, "api_key": api_key, "concurrency": args.concurrency}
    if args.client == "aiohttp":
        return lambda: asyncio.run(baselines.aiohttp_raw(bodies, **settings))
    sized_pool = args.client == "httpx-sized-pool"
    return lambda: asyncio.run(baselines.httpx_async(bodies, **settings, sized_pool=sized_pool))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("client", choices=CLIENTS)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--tag", required=True, help="run identifier put in every email")
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    api_key = os.environ["PUBLITRAC_API_KEY"]  # never a command-line argument: it would show in `ps`

    frame = make_leads(args.rows, tag=args.tag)
    run = _runner(args, frame, api_key)
    measure.settle_memory()
    rss_before = measure.rss_kib()
    peak_reset = measure.reset_peak()
    cpu_start, wall_start = measure.cpu_seconds(), time.perf_counter()
    accepted = run()
    wall, cpu = time.perf_counter() - wall_start, measure.cpu_seconds() - cpu_start
    figures: dict[str, Any] = {
        "client": args.client,
        "rows": args.rows,
        "accepted": accepted,
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_before_kib": rss_before,
        "peak_during_push_kib": measure.peak_rss_kib() if peak_reset else None,
        "peak_rss_kib": measure.lifetime_peak_rss_kib(),
        "process_cpu_s": measure.cpu_seconds(),
        "frame_bytes": int(frame.memory_usage(deep=True).sum()),
    }
    print(json.dumps(figures))
    return 0 if accepted == args.rows else 1


if __name__ == "__main__":
    sys.exit(main())
