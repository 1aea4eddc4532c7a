"""What the command line's modules share: the usage error, the options turned into keywords, the mapping shown.

`cli` (the parser and the in-memory runs) and `_stream` (the runs on big files) both build on it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ..lead._mapping import LeadMapping

__all__ = [
    "PROGRESS_EVERY",
    "UsageError",
    "describe_mapping",
    "ledger_option",
    "mapping_options",
    "sync_options",
]

#: Seconds between two progress lines when there is no terminal.
PROGRESS_EVERY = 5.0


class UsageError(Exception):
    """A bad command line or input file (exit status 2)."""


def ledger_option(args: argparse.Namespace) -> str | Path | Literal[False] | None:
    """`ledger=` for publitrac.sync: --ledger PATH or URL, --no-ledger, else the default (none for --sandbox)."""
    if getattr(args, "no_ledger", False):
        return False
    if args.ledger is not None:
        return str(args.ledger) if "://" in str(args.ledger) else Path(args.ledger)
    return False if getattr(args, "sandbox", False) else None


def sync_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keywords of a sync that `publitrac sync`'s flags set, in memory or streamed (the mapping aside)."""
    return {
        "concurrency": args.concurrency,
        "rate_limit": args.rate_limit,
        "max_attempts": args.max_attempts,
        "dry_run": args.dry_run,
        "ledger": ledger_option(args),
        "resend": "all" if args.full else "changed",
        "input_name": args.file.name,
    }


def mapping_options(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, str | None] = {}
    for item in args.maps:
        column, equals, field = item.rpartition("=")
        if not equals or not column.strip():
            raise UsageError(f"--map expects COLUMN=field, got {item!r}")
        field = field.strip()
        overrides[column.strip()] = None if field.lower() in ("", "ignore", "none") else field
    custom: Any = "all" if args.custom_all else (list(args.custom) or None)
    return {"email": args.email_column, "mapping": overrides or None, "custom_fields": custom}


def describe_mapping(mapping: LeadMapping) -> list[str]:
    """Two lines: where each sent column goes, and the columns that are not sent."""
    parts = [f"{column} -> {field}" for column, field in mapping.fields.items()]
    parts += [f"{column} -> custom {name!r}" for column, name in mapping.custom.items()]
    ignored = ", ".join(str(column) for column in mapping.ignored) or "none"
    return [f"Mapping: {', '.join(parts)}", f"Not sent: {ignored}"]
