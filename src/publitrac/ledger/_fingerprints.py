"""Fingerprints of leads, computed column by column: a 64-bit key per email and per request body.

The ledger (`_store`) remembers, per destination and per email, the fingerprint of the body Publitrac last
accepted; a row whose body has the same fingerprint is `unchanged` and not sent again.

- **Email key**: the email as the duplicate rule compares it (trimmed, lower-cased), hashed.
- **Body key**: a digest of the exact body `iter_bodies` would send: every `(section, field, value)` present in
  it, values typed as JSON types them (`7` and `"7"` differ, as do `true` and `1`), missing values left out as
  the body leaves them out. It does not depend on the column's dtype or on the column order, only on the body:
  two frames that send the same JSON send the same key, and any change of mapping or value changes it.

Both are computed in bulk, without building the bodies: each column is converted once (`convert_column`, the
conversion the bodies use), its values hashed by pandas' vectorised SipHash (`pandas.util.hash_array`, with this
module's own keys) or, for numbers, mixed in numpy; a row's key mixes its fields' hashes. This runs at millions
of rows a second where building and serialising each body would run at about a hundred thousand.

Rows that share an email are sent one after another, the later one winning; their keys are chained (each row's
key also covers the rows before it with that email), so a group counts as unchanged only when the whole
sequence was accepted before.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from ..lead._values import convert_column, normalised_emails
from ..lead._mapping import EMAIL_FIELD, LeadMapping, field_plan

__all__ = ["FINGERPRINT_VERSION", "KeySet", "chain_groups", "email_keys", "lead_keys"]

FINGERPRINT_VERSION: Final = 1
"""Changes whenever the way keys are computed changes (every lead then counts as changed, once)."""

_EMAIL_HASH_KEY: Final = "publitrac-email1"  # SipHash keys: 16 characters
_VALUE_HASH_KEY: Final = "publitrac-value1"
_NAME_HASH_KEY: Final = "publitrac-field1"
_U64: Final = np.uint64
# Distinct constants per JSON type, so that "7" (text) and 7 (number) never hash alike.
_TAG_TEXT: Final = _U64(0x243F6A8885A308D3)
_TAG_INT: Final = _U64(0x13198A2E03707344)
_TAG_FLOAT: Final = _U64(0xA4093822299F31D0)
_TAG_BIG_INT: Final = _U64(0x082EFA98EC4E6C89)
_TAG_OTHER: Final = _U64(0x452821E638D01377)
_TRUE: Final = _U64(0xBE5466CF34E90C6C)
_FALSE: Final = _U64(0xC0AC29B7C97C50DD)
_VERSION_SEED: Final = _U64(0x3F84D5B5B5470917 + FINGERPRINT_VERSION)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, vectorised: spreads every input bit over the 64 output bits."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64, copy=True)
        z ^= z >> _U64(30)
        z *= _U64(0xBF58476D1CE4E5B9)
        z ^= z >> _U64(27)
        z *= _U64(0x94D049BB133111EB)
        z ^= z >> _U64(31)
    return z


def _hash_texts(texts: np.ndarray, key: str, *, categorize: bool = True) -> np.ndarray:
    return pd.util.hash_array(texts, hash_key=key, categorize=categorize)


def email_keys(emails: Sequence[Any] | np.ndarray | pd.Series) -> np.ndarray:
    """The ledger key of each email: trimmed and lower-cased as the duplicate rule compares them, hashed.

    Args:
        emails: the emails (text).

    Returns:
        An int64 array, one key per email.

    Example:
        >>> bool(email_keys([" Ana@Exemple.fr"])[0] == email_keys(["ana@exemple.fr "])[0])
        True
    """
    texts = normalised_emails(pd.Series(np.asarray(emails, dtype=object), dtype=object).astype(str))
    cells = texts.to_numpy(dtype=object)
    return _hash_texts(cells, _EMAIL_HASH_KEY, categorize=False).view(np.int64)


def _lower_email_keys(emails: list[Any]) -> np.ndarray:
    """`email_keys` of converted (already trimmed) emails: the same normalisation (pandas' own lower-casing,
    which differs from Python's for a few letters such as `İ`), without trimming again."""
    texts = normalised_emails(pd.Series(emails, dtype=object).fillna("").astype(str), trimmed=True)
    return _hash_texts(texts.to_numpy(dtype=object), _EMAIL_HASH_KEY, categorize=False).view(np.int64)


def _value_hashes(values: list[Any], *, unique: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(hash of each present value, mask of present values) for one converted column; `unique`: its values
    are mostly distinct (no point in factorising them before hashing)."""
    cells = np.empty(len(values), dtype=object)
    cells[:] = values
    present = ~pd.isna(cells)  # converted values are None where left out, never NaN
    hashes = np.zeros(len(values), dtype=np.uint64)
    if not present.any():
        return hashes, present
    given = cells[present] if not present.all() else cells
    kinds = set(map(type, given.tolist()))
    if len(kinds) == 1:
        hashes[present] = _typed_hashes(given, kinds.pop(), unique=unique)
        return hashes, present
    # A mixed column (custom fields keep each value's own JSON type): hash each type apart.
    types = np.array([type(value) for value in given.tolist()], dtype=object)
    out = np.zeros(len(given), dtype=np.uint64)
    for kind in kinds:
        same = types == kind
        out[same] = _typed_hashes(given[same], kind, unique=unique)
    hashes[present] = out
    return hashes, present


def _typed_hashes(values: np.ndarray, kind: type, *, unique: bool = False) -> np.ndarray:
    """Hashes of values that all have the Python type `kind` (the types `convert_column` produces)."""
    if kind is str:
        return _hash_texts(values, _VALUE_HASH_KEY, categorize=not unique) ^ _TAG_TEXT
    if kind is bool:
        return np.where(values.astype(bool), _TRUE, _FALSE).astype(np.uint64)
    if kind is int:
        try:
            numbers = values.astype(np.int64)
        except OverflowError:
            pass
        else:
            return _mix(numbers.view(np.uint64) ^ _TAG_INT)
        texts = np.array([str(value) for value in values.tolist()], dtype=object)
        small = np.array([-(2**63) <= value < 2**63 for value in values.tolist()], dtype=bool)
        out = _hash_texts(texts, _VALUE_HASH_KEY) ^ _TAG_BIG_INT
        if small.any():
            out[small] = _mix(values[small].astype(np.int64).view(np.uint64) ^ _TAG_INT)
        return out
    if kind is float:
        texts = np.array([repr(value) for value in values.tolist()], dtype=object)  # JSON's own float text
        return _hash_texts(texts, _VALUE_HASH_KEY) ^ _TAG_FLOAT
    texts = np.array(
        [json.dumps(value, sort_keys=True, default=str) for value in values.tolist()], dtype=object
    )
    return _hash_texts(texts, _VALUE_HASH_KEY) ^ _TAG_OTHER


def _field_tag(section: str, key: str) -> np.uint64:
    return np.uint64(_hash_texts(np.array([f"{section}\x00{key}"], dtype=object), _NAME_HASH_KEY)[0])


def lead_keys(
    df: pd.DataFrame,
    mapping: LeadMapping,
    positions: np.ndarray,
    *,
    chunk_size: int = 262_144,
) -> tuple[np.ndarray, np.ndarray]:
    """The email key and the body key of the rows at `positions` (rows that passed validation).

    Args:
        df: the leads.
        mapping: which column goes where (from `map_columns`).
        positions: 0-based positions of valid rows.
        chunk_size: rows converted together (bounds the memory of the converted values).

    Returns:
        `(email_keys, body_keys)`: two int64 arrays aligned to `positions`. Rows sharing an email are not
        chained here (see `chain_groups`).

    Example:
        >>> from publitrac import map_columns
        >>> df = pd.DataFrame({"Email": ["ana@exemple.fr"], "CRM Lead ID": [12.0]})
        >>> same = pd.DataFrame({"CRM Lead ID": ["12"], "Email": [" ana@exemple.fr"]})
        >>> a, b = lead_keys(df, map_columns(df), np.arange(1)), lead_keys(same, map_columns(same), np.arange(1))
        >>> bool(a[1][0] == b[1][0])    # the same body {"email": ..., "crmLeadId": 12}
        True
    """
    plan = [
        ("leadCustomField" if f.custom else "leadInfo", f.key, f.column, f.types) for f in field_plan(mapping)
    ]
    tags = [_field_tag(section, key) for section, key, _, _ in plan]
    positions = np.asarray(positions, dtype=np.int64)
    emails = np.zeros(len(positions), dtype=np.int64)
    bodies = np.zeros(len(positions), dtype=np.int64)
    for start in range(0, len(positions), chunk_size):
        chunk = positions[start : start + chunk_size]
        total = np.full(len(chunk), _VERSION_SEED, dtype=np.uint64)
        for (section, key, column, types), tag in zip(plan, tags, strict=True):
            converted = convert_column(df[column].iloc[chunk], types)
            assert converted.values is not None
            is_email = section == "leadInfo" and key == EMAIL_FIELD
            hashes, present = _value_hashes(converted.values, unique=is_email)
            with np.errstate(over="ignore"):
                total += np.where(present, _mix(hashes ^ tag), _U64(0))
            if is_email:
                emails[start : start + len(chunk)] = _lower_email_keys(converted.values)
        bodies[start : start + len(chunk)] = _mix(total).view(np.int64)
    return emails, bodies


def chain_groups(email_keys: np.ndarray, body_keys: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """Body keys where each row that shares its email covers the rows before it with that email.

    Args:
        email_keys: per row, in row order.
        body_keys: per row, from `lead_keys`.
        serial: boolean mask of the rows whose email is shared with another row.

    Returns:
        A copy of `body_keys` in which a shared email's k-th row holds the key of rows 1..k of its group.

    Example:
        >>> keys = chain_groups(np.array([1, 1]), np.array([5, 5]), np.array([True, True]))
        >>> bool(keys[0] == 5), bool(keys[1] == 5)
        (True, False)
    """
    chained = body_keys.astype(np.int64, copy=True)
    if not serial.any():
        return chained
    own = chained.view(np.uint64)
    last: dict[int, np.uint64] = {}
    for i in np.flatnonzero(serial).tolist():
        email = int(email_keys[i])
        previous = last.get(email)
        if previous is not None:
            with np.errstate(over="ignore"):
                own[i] = _mix(np.array([previous * _U64(0x9E3779B97F4A7C15) + own[i]], dtype=np.uint64))[0]
        last[email] = own[i]
    return chained


class KeySet:
    """A growing set of 64-bit keys (the emails a stream has sent so far, say): batches added, membership tested.

    The keys are kept in a few sorted arrays of decreasing size; one added batch is merged with the smaller
    arrays as long as they are not larger than it, so every key is merged O(log n) times and a test costs a
    binary search per array: a stream of n keys costs O(n log n) in all, not a sort of everything per batch.

    Example:
        >>> seen = KeySet()
        >>> seen.add(np.array([5, 3, 5], dtype=np.int64))
        >>> seen.add(np.array([9], dtype=np.int64))
        >>> seen.contains(np.array([3, 4, 9], dtype=np.int64)).tolist()
        [True, False, True]
        >>> len(seen)
        3
    """

    def __init__(self) -> None:
        self._levels: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(level) for level in self._levels)

    def add(self, keys: np.ndarray) -> None:
        """Add keys (any order, repeats allowed)."""
        merged = np.unique(keys)
        merged = merged[~self.contains(merged)]  # the arrays stay disjoint: len() counts each key once
        if not len(merged):
            return
        while self._levels and len(self._levels[-1]) <= len(merged):
            # two sorted, disjoint runs: a stable sort (timsort) merges them in linear time
            merged = np.sort(np.concatenate([self._levels.pop(), merged]), kind="stable")
        self._levels.append(merged)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """A boolean mask: which of `keys` are in the set."""
        found = np.zeros(len(keys), dtype=bool)
        for level in self._levels:
            at = np.minimum(np.searchsorted(level, keys), len(level) - 1)
            found |= level[at] == keys
        return found
