"""The delayed part of `delayedSync`: accepted leads wait `apply_delay` seconds, then reach the store by batch."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from ._stats import SandboxStats
from ._store import Lead, LeadStore

_log = logging.getLogger("publitrac.sandbox")
# Bounds the time the event loop spends in one SQLite transaction while requests wait.
_MAX_BATCH = 2000


class DelayedApplier:
    """A queue of accepted leads and one background task that applies them once they are due.

    One task drains the queue by batch (one SQLite transaction per batch), so that thousands of leads a second cost
    no thread per lead. It starts with the first accepted lead; `aclose()` applies what is left and stops it.

    Args:
        store: Where leads go.
        stats: Counters to update (`applied`, `failed`).
        delay: Seconds between acceptance and application (0 applies on the next turn of the loop).

    Example:
        >>> import asyncio
        >>> from publitrac.sandbox._store import LeadStore
        >>> async def demo():
        ...     stats = SandboxStats()
        ...     applier = DelayedApplier(LeadStore(), stats, delay=0.01)
        ...     applier.accept(("a@b.com", {"email": "a@b.com"}, {}))
        ...     await applier.wait_idle(timeout=5)
        ...     await applier.aclose()
        ...     return stats.applied
        >>> asyncio.run(demo())
        1
    """

    def __init__(self, store: LeadStore, stats: SandboxStats, *, delay: float) -> None:
        if delay < 0:
            raise ValueError("apply_delay cannot be negative")
        self.store = store
        self.stats = stats
        self.delay = delay
        self._queue: deque[tuple[float, Lead]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None

    def accept(self, lead: Lead) -> None:
        """Queue a lead for application `delay` seconds from now (call from the event loop)."""
        loop = asyncio.get_running_loop()
        wakeup, idle = self._events()
        self._queue.append((loop.time() + self.delay, lead))
        self.stats.accepted += 1
        idle.clear()
        wakeup.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="publitrac-sandbox-applier")

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no accepted lead is pending; returns False if `timeout` seconds pass first."""
        _, idle = self._events()
        if self.stats.pending == 0:
            return True
        try:
            await asyncio.wait_for(idle.wait(), timeout)
        except TimeoutError:
            return self.stats.pending == 0
        return True

    async def aclose(self) -> None:
        """Apply every queued lead now, then stop the background task."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        while self._queue:
            self._apply(self._take(due_before=float("inf")))

    def _events(self) -> tuple[asyncio.Event, asyncio.Event]:
        # Created lazily, inside the running loop that will wait on them.
        if self._wakeup is None or self._idle is None:
            self._wakeup, self._idle = asyncio.Event(), asyncio.Event()
            if self.stats.pending == 0:
                self._idle.set()
        return self._wakeup, self._idle

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        wakeup, _ = self._events()
        while True:
            if not self._queue:
                wakeup.clear()
                await wakeup.wait()
                continue
            wait = self._queue[0][0] - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            self._apply(self._take(due_before=loop.time()))
            # Let requests in between batches under a heavy load.
            await asyncio.sleep(0)

    def _take(self, *, due_before: float) -> list[Lead]:
        batch: list[Lead] = []
        while self._queue and self._queue[0][0] <= due_before and len(batch) < _MAX_BATCH:
            batch.append(self._queue.popleft()[1])
        return batch

    def _apply(self, batch: list[Lead]) -> None:
        try:
            self.store.apply(batch)
            self.stats.applied += len(batch)
        except Exception:
            # One bad lead must not lose its batch: retry one by one and drop only what fails, as the real
            # service drops a lead it cannot process after accepting it.
            for lead in batch:
                self._apply_one(lead)
        if self.stats.pending == 0:
            _, idle = self._events()
            idle.set()

    def _apply_one(self, lead: Lead) -> None:
        try:
            self.store.apply([lead])
            self.stats.applied += 1
        except Exception as error:  # noqa: BLE001 - a dropped lead is counted, the sandbox goes on
            self.stats.failed += 1
            _log.warning("sandbox: a lead could not be stored and was dropped (%s)", type(error).__name__)
