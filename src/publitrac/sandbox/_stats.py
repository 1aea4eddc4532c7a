"""Counters the sandbox keeps, served read-only at `GET /_sandbox/stats`."""

from __future__ import annotations

from collections import Counter
from typing import Any


class SandboxStats:
    """What the sandbox saw and did: calls, responses, faults and leads.

    Only the event loop thread writes these counters; `snapshot()` copies them into plain JSON-ready values.

    Example:
        >>> stats = SandboxStats()
        >>> stats.calls["getToken"] += 1
        >>> stats.snapshot()["calls"]
        {'getToken': 1}
    """

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.responses: Counter[int] = Counter()
        self.faults: Counter[str] = Counter()
        self.tokens_issued = 0
        self.accepted = 0
        self.applied = 0
        self.failed = 0

    @property
    def pending(self) -> int:
        """Leads accepted but not yet applied (nor failed)."""
        return self.accepted - self.applied - self.failed

    def snapshot(self, *, leads_stored: int | None = None) -> dict[str, Any]:
        """The counters as a JSON-ready dict.

        Args:
            leads_stored: How many distinct leads the store holds, if known.

        Returns:
            `calls` (per operationId), `responses` (per status code, as strings), `bad_requests` (400s),
            `unauthorized` (401s), `tokens_issued`, `faults` (per kind: `429`, `500`, `502`, `503`, `504`,
            `drop`, `rate_limit`, `revoke`), `accepted`, `applied`, `failed`, `pending` and `leads_stored`.
        """
        snapshot: dict[str, Any] = {
            "calls": dict(self.calls),
            "responses": {str(status): count for status, count in sorted(self.responses.items())},
            "bad_requests": self.responses[400],
            "unauthorized": self.responses[401],
            "tokens_issued": self.tokens_issued,
            "faults": dict(self.faults),
            "accepted": self.accepted,
            "applied": self.applied,
            "failed": self.failed,
            "pending": self.pending,
        }
        if leads_stored is not None:
            snapshot["leads_stored"] = leads_stored
        return snapshot
