"""Reading a file of leads as CRMs and Excel write them: one reader for the command line, Python and widgets.

The format comes from the file name's suffix:

| suffix                         | read as                                                            |
| ------------------------------ | ------------------------------------------------------------------ |
| `.csv`, `.txt`, `.tsv`, `.tab` | delimited text: encoding and delimiter detected, every cell text   |
| `.json`                        | JSON: an array of records (objects), or JSON Lines                 |
| `.jsonl`, `.ndjson`            | JSON Lines: one record (object) a line                             |
| `.parquet`, `.pq`              | Parquet (pyarrow), column types kept                               |
| `.arrow`, `.feather`, `.ipc`, `.arrows` | Arrow IPC, file or stream (pyarrow; `_tables`), types kept |
| `.xlsx`, `.xlsm`, `.xls`       | Excel, first sheet (openpyxl; `.xls` needs xlrd), cells as typed   |

Delimited text is read as text (`dtype=str`): only empty cells are missing, so `007` stays `007` and `NA`
stays `NA`. JSON values and Excel cells stay as typed (a text cell `007` stays text, a number a number);
Parquet keeps its column types. The encoding is decided by `_encoding` from the whole file: a byte order
mark, else UTF-8 when every byte is, else the code page whose reading is plausible as what people write
(letters of real languages in their contexts), Windows-1252 (what Excel's "CSV" writes in Western Europe) when
the evidence is equal. When another reading stays plausible the guess is *ambiguous*: `LeadFile.alternatives`
says what would differ, `read_leads` warns (`AmbiguousEncodingWarning`), and so do the command line and the
app, before anything is sent. The delimiter (`,` `;` tab `|`) is detected by the standard library's
`csv.Sniffer` on the first lines. `sep=` and `encoding=` override the detection.

Duplicate column names are refused on every format (pandas would quietly rename the second `email` to
`email.1`, which `custom_fields="all"` would then send).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import warnings
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Literal

import numpy as np
import pandas as pd

from ._encoding import (
    AMBIGUOUS_BELOW,
    EncodingAlternative,
    EncodingGuess,
    MixedEncodingError,
    NotTextError,
    detect_encoding,
    encoding_label,
)
from .._words import PYTHON, Interface, Setting, Worded
from ._tables import AS_READ, DEFAULT_TABLE_BATCH_ROWS, TableInput, open_table

__all__ = ["AmbiguousEncodingWarning", "LeadFile", "LeadFileError", "read_leads"]

Format = Literal["text", "json", "jsonl", "parquet", "excel", "arrow"]

SUFFIXES: Final[dict[str, Format]] = {
    ".csv": "text",
    ".txt": "text",
    ".tsv": "text",
    ".tab": "text",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
    ".arrows": "arrow",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
}
"""The file suffixes read, and how."""

DELIMITERS: Final = ",;\t|"
EXTRA: Final = 'pip install "publitrac[notebooks]"'
# The encoding is decided from the whole file (`_encoding`); the delimiter from its first lines.
_HEAD: Final = 1 << 20
_DELIMITER_SAMPLE: Final = 64 << 10
_FORMAT_NAMES: Final[dict[Format, str]] = {
    "json": "JSON",
    "jsonl": "JSON Lines",
    "parquet": "Parquet",
    "excel": "Excel",
    "arrow": "Arrow IPC",
}


class LeadFileError(Worded, ValueError):
    """A file of leads that cannot be read as it is (its message says why and what to pass)."""

    def __init__(self, *parts: str | Setting) -> None:
        self.parts = parts
        super().__init__(Setting.render(parts, PYTHON))


class AmbiguousEncodingWarning(Worded, UserWarning):
    """The encoding of a file is a guess that another reading could beat: check the characters it names."""

    def __init__(self, *parts: str | Setting) -> None:
        self.parts = parts
        super().__init__(Setting.render(parts, PYTHON))


@dataclass(frozen=True)
class InputFile:
    """A file of leads and how it was read, as a sync's `input_file=` takes it (a path-like): the run's record
    keeps the delimiter and the encoding beside the path, so that `publitrac retry` reads the rows the same way
    (a file read with `--encoding cp1257` would otherwise be guessed again, and a name could change).

    Example:
        >>> import os
        >>> os.fspath(InputFile("leads.csv", sep=";", encoding="cp1252"))
        'leads.csv'
    """

    path: str | os.PathLike[str]
    sep: str | None = None
    encoding: str | None = None

    def __fspath__(self) -> str:
        return os.fspath(self.path)


@dataclass(frozen=True, repr=False)
class LeadFile:
    """A file of leads as read by `read_leads`: the frame and what was detected to read it.

    Attributes:
        frame: the rows; delimited text is all text (only empty cells missing); JSON values and Excel cells
            stay as typed, Parquet keeps its column types.
        name: the file's name as given (a path or the upload's name).
        format: `"text"` (delimited), `"json"`, `"jsonl"`, `"parquet"` or `"excel"`.
        encoding: the Python codec that decoded a text file (`"utf-8-sig"`, `"cp1252"`...); None otherwise.
        delimiter: the delimiter of a delimited text file; None otherwise.
        encoding_confidence: how sure the encoding is, from 0 to 1: 1.0 when the bytes leave no doubt (a byte
            order mark, valid UTF-8, ASCII, or `encoding=` given), else the chosen reading's share of the
            evidence; None for formats that hold no text encoding (Parquet, Excel).
        alternatives: the other readings of the bytes that the evidence does not rule out, the likeliest first:
            each an `EncodingAlternative` with `.encoding` (what to pass as `encoding=`), `.likelihood` and
            `.differences` (`("è", "č")`: as read, as it would read).

    Example:
        >>> leads = read_leads(b"email;Nom\\nzoe@example.com;Zo\\xeb\\n", name="leads.csv")
        >>> leads.frame["Nom"].tolist(), leads.encoding, leads.delimiter
        (['Zoë'], 'cp1252', ';')
        >>> leads.describe()
        "1 row, 2 columns from leads.csv (Windows-1252, delimiter ';')"
    """

    frame: pd.DataFrame
    name: str
    format: Format
    encoding: str | None = None
    delimiter: str | None = None
    # The line of each row: an int N for "row i is on line i + N", a tuple for files where quoted line breaks
    # or blank lines shift them; None where lines mean nothing (a JSON array, Parquet, Excel).
    _lines: int | tuple[int, ...] | None = field(default=None, compare=False)
    encoding_confidence: float | None = None
    alternatives: tuple[EncodingAlternative, ...] = ()

    @property
    def encoding_label(self) -> str | None:
        """The encoding as people name it: `UTF-8 with BOM`, `UTF-16 with BOM`, `Windows-1252`..."""
        return None if self.encoding is None else encoding_label(self.encoding)

    @property
    def encoding_ambiguous(self) -> bool:
        """True when the encoding is a guess that another reading could beat (see `alternatives`).

        Example (one accented letter is little evidence: Windows-1250 reads `Lefčvre`):
            >>> import warnings
            >>> with warnings.catch_warnings(record=True):
            ...     leads = read_leads(b"email;Nom\\na@example.com;Lef\\xe8vre\\n", name="leads.csv")
            >>> leads.encoding, leads.encoding_ambiguous
            ('cp1252', True)
            >>> [(other.encoding, other.differences) for other in leads.alternatives]
            [('cp1250', (('è', 'č'),))]
        """
        return self.encoding_confidence is not None and self.encoding_confidence < AMBIGUOUS_BELOW

    def encoding_warning(self, interface: Interface = PYTHON) -> str | None:
        """The warning for an ambiguous encoding, in the words of `interface`; None when it is not ambiguous.

        It names the encoding read, the characters another reading would make of the same bytes, and the
        setting that reads the file that way (`encoding='cp1250'`, `--encoding cp1250`, the Encoding box).
        """
        if not self.encoding_ambiguous or self.encoding is None:
            return None
        return Setting.render(_warning_parts(self), interface)

    def details(self) -> str:
        """What was detected, e.g. `UTF-8 with BOM, delimiter ';'` or `Parquet`."""
        parts: list[str] = []
        if self.format != "text":
            parts.append(_FORMAT_NAMES[self.format])
        if self.encoding_label is not None and self.format != "parquet" and self.format != "excel":
            parts.append(self.encoding_label)
        if self.delimiter is not None:
            parts.append("delimiter tab" if self.delimiter == "\t" else f"delimiter {self.delimiter!r}")
        return ", ".join(parts)

    def describe(self) -> str:
        """One line for people: `300 rows, 12 columns from leads.csv (UTF-8 with BOM, delimiter ';')`."""
        rows, columns = self.frame.shape
        return (
            f"{rows:,} row{'' if rows == 1 else 's'}, {columns:,} column{'' if columns == 1 else 's'} "
            f"from {Path(self.name).name or self.name} ({self.details()})"
        )

    def locate(self, position: int) -> str:
        """Where row `position` (0-based) is in the file, in the file's own terms.

        Args:
            position: the row's position in `frame`.

        Returns:
            `line N` for text and JSON Lines (1-based, the header line included), `row N` for Excel (the
            sheet's row number), `record N` (1-based) for a JSON array and Parquet.

        Example:
            >>> read_leads(b"email\\na@example.com\\n", name="leads.csv").locate(0)
            'line 2'
        """
        if isinstance(self._lines, int):
            return f"line {position + self._lines}"
        if self._lines is not None:
            return f"line {self._lines[position]}"
        if self.format == "excel":
            return f"row {position + 2}"
        return f"record {position + 1}"

    def __repr__(self) -> str:
        return f"LeadFile({self.describe()})"


def read_leads(
    source: str | os.PathLike[str] | bytes | IO[bytes],
    *,
    name: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
) -> LeadFile:
    """Read a file of leads, whatever Excel or a CRM wrote; formats, detection and rules in the module doc.

    Args:
        source: a path, the file's bytes, or a binary file object (an upload).
        name: the file's name when `source` is bytes or a file object: its suffix gives the format (default:
            delimited text).
        sep: the delimiter of a text file (detected when None).
        encoding: the encoding of a text or JSON file, a Python codec name (detected when None).

    Returns:
        A LeadFile: `.frame`, what was detected (`.encoding`, `.delimiter`), `.describe()`, `.locate(row)`.

    Raises:
        FileNotFoundError: no such file.
        IsADirectoryError: the path is a directory.
        ImportError: Parquet or Excel without their library; the message names the extra to install.
        LeadFileError: (a ValueError) an unknown suffix, duplicate column names, undecodable bytes, a
            malformed file.

    Example (not run by the doctests: it needs the file `examples/leads.csv` of the repository):
        >>> leads = read_leads("examples/leads.csv")          # doctest: +SKIP
        >>> print(leads.describe())                            # doctest: +SKIP
        300 rows, 12 columns from leads.csv (UTF-8, delimiter ',')
        >>> df = leads.frame                                   # doctest: +SKIP
    """
    data, display = _load(source, name)
    suffix = Path(display).suffix.lower()
    kind: Format | None = SUFFIXES.get(suffix) if suffix else "text"
    if kind is None:
        raise LeadFileError(
            f"cannot read {display}: unknown file type {suffix!r}; expected one of {', '.join(SUFFIXES)}"
        )
    if kind == "parquet":
        return LeadFile(_read_parquet(data, display), display, kind)
    if kind == "arrow":
        return LeadFile(open_arrow_file(data, display).frame(sent=AS_READ), display, kind)
    if kind == "excel":
        return LeadFile(_read_excel(data, display, suffix), display, kind)
    head = _head(data)
    guess = guess_encoding(data, display, encoding)
    codec = guess.encoding
    if kind in ("json", "jsonl"):
        frame, lines, kind = _read_json(data, display, codec, kind)
        leads = LeadFile(frame, display, kind, codec, None, lines, guess.confidence, guess.alternatives)
    else:
        sample = _decode_sample(head, codec, display)
        delimiter = sep if sep is not None else _detect_delimiter(sample, suffix)
        if len(delimiter) != 1:
            raise LeadFileError(
                f"the delimiter must be one character, got {delimiter!r}; pass ", Setting("sep")
            )
        header = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
        _refuse_duplicates((name for name in header if name.strip()), display)
        frame = _read_text(data, display, codec, delimiter)
        lines = _line_numbers(data, codec, delimiter, len(frame))
        leads = LeadFile(
            frame, display, "text", codec, delimiter, lines, guess.confidence, guess.alternatives
        )
    warn_if_ambiguous(leads)
    return leads


def warn_if_ambiguous(leads: LeadFile) -> None:
    """Warn (`AmbiguousEncodingWarning`) when the file's encoding is an ambiguous guess."""
    if leads.encoding_ambiguous:
        warnings.warn(AmbiguousEncodingWarning(*_warning_parts(leads)), stacklevel=3)


def _warning_parts(leads: LeadFile) -> tuple[str | Setting, ...]:
    """`leads.csv: the encoding is a guess: read as Windows-1252 (94% sure); as Windows-1250 (6%), 'è' would be
    'č' (line 2,002: 'Hélène' would be 'Hélčne'). If the file is Windows-1250, pass --encoding cp1250; to keep
    Windows-1252 and silence this warning, pass --encoding cp1252.`"""
    name = Path(leads.name).name or leads.name
    label = leads.encoding_label
    others = leads.alternatives[:3]
    parts: list[str | Setting] = [
        f"{name}: the encoding is a guess: read as {label} ({_percent(leads.encoding_confidence or 0.0)} sure); ",
        "; ".join(alternative.describe() for alternative in others),
        ". ",
    ]
    for index, alternative in enumerate(others):
        parts += ["If the file is " if index == 0 else "; if ", f"{alternative.label}, pass "]
        parts.append(Setting("encoding", value=alternative.encoding))
    parts += [
        f"; to keep {label} and silence this warning, pass ",
        Setting("encoding", value=leads.encoding),
        ".",
    ]
    return tuple(parts)


def _percent(share: float) -> str:
    return f"{share:.0%}" if share < 0.995 else f"{share:.1%}"


# -- sources ---------------------------------------------------------------------------------------------------


def _load(source: str | os.PathLike[str] | bytes | IO[bytes], name: str | None) -> tuple[Path | bytes, str]:
    """The file's path (checked) or its bytes, and the name to show."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), name or "upload"
    if hasattr(source, "read"):
        content = source.read()
        if not isinstance(content, bytes):
            raise TypeError("read_leads needs a binary file object (opened with 'rb')")
        return content, name or str(getattr(source, "name", "upload"))
    path = Path(os.fspath(source))
    if path.is_dir():
        raise IsADirectoryError(f"is a directory: {path}")
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    return path, name or str(path)


def _head(data: Path | bytes) -> bytes:
    if isinstance(data, bytes):
        return data[: _HEAD + 1]
    with data.open("rb") as handle:
        return handle.read(_HEAD + 1)


def _open(data: Path | bytes) -> Any:
    return io.BytesIO(data) if isinstance(data, bytes) else data


# -- detection -------------------------------------------------------------------------------------------------


def guess_encoding(data: Path | bytes, display: str, encoding: str | None) -> EncodingGuess:
    """The encoding to read with: `encoding` when given (refused when Python has no such codec), else the one
    `_encoding.detect_encoding` decides from the whole file.

    Raises:
        LeadFileError: an unknown codec; an empty file; bytes that are no text; a UTF-8 file with lines in
            another encoding (the message names the first).
    """
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise LeadFileError(
                f"unknown encoding {encoding!r}; pass ", Setting("encoding"), " a Python codec name"
            ) from None
        return EncodingGuess(encoding, given=True)
    try:
        return detect_encoding(data)
    except NotTextError as exc:
        if str(exc) == "empty":
            raise LeadFileError(f"{display} is empty") from None
        raise LeadFileError(
            f"{display} does not look like text in any encoding; pass ", Setting("encoding")
        ) from None
    except MixedEncodingError as exc:
        raise LeadFileError(
            f"{display} is UTF-8 but line {_line_of_offset(data, exc.offset)} is not (part of the file was "
            "written by another program?): correct that line, or pass ",
            Setting("encoding"),
            " to read the whole file in one encoding",
        ) from None


def _decode_sample(head: bytes, codec: str, display: str) -> str:
    sample = head[:_DELIMITER_SAMPLE]
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    try:
        text = decoder.decode(sample, final=len(head) <= _DELIMITER_SAMPLE)
    except UnicodeDecodeError as exc:
        raise decode_error(display, codec, exc, _line_of_offset(head, exc.start)) from None
    if len(head) > _DELIMITER_SAMPLE:
        text = text[: text.rfind("\n") + 1] or text
    return text


def _detect_delimiter(sample: str, suffix: str) -> str:
    """The delimiter by `csv.Sniffer`, among `,` `;` tab `|`; a one-column file gets the suffix's default."""
    # Plain "\n" line ends: the Sniffer's quoted-field pattern does not match before a "\r\n" (Excel's).
    lines = sample.splitlines()[:200]
    try:
        return csv.Sniffer().sniff("\n".join(lines) + "\n", delimiters=DELIMITERS).delimiter
    except csv.Error:
        return "\t" if suffix in (".tsv", ".tab") else ","


def _label(codec: str) -> str:
    return encoding_label(codec)


def undecodable_line(data: Path | bytes, codec: str) -> int | None:
    """The 1-based line of the first bytes that `codec` cannot decode (None when all decode)."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    lines = 1
    with io.BytesIO(data) if isinstance(data, bytes) else data.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            pending = decoder.getstate()[0]
            try:
                lines += decoder.decode(chunk).count("\n")
            except UnicodeDecodeError as exc:
                good = (pending + chunk)[: exc.start]
                return lines + good.decode(codec, errors="replace").count("\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return lines
    return None


def _line_of_offset(data: Path | bytes, offset: int) -> int:
    head = data[:offset] if isinstance(data, bytes) else _read_upto(data, offset)
    return head.count(b"\n") + 1


def _read_upto(path: Path, offset: int) -> bytes:
    with path.open("rb") as handle:
        return handle.read(offset)


def decode_error(display: str, codec: str, exc: UnicodeDecodeError, line: int | None) -> LeadFileError:
    """`cannot read leads.csv as UTF-8: line 1,204 has bytes that are not UTF-8; pass encoding= ...`."""
    where = f"line {line:,} has bytes that are not {_label(codec)} ({exc.reason})" if line else exc.reason
    return LeadFileError(
        f"cannot read {display} as {_label(codec)}: {where}; pass ",
        Setting("encoding"),
        " with the file's encoding",
    )


def _refuse_duplicates(names: Iterable[Any], display: str) -> None:
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        listed = ", ".join(repr(name) for name in repeated)
        raise LeadFileError(
            f"{display} has duplicate column names: {listed}; rename them so that each column has its own name"
        )


# -- readers ---------------------------------------------------------------------------------------------------


def _read_text(data: Path | bytes, display: str, codec: str, delimiter: str) -> pd.DataFrame:
    try:
        return pd.read_csv(
            _open(data),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding=codec,
            encoding_errors="strict",
        )
    except UnicodeDecodeError as exc:
        raise decode_error(display, codec, exc, undecodable_line(data, codec)) from None
    except pd.errors.EmptyDataError:
        raise LeadFileError(f"{display} is empty") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise LeadFileError(f"cannot read {display}: {exc}") from None


def _line_numbers(data: Path | bytes, codec: str, delimiter: str, rows: int) -> int | tuple[int, ...] | None:
    """Where each row is: 2 (row i on line i + 2, the header on line 1) unless quoted line breaks or blank
    lines shift the rows, then each row's first line."""
    physical, ends_with_newline = _count_newlines(data, codec)
    if physical + (0 if ends_with_newline else 1) == rows + 1:
        return 2
    text = data.decode(codec) if isinstance(data, bytes) else data.read_text(encoding=codec)
    starts: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous_end = 0
    for record in reader:
        if record:
            starts.append(previous_end + 1)
        previous_end = reader.line_num
    return tuple(starts[1:]) if len(starts) == rows + 1 else None


def _count_newlines(data: Path | bytes, codec: str) -> tuple[int, bool]:
    """The "\n" in the file, and whether it ends with one; by chunks, without decoding."""
    name = codecs.lookup(codec).name
    width = 4 if name.startswith("utf-32") else 2 if name.startswith("utf-16") else 1
    order = ">" if name.endswith("-be") else "<"
    count, last = 0, b""
    with io.BytesIO(data) if isinstance(data, bytes) else data.open("rb") as handle:
        first = True
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            if width == 1:
                count += chunk.count(b"\n")
            else:
                if first and name in ("utf-16", "utf-32"):  # a BOM says the byte order
                    order = ">" if chunk.startswith((b"\xfe\xff", b"\x00\x00\xfe\xff")) else "<"
                units = np.frombuffer(chunk[: len(chunk) - len(chunk) % width], dtype=f"{order}u{width}")
                count += int(np.count_nonzero(units == 10))
            first, last = False, chunk
    return count, last.endswith(_unit(10, width, order))


def _unit(code: int, width: int, order: str) -> bytes:
    return code.to_bytes(width, "big" if order == ">" else "little")


def _read_json(
    data: Path | bytes, display: str, codec: str, kind: Format
) -> tuple[pd.DataFrame, int | tuple[int, ...] | None, Format]:
    raw = data if isinstance(data, bytes) else data.read_bytes()
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise decode_error(display, codec, exc, undecodable_line(raw, codec)) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    lines: int | tuple[int, ...] | None = None
    numbers: list[int] = []
    if kind == "json" and text.lstrip().startswith("["):
        records = _parse_json(text, display)
        if not isinstance(records, list):
            raise LeadFileError(f"{display}: expected an array of records (objects)")
    else:
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                records.append(_parse_json(line, display, number))
                numbers.append(number)
        kind = "jsonl"
        lines = 1 if numbers == list(range(1, len(numbers) + 1)) else tuple(numbers)
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            where = "line " + str(numbers[index]) if kind == "jsonl" else f"record {index + 1}"
            raise LeadFileError(
                f"{display}, {where}: expected a record (an object), got {type(record).__name__}"
            )
    # dtype=object: values stay as JSON wrote them (an int is not made a float because another row lacks it).
    return pd.DataFrame(records, dtype=object), lines, kind


def _parse_json(text: str, display: str, line: int | None = None) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        _refuse_duplicates((key for key, _ in items), display if line is None else f"{display}, line {line}")
        return dict(items)

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        where = f"line {line}" if line is not None else f"line {exc.lineno}"
        raise LeadFileError(f"{display}, {where}: not valid JSON: {exc.msg}") from None


def _require(module: str, display: str, alternative: str | None = None) -> None:
    import importlib

    for candidate in (module, alternative):
        if candidate is None:
            continue
        try:
            importlib.import_module(candidate)
            return
        except ImportError:
            continue
    hint = EXTRA if module in ("pyarrow", "openpyxl") else f"pip install {module}"
    raise ImportError(f"reading {Path(display).name} needs {module}, which is not installed: {hint}")


def _read_parquet(data: Path | bytes, display: str) -> pd.DataFrame:
    _require("pyarrow", display, "fastparquet")
    try:
        try:
            import pyarrow.parquet as pq
        except ImportError:  # fastparquet: pandas reads it, its columns are checked below
            pass
        else:
            # pyarrow refuses a repeated field with a cryptic message: name it first.
            _refuse_duplicates(pq.read_schema(_open(data)).names, display)
        frame = pd.read_parquet(_open(data))
    except (OSError, ValueError) as exc:
        if isinstance(exc, LeadFileError):
            raise
        raise LeadFileError(f"cannot read {display}: {exc}") from None
    _refuse_duplicates(frame.columns, display)
    return frame


def open_arrow_file(data: Path | bytes, display: str, *, batch_rows: int | None = None) -> TableInput:
    """An Arrow IPC file (the file format, Feather v2 included, or the stream format), opened for `_tables`.

    A file on disk is memory-mapped: its batches are read one at a time.

    Raises:
        ImportError: pyarrow is not installed.
        LeadFileError: not an Arrow IPC file, or duplicate column names.
    """
    _require("pyarrow", display)
    import pyarrow as pa

    def source() -> Any:
        return pa.memory_map(str(data)) if isinstance(data, Path) else pa.BufferReader(data)

    try:
        try:
            file = pa.ipc.open_file(source())
            reader = pa.RecordBatchReader.from_batches(
                file.schema, (file.get_batch(i) for i in range(file.num_record_batches))
            )
        except pa.ArrowInvalid:
            reader = pa.ipc.open_stream(source())
    except (OSError, pa.ArrowInvalid) as exc:
        raise LeadFileError(f"cannot read {display} as Arrow IPC: {exc}") from None
    _refuse_duplicates(reader.schema.names, display)
    return open_table(reader, batch_rows=batch_rows or DEFAULT_TABLE_BATCH_ROWS)


def _read_excel(data: Path | bytes, display: str, suffix: str) -> pd.DataFrame:
    _require("xlrd" if suffix == ".xls" else "openpyxl", display)
    try:
        # pandas renames a repeated header (`email`, `email.1`): look at the header row as written first.
        header = pd.read_excel(_open(data), header=None, nrows=1, dtype=object)
        if not header.empty:
            _refuse_duplicates((v for v in header.iloc[0].tolist() if not pd.isna(v)), display)
        # dtype=object: each cell as Excel holds it. Without it pandas parses text cells as numbers (`007` -> 7).
        return pd.read_excel(_open(data), dtype=object)
    except (OSError, ValueError) as exc:
        if isinstance(exc, LeadFileError):
            raise
        raise LeadFileError(f"cannot read {display}: {exc}") from None
