"""Columns to leadInfo fields, custom fields and ignored columns (publitrac._mapping)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pandas as pd
import pytest

from publitrac import _spec
from publitrac._exceptions import ConfigurationError
from publitrac._mapping import ALL, LeadMapping, map_columns, normalise_name


@pytest.mark.parametrize(
    "column",
    [
        "email",
        "Email",
        "EMAIL",
        "E-mail",
        "e_mail",
        "e.mail",
        " E-Mail ",
        "E-mail Address",
        "Email address",
        "email_address",
        "Mail",
        "Courriel",
        "Adresse courriel",
        "Adresse électronique",
        "ADRESSE ELECTRONIQUE",
        "Correo",
        "Correo electrónico",
        "E-Mail-Adresse",
    ],
)
def test_email_column_is_detected_from_common_names(column: str) -> None:
    mapping = map_columns([column, "First Name", "Notes"])
    assert mapping.email == column
    assert mapping.fields[column] == "email"
    assert mapping.ignored == ("Notes",)


def test_a_column_named_email_is_preferred_to_other_names() -> None:
    assert map_columns(["E-mail Address", "Courriel", "E-mail"]).email == "E-mail"


@pytest.mark.parametrize("columns", [["Email", "e_mail"], ["Mail", "Courriel"], ["Email Address", "Correo"]])
def test_several_email_candidates_at_the_same_level_are_ambiguous(columns: list[str]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        map_columns([*columns, "Name"])
    message = str(caught.value)
    assert all(repr(column) in message for column in columns)
    assert "email=" in message


def test_no_email_column_lists_the_columns_and_asks_for_email() -> None:
    with pytest.raises(ConfigurationError) as caught:
        map_columns(["Contact", "First Name"])
    assert "'Contact', 'First Name'" in str(caught.value)
    assert "email=" in str(caught.value)


def test_email_argument_picks_the_column_and_must_exist() -> None:
    assert map_columns(["Email", "Work address"], email="Work address").email == "Work address"
    with pytest.raises(ConfigurationError) as caught:
        map_columns(["Email", "Name"], email="E-mail")
    assert "'E-mail'" in str(caught.value)
    assert "'Email', 'Name'" in str(caught.value)


def test_email_argument_leaves_other_email_like_columns_out() -> None:
    mapping = map_columns(["Email", "Work address"], email="Work address")
    assert dict(mapping.fields) == {"Work address": "email"}
    assert mapping.ignored == ("Email",)


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("First Name", "firstName"),
        ("first_name", "firstName"),
        ("FirstName", "firstName"),
        ("FIRST-NAME", "firstName"),
        ("first.name", "firstName"),
        ("  first name ", "firstName"),
        ("Last Name", "lastName"),
        ("Job Title", "jobTitle"),
        ("Jôb Títle", "jobTitle"),
        ("CRM Lead ID", "crmLeadId"),
        ("crm_lead_id", "crmLeadId"),
    ],
)
def test_standard_fields_are_matched_by_normalised_name(column: str, field: str) -> None:
    assert map_columns(["Email", column]).fields[column] == field


def test_normalise_name_folds_case_accents_and_separators() -> None:
    assert normalise_name("Adresse Électronique") == "adresseelectronique"
    assert normalise_name("crm_lead-ID.") == "crmleadid"
    assert normalise_name(12) == "12"


def test_the_field_list_comes_from_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = {**_spec.lead_info_fields(), "companyName": {"type": "string"}}
    assert map_columns(["Email", "Company Name"]).ignored == ("Company Name",)
    monkeypatch.setattr(_spec, "lead_info_fields", lambda: fields)
    assert map_columns(["Email", "Company Name"]).fields["Company Name"] == "companyName"
    assert map_columns(["Email", "Org"], mapping={"Org": "companyName"}).fields["Org"] == "companyName"


def test_mapping_overrides_detection() -> None:
    mapping = map_columns(["Email", "Title", "Job Title"], mapping={"Title": "jobTitle"})
    assert mapping.fields["Title"] == "jobTitle"
    assert "Job Title" in mapping.ignored  # the explicit choice wins over the detected column


def test_mapping_to_none_or_ignore_drops_a_detected_column() -> None:
    mapping = map_columns(
        ["Email", "First Name", "Last Name"], mapping={"First Name": None, "Last Name": "ignore"}
    )
    assert dict(mapping.fields) == {"Email": "email"}
    assert mapping.ignored == ("First Name", "Last Name")
    assert (
        "First Name"
        not in map_columns(["Email", "First Name"], mapping={"First Name": None}, custom_fields=ALL).custom
    )


def test_mapping_can_name_the_email_column() -> None:
    mapping = map_columns(["Contact", "Email"], mapping={"Contact": "email"})
    assert mapping.email == "Contact"
    assert mapping.ignored == ("Email",)
    with pytest.raises(ConfigurationError, match="'Email'"):
        map_columns(["Contact", "Email"], email="Email", mapping={"Contact": "email"})


def test_mapping_to_an_unknown_field_names_the_column_and_the_field() -> None:
    with pytest.raises(ConfigurationError) as caught:
        map_columns(["Email", "Title"], mapping={"Title": "job_title"})
    message = str(caught.value)
    assert "'Title'" in message and "'job_title'" in message
    assert "did you mean 'jobTitle'" in message


def test_mapping_a_missing_column_lists_the_available_ones() -> None:
    with pytest.raises(ConfigurationError) as caught:
        map_columns(["Email", "Name"], mapping={"Nom": "lastName"})
    assert "'Nom'" in str(caught.value) and "'Email', 'Name'" in str(caught.value)


def test_two_columns_to_the_same_field_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="'A'.*'B'|'B'.*'A'"):
        map_columns(["Email", "A", "B"], mapping={"A": "lastName", "B": "lastName"})
    with pytest.raises(ConfigurationError) as caught:
        map_columns(["Email", "First Name", "first_name"])
    assert "'First Name'" in str(caught.value) and "'first_name'" in str(caught.value)
    # The error says how to resolve it, and the suggestion works.
    resolved = map_columns(["Email", "First Name", "first_name"], mapping={"first_name": None})
    assert resolved.fields["First Name"] == "firstName"


def test_custom_fields_only_when_asked() -> None:
    columns = ["Email", "First Name", "Company", " Plan ", "Notes"]
    assert map_columns(columns).custom == {}
    assert map_columns(columns).ignored == ("Company", " Plan ", "Notes")
    listed = map_columns(columns, custom_fields=["Company", " Plan "])
    assert dict(listed.custom) == {"Company": "Company", " Plan ": "Plan"}
    assert listed.ignored == ("Notes",)
    renamed = map_columns(columns, custom_fields={"Company": "company_name"})
    assert dict(renamed.custom) == {"Company": "company_name"}
    everything = map_columns(columns, custom_fields=ALL)
    assert dict(everything.custom) == {"Company": "Company", " Plan ": "Plan", "Notes": "Notes"}
    assert everything.ignored == ()


def test_custom_fields_errors_name_the_column() -> None:
    columns = ["Email", "First Name", "Company", "company "]
    with pytest.raises(ConfigurationError, match="'Société'"):
        map_columns(columns, custom_fields=["Société"])
    with pytest.raises(ConfigurationError, match="'First Name'.*firstName"):
        map_columns(columns, custom_fields=["First Name"])
    with pytest.raises(ConfigurationError, match="did you mean custom_fields=\\['Company'\\]"):
        map_columns(columns, custom_fields="Company")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="'Company'.*'company '.*'Co'"):
        map_columns(columns, custom_fields={"Company": "Co", "company ": "Co"})
    with pytest.raises(ConfigurationError, match="non-empty"):
        map_columns(columns, custom_fields={"Company": " "})
    # A standard column can be sent as a custom field instead, when its detection is dropped.
    moved = map_columns(columns, mapping={"First Name": None}, custom_fields=["First Name"])
    assert dict(moved.custom) == {"First Name": "First Name"}


def test_duplicate_frame_columns_are_refused() -> None:
    df = pd.DataFrame([["a@b.fr", 1, 2]], columns=["Email", "Plan", "Plan"])
    with pytest.raises(ConfigurationError, match="duplicate column names: 'Plan'"):
        map_columns(df)


def test_accepts_a_frame_an_index_or_a_list() -> None:
    df = pd.DataFrame(columns=["E-mail", "First Name"])
    assert map_columns(df) == map_columns(df.columns) == map_columns(["E-mail", "First Name"])


def test_a_lead_mapping_is_returned_unchanged_and_checked() -> None:
    mapping = map_columns(["Email", "First Name", "Company"], custom_fields=["Company"])
    df = pd.DataFrame(columns=["Email", "First Name", "Company", "Extra"])
    assert map_columns(mapping) is mapping
    assert map_columns(df, mapping=mapping) is mapping
    with pytest.raises(ConfigurationError, match="'Company'"):
        map_columns(pd.DataFrame(columns=["Email", "First Name"]), mapping=mapping)
    with pytest.raises(ConfigurationError, match="not both"):
        map_columns(df, mapping=mapping, email="Email")
    with pytest.raises(ConfigurationError, match="not both"):
        map_columns(mapping, custom_fields=ALL)


def test_lead_mapping_round_trips_through_json_and_is_frozen() -> None:
    mapping = map_columns(["E-mail", "First Name", "Company", "Notes"], custom_fields={"Company": "Société"})
    data = json.loads(json.dumps(mapping.to_dict(), ensure_ascii=False))
    assert data == {
        "email": "E-mail",
        "fields": {"E-mail": "email", "First Name": "firstName"},
        "custom": {"Company": "Société"},
        "ignored": ["Notes"],
    }
    assert LeadMapping.from_dict(data) == mapping
    assert hash(LeadMapping.from_dict(data)) == hash(mapping)
    with pytest.raises(dataclasses.FrozenInstanceError):
        mapping.email = "Notes"  # type: ignore[misc]
    with pytest.raises(TypeError):
        mapping.fields["Notes"] = "lastName"  # type: ignore[index]
    assert mapping.columns == ("E-mail", "First Name", "Company")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"fields": {}}, "needs 'email'"),
        ({"email": "E", "fields": {"E": "email", "N": "nickname"}}, "'nickname'"),
        ({"email": "E", "fields": {"E": "email", "A": "lastName", "B": "lastName"}}, "'A'.*'B'"),
        ({"email": "E", "fields": {"E": "lastName"}}, "email column 'E'"),
        ({"email": "E", "fields": {"E": "email"}, "custom": {"E": "x"}}, "cannot also be a custom field"),
    ],
)
def test_from_dict_checks_consistency(data: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        LeadMapping.from_dict(data)


def test_reprs_show_every_column_and_where_it_goes() -> None:
    columns = ["Email", "First Name", "<b>Company</b>", "Notes"]
    mapping = map_columns(columns, custom_fields=["<b>Company</b>"])
    text = repr(mapping)
    assert "'First Name'" in text and "leadInfo.firstName" in text
    assert "leadCustomField['<b>Company</b>']" in text and "'Notes'" in text and "not sent" in text
    page = mapping._repr_html_()
    assert "&lt;b&gt;Company&lt;/b&gt;" in page and "<b>Company" not in page
    assert page.count("<tr>") == 5
