"""Value conversion, column by column: what a cell is sent as, or why it cannot be sent.

A value leaves pandas clean, whatever the dtype (numpy, nullable, pyarrow, `category`, `object`):

- missing values (`NaN`, `None`, `pd.NA`, `NaT`) and text that is empty once trimmed are left out of the
  body, never sent as the text "nan";
- text is trimmed; numpy scalars become Python values; floats that are whole numbers become ints (an id
  column with gaps is float64: 12387.0 is sent as 12387);
- date-times become ISO 8601 text: seconds, then the fraction of a second when there is one, then the UTC
  offset when the value has a time zone (`2024-03-01T09:30:00+01:00`); `datetime.date` gives `2024-03-01`;
- what happens next depends on the JSON Schema `type` the spec gives the field (`LeadInfo`'s properties
  for standard fields, `LeadCustomField`'s `additionalProperties` for custom fields):

  | value           | string            | integer               | number     | boolean                   |
  | --------------- | ----------------- | --------------------- | ---------- | ------------------------- |
  | text            | kept              | if `[+-]int[.0]` (1)  | if numeric | true/false/yes/no/y/n/1/0 |
  | boolean         | "true" / "false"  | rejected              | rejected   | kept                      |
  | whole number    | its digits        | kept                  | kept       | if 0 or 1                 |
  | other number    | its shortest repr | rejected              | kept       | rejected                  |
  | date-time       | ISO 8601          | rejected              | rejected   | rejected                  |
  | inf, list, dict | rejected          | rejected              | rejected   | rejected                  |

  (1) an integer written without leading zeros (`12387`, `-4`, `12387.0`); `007` is refused rather than
  sent as 7, which would change what it says.

  A field that admits several types keeps the value's own kind when it can: text stays text, numbers stay
  numbers, booleans stay booleans (custom fields: string, number, boolean). One exception, for ids: a field
  typed integer or string, and not number (`crmLeadId`), takes a whole number as a JSON integer, as in the
  vendor's example, whether the data holds it as a number (`12387`, or `12387.0` from a column with gaps) or
  as text written as the integer is (`12387`, `12387.0`: digits only, no sign, no leading zero, at most
  2**53 - 1 so that any JSON reader keeps it exact). Any other text (`007`, `00Q5e00000ABCdE`, `12-34`) goes
  as the same text: never refused, never changed. Of other scalars, `Decimal` is a number and the rest
  (Period...) is sent as `str(value)` to text fields.

The validation (`_validation`), the bodies (`_bodies`) and the ledger's fingerprints (`ledger._fingerprints`) all
convert with this module, so a row the validation accepts always converts, to the body that is fingerprinted.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from .. import _spec

__all__ = [
    "ANY_TYPE",
    "Converted",
    "convert_column",
    "convert_value",
    "custom_field_types",
    "field_types",
    "lead_info_types",
    "normalised_emails",
]

ANY_TYPE: Final = frozenset({"string", "integer", "number", "boolean"})
"""The types a field without a `type` in the spec accepts: any JSON scalar."""

INTEGER_TEXT: Final = re.compile(r"[+-]?(?:0|[1-9][0-9]*)(?:\.0+)?")
"""Text an integer field takes as an integer: no leading zero (`007` would lose what it says)."""
WHOLE_ID_TEXT: Final = re.compile(r"(?:0|[1-9][0-9]{0,15})(?:\.0+)?")
"""Text an integer-or-string field (an id) sends as an integer, below `SAFE_INTEGER`; other text stays text."""
SAFE_INTEGER: Final = 2**53 - 1
"""The largest integer every JSON reader keeps exact (I-JSON, RFC 7493): larger digit text stays text."""
NUMBER_TEXT: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
TRUE_WORDS: Final = frozenset({"true", "yes", "y", "t", "1"})
FALSE_WORDS: Final = frozenset({"false", "no", "n", "f", "0"})
_CONTAINERS: Final = (list, tuple, set, frozenset, dict, np.ndarray, bytes, bytearray)
_INT64_LIMIT: Final = 2.0**63


def field_types(schema: Mapping[str, Any]) -> frozenset[str]:
    """The JSON types a field's schema admits (its `type`, or the types of its `anyOf`/`oneOf` branches).

    Args:
        schema: the field's JSON Schema.

    Returns:
        A set of type names; `ANY_TYPE` when the schema does not restrict the type.

    Example:
        >>> sorted(field_types({"type": ["string", "number", "null"]}))
        ['number', 'string']
    """
    found: set[str] = set()
    declared = schema.get("type")
    if declared is not None:
        found.update([declared] if isinstance(declared, str) else declared)
    else:
        branches = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
        if not branches:
            return ANY_TYPE
        for branch in branches:
            found |= field_types(branch)
    found.discard("null")  # a missing value is left out of the body, never sent as null
    return frozenset(found)


def lead_info_types() -> dict[str, frozenset[str]]:
    """`{leadInfo field: types}` from the spec."""
    return {name: field_types(schema) for name, schema in _spec.lead_info_fields().items()}


def integer_first(types: frozenset[str]) -> bool:
    """Whether a field is an id typed integer or string (not number): whole-number text goes as an integer.

    Example:
        >>> integer_first(frozenset({"integer", "string"})), integer_first(frozenset({"string", "number"}))
        (True, False)
    """
    return "integer" in types and "string" in types and "number" not in types


def whole_id(text: str) -> int | str:
    """How an integer-or-string field (an id) sends trimmed text: a whole number as an integer, the rest as is.

    Example:
        >>> whole_id("12387"), whole_id("12387.0"), whole_id("007"), whole_id("00Q5e00000ABCdE")
        (12387, 12387, '007', '00Q5e00000ABCdE')
    """
    if WHOLE_ID_TEXT.fullmatch(text):
        number = int(text.split(".", 1)[0])
        if number <= SAFE_INTEGER:
            return number
    return text


def custom_field_types() -> frozenset[str]:
    """The types the spec admits for a custom field value."""
    extra = _spec.schema("LeadCustomField").get("additionalProperties", True)
    return field_types(extra) if isinstance(extra, Mapping) else ANY_TYPE


# -- one value -----------------------------------------------------------------------------------------------


def convert_value(value: Any, types: frozenset[str]) -> tuple[Any, bool]:
    """Convert one value for a field of the given types (the reference the column conversion agrees with).

    Args:
        value: any cell value.
        types: the field's types (see `field_types`).

    Returns:
        `(converted, ok)`: `converted` is None when the value is left out (missing, blank, or not ok).

    Example:
        >>> convert_value(12387.0, frozenset({"integer"})), convert_value(" 12a ", frozenset({"integer"}))
        ((12387, True), (None, False))
    """
    if _is_missing(value):
        return None, True
    if isinstance(value, str):
        return _from_text(value.strip(), types)
    if isinstance(value, (bool, np.bool_)):
        return _from_bool(bool(value), types)
    if isinstance(value, (int, np.integer)):
        return _from_int(int(value), types)
    if isinstance(value, (float, np.floating)):
        return _from_float(float(value), types)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return None, False
        return (
            _from_int(int(value), types)
            if value == value.to_integral_value()
            else _from_float(float(value), types)
        )
    if isinstance(value, (dt.datetime, np.datetime64)):
        return _from_datetime_text(pd.Timestamp(value).isoformat(), types)
    if isinstance(value, dt.date):
        return _from_datetime_text(value.isoformat(), types)
    if isinstance(value, (dt.timedelta, np.timedelta64)):
        return _from_datetime_text(pd.Timedelta(value).isoformat(), types)
    if isinstance(value, _CONTAINERS) or "string" not in types:
        return None, False
    return _from_text(str(value).strip(), types)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))
    if isinstance(value, decimal.Decimal):
        return value.is_nan()
    return False


def _from_text(text: str, types: frozenset[str]) -> tuple[Any, bool]:
    if not text:
        return None, True
    if "string" in types:
        return (whole_id(text) if integer_first(types) else text), True
    if "integer" in types and INTEGER_TEXT.fullmatch(text):
        return int(text.split(".", 1)[0]), True
    if "number" in types and NUMBER_TEXT.fullmatch(text):
        return _from_float(float(text), types)
    if "boolean" in types:
        word = text.casefold()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS, True
    return None, False


def _from_bool(value: bool, types: frozenset[str]) -> tuple[Any, bool]:
    if "boolean" in types:
        return value, True
    if "string" in types:
        return ("true" if value else "false"), True
    return None, False


def _from_int(value: int, types: frozenset[str]) -> tuple[Any, bool]:
    if "integer" in types or "number" in types:
        return value, True
    if "string" in types:
        return str(value), True
    if "boolean" in types and value in (0, 1):
        return value == 1, True
    return None, False


def _from_float(value: float, types: frozenset[str]) -> tuple[Any, bool]:
    if not math.isfinite(value):
        return None, False
    if value.is_integer():
        return _from_int(int(value), types)
    if "number" in types:
        return value, True
    if "string" in types:
        return repr(value), True
    return None, False


def _from_datetime_text(text: str, types: frozenset[str]) -> tuple[Any, bool]:
    return (text, True) if "string" in types else (None, False)


# -- one column ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Converted:
    """A converted column: `values` (None where left out; None itself when not asked for) and `bad` (a boolean
    mask of the cells that cannot be sent as the field's type; None when there is none)."""

    values: list[Any] | None
    bad: np.ndarray | None


def convert_column(series: pd.Series, types: frozenset[str], *, values: bool = True) -> Converted:
    """Convert a column (or a chunk of one) for a field of the given types, vectorised by dtype.

    Args:
        series: the column; any dtype.
        types: the field's types (see `field_types`).
        values: build the converted values; False only finds the bad cells (cheaper: validation).

    Returns:
        The converted values and the mask of cells that cannot be sent (rules in the module docstring).

    Example:
        >>> c = convert_column(pd.Series([12387.0, None, 3.5]), frozenset({"integer"}))
        >>> c.values, c.bad.tolist()
        ([12387, None, None], [False, False, True])
    """
    dtype = series.dtype
    if isinstance(dtype, pd.SparseDtype):
        series = series.sparse.to_dense()  # type: ignore[attr-defined]  # pandas-stubs: Series.sparse untyped
        dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _categorical(series, types, values)
    if pdt.is_object_dtype(dtype):
        if not values and "string" in types and pdt.infer_dtype(series, skipna=True) in ("string", "empty"):
            return Converted(None, None)  # any text can be sent as text
        return _objects(series, types, values)
    if isinstance(dtype, pd.ArrowDtype) and not (pdt.is_numeric_dtype(dtype) or pdt.is_string_dtype(dtype)):
        return _objects(series, types, values)  # pyarrow dates, times, lists...: rare, exact per value
    if pdt.is_bool_dtype(dtype):
        return _booleans(series, types, values)
    if pdt.is_integer_dtype(dtype):
        return _integers(series, types, values)
    if pdt.is_float_dtype(dtype):
        return _floats(series.to_numpy(dtype=np.float64, na_value=np.nan), types, values)
    if pdt.is_datetime64_any_dtype(dtype):
        return _datetimes(series, types, values)
    if pdt.is_string_dtype(dtype):
        return _texts(series, types, values)
    return _objects(series, types, values)


def _mask_or_none(mask: np.ndarray) -> np.ndarray | None:
    return mask if mask.any() else None


def _missing(series: pd.Series) -> np.ndarray:
    return series.isna().to_numpy(dtype=bool)


def _texts(series: pd.Series, types: frozenset[str], want: bool) -> Converted:
    """A column of a text dtype (pyarrow or Python strings): trimmed in one vectorised call."""
    if "string" in types and not want:
        return Converted(None, None)  # any text can be sent as text
    text = series.str.strip()
    if "string" in types:
        # `or None` turns the empty strings (blank cells) into None: one pass, faster than a second mask.
        # (pandas-stubs refuses na_value=None, which pandas takes)
        cells = text.to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[call-overload]
        kept: list[Any] = [cell or None for cell in cells]
        if integer_first(types):
            whole = text.str.fullmatch(WHOLE_ID_TEXT.pattern).to_numpy(dtype=bool, na_value=False)
            for i in np.flatnonzero(whole).tolist():
                number = int(kept[i].split(".", 1)[0])
                if number <= SAFE_INTEGER:
                    kept[i] = number
        return Converted(kept, None)
    if types == {"integer"}:
        # The common non-text case (a CRM id read as text) stays vectorised; other mixes go value by value.
        blank = _missing(text) | text.str.len().eq(0).to_numpy(dtype=bool, na_value=False)
        ok = blank | text.str.fullmatch(INTEGER_TEXT.pattern).to_numpy(dtype=bool, na_value=False)
        if not want:
            return Converted(None, _mask_or_none(~ok))
        out = np.full(len(text), None, dtype=object)
        digits = text.to_numpy(dtype=object, na_value=None)[ok & ~blank]  # type: ignore[call-overload]
        out[ok & ~blank] = [int(t.split(".", 1)[0]) for t in digits]
        return Converted(out.tolist(), _mask_or_none(~ok))
    return _objects(text, types, want)


_BAD: Final = object()


def _convert_or_bad(cell: Any, types: frozenset[str]) -> Any:
    value, ok = convert_value(cell, types)
    return value if ok else _BAD


def _objects(series: pd.Series, types: frozenset[str], want: bool) -> Converted:
    """Value by value (object columns hold anything); text, the usual content, takes a short cut."""
    cells = series.astype(object).to_numpy() if series.dtype != object else series.to_numpy()
    if integer_first(types):
        out = [
            (whole_id(text) if (text := cell.strip()) else None)
            if type(cell) is str
            else _convert_or_bad(cell, types)
            for cell in cells.tolist()
        ]
    elif "string" in types:
        out = [
            (cell.strip() or None) if type(cell) is str else _convert_or_bad(cell, types)
            for cell in cells.tolist()
        ]
    else:
        out = [_convert_or_bad(cell, types) for cell in cells.tolist()]
    bad_at = [i for i, value in enumerate(out) if value is _BAD]
    bad = None
    if bad_at:
        bad = np.zeros(len(out), dtype=bool)
        bad[bad_at] = True
        for i in bad_at:
            out[i] = None
    return Converted(out if want else None, bad)


def _booleans(series: pd.Series, types: frozenset[str], want: bool) -> Converted:
    missing = _missing(series)
    if "boolean" not in types and "string" not in types:
        return Converted([None] * len(series) if want else None, _mask_or_none(~missing))
    if not want:
        return Converted(None, None)
    flags = series.to_numpy(dtype=bool, na_value=False)
    out = flags.astype(object) if "boolean" in types else np.where(flags, "true", "false").astype(object)
    out[missing] = None
    return Converted(out.tolist(), None)


def _integers(series: pd.Series, types: frozenset[str], want: bool) -> Converted:
    missing = _missing(series)
    numpy_dtype = cast("np.dtype[Any]", getattr(series.dtype, "numpy_dtype", series.dtype))
    numbers = series.to_numpy(dtype=numpy_dtype, na_value=0)
    return _whole_numbers(numbers, missing, types, want)


def _whole_numbers(numbers: np.ndarray, missing: np.ndarray, types: frozenset[str], want: bool) -> Converted:
    """Whole numbers (as an int array, or a float array of whole values) where `missing` is False."""
    if "integer" in types or "number" in types:
        bad = np.zeros(len(numbers), dtype=bool)
        out = _as_python_ints(numbers) if want else None
    elif "string" in types:
        bad = np.zeros(len(numbers), dtype=bool)
        out = np.array([str(v) for v in _as_python_ints(numbers)], dtype=object) if want else None
    elif "boolean" in types:
        bad = ~missing & (numbers != 0) & (numbers != 1)
        out = (numbers == 1).astype(object) if want else None
    else:
        bad = ~missing
        out = np.full(len(numbers), None, dtype=object) if want else None
    if out is None:
        return Converted(None, _mask_or_none(bad))
    out[missing | bad] = None
    return Converted(out.tolist(), _mask_or_none(bad))


def _as_python_ints(numbers: np.ndarray) -> np.ndarray:
    if numbers.dtype.kind in "iu":
        return numbers.astype(object)  # astype(object) yields Python ints, not numpy scalars
    out = np.empty(len(numbers), dtype=object)
    small = np.abs(numbers) < _INT64_LIMIT
    out[small] = numbers[small].astype(np.int64).astype(object)
    out[~small] = [int(v) for v in numbers[~small]]
    return out


def _floats(numbers: np.ndarray, types: frozenset[str], want: bool) -> Converted:
    missing = np.isnan(numbers)
    finite = np.isfinite(numbers)
    whole = finite & (numbers == np.trunc(np.where(finite, numbers, 0)))
    fraction = finite & ~whole
    converted = _whole_numbers(np.where(whole, numbers, 0), ~whole, types, want)
    bad = ~missing & ~finite
    if converted.bad is not None:
        bad |= converted.bad
    if "number" in types:
        fraction_out = numbers[fraction].astype(object)
    elif "string" in types:
        fraction_out = np.array([repr(v) for v in numbers[fraction].tolist()], dtype=object)
    else:
        bad |= fraction
        fraction_out = None
    if not want:
        return Converted(None, _mask_or_none(bad))
    out = np.array(converted.values, dtype=object)
    if fraction_out is not None:
        out[fraction] = fraction_out
    out[bad] = None
    return Converted(out.tolist(), _mask_or_none(bad))


def _datetimes(series: pd.Series, types: frozenset[str], want: bool) -> Converted:
    missing = _missing(series)
    if "string" not in types:
        return Converted([None] * len(series) if want else None, _mask_or_none(~missing))
    if not want:
        return Converted(None, None)
    tz = getattr(series.dtype, "tz", None)
    wall = (series.dt.tz_localize(None) if tz is not None else series).to_numpy()
    out = _iso_texts(wall, missing)
    if tz is not None:
        utc = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        offsets = (wall - utc).astype("timedelta64[s]").astype(np.int64)  # NaT gives junk, replaced below
        codes, distinct = pd.factorize(offsets)
        suffixes = np.array([_utc_offset(int(s)) for s in distinct], dtype=object)[codes]
        out = np.array([text + suffix for text, suffix in zip(out, suffixes, strict=True)], dtype=object)
    out[missing] = None
    return Converted(out.tolist(), None)


def _iso_texts(moments: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """`Timestamp.isoformat()`, vectorised: seconds, then microseconds or nanoseconds when there are some."""
    out = np.datetime_as_string(moments, unit="s").astype(object)
    unit = np.datetime_data(moments.dtype)[0]
    if unit in ("ms", "us", "ns"):
        fraction = ~missing & (moments != moments.astype("datetime64[s]"))
        micro = fraction & (moments == moments.astype("datetime64[us]"))
        nano = fraction & ~micro
        if micro.any():
            micros = moments[micro].astype("datetime64[us]")
            out[micro] = np.datetime_as_string(micros, unit="us").astype(object)
        if nano.any():
            out[nano] = np.datetime_as_string(moments[nano], unit="ns").astype(object)
    return out


def _utc_offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    minutes, rest = divmod(abs(seconds), 60)
    text = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return f"{text}:{rest:02d}" if rest else text


def _categorical(series: pd.Series, types: frozenset[str], want: bool) -> Converted:
    categories = convert_column(pd.Series(series.cat.categories), types, values=want)
    codes = series.cat.codes.to_numpy()
    bad = None
    if categories.bad is not None:
        bad = _mask_or_none(np.append(categories.bad, False)[codes])  # code -1 (missing) picks the False
    if categories.values is None:
        return Converted(None, bad)
    table = np.empty(len(categories.values) + 1, dtype=object)
    table[:-1] = categories.values
    table[-1] = None
    return Converted(table[codes].tolist(), bad)


# -- emails as the duplicate rule compares them --------------------------------------------------------------


def normalised_emails(emails: pd.Series, *, trimmed: bool = False) -> pd.Series:
    """Emails as the duplicate rule compares them: trimmed and lower-cased (the one definition of "same email").

    Args:
        emails: the emails as text (missing values stay missing).
        trimmed: the emails are trimmed already (the validation's text): saves a pass over them.

    Returns:
        A series aligned to `emails`.

    Example:
        >>> normalised_emails(pd.Series([" Ana@Exemple.fr", "ana@exemple.FR"])).tolist()
        ['ana@exemple.fr', 'ana@exemple.fr']
    """
    return (emails if trimmed else emails.str.strip()).str.lower()
