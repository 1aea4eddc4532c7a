"""Reading a file of leads in batches of rows, for files larger than memory.

The same rules as `read_leads` (see `_reader`): the encoding is decided before the first batch, from the whole
file (every non-ASCII byte is looked at, so no later batch holds a byte the choice did not see), with the same
warning when it is an ambiguous guess; the delimiter from the first lines; every text cell stays text (`007`
stays `007`), duplicate column names are refused. A batch that does not decode in the chosen encoding (an
`encoding=` given by hand) stops the reading with an error naming its line, never with altered text. What
differs is that the rows come as a sequence of DataFrames of at most `batch_rows` rows, so that only one batch
is in memory at a time:

- delimited text: pandas' C reader in chunks (`pd.read_csv(..., chunksize=)`);
- JSON Lines: one JSON object a line, a batch of lines at a time;
- Parquet: pyarrow's `ParquetFile.iter_batches`, column types kept;
- Arrow IPC: the file's record batches through `_tables` (memory-mapped), cut to `batch_rows`;
- a JSON array and Excel cannot be read in pieces: they are read whole, then handed out in batches.

Example (not run by the doctests: it needs a file `leads.csv`):
    >>> batches = read_batches("leads.csv", batch_rows=50_000)          # doctest: +SKIP
    >>> batches.details()                                               # doctest: +SKIP
    "UTF-8 with BOM, delimiter ';'"
    >>> sum(len(batch) for batch in batches)                            # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from ._encoding import AMBIGUOUS_BELOW, EncodingAlternative
from ._reader import (
    SUFFIXES,
    Format,
    LeadFile,
    LeadFileError,
    _decode_sample,
    _detect_delimiter,
    _head,
    _load,
    _parse_json,
    _refuse_duplicates,
    _require,
    decode_error,
    guess_encoding,
    open_arrow_file,
    read_leads,
    undecodable_line,
    warn_if_ambiguous,
)
from .._words import PYTHON, Interface, Setting
from ._tables import AS_READ

DEFAULT_BATCH_ROWS = 50_000
STREAMED: frozenset[Format] = frozenset({"text", "jsonl", "parquet", "arrow"})
"""The formats read piece by piece; the others are read whole first."""


@dataclass(frozen=True, repr=False)
class LeadBatches:
    """A file of leads to read in batches: iterate it (once or again) for DataFrames of `batch_rows` rows.

    Attributes:
        name: the file's name as given.
        format: `"text"`, `"json"`, `"jsonl"`, `"parquet"` or `"excel"`.
        encoding: the codec of a text or JSON file (detected or given); None otherwise.
        delimiter: the delimiter of a delimited text file; None otherwise.
        batch_rows: the most rows in one batch.
        streamed: False for the formats read whole before being handed out in batches.
        encoding_confidence, alternatives: as `LeadFile`'s: how sure the encoding is, and the other readings.
    """

    name: str
    format: Format
    encoding: str | None
    delimiter: str | None
    batch_rows: int
    _reader: Callable[[], Iterator[pd.DataFrame]] = field(compare=False)
    encoding_confidence: float | None = None
    alternatives: tuple[EncodingAlternative, ...] = ()

    @property
    def streamed(self) -> bool:
        return self.format in STREAMED

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return self._reader()

    @property
    def encoding_ambiguous(self) -> bool:
        """True when the encoding is a guess that another reading could beat (see `alternatives`)."""
        return self.encoding_confidence is not None and self.encoding_confidence < AMBIGUOUS_BELOW

    def encoding_warning(self, interface: Interface = PYTHON) -> str | None:
        """The warning for an ambiguous encoding, as `LeadFile.encoding_warning`; None when not ambiguous."""
        return self._as_lead_file().encoding_warning(interface)

    def details(self) -> str:
        """What was detected, as `read_leads` says it: `UTF-8 with BOM, delimiter ';'`, `Parquet`..."""
        return self._as_lead_file().details()

    def _as_lead_file(self) -> LeadFile:
        return LeadFile(
            pd.DataFrame(),
            self.name,
            self.format,
            self.encoding,
            self.delimiter,
            None,
            self.encoding_confidence,
            self.alternatives,
        )

    def __repr__(self) -> str:
        return f"LeadBatches({Path(self.name).name}: {self.details()}, {self.batch_rows:,} rows a batch)"


def read_batches(
    source: str | os.PathLike[str],
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    sep: str | None = None,
    encoding: str | None = None,
) -> LeadBatches:
    """Open a file of leads for reading in batches; detection happens now, reading when iterated.

    Args:
        source: the file's path.
        batch_rows: the most rows in one batch.
        sep: the delimiter of a text file (detected when None).
        encoding: the encoding of a text or JSON file, a Python codec name (detected when None).

    Returns:
        A LeadBatches: iterate it for DataFrames.

    Raises:
        FileNotFoundError, IsADirectoryError, ImportError, LeadFileError: as `read_leads`; a problem found
            later in the file (a byte that does not decode, a malformed line) is raised while iterating.

    Example (not run by the doctests: it needs a file `leads.jsonl`):
        >>> for batch in read_batches("leads.jsonl", batch_rows=10_000):    # doctest: +SKIP
        ...     print(len(batch))
    """
    if not isinstance(batch_rows, int) or batch_rows < 1:
        raise ValueError(f"batch_rows must be a whole number >= 1, got {batch_rows!r}")
    data, display = _load(source, None)
    assert isinstance(data, Path)
    suffix = data.suffix.lower()
    kind: Format | None = SUFFIXES.get(suffix) if suffix else "text"
    if kind is None:
        raise LeadFileError(
            f"cannot read {display}: unknown file type {suffix!r}; expected one of {', '.join(SUFFIXES)}"
        )
    if kind == "parquet":
        _require("pyarrow", display)
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(data).names
        except (OSError, ValueError) as exc:
            raise LeadFileError(f"cannot read {display}: {exc}") from None
        _refuse_duplicates(names, display)
        return LeadBatches(display, kind, None, None, batch_rows, lambda: _parquet(data, batch_rows))
    if kind == "arrow":
        open_arrow_file(data, display)  # refuses a file that is not Arrow IPC now, not when iterated
        return LeadBatches(
            display,
            kind,
            None,
            None,
            batch_rows,
            lambda: open_arrow_file(data, display).batches(sent=AS_READ, batch_rows=batch_rows),
        )
    if kind == "excel":
        return LeadBatches(
            display, kind, None, None, batch_rows, lambda: _whole(data, batch_rows, None, None)
        )
    head = _head(data)
    guess = guess_encoding(data, display, encoding)
    codec = guess.encoding
    batches: LeadBatches | None = None
    if kind == "json":
        first = _decode_sample(head, codec, display).lstrip("\ufeff \t\r\n")[:1]
        if first == "[":
            reader = lambda: _whole(data, batch_rows, None, codec)  # noqa: E731
            batches = LeadBatches(display, kind, codec, None, batch_rows, reader)
        kind = "jsonl"
    if batches is None and kind == "jsonl":
        batches = LeadBatches(
            display, kind, codec, None, batch_rows, lambda: _json_lines(data, codec, batch_rows)
        )
    if batches is None:
        sample = _decode_sample(head, codec, display)
        delimiter = sep if sep is not None else _detect_delimiter(sample, suffix)
        if len(delimiter) != 1:
            raise LeadFileError(
                f"the delimiter must be one character, got {delimiter!r}; pass ", Setting("sep")
            )
        header = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
        _refuse_duplicates((name for name in header if name.strip()), display)
        batches = LeadBatches(
            display,
            "text",
            codec,
            delimiter,
            batch_rows,
            lambda: _text(data, display, codec, delimiter, batch_rows),
        )
    batches = replace(batches, encoding_confidence=guess.confidence, alternatives=guess.alternatives)
    warn_if_ambiguous(batches._as_lead_file())
    return batches


def _text(path: Path, display: str, codec: str, delimiter: str, batch_rows: int) -> Iterator[pd.DataFrame]:
    def undecodable(exc: UnicodeDecodeError) -> LeadFileError:
        return decode_error(display, codec, exc, undecodable_line(path, codec))

    try:
        chunks = pd.read_csv(
            path,
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding=codec,
            encoding_errors="strict",
            chunksize=batch_rows,
        )
    except UnicodeDecodeError as exc:
        raise undecodable(exc) from None
    except pd.errors.EmptyDataError:
        raise LeadFileError(f"{display} is empty") from None
    with chunks:
        while True:
            try:
                batch = next(chunks)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise undecodable(exc) from None
            except (pd.errors.ParserError, ValueError) as exc:
                raise LeadFileError(f"cannot read {display}: {exc}") from None
            yield batch  # pandas numbers the rows of the chunks on from the first: the index is the row


def _json_lines(path: Path, codec: str, batch_rows: int) -> Iterator[pd.DataFrame]:
    display = str(path)
    records: list[Any] = []
    start = 0
    with path.open(encoding=codec, errors="strict", newline=None) as handle:
        try:
            for number, line in enumerate(handle, start=1):
                if number == 1:
                    line = line.lstrip("\ufeff")
                if not line.strip():
                    continue
                record = _parse_json(line, display, number)
                if not isinstance(record, dict):
                    raise LeadFileError(
                        f"{display}, line {number}: expected a record (an object), got {type(record).__name__}"
                    )
                records.append(record)
                if len(records) == batch_rows:
                    yield _records(records, start)
                    start += len(records)
                    records = []
        except UnicodeDecodeError as exc:
            raise decode_error(display, codec, exc, undecodable_line(path, codec)) from None
    if records:
        yield _records(records, start)


def _records(records: list[Any], start: int) -> pd.DataFrame:
    # dtype=object: values stay as JSON wrote them, as read_leads reads them.
    return pd.DataFrame(records, dtype=object, index=pd.RangeIndex(start, start + len(records)))


def _parquet(path: Path, batch_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    start = 0
    with pq.ParquetFile(path) as parquet:
        for batch in parquet.iter_batches(batch_size=batch_rows):
            frame = batch.to_pandas()
            if isinstance(frame.index, pd.RangeIndex):
                # A range index is stored as metadata only: number the rows from the file's first.
                frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield frame


def _whole(path: Path, batch_rows: int, sep: str | None, encoding: str | None) -> Iterator[pd.DataFrame]:
    frame = read_leads(path, sep=sep, encoding=encoding).frame
    for start in range(0, len(frame), batch_rows):
        yield frame.iloc[start : start + batch_rows]
