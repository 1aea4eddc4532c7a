"""The text encoding of a file: decided from what people write, and said when it is a guess (`files._encoding`).

The accuracy over the whole corpus of languages and encodings is `tests/test_encoding_corpus.py` (a sample) and
`benchmarks/encodings.py` (the matrix); these tests pin the rules, the messages and every interface's warning.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import publitrac
from publitrac.files._batches import read_batches
from publitrac.files._encoding import MixedEncodingError, NotTextError, detect_encoding
from publitrac.cli._main import main

FRENCH_TRADE_SHOW = "Élodie;Lefèvre;Thérèse;Raphaël\r\n"


def rows(text: str, encoding: str, repeat: int = 40) -> bytes:
    return (text * repeat).encode(encoding)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (FRENCH_TRADE_SHOW, "cp1252"),  # the bug report: read as Windows-1250 (`Lefčvre`) before
        ("Jürgen;Müller;Straße;Köln\n", "cp1252"),
        ("José;Muñoz;Peña;Ibáñez\n", "cp1252"),
        ("João;Gonçalves;Conceição;Simões\n", "cp1252"),
        ("Niccolò;Forlì;Cantù;Città\n", "cp1252"),
        ("Søren;Kærgaard;Åse;Bjørn\n", "cp1252"),
        ("Daniël;Eloïse;Gaëlle\n", "cp1252"),
        ("Cœur;Lefèvre;Œuvray\n", "iso8859-15"),
        ("Růžena;Dvořáková;Jiří;Černý\n", "cp1250"),
        # ř and í together: read as Windows-1252 (`Jiøí`, a Danish ø beside a Spanish í) at 100% before
        ("Jiří;Novak;Jiří;Svoboda\n", "cp1250"),
        ("Łukasz;Wójcik;Małgorzata;Żak;Gdańsk\n", "cp1250"),
        ("Erdős;Pál;Szűcs;Éva\n", "cp1250"),
        ("Şükrü;Yılmaz;Ayşe;Doğan;İstanbul\n", "cp1254"),
        ("Jürgen;Müller;Straße\n", "mac_roman"),
        ("Élodie;Lefèvre;Thérèse\n", "mac_roman"),
        ("Иван;Петров;Мария\n", "cp1251"),
        ("Γιώργος;Παπαδόπουλος\n", "cp1253"),
    ],
    ids=lambda value: value if isinstance(value, str) and value.isascii() else None,
)
def test_each_language_is_read_in_its_code_page_exactly(text: str, encoding: str) -> None:
    data = rows(text, encoding)
    guess = detect_encoding(data)
    assert data.decode(guess.encoding) == text * 40
    assert not guess.ambiguous, [alternative.describe() for alternative in guess.alternatives]


def test_the_whole_file_is_looked_at_not_its_head(tmp_path: Path) -> None:
    # 3 MB of ASCII, then one French row: the old reader decided on the first megabyte (ASCII, so UTF-8) and
    # failed on the last line; a stream would have had no chance to look.
    path = tmp_path / "leads.csv"
    ascii_rows = "".join(f"lead{i}@example.com;Jean;Martin\n" for i in range(100_000))
    path.write_bytes(("email;Prénom;Nom\n" + ascii_rows + "x@example.fr;Élodie;Lefèvre\n").encode("cp1252"))
    assert path.stat().st_size > 3_000_000
    leads = publitrac.read_leads(path)
    assert leads.encoding == "cp1252"
    assert leads.frame["Nom"].iloc[-1] == "Lefèvre"
    batches = read_batches(path, batch_rows=10_000)
    assert batches.encoding == "cp1252"
    assert list(batches)[-1]["Nom"].iloc[-1] == "Lefèvre"


def test_utf8_ascii_and_byte_order_marks_are_certain() -> None:
    for data, codec in [
        ("email;Nom\nzoë@exemple.fr;Zoë\n".encode(), "utf-8"),
        (b"email;Nom\nzoe@example.com;Zoe\n", "utf-8"),
        ("email;Nom\nzoë@exemple.fr;Zoë\n".encode("utf-8-sig"), "utf-8-sig"),
        ("email\tNom\nzoë@exemple.fr\tZoë\n".encode("utf-16"), "utf-16"),
        ("email\tNom\nzoë@exemple.fr\tZoë\n".encode("utf-16-le"), "utf-16-le"),
        ("email\tNom\nzoë@exemple.fr\tZoë\n".encode("utf-16-be"), "utf-16-be"),
    ]:
        guess = detect_encoding(data)
        assert (guess.encoding, guess.confidence, guess.alternatives) == (codec, 1.0, ()), data


def test_a_code_page_reading_that_no_other_matches_is_certain() -> None:
    # every candidate reads `ä ö ü` alike in Windows-1252 and Windows-1250: nothing to doubt
    guess = detect_encoding(rows("Jürgen;Müller;Köln\n", "cp1252"))
    assert guess.encoding == "cp1252"
    assert not guess.ambiguous


def test_little_evidence_is_a_guess_that_names_what_would_differ() -> None:
    data = (
        "email;Prénom;Nom\n" + "p@exemple.fr;Jean;Martin\n" * 3000 + "h@exemple.fr;Hélène;Lefèvre\n"
    ).encode("cp1252")
    guess = detect_encoding(data)
    assert guess.encoding == "cp1252"  # Windows-1252 when the evidence leans no further
    assert guess.ambiguous and 0.5 < guess.confidence < 0.99
    other = guess.alternatives[0]
    assert (other.encoding, other.label) == ("cp1250", "Windows-1250")
    assert other.differences == (("è", "č"),)
    assert other.example == ("Hélène", "Hélčne", 3002)
    assert "'è' would be 'č' (line 3,002: 'Hélène' would be 'Hélčne')" in other.describe()


def test_read_leads_warns_in_python_words_and_keeps_the_figures() -> None:
    data = "email;Nom\na@exemple.fr;Lefèvre\n".encode("cp1252")
    with pytest.warns(publitrac.AmbiguousEncodingWarning) as caught:
        leads = publitrac.read_leads(data, name="leads.csv")
    message = str(caught[0].message)
    assert "leads.csv: the encoding is a guess: read as Windows-1252" in message
    assert "encoding='cp1250'" in message and "--encoding" not in message
    assert leads.encoding_ambiguous and leads.encoding_confidence is not None
    assert [alternative.encoding for alternative in leads.alternatives] == ["cp1250"]
    assert leads.encoding_warning("cli") is not None and "--encoding cp1250" in str(
        leads.encoding_warning("cli")
    )


def test_a_certain_file_does_not_warn_and_a_given_encoding_is_certain() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dense = publitrac.read_leads(("email;Nom\n" + "a@b.fr;" + FRENCH_TRADE_SHOW * 20).encode("cp1252"))
        given = publitrac.read_leads("email;Nom\na@exemple.fr;Lefèvre\n".encode("cp1252"), encoding="cp1252")
    assert (dense.encoding, dense.encoding_ambiguous, dense.encoding_warning()) == ("cp1252", False, None)
    assert (given.encoding_confidence, given.alternatives) == (1.0, ())


def test_a_utf8_file_with_a_line_from_another_program_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    good = "".join(f"z{i}@exemple.fr;Zoë;Müller\n" for i in range(50)).encode()
    path.write_bytes(b"email;Nom;Nachname\n" + good + "x@exemple.fr;Hélène;Lefèvre\n".encode("cp1252") + good)
    with pytest.raises(publitrac.LeadFileError) as error:
        publitrac.read_leads(path)
    assert "is UTF-8 but line 52 is not" in str(error.value)
    assert "encoding=" in str(error.value)
    with pytest.raises(MixedEncodingError):
        detect_encoding(path)


def test_a_later_batch_that_does_not_decode_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    body = "".join(f"lead{i}@example.com;Jean;Martin\n" for i in range(5000))
    path.write_bytes(b"email;Prenom;Nom\n" + body.encode() + "x@exemple.fr;Hélène;Lefèvre\n".encode("cp1252"))
    batches = read_batches(path, batch_rows=1000, encoding="utf-8")  # given by hand: nothing detected
    with pytest.raises(publitrac.LeadFileError) as error:
        for _ in batches:
            pass
    assert "line 5,002 has bytes that are not UTF-8" in str(error.value)
    with pytest.raises(publitrac.LeadFileError, match="line 5,002 has bytes that are not UTF-8"):
        publitrac.read_leads(path, encoding="utf-8")


def test_bytes_that_are_no_text_are_refused() -> None:
    with pytest.raises(NotTextError):
        detect_encoding(b"")
    with pytest.raises(publitrac.LeadFileError, match="does not look like text"):
        publitrac.read_leads(bytes(range(256)) * 4, name="leads.csv")


def test_the_streamed_reader_warns_as_read_leads(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes("email;Nom\na@exemple.fr;Lefèvre\n".encode("cp1252"))
    with pytest.warns(publitrac.AmbiguousEncodingWarning, match="encoding='cp1250'"):
        batches = read_batches(path)
    assert batches.encoding_ambiguous and batches.alternatives[0].encoding == "cp1250"
    assert "--encoding cp1250" in str(batches.encoding_warning("cli"))


# -- the command line ------------------------------------------------------------------------------------------


@pytest.fixture
def ambiguous_csv(tmp_path: Path) -> Path:
    path = tmp_path / "leads.csv"
    body = "".join(f"lead{i}@example.com;Jean;Martin\r\n" for i in range(300))
    text = "E-mail;First Name;Last Name\r\n" + body + "helene@exemple.fr;Hélène;Lefèvre\r\n"
    path.write_bytes(text.encode("cp1252"))
    return path


@pytest.mark.parametrize(
    "command", [["validate"], ["sync", "--dry-run"], ["sync", "--dry-run", "--batch-rows", "100"]]
)
def test_validate_and_dry_run_print_the_warning_with_the_flag(
    command: list[str], ambiguous_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main([command[0], str(ambiguous_csv), *command[1:]])
    captured = capsys.readouterr()
    out = captured.out
    assert "Warning: leads.csv: the encoding is a guess: read as Windows-1252" in out
    assert "'è' would be 'č'" in out and "'Hélène' would be 'Hélčne'" in out
    assert "pass --encoding cp1250" in out and "encoding='cp1250'" not in out + captured.err
    # before the rows are checked or sent: the warning follows the line that says what was read
    assert out.index("Warning:") < out.index("Mapping:")


def test_the_flag_the_warning_names_reads_the_file_the_other_way(
    ambiguous_csv: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    results = tmp_path / "results.csv"
    main(["sync", str(ambiguous_csv), "--dry-run", "--encoding", "cp1250", "--results", str(results)])
    out = capsys.readouterr().out
    assert "Windows-1250" in out and "Warning:" not in out


def test_sync_sends_french_and_german_names_exactly(sandbox: Any, tmp_path: Path) -> None:
    # Excel's European "CSV": Windows-1252, `;`, CRLF; French and German names, read without options.
    people = [
        ("elodie@exemple.fr", "Élodie", "Lefèvre", "Directrice générale"),
        ("therese@exemple.fr", "Thérèse", "Raphaël", "Chargée d'études"),
        ("francois@exemple.fr", "François", "Benoît", "Ingénieur"),
        ("jurgen@beispiel.de", "Jürgen", "Müller", "Geschäftsführer"),
        ("grete@beispiel.de", "Grete", "Weiß", "Außendienst"),
        ("zoe@exemple.fr", "Zoë", "Noël", "Chef de projet"),
    ] * 5
    frame = pd.DataFrame(
        [(f"{i}.{email}", first, last, job) for i, (email, first, last, job) in enumerate(people)],
        columns=["E-mail", "First Name", "Last Name", "Job Title"],
    )
    path = tmp_path / "salon.csv"
    frame.to_csv(path, sep=";", index=False, encoding="cp1252", lineterminator="\r\n")
    env = {"PUBLITRAC_API_KEY": sandbox.api_key, "PUBLITRAC_BASE_URL": sandbox.base_url}
    done = subprocess.run(
        [sys.executable, "-m", "publitrac.cli", "sync", str(path), "--no-ledger"],
        capture_output=True,
        text=True,
        env={**_environment(), **env},
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(Windows-1252, delimiter ';')" in done.stdout and "Warning" not in done.stdout
    sandbox.wait_until_applied()
    for email, first, last, job in frame.itertuples(index=False):
        lead = sandbox.lead(email)["leadInfo"]
        assert (lead["firstName"], lead["lastName"], lead["jobTitle"]) == (first, last, job)


def _environment() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PUBLITRAC_") or k == "PUBLITRAC_LEDGER"}
