"""The window's control law alone, on a simulated clock: what `adaptive.py` measures, without the machine's noise.

    python benchmarks/adaptive_model.py           # the three scenarios of adaptive.py, both engines, 3 seeds

A discrete-event model: a server that answers each call after `latency` (plus up to 10%), through a token bucket
or with random 429s (`Retry-After: 1`), and a client with many rows to send. The adaptive engine is modelled
with the real `AdaptiveLimit` (`src/publitrac/engine/_limiter.py`); the fixed engine as it was: 64 calls in
flight, and a 429 holds every call back until its `Retry-After` has passed. A refused row waits its
`Retry-After` (plus jitter, or its exponential backoff if longer) and is tried again, 5 attempts at most, as the
engine does. No CPU is modelled: on a machine that the client and the sandbox saturate, `adaptive.py` measures
less; here the control law is judged on its own.

Results: a table on stdout and `benchmarks/results/adaptive-model.json`.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import statistics
import sys
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from publitrac.engine._limiter import AdaptiveLimit, Signal  # noqa: E402

OUTPUT = HERE / "results" / "adaptive-model.json"
MAX_ATTEMPTS = 5


def simulate(
    engine: str,
    *,
    rows: int,
    seed: int,
    rate: float | None = None,
    burst: float | None = None,
    random_429: float = 0.0,
    latency: float = 0.020,
    concurrency: int = 64,
    retry_after: float = 1.0,
) -> dict[str, Any]:
    """One run: accepted rows per second, over the run and between 10% and 90% of the rows."""
    draw = random.Random(seed)
    now = 0.0
    window = AdaptiveLimit(concurrency, clock=lambda: now) if engine == "adaptive" else None
    tokens, refilled = (burst or 0.0), 0.0
    resume_at = 0.0  # the fixed engine's hold on every call
    ready: deque[int] = deque(range(rows))
    attempts = [0] * rows
    in_flight = 0
    events: list[tuple[float, int, str, Any]] = []
    order = 0
    accepted_at: list[float] = []
    refused = failed = 0

    def push(when: float, kind: str, data: Any = None) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (when, order, kind, data))

    def admitted() -> bool:
        nonlocal tokens, refilled
        if rate is not None and burst is not None:
            tokens, refilled = min(burst, tokens + (now - refilled) * rate), now
            if tokens < 1:
                return False
            tokens -= 1
        return draw.random() >= random_429

    while ready or events:
        while ready:
            if window is not None:
                window.waiting = len(ready)
                delay = window.delay()
                if delay is None:
                    break
                if delay > 0:
                    push(now + delay, "tick")
                    break
                permit: Any = window.start()
            else:
                if in_flight >= concurrency:
                    break
                if now < resume_at:
                    push(resume_at, "tick")
                    break
                permit = None
            row = ready.popleft()
            attempts[row] += 1
            in_flight += 1
            took = latency * (1 + 0.1 * draw.random())
            push(now + took, "answer", (row, permit, admitted(), took))
        if not events:
            break
        now, _, kind, data = heapq.heappop(events)
        if kind == "retry":
            ready.append(data)
        elif kind == "answer":
            row, permit, ok, took = data
            in_flight -= 1
            if window is not None:
                window.finish(permit, Signal.GOOD if ok else Signal.OVERLOAD, took)
            if ok:
                accepted_at.append(now)
                continue
            refused += 1
            if window is None:
                resume_at = max(resume_at, now + retry_after)
            if attempts[row] >= MAX_ATTEMPTS:
                failed += 1
                continue
            backoff = draw.uniform(0, min(10.0, 0.25 * 2 ** attempts[row]))
            push(now + max(backoff, retry_after + draw.uniform(0, 0.1 + 0.1 * retry_after)), "retry", row)
    accepted = len(accepted_at)
    steady = None
    if accepted >= 10:
        first, last = accepted_at[int(0.1 * rows)], accepted_at[min(int(0.9 * rows), accepted - 1)]
        steady = (
            (min(int(0.9 * rows), accepted - 1) - int(0.1 * rows)) / (last - first) if last > first else None
        )
    return {
        "rows_per_s": accepted / now,
        "steady_rows_per_s": steady,
        "failed": failed,
        "refused_per_row": refused / rows,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6000, help="rows the adaptive engine sends")
    parser.add_argument("--fixed-rows", type=int, default=1200, help="rows the fixed engine sends")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    scenarios: dict[str, dict[str, Any]] = {
        "bucket": {"rate": 300.0, "burst": 30.0},
        "random429": {"random_429": 0.05},
        "clean": {},
    }
    summary = []
    print(
        "| scenario | engine | rows/s | steady rows/s | of the limit (steady) | failed rows | refusals/row |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, settings in scenarios.items():
        for engine in ("fixed", "adaptive"):
            rows = args.rows if engine == "adaptive" else args.fixed_rows
            runs = [simulate(engine, rows=rows, seed=seed, **settings) for seed in range(args.seeds)]
            entry = {
                "scenario": name,
                "engine": engine,
                "rows": rows,
                **{key: statistics.median(run[key] for run in runs) for key in runs[0]},
            }
            summary.append(entry)
            limit = f"{entry['steady_rows_per_s'] / settings['rate']:.0%}" if "rate" in settings else ""
            print(
                f"| {name} | {engine} | {entry['rows_per_s']:,.0f} | {entry['steady_rows_per_s']:,.0f} | {limit} "
                f"| {entry['failed']:g} | {entry['refused_per_row']:.2f} |"
            )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps({"summary": summary, "seeds": args.seeds}, indent=2) + "\n", encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
