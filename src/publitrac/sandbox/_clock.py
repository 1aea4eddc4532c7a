"""A clock that tests move by hand, so that token expiry and rate limits are tested without sleeping."""

from __future__ import annotations

import threading


class ManualClock:
    """A monotonic clock that only moves when told to; pass it as `clock=` to the sandbox.

    The sandbox reads it for the sliding token TTL and the rate limiter. It is safe to advance it from the test's
    thread while the server reads it from its own.

    Args:
        start: The initial reading, in seconds.

    Example:
        >>> clock = ManualClock()
        >>> clock()
        0.0
        >>> clock.advance(901)
        >>> clock()
        901.0
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """The current reading, in seconds."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward.

        Args:
            seconds: How far to move it (not negative: a monotonic clock never goes back).

        Raises:
            ValueError: If `seconds` is negative.
        """
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go back")
        with self._lock:
            self._now += seconds

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"
