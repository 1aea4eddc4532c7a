"""What the sandbox takes from `openapi.yaml`: the paths, methods, auth headers and the request validator.

Nothing here is typed by hand: adding a field to `LeadInfo` in the spec is enough for the sandbox to accept it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jsonschema
from email_validator import EmailNotValidError, validate_email

from .. import _spec

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Validation messages quote the offending value, which can be as large as the body.
_MAX_MESSAGE = 300


@dataclass(frozen=True)
class Operation:
    """One API operation of the spec, as the sandbox serves it."""

    operation_id: str
    method: str
    path: str
    auth_header: str
    body_schema: str | None


def base_path() -> str:
    """The path every API URL starts with (`/v2`), which every server of the spec shares (production and sandbox).

    Example:
        >>> base_path()
        '/v2'
    """
    paths: set[str] = {urlsplit(server["url"]).path.rstrip("/") for server in _spec.spec()["servers"]}
    if len(paths) != 1:
        raise ValueError(f"the spec's servers disagree on the API's path: {sorted(paths)}")
    return paths.pop()


@functools.cache
def operations() -> dict[str, Operation]:
    """The spec's operations by operationId, with full paths (`/v2/...`).

    Example:
        >>> operations()["getToken"].path, operations()["delayedSync"].auth_header
        ('/v2/auth/getToken', 'Token')
    """
    document = _spec.spec()
    schemes = document["components"]["securitySchemes"]
    found: dict[str, Operation] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            (scheme_name,) = operation["security"][0]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = body.get("schema", {}).get("$ref")
            found[operation["operationId"]] = Operation(
                operation_id=operation["operationId"],
                method=method.upper(),
                path=base_path() + path,
                auth_header=schemes[scheme_name]["name"],
                body_schema=ref.rsplit("/", 1)[1] if ref else None,
            )
    return found


def _check_email(value: object, *, international: bool) -> bool:
    # jsonschema's own checks only look for an "@". email-validator checks the syntax (no DNS): RFC 5321's ASCII
    # mailbox for `format: email`, RFC 6531's internationalised one (`zoë.müller@beispiel.de`) for `idn-email`.
    if not isinstance(value, str):
        return True
    if not international and not value.isascii():
        raise EmailNotValidError("an email address must be ASCII")
    validate_email(
        value,
        check_deliverability=False,
        allow_smtputf8=international,
        globally_deliverable=False,
        test_environment=True,
    )
    return True


@functools.cache
def validator(schema_name: str) -> jsonschema.protocols.Validator:
    """A compiled Draft 2020-12 validator of a component schema, with `format: email` and `idn-email` enforced.

    Args:
        schema_name: A name under `components/schemas` (e.g. `LeadSyncRequest`).

    Returns:
        The validator (cached: built once per schema).

    Example:
        >>> validator("LeadSyncRequest").is_valid({"leadInfo": {"email": "not-an-email"}})
        False
    """
    format_checker = jsonschema.FormatChecker()
    format_checker.checks("email", raises=EmailNotValidError)(
        functools.partial(_check_email, international=False)
    )
    format_checker.checks("idn-email", raises=EmailNotValidError)(
        functools.partial(_check_email, international=True)
    )
    schema = _spec.schema(schema_name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=format_checker)


def first_error(schema_name: str, instance: Any) -> str | None:
    """The most relevant validation error as `path: reason`, or `None` if `instance` is valid.

    Example:
        >>> first_error("LeadSyncRequest", {"leadInfo": {}})
        "leadInfo: 'email' is a required property"
        >>> first_error("LeadSyncRequest", {"leadInfo": {"email": "a@b.com", "crmLeadId": 1.5}})
        "leadInfo.crmLeadId: 1.5 is not of type 'integer', 'string'"
    """
    error = jsonschema.exceptions.best_match(validator(schema_name).iter_errors(instance))
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path) or "body"
    message = f"{where}: {error.message}"
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."
