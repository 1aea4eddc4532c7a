"""What the command line's modules share: the usage error, the run settings' flags and the keywords they make,
the mapping shown.

The run settings' flags are built from the one definition of the settings (`syncs._settings.RunSettings`: its
defaults are the flags' defaults), and `RUN_SETTING_FLAGS` says which flags set each setting;
`tests/test_settings.py` fails when a setting has no flag and no reason. `cli` (the parser and the in-memory
runs) and `_stream` (the runs on big files) both build on it.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TextIO

from .._words import CLI
from ..syncs._settings import ColumnOptions, RunOptions, RunSettings

if TYPE_CHECKING:
    from ..lead._mapping import LeadMapping

__all__ = [
    "PROGRESS_EVERY",
    "RUN_SETTING_FLAGS",
    "StopSignal",
    "UsageError",
    "add_mapping_arguments",
    "add_run_arguments",
    "describe_mapping",
    "ledger_option",
    "mapping_options",
    "percentage",
    "positive_float",
    "positive_int",
    "print_guards",
    "sync_options",
]

#: The flags that set each run setting (`publitrac sync`); an empty tuple says why there is none.
RUN_SETTING_FLAGS: Final[dict[str, tuple[str, ...]]] = {
    "email": ("--email-column",),
    "mapping": ("--map",),
    "custom_fields": ("--custom", "--custom-all"),
    "concurrency": ("--concurrency",),
    "rate_limit": ("--rate-limit",),
    "max_attempts": ("--max-attempts",),
    "max_retry_time": ("--max-retry-time",),
    "progress": ("--no-progress",),
    "dry_run": ("--dry-run",),
    "ledger": ("--ledger", "--no-ledger"),
    "resend": ("--full",),
    "max_invalid": ("--max-invalid",),
    "max_changed": ("--max-changed",),
    "allow_mass_change": ("--allow-mass-change",),
    "canary": ("--canary",),
    "stop_if_failing": ("--stop-if-failing",),
    "keep_bodies": ("--no-bodies",),
    "input_name": (),  # the FILE's name
    "input_file": (),  # the FILE itself (its absolute path and SHA-256 go in the run's record)
    "retry_of": (),  # set by `publitrac retry`, from the results file's run
}
_DEFAULTS: Final = {field.name: field.default for field in dataclasses.fields(RunSettings)}

#: Seconds between two progress lines when there is no terminal.
PROGRESS_EVERY = 5.0


class UsageError(Exception):
    """A bad command line or input file (exit status 2)."""


@dataclasses.dataclass
class StopSignal:
    """Which signal stopped a run: SIGTERM when `sigterm_as_interrupt` took one, else SIGINT (a
    KeyboardInterrupt is Ctrl-C's).

    Example:
        >>> StopSignal().exit_status, StopSignal(signal.SIGTERM).exit_status
        (130, 143)
    """

    signum: int | None = None

    @property
    def name(self) -> str:
        """`SIGINT` or `SIGTERM`."""
        return signal.Signals(self.signum or signal.SIGINT).name

    @property
    def exit_status(self) -> int:
        """128 + the signal's number, as a shell reports a command a signal stopped: 130 (SIGINT), 143."""
        return 128 + (self.signum or signal.SIGINT)


def ledger_option(args: argparse.Namespace) -> str | Path | Literal[False] | None:
    """`ledger=` for publitrac.sync: --ledger PATH or URL, --no-ledger, else the default (none for --sandbox)."""
    if getattr(args, "no_ledger", False):
        return False
    if args.ledger is not None:
        return str(args.ledger) if "://" in str(args.ledger) else Path(args.ledger)
    return False if getattr(args, "sandbox", False) else None


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def percentage(text: str) -> float:
    """An argparse type: a percentage from 0 to 100, written `20` or `20%`."""
    try:
        value = float(text.strip().removesuffix("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be from 0 to 100: {text!r}")
    return int(value) if value.is_integer() else value


def add_mapping_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of the settings that choose the columns (`email`, `mapping`, `custom_fields`)."""
    parser.add_argument("--email-column", metavar="COL", help="the email column (detected when omitted)")
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=field",
        dest="maps",
        help="send COLUMN as leadInfo field (repeatable); COLUMN=ignore drops a column",
    )
    custom = parser.add_mutually_exclusive_group()
    custom.add_argument(
        "--custom",
        action="append",
        default=[],
        metavar="COLUMN",
        help="send COLUMN as a custom field (repeatable)",
    )
    custom.add_argument(
        "--custom-all",
        action="store_true",
        help="send every column not mapped to a standard field as a custom field",
    )


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of the other run settings (`publitrac sync`), their defaults those of `RunSettings`."""
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=_DEFAULTS["concurrency"],
        metavar="N",
        help=f"at most N requests at once; below it the number adapts to the answers ({_DEFAULTS['concurrency']})",
    )
    parser.add_argument(
        "--rate-limit",
        type=positive_float,
        default=_DEFAULTS["rate_limit"],
        metavar="R",
        help="at most R requests per second, retries included (default: no limit)",
    )
    parser.add_argument(
        "--max-attempts",
        type=positive_int,
        default=_DEFAULTS["max_attempts"],
        metavar="N",
        help=f"attempts per row for transient errors, 1 for no retry ({_DEFAULTS['max_attempts']})",
    )
    parser.add_argument(
        "--max-retry-time",
        type=_non_negative_float,
        default=_DEFAULTS["max_retry_time"],
        metavar="S",
        help=f"seconds a row may spend retrying before it is given up as failed ({_DEFAULTS['max_retry_time']:g})",
    )
    parser.add_argument("--dry-run", action="store_true", help="validate and report; send nothing")
    parser.add_argument(
        "--diff",
        action="store_true",
        help="with --dry-run: per field, how many leads would change against the ledger's last accepted "
        "bodies, and the old and new values of the first rows",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress (a bar on a terminal, otherwise a line every few seconds on stderr)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--ledger",
        metavar="PATH|URL",
        help="the ledger of accepted leads: a SQLite file, or a postgresql://user@host/db URL (its password, if "
        "any, from PGPASSWORD or ~/.pgpass; default: PUBLITRAC_LEDGER, else a file in your user data directory)",
    )
    where.add_argument(
        "--no-ledger", action="store_true", help="no ledger: send every valid row, remember nothing"
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="send every valid row, even those the ledger says Publitrac already has (refreshes the ledger)",
    )
    guards = parser.add_argument_group("guards before sending (see the Guards guide)")
    guards.add_argument(
        "--max-invalid",
        type=percentage,
        default=_DEFAULTS["max_invalid"],
        metavar="PCT",
        help=f"send nothing when more than PCT%% of the rows are invalid ({_DEFAULTS['max_invalid']}%%; "
        "a streamed file decides on its first batch and stops when the share goes over)",
    )
    guards.add_argument(
        "--max-changed",
        type=percentage,
        default=_DEFAULTS["max_changed"],
        metavar="PCT",
        help="send nothing when a field changes on more than PCT%% of the leads the ledger knows, or a column "
        f"mapped in the last run is missing or empty ({_DEFAULTS['max_changed']}%%)",
    )
    guards.add_argument(
        "--allow-mass-change", action="store_true", help="go on past --max-changed's column guard"
    )
    guards.add_argument(
        "--canary",
        type=positive_int,
        default=_DEFAULTS["canary"],
        metavar="N",
        help="send the first N rows first; stop when more than --stop-if-failing of them fail",
    )
    guards.add_argument(
        "--stop-if-failing",
        type=percentage,
        default=_DEFAULTS["stop_if_failing"],
        metavar="PCT",
        help=f"with --canary: the share of failed canary rows that stops the run ({_DEFAULTS['stop_if_failing']}%%)",
    )
    guards.add_argument(
        "--no-bodies",
        action="store_true",
        help="keep only fingerprints in the ledger, not the accepted bodies (no --diff, no column guard)",
    )


def sync_options(args: argparse.Namespace) -> RunOptions:
    """The keywords of a sync that `publitrac sync`'s flags set, in memory or streamed (the columns aside:
    `mapping_options`). Progress is a bar on a terminal; elsewhere the command line prints lines itself."""
    from ..engine._engine import interactive

    return {
        "concurrency": args.concurrency,
        "rate_limit": args.rate_limit,
        "max_attempts": args.max_attempts,
        "max_retry_time": args.max_retry_time,
        "progress": not args.no_progress and interactive(),
        "dry_run": ("diff" if args.diff else True) if args.dry_run else False,
        "ledger": ledger_option(args),
        "resend": "all" if args.full else "changed",
        "max_invalid": args.max_invalid,
        "max_changed": args.max_changed,
        "allow_mass_change": args.allow_mass_change,
        "canary": args.canary,
        "stop_if_failing": args.stop_if_failing,
        "keep_bodies": not args.no_bodies,
        "input_name": args.file.name,
        "input_file": args.file,
    }


def print_guards(report: Any, args: argparse.Namespace, out: TextIO) -> None:
    """A dry run's verdict of the guards, and its diff with `--diff` (a `SyncReport` or a `StreamReport`)."""
    refusal = getattr(report, "refusal", None)
    if refusal is not None:
        print(f"This run would be refused: {refusal.in_words(CLI)}", file=out)
    if getattr(args, "diff", False):
        if report.diff is None:
            print(
                "No diff: it needs a ledger that keeps bodies and a destination (--base-url or "
                "PUBLITRAC_BASE_URL with the API key)",
                file=out,
            )
        else:
            for line in report.diff.lines():
                print(line, file=out)


def mapping_options(args: argparse.Namespace) -> ColumnOptions:
    """The keywords of the settings that choose the columns (`--email-column`, `--map`, `--custom`)."""
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
