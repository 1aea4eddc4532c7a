"""JSON responses of the sandbox, error bodies as the spec's `ErrorResponse` describes them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse


class AsciiJSONResponse(JSONResponse):
    """A JSON response written with ASCII escapes.

    JSON admits lone surrogates (`"\\ud800"`) that UTF-8 cannot encode; escaping keeps every value the sandbox
    accepted renderable, in error messages and in the inspection endpoints alike.
    """

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def error_response(
    status: int, message: str, *, headers: Mapping[str, str] | None = None
) -> AsciiJSONResponse:
    """An `ErrorResponse` body: `{"status": "error", "code": status, "message": message}`.

    Args:
        status: The HTTP status, repeated in the body.
        message: A reason for a human; never a key or a token.
        headers: Extra headers (`Allow`, `Retry-After`).

    Returns:
        The response, ready to be sent.

    Example:
        >>> error_response(401, "Token missing, unknown or expired.").body
        b'{"status":"error","code":401,"message":"Token missing, unknown or expired."}'
    """
    return AsciiJSONResponse(
        {"status": "error", "code": status, "message": message}, status_code=status, headers=headers
    )
