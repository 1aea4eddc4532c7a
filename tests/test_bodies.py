"""Values leave pandas clean (publitrac.lead._values), and bodies are built lazily chunk by chunk (publitrac.lead._bodies)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import publitrac
from publitrac.lead import _bodies, _values
from publitrac import _spec
from publitrac.lead._bodies import iter_bodies
from publitrac.lead._preview import preview
from publitrac.lead._values import (
    ANY_TYPE,
    convert_column,
    convert_value,
    custom_field_types,
    field_types,
    lead_info_types,
)
from publitrac.lead._mapping import map_columns
from publitrac.sandbox import SandboxServer

TEXT = frozenset({"string"})
INTEGER = frozenset({"integer"})
NUMBER = frozenset({"number"})
BOOLEAN = frozenset({"boolean"})
CUSTOM = frozenset({"string", "number", "boolean"})
ID = frozenset({"integer", "string"})  # crmLeadId
TYPE_SETS = [TEXT, INTEGER, NUMBER, BOOLEAN, CUSTOM, ANY_TYPE, ID, frozenset({"integer", "boolean"})]

TEXTS = [
    " a ",
    "",
    "   ",
    None,
    "12",
    " -12 ",
    "12.0",
    "12a",
    "3.5",
    "yes",
    "No",
    "1e3",
    "inf",
    "nan",
    "0",
    "007",
    " 00Q5e00000ABCdE ",
    "12387.00",
    "+4",
    "12.",
    "0.0",
    "9007199254740991",
    "9007199254740992",
    "12-34",
    "1 234",
    "١٢",
]
# 1900 in Paris: local mean time, an offset with seconds (+00:09:21).
MOMENTS = [
    "2024-03-01 09:30:00",
    None,
    "2024-03-01 00:00:00.5",
    "1969-07-20 20:17:40.000001",
    "1900-01-01 12:00",
]


def _columns() -> dict[str, pd.Series]:
    """One column per dtype the conversion must handle, each with its awkward values."""
    columns = {
        "float64": pd.Series([1.0, 2.5, np.nan, np.inf, -0.0, 12387.0, 1e20, 0.0, -3.0, 1e300]),
        "float32": pd.Series([1.0, 2.5, np.nan], dtype="float32"),
        "Float64": pd.Series([1.0, None, 0.5], dtype="Float64"),
        "int64": pd.Series([0, 1, 2, -5, 2**62]),
        "uint8": pd.Series([0, 1, 255], dtype="uint8"),
        "Int64": pd.Series([1, None, 0], dtype="Int64"),
        "bool": pd.Series([True, False]),
        "boolean": pd.Series([True, None, False], dtype="boolean"),
        "str": pd.Series(TEXTS, dtype="str"),
        "string[python]": pd.Series(TEXTS, dtype="string[python]"),
        "object text": pd.Series(TEXTS, dtype=object),
        "object mixed": pd.Series(
            [
                None,
                np.nan,
                pd.NA,
                pd.NaT,
                " t ",
                3,
                np.int64(4),
                2.0,
                np.float32(2.5),
                np.float64(np.nan),
                True,
                np.bool_(False),
                decimal.Decimal("1.50"),
                decimal.Decimal("2"),
                decimal.Decimal("NaN"),
                dt.date(2024, 1, 2),
                dt.datetime(2024, 1, 2, 3, 4, 5),
                pd.Timestamp("2024-01-02 03:04:05.123456789"),
                np.datetime64("2024-01-02T03:04"),
                dt.timedelta(hours=1),
                [1, 2],
                {"a": 1},
                b"x",
                float("inf"),
                pd.Period("2024-01", freq="M"),
                "",
                "  x  ",
            ],
            dtype=object,
        ),
        "category text": pd.Series(["b ", None, " b ", "12", ""], dtype="category"),
        "category int": pd.Series([1, None, 2, 1], dtype="category"),
        "datetime naive": pd.Series(pd.to_datetime(MOMENTS, format="ISO8601")),
        "datetime ns": pd.Series(pd.to_datetime(["2024-03-01 09:30:00.000000001", None]).as_unit("ns")),
        "datetime s": pd.Series(pd.to_datetime(["2024-03-01 09:30:00", None]).as_unit("s")),
        "datetime tz": pd.Series(pd.to_datetime(MOMENTS, format="ISO8601").tz_localize("Europe/Paris")),
        "datetime tz +05:45": pd.Series(
            pd.to_datetime(MOMENTS, format="ISO8601").tz_localize("Asia/Kathmandu")
        ),
        "timedelta": pd.Series(pd.to_timedelta(["1h", None])),
        "period": pd.Series(pd.period_range("2024-01", periods=2, freq="M")),
    }
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return columns
    columns["string[pyarrow]"] = pd.Series(TEXTS, dtype="string[pyarrow]")
    columns["int64[pyarrow]"] = pd.Series([1, None, 0], dtype="int64[pyarrow]")
    columns["double[pyarrow]"] = pd.Series([1.0, None, 0.5], dtype="double[pyarrow]")
    columns["bool[pyarrow]"] = pd.Series([True, None], dtype="bool[pyarrow]")
    columns["date32[pyarrow]"] = pd.Series([dt.date(2024, 1, 2), None], dtype="date32[pyarrow]")
    return columns


COLUMNS = _columns()


def _typed(values: list[Any]) -> list[tuple[type, Any]]:
    # 1 == 1.0 == True in Python: compare types too.
    return [(type(value), value) for value in values]


@pytest.mark.parametrize("types", TYPE_SETS, ids=lambda t: "+".join(sorted(t)))
@pytest.mark.parametrize("name", list(COLUMNS))
def test_column_conversion_agrees_with_value_conversion(name: str, types: frozenset[str]) -> None:
    series = COLUMNS[name]
    expected = [convert_value(cell, types) for cell in series.astype(object)]
    converted = convert_column(series, types)
    assert converted.values is not None
    assert _typed(converted.values) == _typed([value for value, _ in expected])
    bad = [not ok for _, ok in expected]
    assert (converted.bad.tolist() if converted.bad is not None else [False] * len(series)) == bad
    checked_only = convert_column(series, types, values=False)
    assert checked_only.values is None
    assert (checked_only.bad.tolist() if checked_only.bad is not None else [False] * len(series)) == bad


def test_missing_values_are_left_out_never_sent_as_nan() -> None:
    for cell in (
        None,
        np.nan,
        pd.NA,
        pd.NaT,
        np.float64("nan"),
        np.datetime64("NaT"),
        decimal.Decimal("NaN"),
        "",
        "  \t ",
    ):
        for types in TYPE_SETS:
            assert convert_value(cell, types) == (None, True), (cell, types)
    converted = convert_column(pd.Series([np.nan, None, "x"], dtype=object), TEXT)
    assert converted.values == [None, None, "x"]


@pytest.mark.parametrize(
    ("series", "types", "expected"),
    [
        (pd.Series([12387.0, np.nan, -2.0]), INTEGER, [12387, None, -2]),
        (pd.Series([12387.0, 2.5]), CUSTOM, [12387, 2.5]),
        (pd.Series([12387.0, 2.5]), TEXT, ["12387", "2.5"]),
        (pd.Series([1, None], dtype="Int64"), INTEGER, [1, None]),
        (pd.Series([np.int64(7)], dtype=object), INTEGER, [7]),
        (pd.Series([" 12387 ", "+4", "12.00"], dtype="str"), INTEGER, [12387, 4, 12]),
        (
            pd.Series(["12387", "12387.0", "007", "00Q5e00000ABCdE", "+4", "-4", "0"], dtype="str"),
            ID,
            [12387, 12387, "007", "00Q5e00000ABCdE", "+4", "-4", 0],
        ),
        (
            pd.Series(["12387", 12387.0, 7, "007", None, "9007199254740992"], dtype=object),
            ID,
            [12387, 12387, 7, "007", None, "9007199254740992"],
        ),
        (pd.Series([12387.0, np.nan, 2.5]), ID, [12387, None, "2.5"]),
        (pd.Series(["0612", "12387", "12387.0"], dtype=object), TEXT, ["0612", "12387", "12387.0"]),
        (pd.Series(["0612", "12387", "12387.0"], dtype=object), CUSTOM, ["0612", "12387", "12387.0"]),
        (pd.Series(["0612", "12387"], dtype=object), ANY_TYPE, ["0612", "12387"]),
        (pd.Series(["1e3", " 2.5"], dtype=object), NUMBER, [1000, 2.5]),
        (pd.Series([" Yes", "no", "TRUE", "0"], dtype=object), BOOLEAN, [True, False, True, False]),
        (pd.Series([True, False]), CUSTOM, [True, False]),
        (pd.Series([True, False]), TEXT, ["true", "false"]),
        (pd.Series([0, 1]), BOOLEAN, [False, True]),
        (pd.Series(["  Ana  ", "\tCafé Olé\n", "  "], dtype="str"), TEXT, ["Ana", "Café Olé", None]),
        (pd.Series(["  Ana  ", 3, None], dtype=object), CUSTOM, ["Ana", 3, None]),
    ],
    ids=repr,
)
def test_conversions(series: pd.Series, types: frozenset[str], expected: list[Any]) -> None:
    assert _typed(convert_column(series, types).values or []) == _typed(expected)


def test_numpy_scalars_become_python_values() -> None:
    frame = pd.DataFrame(
        {
            "f": np.array([1.5], dtype=np.float32),
            "i": np.array([3], dtype=np.int16),
            "b": np.array([True]),
            "u": np.array([4], dtype=np.uint64),
        }
    )
    for column in frame:
        for types in (CUSTOM, ANY_TYPE):
            value = convert_column(frame[column], types).values[0]  # type: ignore[index]
            assert type(value) in (int, float, bool), (column, type(value))
    assert json.dumps(convert_column(frame["u"], CUSTOM).values) == "[4]"


def test_datetimes_become_iso_8601() -> None:
    naive = pd.Series(
        pd.to_datetime(["2024-03-01 09:30:00", "2024-03-01 09:30:00.25", None], format="ISO8601")
    )
    assert convert_column(naive, TEXT).values == ["2024-03-01T09:30:00", "2024-03-01T09:30:00.250000", None]
    paris = naive.dt.tz_localize("Europe/Paris")
    assert convert_column(paris, TEXT).values == [
        "2024-03-01T09:30:00+01:00",
        "2024-03-01T09:30:00.250000+01:00",
        None,
    ]
    summer = pd.Series([pd.Timestamp("2024-07-01 12:00", tz="America/Montreal")])
    assert convert_column(summer, CUSTOM).values == ["2024-07-01T12:00:00-04:00"]
    assert convert_value(dt.date(2024, 3, 1), CUSTOM) == ("2024-03-01", True)
    assert convert_value(pd.Timestamp("2024-03-01"), INTEGER) == (None, False)


def test_non_finite_numbers_and_containers_are_refused() -> None:
    for types in TYPE_SETS:
        assert convert_value(float("inf"), types) == (None, False)
        assert convert_value([1], types) == (None, False)
        assert convert_value({"a": 1}, types) == (None, False)


def test_field_types_come_from_the_schema() -> None:
    assert field_types({"type": "integer"}) == INTEGER
    assert field_types({"type": ["string", "null"]}) == TEXT
    assert field_types({"anyOf": [{"type": "integer"}, {"type": "boolean"}]}) == {"integer", "boolean"}
    assert field_types({"description": "anything"}) == ANY_TYPE
    assert lead_info_types()["crmLeadId"] == ID
    assert lead_info_types()["firstName"] == TEXT
    assert custom_field_types() == CUSTOM


LEADS = pd.DataFrame(
    {
        "E-mail": [" ana@exemple.fr ", "bob@beispiel.de", "carla@ejemplo.es"],
        "First Name": ["Ana", None, "  Carla "],
        "CRM Lead ID": [12387.0, np.nan, 3.0],
        "Plan": ["pro", None, None],
        "Score": pd.array([10, None, 30], dtype="Int64"),
        "Signed Up": pd.to_datetime(["2024-03-01", None, "2024-03-03 10:00"], format="ISO8601").tz_localize(
            "Europe/Paris"
        ),
    },
    index=["a", "b", "c"],
)


def test_bodies_have_lead_info_and_custom_fields_only_when_present() -> None:
    mapping = map_columns(LEADS, custom_fields=["Plan", "Score", "Signed Up"])
    bodies = list(iter_bodies(LEADS, mapping))
    assert bodies == [
        (
            0,
            {
                "leadInfo": {"email": "ana@exemple.fr", "firstName": "Ana", "crmLeadId": 12387},
                "leadCustomField": {"Plan": "pro", "Score": 10, "Signed Up": "2024-03-01T00:00:00+01:00"},
            },
        ),
        (1, {"leadInfo": {"email": "bob@beispiel.de"}}),
        (
            2,
            {
                "leadInfo": {"email": "carla@ejemplo.es", "firstName": "Carla", "crmLeadId": 3},
                "leadCustomField": {"Score": 30, "Signed Up": "2024-03-03T10:00:00+01:00"},
            },
        ),
    ]
    assert list(iter_bodies(LEADS, map_columns(LEADS)))[1] == (1, {"leadInfo": {"email": "bob@beispiel.de"}})


def test_bodies_match_the_spec_and_the_generated_client() -> None:
    from publitrac_client.models import LeadSyncRequest

    validator = jsonschema.Draft202012Validator(_spec.schema("LeadSyncRequest"))
    mapping = map_columns(LEADS, custom_fields="all")
    for _, body in iter_bodies(LEADS, mapping):
        validator.validate(json.loads(json.dumps(body)))
        assert LeadSyncRequest.from_dict(body).to_dict() == body


def test_positions_choose_and_order_the_rows() -> None:
    mapping = map_columns(LEADS)
    assert [p for p, _ in iter_bodies(LEADS, mapping, [2, 0], chunk_size=1)] == [2, 0]
    assert [p for p, _ in iter_bodies(LEADS, mapping, np.array([1, 2]))] == [1, 2]
    assert list(iter_bodies(LEADS, mapping, [])) == []
    with pytest.raises(IndexError, match="3"):
        iter_bodies(LEADS, mapping, [0, 3])
    with pytest.raises(TypeError, match="flatnonzero"):
        iter_bodies(LEADS, mapping, np.array([True, False, True]))
    with pytest.raises(ValueError, match="chunk_size"):
        iter_bodies(LEADS, mapping, chunk_size=0)


def test_rows_that_cannot_be_sent_raise_naming_the_row() -> None:
    df = pd.DataFrame(
        {"email": ["a@exemple.fr", None, "c@exemple.fr"], "crmLeadId": ["1", "2", [3]]},
        index=["first", "second", "third"],
    )
    mapping = map_columns(df)
    with pytest.raises(ValueError, match="'second'.*no email"):
        list(iter_bodies(df, mapping, [0, 1]))
    with pytest.raises(ValueError, match="'third'.*'crmLeadId'"):
        list(iter_bodies(df, mapping, [2]))
    assert list(iter_bodies(df, mapping, [0])) == [
        (0, {"leadInfo": {"email": "a@exemple.fr", "crmLeadId": 1}})
    ]


def test_bodies_are_built_one_chunk_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = 200_000
    df = pd.DataFrame({"email": np.full(rows, "lead@exemple.fr", dtype=object), "crmLeadId": np.arange(rows)})
    converted: list[int] = []
    real = _bodies.convert_column

    def counting(series: pd.Series, types: frozenset[str], **kwargs: Any) -> Any:
        converted.append(len(series))
        return real(series, types, **kwargs)

    monkeypatch.setattr(_bodies, "convert_column", counting)
    bodies = iter_bodies(df, map_columns(df), chunk_size=1000)
    assert converted == []  # nothing is built before the first body is asked for
    assert next(bodies) == (0, {"leadInfo": {"email": "lead@exemple.fr", "crmLeadId": 0}})
    assert converted == [1000, 1000]  # one chunk of each of the two columns, not 200,000 rows
    for _ in range(1000):
        next(bodies)
    assert converted == [1000] * 4


def test_preview_skips_invalid_rows_and_reads_only_the_head(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = 100_000
    emails = np.array([f"lead{i}@exemple.fr" for i in range(rows)], dtype=object)
    emails[[0, 2]] = ["not an email", None]
    df = pd.DataFrame({"E-mail": emails, "First Name": " Ana ", "Plan": "pro"})
    checked: list[int] = []
    from publitrac.lead import _preview

    real = _preview.find_problems
    monkeypatch.setattr(
        _preview, "find_problems", lambda frame, m: checked.append(len(frame)) or real(frame, m)
    )
    bodies = preview(df, 3, custom_fields=["Plan"])
    assert bodies == [
        {"leadInfo": {"email": f"lead{i}@exemple.fr", "firstName": "Ana"}, "leadCustomField": {"Plan": "pro"}}
        for i in (1, 3, 4)
    ]
    assert sum(checked) < 1000
    assert preview(df.iloc[:3], 10) == [{"leadInfo": {"email": "lead1@exemple.fr", "firstName": "Ana"}}]
    assert preview(df, 0) == []


# -- ids: integer or text, never changed ---------------------------------------------------------------------

ID_TEXT = st.one_of(
    st.integers(min_value=0, max_value=2**64).map(str),  # whole numbers, some beyond 2**53
    st.integers(min_value=0, max_value=10**6).map(lambda n: f"{n}.{'0' * (n % 3 + 1)}"),  # 12387.0
    st.from_regex(r"0[0-9]{1,8}", fullmatch=True),  # leading zeros: 007
    st.from_regex(r"[0-9A-Za-z]{15}|[0-9A-Za-z]{18}", fullmatch=True),  # Salesforce
    st.from_regex(r"[+-]?[0-9]{1,6}([.,/ -][0-9]{1,4})?", fullmatch=True),  # signs, separators, fractions
    st.text(max_size=20),
)


@settings(max_examples=500, deadline=None)
@given(ID_TEXT)
def test_an_id_text_goes_as_an_integer_only_when_it_is_one(text: str) -> None:
    value, ok = convert_value(text, ID)
    assert ok  # never refused
    trimmed = text.strip()
    if not trimmed:
        assert value is None
    elif type(value) is int:
        whole, _, zeros = trimmed.partition(".")
        assert str(value) == whole and set(zeros) <= {"0"} and value <= _values.SAFE_INTEGER
    else:
        assert value == trimmed  # the same text, unchanged


@given(st.integers(min_value=0, max_value=_values.SAFE_INTEGER))
def test_whole_numbers_go_as_integers_however_they_are_held(number: int) -> None:
    for held in (number, str(number), f"{number}.0", np.int64(number)):
        assert convert_value(held, ID) == (number, True), held
    if number < 2**53:
        assert convert_value(float(number), ID) == (number, True)
    assert convert_value(f"0{number}", ID) == (f"0{number}", True)  # a leading zero: text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_text_fields_never_turn_text_into_a_number(text: str) -> None:
    # Wherever the spec admits text and not integer-first, text stays exactly the (trimmed) text.
    for types in (TEXT, CUSTOM, ANY_TYPE):
        assert convert_value(text, types) == (text.strip() or None, True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(ID_TEXT, st.none(), st.integers(0, 10**9)), max_size=30))
def test_id_columns_agree_with_the_value_conversion(cells: list[Any]) -> None:
    expected = [convert_value(cell, ID)[0] for cell in cells]
    assert _typed(convert_column(pd.Series(cells, dtype=object), ID).values or []) == _typed(expected)
    texts = [cell for cell in cells if not isinstance(cell, int)]
    for dtype in ("str", "string[python]"):
        converted = convert_column(pd.Series(texts, dtype=dtype), ID).values or []
        assert _typed(converted) == _typed([convert_value(cell, ID)[0] for cell in texts])


# -- integration: real HTTP against the sandbox -------------------------------------------------------------

ID_CSV = """E-mail Address,CRM Lead ID,Phone
ana@exemple.fr,00Q5e00000ABCdE,0612345678
bob@exemple.fr,007,+33 6 12
carla@ejemplo.es,12387,
dan@exemple.fr,12387.0,0612
eve@exemple.fr,12-34,
fay@exemple.fr,,
gus@exemple.fr,9007199254740993,
"""


@pytest.mark.parametrize("read_as", ["inferred", "text"])
def test_ids_arrive_exactly_as_the_file_holds_them(
    make_sandbox: Callable[..., SandboxServer], tmp_path: Path, read_as: str
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(ID_CSV, encoding="utf-8")
    frame = pd.read_csv(path, dtype=str if read_as == "text" else None)
    sandbox = make_sandbox(apply_delay=0)
    pt = publitrac.Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    # Phone as a custom field even if the spec gains a `phone` field (mapping={"Phone": None}: never standard)
    report = publitrac.sync(frame, pt, mapping={"Phone": None}, custom_fields=["Phone"], progress=False)
    assert (report.results["status"] == "accepted").all(), report.results
    sandbox.wait_until_applied(timeout=10)
    stored = {email: sandbox.lead(email) for email in frame["E-mail Address"]}
    ids = {email: lead["leadInfo"].get("crmLeadId") for email, lead in stored.items() if lead is not None}
    assert _typed(list(ids.values())) == _typed(
        ["00Q5e00000ABCdE", "007", 12387, 12387, "12-34", None, "9007199254740993"]
    )
    phones = [lead["leadCustomField"].get("Phone") for lead in stored.values() if lead is not None]
    assert phones == ["0612345678", "+33 6 12", None, "0612", None, None, None]  # text stays text: never 612


def test_whole_numbers_of_a_frame_arrive_as_integers(make_sandbox: Callable[..., SandboxServer]) -> None:
    frame = pd.DataFrame(
        {
            "email": ["a@exemple.fr", "b@exemple.fr", "c@exemple.fr", "d@exemple.fr"],
            "gaps": [12387.0, np.nan, 7.0, 2.5],  # float64 because of the gap
        }
    )
    frame["crmLeadId"] = frame.pop("gaps")
    sandbox = make_sandbox(apply_delay=0)
    pt = publitrac.Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    report = publitrac.sync(frame, pt, progress=False)
    assert (report.results["status"] == "accepted").all()
    sandbox.wait_until_applied(timeout=10)
    ids = [(sandbox.lead(email) or {})["leadInfo"].get("crmLeadId") for email in frame["email"]]
    assert _typed(ids) == _typed([12387, None, 7, "2.5"])
