"""Any table in, pandas frames out: Polars, Arrow, DuckDB and Arrow PyCapsule streams for the one engine.

The syncs, the validation and the preview take pandas frames. Every other table library exports Arrow, so each
input is turned into Arrow record batches, and each batch into a pandas frame **once**, here:

| input                                               | read as                                           |
| --------------------------------------------------- | ------------------------------------------------- |
| `polars.DataFrame`, `pyarrow.Table`, `RecordBatch`  | eager: one frame (`TableInput.frame`)             |
| `polars.LazyFrame`                                  | lazy: `collect_batches(chunk_size=)`              |
| `pyarrow.RecordBatchReader`, a DuckDB relation      | lazy: the reader's batches (`to_arrow_reader`)    |
| any object with `__arrow_c_stream__`                | lazy: `pa.RecordBatchReader.from_stream(obj)`     |

Lazy inputs give frames of at most `batch_rows` rows, one at a time (memory bounded by the batch, as a file's:
a batch of the source larger than that is converted in slices).

Why hand-written Arrow and not narwhals: Arrow is the format every one of these inputs already exports (Polars,
DuckDB and the PyCapsule protocol all hand out Arrow batches without a copy), so one path of ~200 lines covers them
with only pyarrow; the exactness rules below are decisions about Arrow types (which pandas dtype an int column
with nulls becomes), which narwhals would leave to `to_pandas()` all the same; narwhals has no batch iteration
over a lazy frame or a capsule stream, which the bounded memory needs; and it would be one more dependency.

Values stay as the source holds them:

- integers (with or without nulls) become pandas' nullable integers (`Int64`...), never floats: 12387 is sent
  as 12387; booleans with nulls become `boolean`;
- text stays text (`007` stays `007`; string views are read as strings);
- date-times keep their time zone (`datetime64[us, Europe/Paris]`: sent with its offset), dates are dates;
- dictionary (Polars `Categorical`/`Enum`) columns become their values, which is exact;
- `Decimal`, `List`, `Struct`, `Map`, `Binary`, `Time`, `Duration` and other columns that have no exact lead
  value cannot be sent: a column the run sends raises `ConfigurationError` naming it, its type and what to do;
  a column that is not sent (`mapping={column: None}`, or simply not mapped) is carried as empty and never
  blocks a run. `sent=None` refuses every such column (the caller does not know yet which are sent).
  A file (Arrow IPC, read by `_reader` and `_batches` before any mapping) is read with `sent=AS_READ`: such
  columns are converted as pyarrow converts them (Decimal objects, lists, dicts, bytes), as a Parquet file's are,
  and the validation then judges each cell.

Nothing here imports Polars or DuckDB: an object is recognised by its class only when its library is already
loaded (`sys.modules`), and pyarrow is imported when a table comes in.

Example:
    >>> import pyarrow as pa
    >>> table = pa.table({"email": ["ana@exemple.fr", "bob@exemple.fr"], "id": pa.array([7, None])})
    >>> frame = open_table(table).frame(sent=["email", "id"])
    >>> frame["id"].tolist(), str(frame["id"].dtype)
    ([7, <NA>], 'Int64')
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

import pandas as pd

from .._exceptions import ConfigurationError
from .._words import Setting

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ArrowStreamExportable", "TableInput", "is_table", "open_table"]

DEFAULT_TABLE_BATCH_ROWS: Final = 50_000
AS_READ: Final = ("as", "read")
"""`sent=AS_READ`: refuse nothing, convert the columns without an exact lead value as pyarrow does (files)."""
EXTRA: Final = 'pip install "publitrac[arrow]"'


@runtime_checkable
class ArrowStreamExportable(Protocol):
    """Any object that exports an Arrow stream through the PyCapsule interface (`__arrow_c_stream__`)."""

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...


def _kind(obj: object) -> str | None:
    """The kind of table `obj` is (`"polars.DataFrame"`...), or None; pandas and Dask frames are not tables."""
    if isinstance(obj, pd.DataFrame):
        return None
    polars = sys.modules.get("polars")
    if polars is not None:
        if isinstance(obj, polars.DataFrame):
            return "polars.DataFrame"
        if isinstance(obj, polars.LazyFrame):
            return "polars.LazyFrame"
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        if isinstance(obj, arrow.Table):
            return "pyarrow.Table"
        if isinstance(obj, arrow.RecordBatch):
            return "pyarrow.RecordBatch"
        if isinstance(obj, arrow.RecordBatchReader):
            return "pyarrow.RecordBatchReader"
    duckdb = sys.modules.get("duckdb")
    if duckdb is not None and isinstance(obj, duckdb.DuckDBPyRelation):
        return "duckdb.DuckDBPyRelation"
    dask = sys.modules.get("dask.dataframe")
    if dask is not None and isinstance(obj, dask.DataFrame):
        return None
    if callable(getattr(type(obj), "__arrow_c_stream__", None)):
        return "Arrow stream"
    return None


def is_table(obj: object) -> bool:
    """Whether `obj` is a table this module reads (never a pandas or Dask DataFrame).

    Args:
        obj: anything.

    Returns:
        True for a Polars DataFrame or LazyFrame, an Arrow Table, RecordBatch or RecordBatchReader, a DuckDB
        relation, or any other object with `__arrow_c_stream__`.

    Example:
        >>> is_table(pd.DataFrame({"email": []})), is_table([pd.DataFrame()])
        (False, False)
    """
    return _kind(obj) is not None


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise ImportError(f"reading an Arrow, Polars or DuckDB table needs pyarrow: {EXTRA}") from None
    return pyarrow


class TableInput:
    """A table opened for conversion: its columns now, its rows as pandas frames when asked.

    Build it with `open_table`. A lazy input (a reader, a stream) can be read once.

    Attributes:
        kind: what the table is, e.g. `"polars.LazyFrame"`.
        lazy: True when the rows come in batches (`batches`); False for a table in memory (`frame`).
        columns: the column names.
        unsendable: `{column: what its type is}` for the columns that cannot be sent (see the module docstring).
    """

    def __init__(
        self, kind: str, schema: pa.Schema, batches: Iterator[Any] | None, whole: Any = None
    ) -> None:
        self.kind = kind
        self.lazy = batches is not None
        self._schema = schema
        self._batches = batches
        self._whole = whole  # the Arrow table of an eager input
        self.columns: list[str] = list(schema.names)
        self.unsendable = {
            field.name: why for field in schema if (why := _unsendable(field.type)) is not None
        }

    def __repr__(self) -> str:
        return f"TableInput({self.kind}, {len(self.columns)} columns, {'lazy' if self.lazy else 'in memory'})"

    def refuse_unsendable(self, sent: Collection[str] | None) -> None:
        """Raise when columns that are sent (`sent`; None: any column) cannot be, naming every one.

        Args:
            sent: the columns the run sends, or None.

        Raises:
            ConfigurationError: naming each such column, its type and what to do.
        """
        if sent is AS_READ:
            return
        refused = {column: why for column, why in self.unsendable.items() if sent is None or column in sent}
        if not refused:
            return
        if len(refused) == 1:
            [(column, why)] = refused.items()
            said, it = f"column {column!r} is {why}, which has", "it"
        else:
            listed = ", ".join(f"{column!r} ({why})" for column, why in refused.items())
            said, it = f"columns {listed} have", "them"
        raise ConfigurationError(
            f"{said} no exact value in a lead: cast {it} in the source (to text, a number or a date-time), or "
            f"leave {it} out with ",
            Setting("mapping", value=dict.fromkeys(refused)),
        )

    def frame(self, *, sent: Collection[str] | None = None) -> pd.DataFrame:
        """The whole table as one pandas frame (index 0..n-1).

        Args:
            sent: the columns that the run sends; None: every column (see the module docstring).

        Returns:
            The frame.

        Raises:
            ConfigurationError: a sent column has a type that cannot be sent.
        """
        if self._whole is None:
            frames = list(self.batches(sent=sent))
            if frames:
                return pd.concat(frames)
            return _to_pandas(self._schema.empty_table(), self._empty_columns(sent), 0)
        self.refuse_unsendable(sent)
        return _to_pandas(self._whole, self._empty_columns(sent), 0)

    def batches(
        self, *, sent: Collection[str] | None = None, batch_rows: int = DEFAULT_TABLE_BATCH_ROWS
    ) -> Iterator[pd.DataFrame]:
        """The rows as pandas frames, one batch at a time, numbered on from the first (a RangeIndex).

        Args:
            sent: as for `frame`.
            batch_rows: the most rows in a frame: larger batches of the input are cut (an eager table is cut
                into pieces of this size; a lazy one also has the `batch_rows` it was opened with).

        Yields:
            Frames of at most `batch_rows` rows.

        Raises:
            ConfigurationError: a sent column has a type that cannot be sent (before any batch is read).
        """
        self.refuse_unsendable(sent)
        emptied = self._empty_columns(sent)
        source = iter([self._whole]) if self._whole is not None else self._batches
        assert source is not None
        start = 0
        for batch in source:
            for offset in range(0, max(batch.num_rows, 1), batch_rows):
                frame = _to_pandas(batch.slice(offset, batch_rows), emptied, start)
                start += len(frame)
                yield frame

    def _empty_columns(self, sent: Collection[str] | None) -> frozenset[str]:
        if sent is None or sent is AS_READ:
            return frozenset()
        return frozenset(self.unsendable)


def open_table(obj: Any, *, batch_rows: int = DEFAULT_TABLE_BATCH_ROWS) -> TableInput:
    """Open a Polars, Arrow or DuckDB table, or an Arrow stream, for conversion to pandas.

    Args:
        obj: the table (see `is_table`).
        batch_rows: the most rows in a batch of a lazy input (a Polars LazyFrame, a DuckDB relation); an Arrow
            reader or stream keeps its own batches.

    Returns:
        A TableInput: `.columns` now, `.frame()` or `.batches()` for the rows.

    Raises:
        TypeError: `obj` is not a table.
        ImportError: pyarrow is not installed.

    Example:
        >>> import pyarrow as pa
        >>> reader = pa.RecordBatchReader.from_batches(
        ...     pa.schema([("email", pa.string())]), [pa.record_batch({"email": ["a@b.co"] * 3})] * 2
        ... )
        >>> table = open_table(reader)
        >>> table.lazy, [frame.index.tolist() for frame in table.batches()]
        (True, [[0, 1, 2], [3, 4, 5]])
    """
    kind = _kind(obj)
    if kind is None:
        raise TypeError(f"expected a Polars, Arrow or DuckDB table, got {type(obj).__name__}")
    pa = _pyarrow()
    if kind == "polars.DataFrame":
        table = obj.to_arrow()
        return TableInput(kind, table.schema, None, table)
    if kind == "pyarrow.Table":
        return TableInput(kind, obj.schema, None, obj)
    if kind == "pyarrow.RecordBatch":
        return TableInput(kind, obj.schema, None, pa.Table.from_batches([obj]))
    if kind == "polars.LazyFrame":
        return _lazy_polars(obj, batch_rows)
    if kind == "duckdb.DuckDBPyRelation":
        reader = obj.to_arrow_reader(batch_rows)
    elif kind == "pyarrow.RecordBatchReader":
        reader = obj
    else:
        reader = pa.RecordBatchReader.from_stream(obj)
    return TableInput(kind, reader.schema, iter(reader))


def _lazy_polars(frame: Any, batch_rows: int) -> TableInput:
    """A LazyFrame, run by Polars' streaming engine a batch at a time; the first batch gives the Arrow schema."""
    chunks = (chunk.to_arrow() for chunk in frame.collect_batches(chunk_size=batch_rows, lazy=True))
    first = next(chunks, None)
    if first is None:
        schema = frame.limit(0).collect().to_arrow().schema
        return TableInput("polars.LazyFrame", schema, iter(()))

    def tables() -> Iterator[Any]:
        yield first
        yield from chunks

    return TableInput("polars.LazyFrame", first.schema, tables())


# -- Arrow types -------------------------------------------------------------------------------------------


def _unsendable(arrow_type: Any) -> str | None:
    """Why a column of this Arrow type cannot be sent, as "a Decimal column (decimal128(38, 2))"; None if it can."""
    types = _pyarrow().types
    if types.is_dictionary(arrow_type):
        why = _unsendable(arrow_type.value_type)
        return None if why is None else f"a categorical (dictionary) column of values that are {why}"
    checks = (
        (types.is_decimal, "a Decimal column"),
        (_is_list, "a List column"),
        (types.is_struct, "a Struct column"),
        (types.is_map, "a Map column"),
        (_is_binary, "a Binary column"),
        (types.is_time, "a Time column"),
        (types.is_duration, "a Duration column"),
        (types.is_interval, "an Interval column"),
        (types.is_union, "a Union column"),
    )
    for check, name in checks:
        if check(arrow_type):
            return f"{name} ({arrow_type})"
    if isinstance(arrow_type, _pyarrow().ExtensionType):
        return f"an extension-type column ({arrow_type})"
    return None


def _is_list(arrow_type: Any) -> bool:
    types = _pyarrow().types
    return bool(
        types.is_list(arrow_type)
        or types.is_large_list(arrow_type)
        or types.is_fixed_size_list(arrow_type)
        or types.is_list_view(arrow_type)
        or types.is_large_list_view(arrow_type)
    )


def _is_binary(arrow_type: Any) -> bool:
    types = _pyarrow().types
    return bool(
        types.is_binary(arrow_type)
        or types.is_large_binary(arrow_type)
        or types.is_fixed_size_binary(arrow_type)
        or types.is_binary_view(arrow_type)
    )


def _readable(column: Any, arrow_type: Any) -> tuple[Any, Any]:
    """The column in a type whose pandas conversion is exact: dictionaries decoded, views as plain strings."""
    pa = _pyarrow()
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
        column = column.cast(arrow_type)
    if pa.types.is_string_view(arrow_type):
        arrow_type = pa.large_string()
        column = column.cast(arrow_type)
    return column, arrow_type


def _pandas_type(arrow_type: Any) -> Any:
    """The pandas dtype for an Arrow type where pyarrow's default is not exact (ints with nulls as floats)."""
    pa = _pyarrow()
    if pa.types.is_integer(arrow_type):
        return pd.api.types.pandas_dtype(str(arrow_type).replace("int", "Int").replace("uInt", "UInt"))
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None


def _to_pandas(batch: Any, emptied: frozenset[str], start: int) -> pd.DataFrame:
    """One Arrow batch (or table) as a pandas frame, rows numbered from `start`; `emptied` columns all missing."""
    pa = _pyarrow()
    names = batch.schema.names
    columns = []
    for index, field in enumerate(batch.schema):
        column = batch.column(index)
        if field.name in emptied:
            columns.append(pa.nulls(len(column)))
            continue
        columns.append(_readable(column, field.type)[0])
    table = pa.Table.from_arrays(columns, names=names)
    frame: pd.DataFrame = table.to_pandas(types_mapper=_pandas_type, date_as_object=True)
    frame.index = pd.RangeIndex(start, start + len(frame))
    return frame
