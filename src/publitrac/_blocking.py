"""One way to run a sync's coroutine from blocking code, in a script as in Jupyter, and stop it on Ctrl-C.

Without an event loop in the thread (a script, the command line), the coroutine runs under `asyncio.run`, which
turns Ctrl-C into a cancellation of the run: the run finishes its report, then `KeyboardInterrupt` is raised.
Where an event loop already runs (a Jupyter kernel), the coroutine runs on a loop of its own in a worker thread;
Ctrl-C (the kernel's interrupt) reaches the waiting thread, which cancels the run on its loop and waits for it to
finish its report before raising `KeyboardInterrupt`: nothing goes on sending behind the user's back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_blocking"]

T = TypeVar("T")


class _Handle:
    """The running task and its loop, so that another thread can cancel it."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[Any] | None = None
        self.cancelled = False

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        self.loop = asyncio.get_running_loop()
        self.task = asyncio.current_task()
        if self.cancelled:  # Ctrl-C came before the run started
            coroutine.close()
            raise asyncio.CancelledError
        return await coroutine

    def cancel(self) -> None:
        self.cancelled = True
        loop, task = self.loop, self.task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between: the run is over
                loop.call_soon_threadsafe(task.cancel)


def run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to its end and return its result.

    Raises:
        KeyboardInterrupt: Ctrl-C; the run was cancelled and has finished (its report accounts for every row).
        Whatever the coroutine raises.

    Example:
        >>> async def answer() -> int:
        ...     return 42
        >>> run_blocking(answer())
        42
    """
    handle = _Handle()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(handle.run(coroutine))
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="publitrac-sync") as pool:
        future = pool.submit(asyncio.run, handle.run(coroutine))
        try:
            return future.result()
        except KeyboardInterrupt:
            handle.cancel()
            with contextlib.suppress(BaseException):  # the cancellation just asked for, or the run's own end
                future.result()
            raise
