"""Columns to leadInfo fields, custom fields and ignored columns (publitrac.lead._mapping)."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pandas as pd
import pytest

from publitrac import _spec
from publitrac._exceptions import ConfigurationError
from publitrac.lead._mapping import ALL, LeadMapping, map_columns, normalise_name


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


# -- headers in the user's language ----------------------------------------------------------------------------

# One export per language, as its CRM or Excel names the columns: {header: the field it must map to, or None}.
EXPORTS = {
    "fr": {
        "Courriel": "email",
        "Prénom": "firstName",
        "Nom": "lastName",
        "Fonction": "jobTitle",
        "Société": None,
    },
    "fr-poste": {
        "Adresse e-mail": "email",
        "Prénom": "firstName",
        "Nom de famille": "lastName",
        "Intitulé du poste": "jobTitle",
        "ID du prospect": "crmLeadId",
    },
    "de": {
        "E-Mail": "email",
        "Vorname": "firstName",
        "Nachname": "lastName",
        "Position": "jobTitle",
        "Firma": None,
        "Lead-ID": "crmLeadId",
    },
    "de-beruf": {"E-Mail-Adresse": "email", "Vorname": "firstName", "Familienname": "lastName"}
    | {"Berufsbezeichnung": "jobTitle", "Name": None, "Titel": None},
    "es": {
        "Correo electrónico": "email",
        "Nombre": "firstName",
        "Apellido(s)": "lastName",
        "Cargo": "jobTitle",
        "Empresa": None,
    },
    "es-puesto": {"Email": "email", "Nombre": "firstName", "Apellidos": "lastName", "Puesto": "jobTitle"},
    "pt": {"E-mail": "email", "Nome": "firstName", "Sobrenome": "lastName", "Função": "jobTitle"},
    "pt-pt": {"Endereço de e-mail": "email", "Primeiro nome": "firstName", "Apelido": "lastName"}
    | {"Cargo": "jobTitle", "Empresa": None},
    "it": {"Indirizzo email": "email", "Nome": "firstName", "Cognome": "lastName", "Ruolo": "jobTitle"}
    | {"Azienda": None},
    "nl": {"E-mailadres": "email", "Voornaam": "firstName", "Tussenvoegsel": None, "Achternaam": "lastName"}
    | {"Functie": "jobTitle", "Bedrijf": None},
    "sv": {
        "E-postadress": "email",
        "Förnamn": "firstName",
        "Efternamn": "lastName",
        "Befattning": "jobTitle",
    },
    "da": {"E-mail": "email", "Fornavn": "firstName", "Efternavn": "lastName", "Stilling": "jobTitle"},
    "no": {"E-post": "email", "Fornavn": "firstName", "Etternavn": "lastName", "Stillingstittel": "jobTitle"},
    "fi": {
        "Sähköposti": "email",
        "Etunimi": "firstName",
        "Sukunimi": "lastName",
        "Tehtävänimike": "jobTitle",
    },
    "pl": {"Adres e-mail": "email", "Imię": "firstName", "Nazwisko": "lastName", "Stanowisko": "jobTitle"}
    | {"Firma": None},
    "cs": {"E-mail": "email", "Jméno": "firstName", "Příjmení": "lastName", "Pozice": "jobTitle"}
    | {"Firma": None},
    "cs-krestni": {
        "E-mail": "email",
        "Křestní jméno": "firstName",
        "Příjmení": "lastName",
        "Funkce": "jobTitle",
    },
    "hu": {"E-mail cím": "email", "Vezetéknév": "lastName", "Keresztnév": "firstName", "Beosztás": "jobTitle"}
    | {"Cég": None},
    "tr": {"E-posta": "email", "Adı": "firstName", "Soyadı": "lastName", "Ünvan": "jobTitle", "Şirket": None},
    "tr-alone": {"E-posta adresi": "email", "Ad": None, "Görev": "jobTitle"},
    "en-crm": {
        "Email": "email",
        "First Name": "firstName",
        "Salesforce ID": "crmLeadId",
        "Position": "jobTitle",
    },
}


@pytest.mark.parametrize("language", list(EXPORTS))
def test_european_headers_map_to_lead_info_fields(language: str) -> None:
    export = EXPORTS[language]
    mapping = map_columns(list(export))
    assert dict(mapping.fields) == {column: field for column, field in export.items() if field is not None}
    assert mapping.ignored == tuple(column for column, field in export.items() if field is None)
    assert mapping.custom == {}


def test_the_printed_mapping_shows_the_aliases_like_any_other_column() -> None:
    from publitrac.cli._common import describe_mapping

    mapping = map_columns(list(EXPORTS["fr"]))
    assert describe_mapping(mapping) == [
        "Mapping: Courriel -> email, Prénom -> firstName, Nom -> lastName, Fonction -> jobTitle",
        "Not sent: Société",
    ]
    assert re.search(r"'Prénom' +-> leadInfo.firstName", repr(mapping))


def test_an_exact_field_name_beats_an_alias() -> None:
    mapping = map_columns(
        ["Email", "Prénom", "First Name", "Fonction", "job_title", "Lead ID", "CRM Lead ID"]
    )
    assert dict(mapping.fields) == {
        "Email": "email",
        "First Name": "firstName",
        "job_title": "jobTitle",
        "CRM Lead ID": "crmLeadId",
    }
    assert mapping.ignored == ("Prénom", "Fonction", "Lead ID")


def test_an_alias_beats_a_word_that_is_a_name_only_beside_the_other() -> None:
    mapping = map_columns(["Email", "Prénom", "Nom", "Nom de famille"])
    assert dict(mapping.fields) == {"Email": "email", "Prénom": "firstName", "Nom de famille": "lastName"}
    assert mapping.ignored == ("Nom",)


def test_an_explicit_mapping_beats_an_alias() -> None:
    mapping = map_columns(["Email", "Fonction", "Poste occupé"], mapping={"Poste occupé": "jobTitle"})
    assert dict(mapping.fields) == {"Email": "email", "Poste occupé": "jobTitle"}
    assert mapping.ignored == ("Fonction",)
    # An alias can be dropped, and sent somewhere else instead.
    moved = map_columns(
        ["Email", "Vorname", "Position"], mapping={"Position": None}, custom_fields=["Position"]
    )
    assert dict(moved.fields) == {"Email": "email", "Vorname": "firstName"}
    assert dict(moved.custom) == {"Position": "Position"}
    renamed = map_columns(["Email", "Cargo", "Puesto"], mapping={"Cargo": None, "Puesto": "lastName"})
    assert dict(renamed.fields) == {"Email": "email", "Puesto": "lastName"}


@pytest.mark.parametrize(
    "columns",
    [["Email", "Nom"], ["Email", "Nombre", "Empresa"], ["Email", "Nome", "Azienda"], ["Email", "Jméno"]],
)
def test_a_word_that_is_a_name_only_beside_the_other_is_not_sent_alone(columns: list[str]) -> None:
    # French `Nom` alone may be the whole name (or a company's); Spanish `Nombre` alone, the full name.
    mapping = map_columns(columns)
    assert dict(mapping.fields) == {"Email": "email"}
    assert mapping.ignored == tuple(columns[1:])


def test_a_word_that_is_a_name_beside_the_other_takes_any_mapped_partner() -> None:
    assert map_columns(["Email", "First Name", "Nom"]).fields["Nom"] == "lastName"
    assert map_columns(["Email", "Given", "Nom"], mapping={"Given": "firstName"}).fields["Nom"] == "lastName"
    assert map_columns(["Email", "Nome", "Last Name"]).fields["Nome"] == "firstName"
    # the partner dropped: the word is alone again
    assert "Nom" in map_columns(["Email", "Prénom", "Nom"], mapping={"Prénom": None}).ignored
    # two such words waiting for each other are both alone
    assert map_columns(["Email", "Nom", "Nome"]).ignored == ("Nom", "Nome")


@pytest.mark.parametrize(
    ("columns", "field", "candidates"),
    [
        (["Email", "Vorname", "Prénom"], "firstName", ["Vorname", "Prénom"]),
        (["Email", "Fonction", "Poste"], "jobTitle", ["Fonction", "Poste"]),
        (["Email", "Apellido", "Apellidos"], "lastName", ["Apellido", "Apellidos"]),
        (["Email", "Lead-ID", "Salesforce ID"], "crmLeadId", ["Lead-ID", "Salesforce ID"]),
        (["Email", "Prénom", "Nom", "NOM "], "lastName", ["Nom", "NOM "]),
    ],
)
def test_two_aliases_of_one_field_are_refused_with_the_way_out(
    columns: list[str], field: str, candidates: list[str]
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        map_columns(columns)
    message = str(caught.value)
    assert all(repr(column) in message for column in candidates)
    assert repr(field) in message and "mapping={" in message
    assert caught.value.in_words("cli").count("--map") == 2
    # The suggested mapping resolves it: the first one is sent, the other one is not.
    first, second = candidates
    resolved = map_columns(columns, mapping={first: field, second: None})
    assert resolved.fields[first] == field and second in resolved.ignored


def test_unknown_and_ambiguous_headers_stay_not_sent() -> None:
    columns = ["E-mail", "Name", "Titel", "Titre", "Civilité", "Ville", "Land", "Posizione", "Tehtävä", "ID"]
    mapping = map_columns(columns)
    assert dict(mapping.fields) == {"E-mail": "email"}
    assert mapping.ignored == tuple(columns[1:])


def test_company_columns_are_sent_only_when_asked() -> None:
    columns = ["Courriel", "Prénom", "Nom", "Société", "Firma", "Empresa", "Azienda", "Bedrijf"]
    assert map_columns(columns).ignored == ("Société", "Firma", "Empresa", "Azienda", "Bedrijf")
    assert dict(map_columns(columns, custom_fields=["Société"]).custom) == {"Société": "Société"}
    everything = map_columns(columns, custom_fields=ALL)
    assert list(everything.custom) == ["Société", "Firma", "Empresa", "Azienda", "Bedrijf"]
    assert dict(everything.fields) == {"Courriel": "email", "Prénom": "firstName", "Nom": "lastName"}
    with pytest.raises(ConfigurationError, match="'Prénom'.*firstName"):
        map_columns(columns, custom_fields=["Prénom"])


def test_aliases_serve_only_the_fields_of_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = {name: schema for name, schema in _spec.lead_info_fields().items() if name != "jobTitle"}
    monkeypatch.setattr(_spec, "lead_info_fields", lambda: fields)
    mapping = map_columns(["Email", "Vorname", "Position"])
    assert dict(mapping.fields) == {"Email": "email", "Vorname": "firstName"}
    assert mapping.ignored == ("Position",)


def test_the_alias_tables_are_normalised_and_never_overlap() -> None:
    from publitrac.lead._mapping import _EMAIL_ALIASES, _FIELD_ALIASES, _PAIRED_ALIASES

    tables = {field: set(names) for field, names in _FIELD_ALIASES.items()}
    tables |= {f"{field} beside {partner}": set(names) for field, (partner, names) in _PAIRED_ALIASES.items()}
    tables["email"] = set(_EMAIL_ALIASES)
    known = set(_spec.lead_info_fields())
    assert {*_FIELD_ALIASES, *_PAIRED_ALIASES} <= known
    fields = {normalise_name(field) for field in known}
    seen: dict[str, str] = {}
    for table, names in tables.items():
        for name in names:
            assert normalise_name(name) == name, (table, name)
            assert name not in fields, (table, name)
            assert name not in seen, (table, seen.get(name), name)
            seen[name] = table
