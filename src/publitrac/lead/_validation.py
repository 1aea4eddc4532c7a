"""Find, before anything is sent, the rows Publitrac would accept with a 200 and then drop out of sight.

Publitrac's delayed sync answers 200 to nearly anything and processes the lead later, so a lead without a
valid email, or with a value of the wrong type, is lost silently. `find_problems` lists such rows, one
line per problem:

- `error`: the row is not sent. A missing or malformed email (RFC 6531 syntax, internationalised addresses
  included, checked by `email-validator`, no DNS lookup), or a value that cannot be sent as its field's type
  in the spec (see `_values` for the conversions: any text, `00Q5e00000ABCdE` or `007`, is a fine
  `crmLeadId`, sent as written; a list or an infinite number is not).
- `warning`: the row is sent anyway. Two rows with the same email (trimmed, lower-cased) update the same
  lead; the later row is sent after the earlier one and wins. The groups of rows that share an email are found
  here once (`check`), and the sync serialises them from the same result.

A problem that names another row ("same email as row 42") keeps that row as a `RowRef`, so that each interface
says it in its own words (`problems_in_words`): the index label in Python, the file's line on the command line.

The work is vectorised: email syntax is checked once per *distinct* address, after a vectorised
pre-filter that accepts plain addresses (`name.surname+tag@sub.domain.tld`) which the library is known to
accept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import email_validator
import numpy as np
import pandas as pd
from email_validator import EmailNotValidError, validate_email
from pandas.api import types as pdt

from ._values import convert_column, lead_info_types, normalised_emails
from ._mapping import EMAIL_FIELD, LeadMapping, field_plan, map_columns
from .._words import PYTHON, Interface, Locate, RowRef, Setting

__all__ = [
    "PROBLEM_COLUMNS",
    "Checked",
    "check",
    "find_problems",
    "invalid_positions",
    "problems_in_words",
    "valid_positions",
    "validate",
]

PROBLEM_COLUMNS: Final = ("row", "position", "column", "field", "value", "problem", "severity")
ERROR: Final = "error"
WARNING: Final = "warning"
VALUE_WIDTH: Final = 60
CHUNK_ROWS: Final = 65_536

# A strict subset of what email-validator accepts (ASCII dot-atom local part, letters-only top-level
# domain, no "--" label and no special-use domain checked apart): addresses matching it skip the library,
# which costs ~30 us an address. Kept RE2-compatible for pyarrow strings. tests/test_validation.py checks
# the subset property.
PLAIN_EMAIL: Final = (
    r"[A-Za-z0-9_!#$%&'*+/=?^`{|}~-]+(?:\.[A-Za-z0-9_!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_LOCAL_PART_MAX: Final = 64
_ADDRESS_MAX: Final = 254


def find_problems(df: pd.DataFrame, mapping: LeadMapping) -> pd.DataFrame:
    """List the problems of every row, one line per problem, without sending anything.

    Args:
        df: the leads.
        mapping: which column goes where (from `map_columns`).

    Returns:
        A frame with the columns `row` (the index label), `position` (0-based), `column`, `field`,
        `value` (the offending value as text, truncated), `problem` (a sentence) and `severity` (`"error"`:
        the row is not sent; `"warning"`: it is sent), sorted by position.

    Raises:
        ConfigurationError: the mapping names columns the frame does not have.

    Example:
        >>> df = pd.DataFrame({"Email": ["ana@exemple.fr", "bob@", "ANA@exemple.fr "]})
        >>> problems = find_problems(df, map_columns(df))
        >>> problems[["row", "severity"]].to_dict("records")
        [{'row': 1, 'severity': 'error'}, {'row': 2, 'severity': 'warning'}]
        >>> problems["problem"].tolist()[0]
        'not a valid email address: There must be something after the @-sign.'
    """
    return check(df, map_columns(df, mapping=mapping)).problems


@dataclass(frozen=True)
class Checked:
    """What the validation found: the problems, the invalid rows, and the valid rows that share an email.

    Attributes:
        problems: the frame of `find_problems`.
        invalid: boolean mask by position of the rows with an error (never sent).
        shared_email: boolean mask by position of the valid rows whose email another valid row has too (a sync
            sends them one after another, in row order).
    """

    problems: pd.DataFrame
    invalid: np.ndarray
    shared_email: np.ndarray


def check(df: pd.DataFrame, mapping: LeadMapping) -> Checked:
    """Validate every row with a mapping already checked against `df` (the sync's path: it maps once).

    Args:
        df: the leads.
        mapping: a mapping from `map_columns(df, ...)` (not checked again).

    Returns:
        The problems, the invalid rows and the groups of valid rows sharing an email.

    Example:
        >>> df = pd.DataFrame({"Email": ["ana@exemple.fr", "bob@", "ANA@exemple.fr "]})
        >>> checked = check(df, map_columns(df))
        >>> checked.invalid.tolist(), checked.shared_email.tolist()
        ([False, True, False], [True, False, True])
    """
    found = _Found(df)
    _check_types(df, mapping, found)
    text = _check_emails(df, mapping.email, found)
    shared = _check_duplicates(df, mapping.email, text, found)
    return Checked(found.frame(), found.errors, shared)


def validate(
    df: pd.DataFrame,
    *,
    email: str | None = None,
    mapping: Mapping[str, str | None] | LeadMapping | None = None,
    custom_fields: Sequence[str] | Mapping[str, str] | str | None = None,
) -> pd.DataFrame:
    """Map the columns, then list the problems of every row (see `find_problems`); nothing is sent.

    Args:
        df: the leads.
        email: the email column; detected from its name when omitted.
        mapping: `{column: leadInfo field}` overrides, or a `LeadMapping`.
        custom_fields: the columns to send as custom fields, a dict of new names, or `"all"`.

    Returns:
        The problems frame of `find_problems`; empty when every row can be sent as is.

    Raises:
        ConfigurationError: the mapping is wrong (see `map_columns`).

    Example:
        >>> validate(pd.DataFrame({"E-mail": ["ana@exemple.fr", None]}))["problem"].tolist()
        ['email is missing: a lead cannot be sent without it']
    """
    return find_problems(df, map_columns(df, email=email, mapping=mapping, custom_fields=custom_fields))


def invalid_positions(problems: pd.DataFrame) -> np.ndarray:
    """The sorted, distinct positions of the rows that have an error (and are not sent).

    Args:
        problems: a frame from `find_problems`.

    Returns:
        An int64 array.

    Example:
        >>> invalid_positions(validate(pd.DataFrame({"email": [None, "ana@exemple.fr", "x"]}))).tolist()
        [0, 2]
    """
    is_error = (problems["severity"] == ERROR).to_numpy(dtype=bool)
    errors = problems["position"].to_numpy(dtype=np.int64)[is_error]
    return np.unique(errors)


def valid_positions(problems: pd.DataFrame, n_rows: int) -> np.ndarray:
    """The positions, in order, of the rows that have no error (warnings allowed): the rows a sync sends.

    Args:
        problems: a frame from `find_problems`.
        n_rows: the number of rows of the frame that was checked.

    Returns:
        An int64 array.

    Example:
        >>> valid_positions(validate(pd.DataFrame({"email": [None, "ana@exemple.fr"]})), 2).tolist()
        [1]
    """
    return np.setdiff1d(np.arange(n_rows, dtype=np.int64), invalid_positions(problems))


def problems_in_words(
    problems: pd.DataFrame, interface: Interface, *, locate: Locate | None = None
) -> pd.Series:
    """The `problem` column in the words of `interface`: rows named by label in Python, by file line on the CLI.

    Args:
        problems: a frame from `find_problems` (or a selection of its rows).
        interface: `"python"`, `"cli"` or `"app"`.
        locate: where a row (0-based position) is in the input, e.g. `LeadFile.locate` (the command line).

    Returns:
        A series of text aligned to `problems`.

    Example:
        >>> problems = validate(pd.DataFrame({"email": ["ana@exemple.fr", "Ana@exemple.fr"]}))
        >>> problems_in_words(problems, "cli", locate=lambda position: f"line {position + 2}").tolist()
        ['same email as line 2; sent after it, the later row wins']
    """
    texts = problems["problem"].astype(object) if "problem" in problems.columns else pd.Series(dtype=object)
    worded = problems.attrs.get(_WORDED)
    if not isinstance(worded, _WordedProblems) or texts.empty:
        return texts
    out = texts.copy()
    for label in problems.index.intersection(list(worded.parts)):
        out[label] = Setting.render(worded.parts[label], interface, locate=locate)
    return out


_WORDED: Final = "publitrac.worded_problems"


class _WordedProblems:
    """The parts of the problems that name another row, by the problems frame's index (kept in its `attrs`).

    Immutable, so that pandas, which copies `attrs` deeply on every operation, shares it instead.
    """

    def __init__(self, parts: dict[int, tuple[str | RowRef, ...]]) -> None:
        self.parts = MappingProxyType(parts)

    def __deepcopy__(self, memo: dict[int, Any]) -> _WordedProblems:
        return self


Problem = str | tuple[str | RowRef, ...]
"""A problem's sentence, or its parts when it names another row."""


class _Found:
    """Problems collected as arrays (one entry per problem), turned into a frame at the end."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self.errors = np.zeros(len(df), dtype=bool)
        self.parts: list[tuple[np.ndarray, Any, str, list[str], list[Problem], str]] = []

    def add(
        self,
        positions: np.ndarray,
        column: Any,
        field: str,
        values: list[str],
        problems: list[Problem],
        severity: str,
    ) -> None:
        if len(positions):
            self.parts.append((positions, column, field, values, problems, severity))
            if severity == ERROR:
                self.errors[positions] = True

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            positions = np.zeros(0, dtype=np.int64)
            empty: list[str] = []
            return _problem_frame(self.df, positions, [], empty, empty, empty, empty)
        positions = np.concatenate([part[0] for part in self.parts]).astype(np.int64)
        order = np.argsort(positions, kind="stable")
        columns = [column for part in self.parts for column in repeat_n(part[1], len(part[0]))]
        fields = [field for part in self.parts for field in repeat_n(part[2], len(part[0]))]
        values = [value for part in self.parts for value in part[3]]
        problems = [problem for part in self.parts for problem in part[4]]
        severities = [severity for part in self.parts for severity in repeat_n(part[5], len(part[0]))]

        def take(items: list[Any]) -> list[Any]:
            return [items[i] for i in order]

        ordered = take(problems)
        worded = {i: problem for i, problem in enumerate(ordered) if not isinstance(problem, str)}
        texts = [
            problem if isinstance(problem, str) else Setting.render(problem, PYTHON) for problem in ordered
        ]
        frame = _problem_frame(
            self.df,
            positions[order],
            take(columns),
            take(fields),
            take(values),
            texts,
            take(severities),
        )
        if worded:
            frame.attrs[_WORDED] = _WordedProblems(worded)
        return frame


def repeat_n(item: Any, n: int) -> list[Any]:
    return [item] * n


def _problem_frame(
    df: pd.DataFrame,
    positions: np.ndarray,
    columns: list[Any],
    fields: list[str],
    values: list[str],
    problems: list[str],
    severities: list[str],
) -> pd.DataFrame:
    rows = np.empty(len(positions), dtype=object)
    rows[:] = list(df.index[positions]) if len(positions) else []
    column_array = np.empty(len(positions), dtype=object)
    column_array[:] = columns
    return pd.DataFrame(
        {
            "row": rows,
            "position": positions,
            "column": column_array,
            "field": pd.Series(fields, dtype=object).astype(str),
            "value": pd.Series(values, dtype=object).astype(str),
            "problem": pd.Series(problems, dtype=object).astype(str),
            "severity": pd.Series(severities, dtype=object).astype(str),
        }
    )


def _check_types(df: pd.DataFrame, mapping: LeadMapping, found: _Found) -> None:
    plan = [
        (f.column, f.key, f.types, f"custom field {f.key!r}" if f.custom else f.key)
        for f in field_plan(mapping)
        if f.custom or f.key != EMAIL_FIELD
    ]
    for column, field, types, what in plan:
        series = df[column]
        bad_parts = []
        for start in range(0, len(series), CHUNK_ROWS):
            bad = convert_column(series.iloc[start : start + CHUNK_ROWS], types, values=False).bad
            if bad is not None:
                bad_parts.append(np.flatnonzero(bad) + start)
        if not bad_parts:
            continue
        positions = np.concatenate(bad_parts)
        cells = series.iloc[positions].astype(object).tolist()
        expected = _expected(types)
        found.add(
            positions,
            column,
            field,
            [_shown(cell) for cell in cells],
            [f"{what} must be {expected}; got {_described(cell)}" for cell in cells],
            ERROR,
        )


def _check_emails(df: pd.DataFrame, column: Any, found: _Found) -> pd.Series:
    """Report missing and malformed emails; return the trimmed emails as text (missing where absent)."""
    series = df[column]
    text, unsendable = _as_text(series, lead_info_types()[EMAIL_FIELD])
    if unsendable is not None:
        positions = np.flatnonzero(unsendable)
        cells = series.iloc[positions].astype(object).tolist()
        found.add(
            positions,
            column,
            EMAIL_FIELD,
            [_shown(cell) for cell in cells],
            [f"not a valid email address: got {_described(cell)}" for cell in cells],
            ERROR,
        )
    missing = text.isna().to_numpy(dtype=bool) | text.str.len().eq(0).to_numpy(dtype=bool, na_value=False)
    if unsendable is not None:
        missing = missing & ~unsendable
    positions = np.flatnonzero(missing)
    found.add(
        positions,
        column,
        EMAIL_FIELD,
        [_shown(v) for v in series.iloc[positions].astype(object)],
        ["email is missing: a lead cannot be sent without it"] * len(positions),
        ERROR,
    )

    unchecked = ~missing & ~_plain_emails(text) & text.notna().to_numpy(dtype=bool)
    if unchecked.any():
        candidates = text[unchecked]
        reasons = {address: _email_error(address) for address in pd.unique(candidates.to_numpy(dtype=object))}
        failed = candidates.map(reasons).notna().to_numpy(dtype=bool)
        positions = np.flatnonzero(unchecked)[failed]
        addresses = candidates.to_numpy(dtype=object)[failed]
        found.add(
            positions,
            column,
            EMAIL_FIELD,
            [_shown(a) for a in addresses],
            [f"not a valid email address: {reasons[a]}" for a in addresses],
            ERROR,
        )
    return text


def _as_text(series: pd.Series, types: frozenset[str]) -> tuple[pd.Series, np.ndarray | None]:
    """The emails as trimmed text, and the mask of cells that cannot be text at all (a list, say)."""
    if (
        not pdt.is_object_dtype(series.dtype)
        and not isinstance(series.dtype, pd.CategoricalDtype)
        and (pdt.is_string_dtype(series.dtype))
    ):
        return series.str.strip(), None  # pyarrow strings stay vectorised
    # Numbers, dates, categories, objects: the text they would be sent as, so that the library can say
    # what is wrong with it.
    converted = convert_column(series, types)
    return pd.Series(converted.values, index=series.index, dtype=object), converted.bad


def _plain_emails(text: pd.Series) -> np.ndarray:
    # pandas may hand back read-only arrays (copy on write): combine them into new ones, never in place.
    plain = (
        text.str.fullmatch(PLAIN_EMAIL).to_numpy(dtype=bool, na_value=False)
        & text.str.len().le(_ADDRESS_MAX).to_numpy(dtype=bool, na_value=False)
        & text.str.find("@").le(_LOCAL_PART_MAX).to_numpy(dtype=bool, na_value=False)
        & ~text.str.contains("--", regex=False).to_numpy(dtype=bool, na_value=True)
    )
    # Read at call time: the library's list is public and may be changed by its users.
    special = tuple(f"{sep}{name}" for name in email_validator.SPECIAL_USE_DOMAIN_NAMES for sep in ".@")
    if special:
        plain = plain & ~text.str.lower().str.endswith(special).to_numpy(dtype=bool, na_value=True)
    return plain


def _email_error(address: str) -> str | None:
    # The spec's `format: idn-email` is RFC 6531's internationalised address (`zoë.müller@beispiel.de`): real
    # leads have such addresses, and the sandbox checks the same syntax with the same library.
    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def _check_duplicates(df: pd.DataFrame, column: Any, text: pd.Series, found: _Found) -> np.ndarray:
    """Warn on every valid row whose email an earlier valid row has; return the mask of all rows sharing one."""
    shared = np.zeros(len(df), dtype=bool)
    sent = np.flatnonzero(~found.errors)
    keys = normalised_emails(text.iloc[sent], trimmed=True)
    later = keys.duplicated(keep="first").to_numpy(dtype=bool)
    if not later.any():
        return shared
    codes, _ = pd.factorize(keys)
    _, first_index, counts = np.unique(codes, return_index=True, return_counts=True)
    shared[sent[counts[codes] > 1]] = True
    first = sent[first_index[codes[later]]]
    positions = sent[later]
    labels = df.index[first]
    found.add(
        positions,
        column,
        EMAIL_FIELD,
        [_shown(v) for v in text.iloc[positions]],
        [
            ("same email as ", RowRef(label, position), "; sent after it, the later row wins")
            for label, position in zip(labels, first.tolist(), strict=True)
        ],
        WARNING,
    )
    return shared


def _expected(types: frozenset[str]) -> str:
    words = {"string": "text", "integer": "an integer", "number": "a number", "boolean": "a boolean"}
    named = [words.get(t, f"of type {t}") for t in ("string", "integer", "number", "boolean") if t in types]
    named += [f"of type {t}" for t in sorted(types - words.keys())]
    if not named:
        return "absent"
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " or " + named[-1]


def _described(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {_shown(value)!r}"
    if isinstance(value, (bool, np.bool_)):
        return f"the boolean {value}"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"the number {value}"
    if isinstance(value, (pd.Timestamp, np.datetime64)) or hasattr(value, "isoformat"):
        return f"the date {_shown(value)}"
    return f"a {type(value).__name__} ({_shown(value)})"


def _shown(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return ""
    text = str(value)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"
