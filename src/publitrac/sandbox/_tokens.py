"""API keys and tokens with a sliding time to live, as the Publitrac API documents them."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable

#: The API key the sandbox accepts unless told otherwise. Not a secret: it only opens the local sandbox.
DEFAULT_API_KEY = "sandbox-demo-key"

#: Characters a token always holds at least one of: real tokens may hold `!` (the vendor's example is
#: `djs4fdn4dJTer489!`), so clients must not assume URL-safe tokens.
_PUNCTUATION = "!"


class ApiKeys:
    """The API keys the sandbox accepts, compared in constant time.

    Args:
        keys: One or several keys (non-empty strings).

    Raises:
        ValueError: If no key is given or a key is empty.

    Example:
        >>> keys = ApiKeys(["sandbox-demo-key"])
        >>> keys.accepts("sandbox-demo-key"), keys.accepts("guess")
        (True, False)
    """

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = [key.encode("utf-8") for key in keys]
        if not self._keys or not all(self._keys):
            raise ValueError("at least one non-empty API key is needed")

    def accepts(self, given: str | None) -> bool:
        """Whether `given` (an `Authorization` header value, decoded as Latin-1) is one of the keys."""
        if not given:
            return False
        raw = given.encode("latin-1", errors="replace")
        # Compare with every key, without stopping at the first match, so the timing tells nothing.
        found = False
        for key in self._keys:
            found |= hmac.compare_digest(raw, key)
        return found

    def __repr__(self) -> str:
        return f"ApiKeys(<{len(self._keys)} hidden>)"


class TokenRegistry:
    """Issues opaque tokens and tracks their sliding expiry.

    A token is valid while less than `ttl` seconds have passed since the last call made with it (its issue counts
    as one). Only a hash of each token is kept, so a dump of the registry holds no usable token.

    Args:
        ttl: Seconds a token lives after its last use.
        clock: A callable returning monotonic seconds (`time.monotonic`, or a `ManualClock` in tests).

    Example:
        >>> from publitrac.sandbox import ManualClock
        >>> clock = ManualClock()
        >>> tokens = TokenRegistry(ttl=10, clock=clock)
        >>> token = tokens.issue()
        >>> clock.advance(9); tokens.use(token)
        True
        >>> clock.advance(9); tokens.use(token)
        True
        >>> clock.advance(10); tokens.use(token)
        False
    """

    def __init__(self, *, ttl: int, clock: Callable[[], float]) -> None:
        if ttl < 1:
            raise ValueError("ttl must be at least 1 second")
        self.ttl = ttl
        self._clock = clock
        self._last_used: dict[bytes, float] = {}
        self._issued_since_prune = 0

    def issue(self) -> str:
        """A new token, valid for `ttl` seconds from now."""
        body = secrets.token_urlsafe(24)
        at = secrets.randbelow(len(body) + 1)
        token = body[:at] + _PUNCTUATION + body[at:]
        self._last_used[_digest(token)] = self._clock()
        self._issued_since_prune += 1
        if self._issued_since_prune >= 1024:
            self._prune()
        return token

    def use(self, token: str | None) -> bool:
        """Whether `token` is valid now; if it is, its expiry slides to `ttl` seconds from now."""
        if not token:
            return False
        digest = _digest(token)
        last = self._last_used.get(digest)
        now = self._clock()
        if last is None:
            return False
        if now - last >= self.ttl:
            del self._last_used[digest]
            return False
        self._last_used[digest] = now
        return True

    def revoke_all(self) -> int:
        """Forget every token; returns how many were live."""
        count = len(self._last_used)
        self._last_used.clear()
        return count

    def __len__(self) -> int:
        return len(self._last_used)

    def __repr__(self) -> str:
        return f"TokenRegistry(ttl={self.ttl}, tokens={len(self._last_used)})"

    def _prune(self) -> None:
        # Clients that fetch a token per run would otherwise grow the registry without bound.
        self._issued_since_prune = 0
        now = self._clock()
        expired = [digest for digest, last in self._last_used.items() if now - last >= self.ttl]
        for digest in expired:
            del self._last_used[digest]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", errors="surrogateescape")).digest()
