"""One way to run a sync's coroutine from blocking code, in a script as in Jupyter, and stop it on Ctrl-C.

Without an event loop in the thread (a script, the command line), the coroutine runs under `asyncio.run`, which
turns Ctrl-C into a cancellation of the run: the run finishes its report, then `KeyboardInterrupt` is raised.
Where an event loop already runs (a Jupyter kernel), the coroutine runs on a loop of its own in a worker thread;
Ctrl-C (the kernel's interrupt) reaches the waiting thread, which cancels the run on its loop and waits for it to
finish its report before raising `KeyboardInterrupt`: nothing goes on sending behind the user's back.

A user's objects may be tied to the thread that made them (a `sqlite3` connection behind
`pd.read_sql(..., chunksize=)`): `CallerThread` runs such calls on the calling thread, which serves them while it
waits for the run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["CallerThread", "run_blocking"]

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


class CallerThread:
    """Calls made from the run's thread, carried out on the thread that started the run (see `run_blocking`).

    Example:
        >>> caller = CallerThread()
        >>> caller.call(threading.current_thread) is threading.current_thread()   # no worker thread: direct
        True
    """

    def __init__(self) -> None:
        self._thread = threading.current_thread()
        self._calls: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None]
        self._calls = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False

    def call(self, function: Callable[[], T]) -> T:
        """`function()`, on the calling thread; directly when already there.

        Raises:
            asyncio.CancelledError: the run is being stopped (Ctrl-C), and the calling thread serves no more calls.
            Whatever `function` raises.
        """
        if threading.current_thread() is self._thread:
            return function()
        done: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise asyncio.CancelledError
            self._calls.put((function, done))
        return done.result()

    def serve(self, run: concurrent.futures.Future[Any]) -> None:
        """Carry out the calls until `run` is done (on the calling thread)."""
        run.add_done_callback(lambda _: self._calls.put(None))
        while (item := self._calls.get()) is not None:
            function, done = item
            try:
                result = function()
            except Exception as exc:
                done.set_exception(exc)
            except BaseException:  # Ctrl-C during the call: the run is cancelled (see run_blocking)
                done.set_exception(asyncio.CancelledError())
                raise
            else:
                done.set_result(result)

    def close(self) -> None:
        """Serve no more calls: the waiting ones and any later one raise CancelledError on the run's thread."""
        with self._lock:
            self._closed = True
            while True:
                try:
                    item = self._calls.get_nowait()
                except queue.Empty:
                    return
                if item is not None and not item[1].done():
                    item[1].set_exception(asyncio.CancelledError())


def run_blocking(coroutine: Coroutine[Any, Any, T], caller: CallerThread | None = None) -> T:
    """Run `coroutine` to its end and return its result.

    Args:
        coroutine: the run.
        caller: serves calls on this thread while the run goes on a worker thread (made on this thread).

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
            if caller is not None:
                caller.serve(future)
            return future.result()
        except KeyboardInterrupt:
            if caller is not None:
                caller.close()  # before the cancellation: the run may be waiting for a call
            handle.cancel()
            with contextlib.suppress(BaseException):  # the cancellation just asked for, or the run's own end
                future.result()
            raise
