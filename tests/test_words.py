"""Settings named in messages, spelled as each interface names them (one message, two vocabularies)."""

from __future__ import annotations

import pytest

from publitrac._words import RowRef, Setting


@pytest.mark.parametrize(
    ("setting", "python", "cli"),
    [
        (Setting("email"), "email=", "--email-column"),
        (
            Setting("email", column="E-mail Address"),
            "email='E-mail Address'",
            "--email-column 'E-mail Address'",
        ),
        (Setting("mapping", column="Notes", value=None), "mapping={'Notes': None}", "--map Notes=ignore"),
        (Setting("mapping", column="Mail", value="email"), "mapping={'Mail': 'email'}", "--map Mail=email"),
        (Setting("mapping", named=True), "mapping", "--map"),
        (Setting("custom_fields", named=True), "custom_fields", "--custom"),
        (Setting("custom_fields", column="Company"), "custom_fields=['Company']", "--custom Company"),
        (Setting("allow_insecure_http", value=True), "allow_insecure_http=True", "--allow-insecure-http"),
        (Setting("base_url"), "base_url=... or PUBLITRAC_BASE_URL", "--base-url or PUBLITRAC_BASE_URL"),
        (Setting("api_key"), "api_key=... or PUBLITRAC_API_KEY", "PUBLITRAC_API_KEY in the environment"),
        (Setting("encoding"), "encoding=", "--encoding"),
        (Setting("sep", value=";"), "sep=';'", "--sep ';'"),
    ],
)
def test_each_setting_in_each_vocabulary(setting: Setting, python: str, cli: str) -> None:
    assert setting.spell("python") == python
    assert setting.spell("cli") == cli


def test_a_message_is_rendered_from_its_parts() -> None:
    parts = ("several columns could be the email; pass ", Setting("email"), " to choose one")
    assert Setting.render(parts, "python") == "several columns could be the email; pass email= to choose one"
    assert Setting.render(parts, "cli").endswith("pass --email-column to choose one")


@pytest.mark.parametrize(
    ("setting", "app"),
    [
        (Setting("encoding"), "the Encoding box"),
        (Setting("sep", value=";"), "the Delimiter box"),
        (Setting("api_key"), "the API key box"),
        (Setting("base_url"), "the Base URL box"),
        (Setting("mapping", column="Notes", value=None), "'Notes' set to '— ignore —' in the Map step"),
        (Setting("mapping", named=True), "the Map step"),
        (Setting("email", column="Mail"), "'Mail' as the email column in the Map step"),
    ],
)
def test_the_app_names_its_boxes(setting: Setting, app: str) -> None:
    assert setting.spell("app") == app


def test_the_app_never_says_pass() -> None:
    parts = ("cannot read leads.csv as UTF-8: invalid start byte; pass ", Setting("encoding"))
    assert (
        Setting.render(parts, "app")
        == "cannot read leads.csv as UTF-8: invalid start byte; use the Encoding box"
    )


def test_a_row_named_in_a_message_is_its_label_in_python_and_its_place_in_the_file_on_the_command_line() -> (
    None
):
    parts = ("same email as ", RowRef(label="a", position=42), "; sent after it")
    assert Setting.render(parts, "python") == "same email as row 'a'; sent after it"
    assert Setting.render(parts, "app") == "same email as row 'a'; sent after it"
    line = Setting.render(parts, "cli", locate=lambda position: f"line {position + 2}")
    assert line == "same email as line 44; sent after it"
    assert Setting.render(parts, "cli") == "same email as row 'a'; sent after it"  # nothing to place it with
