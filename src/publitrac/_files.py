"""Reading a file of leads as CRMs and Excel write them: one reader for the command line, Python and widgets.

The format comes from the file name's suffix:

| suffix                         | read as                                                            |
| ------------------------------ | ------------------------------------------------------------------ |
| `.csv`, `.txt`, `.tsv`, `.tab` | delimited text: encoding and delimiter detected, every cell text   |
| `.json`                        | JSON: an array of records (objects), or JSON Lines                 |
| `.jsonl`, `.ndjson`            | JSON Lines: one record (object) a line                             |
| `.parquet`, `.pq`              | Parquet (pyarrow), column types kept                               |
| `.xlsx`, `.xlsm`, `.xls`       | Excel, first sheet (openpyxl; `.xls` needs xlrd), cells as typed   |

Delimited text is read as text (`dtype=str`): only empty cells are missing, so `007` stays `007` and `NA`
stays `NA`. JSON values and Excel cells stay as typed (a text cell `007` stays text, a number a number);
Parquet keeps its column types. The encoding is detected by `charset-normalizer` (a byte order mark wins; UTF-8, UTF-16 and the
Windows code pages are told apart by the library). Among the code pages the library ranks equally (a short
Western file decodes alike under several of them), Windows-1252, what Excel's "CSV" writes in Western Europe,
is preferred. The delimiter (`,` `;` tab `|`) is detected by the standard library's `csv.Sniffer` on the first
lines. `sep=` and `encoding=` override the detection.

Duplicate column names are refused on every format (pandas would quietly rename the second `email` to
`email.1`, which `custom_fields="all"` would then send).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Literal

import numpy as np
import pandas as pd

from ._words import PYTHON, Setting, Worded

__all__ = ["LeadFile", "read_leads"]

Format = Literal["text", "json", "jsonl", "parquet", "excel"]

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
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
}
"""The file suffixes read, and how."""

DELIMITERS: Final = ",;\t|"
EXTRA: Final = 'pip install "publitrac[notebooks]"'
# Encoding and delimiter are detected on the first bytes only: enough for any header and a few hundred rows,
# and the whole file is then decoded strictly, so a later byte that does not fit still fails loudly.
_ENCODING_SAMPLE: Final = 1 << 20
_DELIMITER_SAMPLE: Final = 64 << 10
_PREFERRED_CODE_PAGE: Final = "cp1252"
_LABELS: Final = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16 with BOM",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "utf-32": "UTF-32 with BOM",
    "ascii": "ASCII",
    "cp1252": "Windows-1252",
    "cp1250": "Windows-1250",
    "cp1251": "Windows-1251",
    "latin-1": "ISO-8859-1",
}
_FORMAT_NAMES: Final[dict[Format, str]] = {
    "json": "JSON",
    "jsonl": "JSON Lines",
    "parquet": "Parquet",
    "excel": "Excel",
}


class LeadFileError(Worded, ValueError):
    """A file of leads that cannot be read as it is (its message says why and what to pass)."""

    def __init__(self, *parts: str | Setting) -> None:
        self.parts = parts
        super().__init__(Setting.render(parts, PYTHON))


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

    @property
    def encoding_label(self) -> str | None:
        """The encoding as people name it: `UTF-8 with BOM`, `UTF-16 with BOM`, `Windows-1252`..."""
        if self.encoding is None:
            return None
        codec = codecs.lookup(self.encoding).name
        return _LABELS.get(codec, _LABELS.get(self.encoding, codec))

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
    if kind == "excel":
        return LeadFile(_read_excel(data, display, suffix), display, kind)
    head = _head(data)
    codec = _codec(head, display, encoding)
    if kind in ("json", "jsonl"):
        frame, lines, kind = _read_json(data, display, codec, kind)
        return LeadFile(frame, display, kind, codec, None, lines)
    sample = _decode_sample(head, codec, display)
    delimiter = sep if sep is not None else _detect_delimiter(sample, suffix)
    if len(delimiter) != 1:
        raise LeadFileError(f"the delimiter must be one character, got {delimiter!r}; pass ", Setting("sep"))
    header = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    _refuse_duplicates((name for name in header if name.strip()), display)
    frame = _read_text(data, display, codec, delimiter)
    return LeadFile(
        frame, display, "text", codec, delimiter, _line_numbers(data, codec, delimiter, len(frame))
    )


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
        return data[: _ENCODING_SAMPLE + 1]
    with data.open("rb") as handle:
        return handle.read(_ENCODING_SAMPLE + 1)


def _open(data: Path | bytes) -> Any:
    return io.BytesIO(data) if isinstance(data, bytes) else data


# -- detection -------------------------------------------------------------------------------------------------


def _codec(head: bytes, display: str, encoding: str | None) -> str:
    """The codec to read with: `encoding` (refused when Python has no such codec), else the one detected."""
    codec = encoding if encoding is not None else _detect_encoding(head, display)
    try:
        codecs.lookup(codec)
    except LookupError:
        raise LeadFileError(
            f"unknown encoding {codec!r}; pass ", Setting("encoding"), " a Python codec name"
        ) from None
    return codec


def _detect_encoding(head: bytes, display: str) -> str:
    """The codec for these bytes, by charset-normalizer; Windows-1252 among code pages it ranks equally."""
    import charset_normalizer

    if not head:
        raise LeadFileError(f"{display} is empty")
    sample = head
    if len(head) > _ENCODING_SAMPLE:
        # Whole lines only, so that the cut never splits a character (in UTF-16 "\n" is followed by "\0").
        cut = head.rfind(b"\n", 0, _ENCODING_SAMPLE)
        if cut > 0:
            sample = head[: cut + 1 + (head[cut + 1 : cut + 2] == b"\0")]
    matches = list(charset_normalizer.from_bytes(sample))
    if not matches:
        raise LeadFileError(f"{display} does not look like text in any encoding; pass ", Setting("encoding"))
    best = matches[0]
    codec = codecs.lookup(best.encoding).name
    if best.bom:
        return {"utf-8": "utf-8-sig", "utf-16-le": "utf-16", "utf-16-be": "utf-16"}.get(codec, codec)
    if codec in ("ascii", "utf-8") or codec.startswith("utf-"):
        return "utf-8" if codec == "ascii" else codec
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    if any(_PREFERRED_CODE_PAGE in m.could_be_from_charset for m in tied):
        return _PREFERRED_CODE_PAGE
    return codec


def _decode_sample(head: bytes, codec: str, display: str) -> str:
    sample = head[:_DELIMITER_SAMPLE]
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    try:
        text = decoder.decode(sample, final=len(head) <= _DELIMITER_SAMPLE)
    except UnicodeDecodeError as exc:
        raise LeadFileError(
            f"cannot read {display} as {_label(codec)}: {exc.reason} at byte {exc.start}; pass ",
            Setting("encoding"),
            " with the file's encoding",
        ) from None
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
    return _LABELS.get(codecs.lookup(codec).name, codec)


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
        raise LeadFileError(
            f"cannot read {display} as {_label(codec)}: {exc.reason}; pass ",
            Setting("encoding"),
            " with the file's encoding",
        ) from None
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
        raise LeadFileError(
            f"cannot read {display} as {_label(codec)}: {exc.reason}; pass ", Setting("encoding")
        ) from None
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
