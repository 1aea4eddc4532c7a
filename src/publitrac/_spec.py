"""The contract, loaded once from the `openapi.yaml` shipped inside the package.

Everything that needs a schema (the sandbox's request validation, the field list and types used by the mapping and
the validation) reads it from here, so that `openapi.yaml` stays the single source of truth.

A wheel holds the spec as `publitrac/openapi.yaml` (copied there by the build backend); an editable install runs
from `src/`, where there is no copy, and reads the repository's own `openapi.yaml`, so that an edit to it is seen
at once.
"""

from __future__ import annotations

import functools
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, cast

import yaml

_REPOSITORY_SPEC = Path(__file__).resolve().parent.parent.parent / "openapi.yaml"


def spec_file() -> Traversable:
    """Where the spec is read from: inside the installed package, else the repository root (editable install).

    Returns:
        The `openapi.yaml` that `spec()` parses.

    Raises:
        FileNotFoundError: neither the package nor the repository holds one (a broken installation).

    Example:
        >>> spec_file().name
        'openapi.yaml'
    """
    packaged = resources.files("publitrac").joinpath("openapi.yaml")
    if packaged.is_file():
        return packaged
    if _REPOSITORY_SPEC.is_file():
        return _REPOSITORY_SPEC
    raise FileNotFoundError(
        f"openapi.yaml is neither in the publitrac package nor at {_REPOSITORY_SPEC}: reinstall publitrac"
    )


@functools.cache
def spec() -> dict[str, Any]:
    """The parsed OpenAPI document (cached; do not mutate it).

    Example:
        >>> sorted(spec()["paths"])
        ['/auth/getToken', '/lead/delayedSync']
    """
    return cast(dict[str, Any], yaml.safe_load(spec_file().read_text(encoding="utf-8")))


@functools.cache
def schema(name: str) -> dict[str, Any]:
    """A component schema with every `$ref` inlined, usable by a JSON Schema (2020-12) validator."""
    return cast(dict[str, Any], _inline(spec()["components"]["schemas"][name]))


def lead_info_fields() -> dict[str, dict[str, Any]]:
    """The standard `leadInfo` fields named by the spec, in spec order, each with its JSON schema."""
    return dict(schema("LeadInfo")["properties"])


def _inline(node: Any) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            return _inline(spec()["components"]["schemas"][ref.rsplit("/", 1)[1]])
        return {key: _inline(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item) for item in node]
    return node
