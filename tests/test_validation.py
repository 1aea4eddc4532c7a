"""Problems found before sending: emails, types from the spec, duplicates; and the example leads."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import publitrac
from publitrac import _spec
from publitrac.lead import _validation
from publitrac.lead._bodies import iter_bodies
from publitrac.lead._mapping import map_columns, normalise_name
from publitrac.lead._validation import (
    PLAIN_EMAIL,
    PROBLEM_COLUMNS,
    check,
    find_problems,
    invalid_positions,
    problems_in_words,
    valid_positions,
    validate,
)
from publitrac.sandbox import SandboxServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _library_reason(address: str) -> str:
    with pytest.raises(EmailNotValidError) as caught:
        validate_email(address, check_deliverability=False)
    return str(caught.value)


def test_problem_frame_shape_and_order() -> None:
    df = pd.DataFrame(
        {"email": ["ok@exemple.fr", "bad@", None], "crmLeadId": _objects([[1], "1", "2"])},
        index=["r0", "r1", "r2"],
    )
    problems = validate(df)
    assert tuple(problems.columns) == PROBLEM_COLUMNS
    assert problems["position"].tolist() == [0, 1, 2]
    assert problems["row"].tolist() == ["r0", "r1", "r2"]
    assert problems["position"].dtype == np.int64
    empty = validate(df.iloc[:1].assign(crmLeadId="1"))
    assert tuple(empty.columns) == PROBLEM_COLUMNS and len(empty) == 0
    assert len(validate(df.iloc[:0])) == 0


DEFAULT_TEXT = pd.Series(["x"]).dtype  # str (pyarrow) with pandas 3, object with pandas 2


@pytest.mark.parametrize("dtype", [DEFAULT_TEXT, object, "string[python]"], ids=str)
def test_missing_emails_are_errors_naming_row_and_column(dtype: Any) -> None:
    emails = pd.Series(["ana@exemple.fr", None, "", "   ", "\t", "bob@exemple.fr"], dtype=dtype)
    df = pd.DataFrame({"Courriel": emails.to_numpy(dtype=object)}, index=list("abcdef"))
    df = df.astype({"Courriel": dtype})
    problems = validate(df)
    assert problems["row"].tolist() == ["b", "c", "d", "e"]
    assert set(problems["column"]) == {"Courriel"} and set(problems["field"]) == {"email"}
    assert set(problems["severity"]) == {"error"}
    assert set(problems["problem"]) == {"email is missing: a lead cannot be sent without it"}


def test_missing_email_kinds_in_object_columns() -> None:
    df = pd.DataFrame({"email": pd.Series([np.nan, pd.NA, None, pd.NaT, "x@exemple.fr"], dtype=object)})
    assert invalid_positions(validate(df)).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "address",
    [
        "bob@",
        "@exemple.fr",
        "ana.exemple.fr",
        "a..b@exemple.fr",
        "a@exemple",
        "a@exemple.123",
        "a b@exemple.fr",
        "Ana <ana@exemple.fr>",
        "a@localhost",
        "a@printer.local",
        "a@ab--cd.fr",
        "a@-exemple.fr",
    ],
)
def test_malformed_emails_are_errors_with_the_library_reason(address: str) -> None:
    df = pd.DataFrame({"email": ["ok@exemple.fr", f" {address} "]}, index=[10, 20])
    problems = validate(df)
    assert problems.to_dict("records") == [
        {
            "row": 20,
            "position": 1,
            "column": "email",
            "field": "email",
            "value": address,
            "problem": f"not a valid email address: {_library_reason(address)}",
            "severity": "error",
        }
    ]


@pytest.mark.parametrize(
    "address",
    [
        "ab--c@exemple.fr",
        "o'brien+tag@exemple.ie",
        "A.B@Sub.Exemple.FR",
        "a@b.c",
        "x@xn--bcher-kva.ch",
        "a" * 65 + "@exemple.fr",
    ],
)
def test_valid_emails_off_the_plain_path_pass(address: str) -> None:
    validate_email(address, check_deliverability=False)  # the library agrees they are valid
    assert len(validate(pd.DataFrame({"email": [address]}))) == 0


def test_emails_of_other_dtypes_are_checked_as_the_text_they_would_be_sent_as() -> None:
    df = pd.DataFrame(
        {"email": pd.Series(["ana@exemple.fr", " bob@exemple.fr", None, "ana@exemple.fr "], dtype="category")}
    )
    problems = validate(df)
    assert problems[["position", "severity"]].to_dict("records") == [
        {"position": 2, "severity": "error"},
        {"position": 3, "severity": "warning"},
    ]
    numbers = validate(pd.DataFrame({"email": [12.0, np.nan]}))
    assert numbers["problem"].tolist() == [
        f"not a valid email address: {_library_reason('12')}",
        "email is missing: a lead cannot be sent without it",
    ]
    lists = validate(pd.DataFrame({"email": _objects([["ana@exemple.fr"], "bob@exemple.fr"])}))
    assert lists["problem"].tolist() == ["not a valid email address: got a list (['ana@exemple.fr'])"]


INTERNATIONAL = ["zoë.müller@beispiel.de", "jose@españa.es", "用户@例子.中国", "Zoë.Müller@Beispiel.de"]
BROKEN_INTERNATIONAL = [
    "zoë..müller@beispiel.de",
    "zoë.müller@",
    "zoë müller@beispiel.de",
    "zoë@müller@beispiel.de",
    "zoë.müller@beispiel..de",
    ".zoë@beispiel.de",
]


@pytest.mark.parametrize("dtype", [DEFAULT_TEXT, object], ids=str)
def test_internationalised_emails_are_valid_and_broken_ones_are_not(dtype: Any) -> None:
    # RFC 6531, as the spec's `format: idn-email`; the syntax is still checked (email-validator, no DNS).
    df = pd.DataFrame({"email": pd.Series(INTERNATIONAL + BROKEN_INTERNATIONAL, dtype=dtype)})
    problems = validate(df)
    errors = problems[problems["severity"] == "error"]
    assert errors["position"].tolist() == list(range(len(INTERNATIONAL), len(df)))
    assert all(problem.startswith("not a valid email address: ") for problem in errors["problem"])
    warnings = problems[problems["severity"] == "warning"]
    assert warnings["position"].tolist() == [3]  # the same address as row 0, in other case
    bodies = dict(iter_bodies(df, map_columns(df), valid_positions(problems, len(df))))
    assert [body["leadInfo"]["email"] for body in bodies.values()] == INTERNATIONAL  # sent exactly as written


def test_the_client_accepts_no_email_the_sandbox_refuses() -> None:
    # Both sides check `idn-email` with email-validator; the client is at least as strict as the sandbox.
    from publitrac.sandbox import _contract

    for address in INTERNATIONAL + BROKEN_INTERNATIONAL + ["ana@exemple.fr", "bad@", "a@b"]:
        client_valid = validate(pd.DataFrame({"email": [address]}))["severity"].eq("error").sum() == 0
        if client_valid:
            assert _contract.first_error("LeadSyncRequest", {"leadInfo": {"email": address}}) is None, address


def test_each_distinct_address_is_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []

    def counting(address: str, **kwargs: Any) -> Any:
        checked.append(address)
        return validate_email(address, **kwargs)

    monkeypatch.setattr(_validation, "validate_email", counting)
    emails = ["bad@", " bad@", "bad@ ", "worse@", "ok@exemple.fr", "ab--c@exemple.fr"]
    df = pd.DataFrame({"email": emails * 100})
    problems = validate(df)
    assert sorted(checked) == ["ab--c@exemple.fr", "bad@", "worse@"]  # plain addresses skip the library
    assert (problems["severity"] == "error").sum() == 400


def _plain(addresses: list[str], dtype: Any) -> list[bool]:
    return _validation._plain_emails(pd.Series(addresses, dtype=dtype).str.strip()).tolist()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.from_regex(PLAIN_EMAIL, fullmatch=True),
        st.from_regex(r"[a-z.-]{1,8}@[a-z0-9.-]{1,12}\.(local|test|arpa|fr|a1)", fullmatch=True),
        st.emails(),
    )
)
def test_plain_path_only_accepts_what_the_library_accepts(address: str) -> None:
    plain = _plain([address], object)
    assert plain == _plain([address], DEFAULT_TEXT)  # the pyarrow (RE2) and Python regex paths agree
    if plain[0]:
        validate_email(address, check_deliverability=False)


def _objects(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def test_types_come_from_the_spec_for_standard_fields() -> None:
    df = pd.DataFrame(
        {
            "email": [f"lead{i}@exemple.fr" for i in range(8)],
            "CRM Lead ID": _objects(["12a", 3.5, True, "12387", 12387.0, " 007 ", None, [1]]),
            "First Name": _objects(["Ana", 7, 2.5, True, pd.Timestamp("2024-01-01"), None, " ", {"x": 1}]),
        },
        index=[f"row{i}" for i in range(8)],
    )
    problems = validate(df)
    assert problems[["row", "column", "field", "value", "problem"]].to_dict("records") == [
        {
            "row": "row7",
            "column": "CRM Lead ID",
            "field": "crmLeadId",
            "value": "[1]",
            "problem": "crmLeadId must be text or an integer; got a list ([1])",
        },
        {
            "row": "row7",
            "column": "First Name",
            "field": "firstName",
            "value": "{'x': 1}",
            "problem": "firstName must be text; got a dict ({'x': 1})",
        },
    ]
    bodies = dict(iter_bodies(df, map_columns(df), valid_positions(problems, len(df))))
    assert [body["leadInfo"].get("crmLeadId") for body in bodies.values()] == [
        "12a",
        "3.5",
        "true",
        12387,
        12387,
        "007",
        None,
    ]


def test_float_id_columns_with_gaps_are_fine_but_infinity_is_not() -> None:
    df = pd.DataFrame(
        {
            "email": ["a@exemple.fr", "b@exemple.fr", "c@exemple.fr", "d@exemple.fr"],
            "crmLeadId": [12387.0, np.nan, 2.5, np.inf],
        }
    )
    problems = validate(df)
    assert problems["position"].tolist() == [3]
    assert problems["value"].tolist() == ["inf"]


def test_custom_fields_accept_text_numbers_and_booleans() -> None:
    df = pd.DataFrame(
        {
            "email": ["a@exemple.fr", "b@exemple.fr", "c@exemple.fr"],
            "Tags": pd.Series([["x", "y"], "vip", 3], dtype=object),
            "Score": [1.5, np.nan, np.inf],
        }
    )
    problems = validate(df, custom_fields={"Tags": "tags", "Score": "score"})
    assert problems[["position", "column", "field", "problem"]].to_dict("records") == [
        {
            "position": 0,
            "column": "Tags",
            "field": "tags",
            "problem": "custom field 'tags' must be text, a number or a boolean; got a list (['x', 'y'])",
        },
        {
            "position": 2,
            "column": "Score",
            "field": "score",
            "problem": "custom field 'score' must be text, a number or a boolean; got the number inf",
        },
    ]


def test_type_rules_follow_a_field_added_to_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = {
        **_spec.lead_info_fields(),
        "age": {"type": "integer"},
        "vip": {"type": "boolean"},
        "ratio": {"type": "number"},
    }
    monkeypatch.setattr(_spec, "lead_info_fields", lambda: fields)
    df = pd.DataFrame(
        {
            "email": ["a@exemple.fr", "b@exemple.fr"],
            "Age": ["12", "douze"],
            "VIP": ["yes", "maybe"],
            "Ratio": ["0.5", "1/2"],
        }
    )
    problems = validate(df)
    assert problems[["position", "field", "problem"]].to_dict("records") == [
        {"position": 1, "field": "age", "problem": "age must be an integer; got the text 'douze'"},
        {"position": 1, "field": "vip", "problem": "vip must be a boolean; got the text 'maybe'"},
        {"position": 1, "field": "ratio", "problem": "ratio must be a number; got the text '1/2'"},
    ]
    body = next(iter_bodies(df, map_columns(df), [0]))[1]
    assert body == {"leadInfo": {"email": "a@exemple.fr", "age": 12, "vip": True, "ratio": 0.5}}


def test_duplicate_emails_warn_on_later_rows_naming_the_first() -> None:
    df = pd.DataFrame(
        {"email": ["ana@exemple.fr", "bob@exemple.fr", " ANA@exemple.fr", "Ana@Exemple.fr "]},
        index=["a", "b", "c", "d"],
    )
    problems = validate(df)
    assert problems[["row", "severity", "value", "problem"]].to_dict("records") == [
        {
            "row": "c",
            "severity": "warning",
            "value": "ANA@exemple.fr",
            "problem": "same email as row 'a'; sent after it, the later row wins",
        },
        {
            "row": "d",
            "severity": "warning",
            "value": "Ana@Exemple.fr",
            "problem": "same email as row 'a'; sent after it, the later row wins",
        },
    ]
    assert invalid_positions(problems).tolist() == []
    assert valid_positions(problems, 4).tolist() == [0, 1, 2, 3]


def test_the_row_a_duplicate_names_is_said_in_each_interface_s_words() -> None:
    df = pd.DataFrame(
        {"email": ["ana@exemple.fr", "bob@exemple.fr", " ANA@exemple.fr", "x", "Ana@Exemple.fr "]},
        index=["a", "b", "c", "d", "e"],
    )
    problems = validate(df)
    warnings = problems[problems["severity"] == "warning"]  # a selection keeps what the rows name
    file_lines = problems_in_words(warnings, "cli", locate=lambda position: f"line {position + 2}")
    assert file_lines.tolist() == ["same email as line 2; sent after it, the later row wins"] * 2
    assert problems_in_words(problems, "python").tolist() == problems["problem"].tolist()
    assert problems_in_words(warnings, "app").tolist() == warnings["problem"].tolist()
    # a frame that names no other row is said as it is
    invalid_only = validate(pd.DataFrame({"email": ["x"]}))
    assert problems_in_words(invalid_only, "cli", locate=str).tolist() == invalid_only["problem"].tolist()


def test_check_finds_the_groups_sharing_an_email_once_among_the_valid_rows() -> None:
    df = pd.DataFrame(
        {
            "email": ["ana@exemple.fr", "bob@exemple.fr", " ANA@exemple.fr", "bob@", "eve@exemple.fr"],
            "crmLeadId": _objects(["1", "2", "3", "4", ["not sent"]]),
        }
    )
    checked = check(df, map_columns(df))
    assert checked.invalid.tolist() == [False, False, False, True, True]
    assert checked.shared_email.tolist() == [True, False, True, False, False]
    assert checked.problems.equals(find_problems(df, map_columns(df)))
    unique = pd.DataFrame({"email": ["ana@exemple.fr", "bob@exemple.fr"]})
    assert not check(unique, map_columns(unique)).shared_email.any()


def test_a_row_that_is_not_sent_is_no_duplicate_source() -> None:
    df = pd.DataFrame(
        {
            "email": ["ana@exemple.fr", "ana@exemple.fr", "ana@exemple.fr"],
            "crmLeadId": _objects([["zz"], "1", "2"]),
        }
    )
    problems = validate(df)
    assert problems[["position", "severity"]].to_dict("records") == [
        {"position": 0, "severity": "error"},
        {"position": 2, "severity": "warning"},
    ]
    assert "same email as row 1;" in problems["problem"].iloc[1]


def test_long_values_are_truncated() -> None:
    address = "x" * 300 + "@"
    problems = validate(pd.DataFrame({"email": [address]}))
    assert len(problems["value"].iloc[0]) == _validation.VALUE_WIDTH
    assert problems["value"].iloc[0].endswith("…")


def test_validation_reads_columns_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_validation, "CHUNK_ROWS", 7)
    ids = pd.Series(["1"] * 30, dtype=object)
    for position in (3, 7, 29):
        ids[position] = ["x"]
    df = pd.DataFrame({"email": [f"l{i}@exemple.fr" for i in range(30)], "crmLeadId": ids})
    assert invalid_positions(validate(df)).tolist() == [3, 7, 29]


# -- examples/leads.csv --------------------------------------------------------------------------------------

EXAMPLE_ERRORS = [17, 58, 133, 176, 264]


def test_example_leads_are_reproducible(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_leads", EXAMPLES / "make_leads.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([str(tmp_path / "leads.csv")]) == 0
    assert (tmp_path / "leads.csv").read_bytes() == (EXAMPLES / "leads.csv").read_bytes()


def test_example_leads_counts() -> None:
    df = pd.read_csv(EXAMPLES / "leads.csv")
    assert df.shape == (300, 12)
    assert df["CRM Lead ID"].dtype == np.float64 and df["CRM Lead ID"].isna().any()
    mapping = map_columns(df, custom_fields="all")
    assert {
        "E-mail Address": "email",
        "First Name": "firstName",
        "Last Name": "lastName",
        "Job Title": "jobTitle",
        "CRM Lead ID": "crmLeadId",
    }.items() <= dict(mapping.fields).items()
    # and any other column named after a field of the spec (a `phone` field added to LeadInfo takes `Phone`)
    by_name = {normalise_name(field): field for field in _spec.lead_info_fields()}
    named = {
        column: by_name[normalise_name(column)] for column in df.columns if normalise_name(column) in by_name
    }
    assert dict(mapping.fields) == {"E-mail Address": "email", **named}
    problems = find_problems(df, mapping)
    errors = problems[problems["severity"] == "error"]
    warnings = problems[problems["severity"] == "warning"]
    assert errors["position"].tolist() == EXAMPLE_ERRORS
    assert warnings[["position", "problem"]].to_dict("records") == [
        {"position": 251, "problem": "same email as row 42; sent after it, the later row wins"}
    ]
    valid = valid_positions(problems, len(df))
    assert len(valid) == 295
    validator = jsonschema.Draft202012Validator(_spec.schema("LeadSyncRequest"))
    bodies = dict(iter_bodies(df, mapping, valid))
    assert len(bodies) == 295
    for body in bodies.values():
        validator.validate(json.loads(json.dumps(body)))
    assert bodies[90]["leadInfo"]["email"] == "zoë.müller@beispiel.de"  # internationalised (RFC 6531): valid
    assert bodies[251]["leadInfo"]["email"] == bodies[42]["leadInfo"]["email"].title()
    assert all(isinstance(body["leadInfo"].get("crmLeadId", 0), int) for body in bodies.values())


# -- integration: real HTTP against the sandbox -------------------------------------------------------------


def test_internationalised_emails_arrive_and_broken_ones_are_never_sent(
    make_sandbox: Callable[..., SandboxServer],
) -> None:
    df = pd.DataFrame(
        {
            "email": INTERNATIONAL + BROKEN_INTERNATIONAL,
            "First Name": [f"n{i}" for i in range(len(INTERNATIONAL + BROKEN_INTERNATIONAL))],
        }
    )
    sandbox = make_sandbox(apply_delay=0)
    pt = publitrac.Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    report = publitrac.sync(df, pt, progress=False)
    statuses = report.results["status"].tolist()
    assert statuses == ["accepted"] * len(INTERNATIONAL) + ["invalid"] * len(BROKEN_INTERNATIONAL)
    sandbox.wait_until_applied(timeout=10)
    stats = sandbox.stats()
    assert (stats["bad_requests"], stats["accepted"]) == (0, len(INTERNATIONAL))
    assert sorted(lead["leadInfo"]["email"] for lead in sandbox.leads()) == sorted(
        INTERNATIONAL[1:3] + ["Zoë.Müller@Beispiel.de"]
    )  # rows 0 and 3 are one lead: the later row wins
    lead = sandbox.lead("zoë.müller@beispiel.de")
    assert lead is not None and lead["leadInfo"] == {"email": "Zoë.Müller@Beispiel.de", "firstName": "n3"}
