"""The contract, loaded once from the `openapi.yaml` shipped inside the package.

Everything that needs a schema (the sandbox's request validation, the field list and types used by the mapping and
the validation) reads it from here, so that `openapi.yaml` stays the single source of truth.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml


@functools.cache
def spec() -> dict[str, Any]:
    """The parsed OpenAPI document (cached; do not mutate it)."""
    text = resources.files("publitrac").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@functools.cache
def schema(name: str) -> dict[str, Any]:
    """A component schema with every `$ref` inlined, usable by a JSON Schema (2020-12) validator."""
    return _inline(spec()["components"]["schemas"][name])


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
