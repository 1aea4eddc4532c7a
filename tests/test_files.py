"""`publitrac.read_leads`: every file variant Excel and CRMs write reads back to exactly the values written."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import publitrac
from publitrac import LeadFileError, read_leads

FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
import make_fixtures  # noqa: E402

EXPECTED = pd.DataFrame(make_fixtures.records(), dtype=object)

# file: (format, encoding label, delimiter) as read_leads must detect them without options
DETECTED = {
    "excel-csv-cp1252-semicolon.csv": ("text", "Windows-1252", ";"),
    "excel-csv-cp1252-comma.csv": ("text", "Windows-1252", ","),
    "excel-unicode-text-utf16.txt": ("text", "UTF-16 with BOM", "\t"),
    "excel-csv-utf8-bom.csv": ("text", "UTF-8 with BOM", ","),
    "crm-utf8.csv": ("text", "UTF-8", ","),
    "crm-utf8.tsv": ("text", "UTF-8", "\t"),
    "crm-records.json": ("json", "UTF-8", None),
    "crm-records.jsonl": ("jsonl", "UTF-8", None),
}


def same_values(frame: pd.DataFrame) -> None:
    """Exactly the written values: text stays text (`007`), missing cells are missing, nothing else is."""
    assert list(frame.columns) == make_fixtures.COLUMNS
    got = frame.astype(object).where(frame.notna(), None).to_dict("records")
    assert got == make_fixtures.records()


def test_the_committed_fixtures_are_what_the_script_writes() -> None:
    for name, content in make_fixtures.contents().items():
        assert (FIXTURES / name).read_bytes() == content, f"{name}: run tests/fixtures/make_fixtures.py"
    assert set(make_fixtures.contents()) == set(DETECTED)


@pytest.mark.parametrize("name", sorted(DETECTED))
def test_each_variant_reads_right_without_options(name: str) -> None:
    leads = read_leads(FIXTURES / name)
    same_values(leads.frame)
    kind, label, delimiter = DETECTED[name]
    assert (leads.format, leads.encoding_label, leads.delimiter) == (kind, label, delimiter)
    if kind == "text":
        assert all(leads.frame[column].map(type).eq(str).all() for column in ["Email", "CRM Lead ID"])


@pytest.mark.parametrize("name", sorted(DETECTED))
def test_bytes_and_file_objects_with_a_name_read_the_same(name: str) -> None:
    content = (FIXTURES / name).read_bytes()
    same_values(read_leads(content, name=name).frame)
    same_values(read_leads(io.BytesIO(content), name=name).frame)


def test_describe_says_what_was_detected() -> None:
    leads = read_leads(FIXTURES / "excel-csv-cp1252-semicolon.csv")
    assert (
        leads.describe()
        == "4 rows, 5 columns from excel-csv-cp1252-semicolon.csv (Windows-1252, delimiter ';')"
    )
    utf16 = read_leads(FIXTURES / "excel-unicode-text-utf16.txt")
    assert utf16.describe().endswith("(UTF-16 with BOM, delimiter tab)")
    assert "JSON Lines" in read_leads(FIXTURES / "crm-records.jsonl").describe()
    assert "LeadFile(4 rows" in repr(leads)


def test_a_short_windows_1252_file_with_a_euro_sign_is_not_read_as_cyrillic() -> None:
    # On so few bytes several code pages read the euro sign; Windows-1252, the most common, is taken.
    leads = read_leads("email;Prix\na@exemple.fr;12,50 €\n".encode("cp1252"), name="prix.csv")
    assert leads.frame.to_dict("records") == [{"email": "a@exemple.fr", "Prix": "12,50 €"}]
    assert (leads.encoding, leads.delimiter) == ("cp1252", ";")


def test_sep_and_encoding_override_the_detection() -> None:
    content = "email;Nazwisko\nl@exemple.pl;Łukasz Wiśniewski\n".encode("cp1250")
    leads = read_leads(content, name="pl.csv", encoding="cp1250")
    assert leads.frame["Nazwisko"].tolist() == ["Łukasz Wiśniewski"]
    assert leads.encoding_label == "Windows-1250"
    one_column = read_leads(content, name="pl.csv", encoding="cp1250", sep="|")
    assert list(one_column.frame.columns) == ["email;Nazwisko"]


def test_a_wrong_encoding_is_refused_with_the_setting_to_pass() -> None:
    content = "email\nzoë@exemple.fr\n".encode("cp1252")
    with pytest.raises(LeadFileError, match=r"as UTF-8.*pass encoding=") as caught:
        read_leads(content, name="x.csv", encoding="utf-8")
    assert "--encoding" in caught.value.in_words("cli")
    with pytest.raises(LeadFileError, match="unknown encoding"):
        read_leads(content, name="x.csv", encoding="no-such-codec")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("dup.csv", b"email,Name,email\na@exemple.fr,Ana,b@exemple.fr\n"),
        ("dup.txt", "email\tName\temail\na@exemple.fr\tAna\tb@exemple.fr\n".encode("utf-16")),
        ("dup.json", b'[{"email": "a@exemple.fr", "email": "b@exemple.fr"}]'),
        ("dup.jsonl", b'{"email": "a@exemple.fr"}\n{"email": "a@exemple.fr", "email": "b@exemple.fr"}\n'),
    ],
)
def test_duplicate_column_names_are_refused(name: str, content: bytes) -> None:
    with pytest.raises(LeadFileError, match="duplicate column names: 'email'"):
        read_leads(content, name=name)


def test_duplicate_column_names_are_refused_in_excel_and_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame([["a@exemple.fr", "Ana", "b@exemple.fr"]], columns=["email", "Name", "email"])
    frame.to_excel(tmp_path / "dup.xlsx", index=False)
    with pytest.raises(LeadFileError, match="duplicate column names: 'email'"):
        read_leads(tmp_path / "dup.xlsx")
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_arrays([pa.array(["a"]), pa.array(["b"])], names=["email", "email"])
    pq.write_table(table, tmp_path / "dup.parquet")
    with pytest.raises(LeadFileError, match="duplicate column names: 'email'"):
        read_leads(tmp_path / "dup.parquet")


def test_parquet_and_excel_keep_their_types(tmp_path: Path) -> None:
    frame = pd.DataFrame({"email": ["a@exemple.fr", "b@exemple.fr"], "id": [12387, 42], "zip": ["007", "01"]})
    frame.to_parquet(tmp_path / "leads.parquet")
    frame.to_excel(tmp_path / "leads.xlsx", index=False)
    parquet = read_leads(tmp_path / "leads.parquet")
    pd.testing.assert_frame_equal(parquet.frame, frame)
    assert parquet.describe().endswith("(Parquet)")
    excel = read_leads((tmp_path / "leads.xlsx").read_bytes(), name="leads.xlsx")
    # Each cell as Excel holds it: the text cell `007` stays text (pandas alone would make it the number 7).
    assert excel.frame.to_dict("records") == frame.astype(object).to_dict("records")
    assert excel.frame["zip"].tolist() == ["007", "01"] and excel.frame["id"].tolist() == [12387, 42]
    assert excel.locate(1) == "row 3"


def test_missing_libraries_name_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pd.DataFrame({"email": ["a@exemple.fr"]}).to_parquet(tmp_path / "leads.parquet")
    pd.DataFrame({"email": ["a@exemple.fr"]}).to_excel(tmp_path / "leads.xlsx", index=False)
    for module in ("pyarrow", "fastparquet", "openpyxl"):
        monkeypatch.setitem(sys.modules, module, None)
    for name in ("leads.parquet", "leads.xlsx"):
        with pytest.raises(ImportError, match=r'pip install "publitrac\[notebooks\]"'):
            read_leads(tmp_path / name)


def test_a_directory_a_missing_file_and_an_unknown_type(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="is a directory"):
        read_leads(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_leads(tmp_path / "missing.csv")
    with pytest.raises(LeadFileError, match="unknown file type '.docx'"):
        read_leads(b"x", name="leads.docx")
    with pytest.raises(LeadFileError, match="is empty"):
        read_leads(b"", name="leads.csv")


def test_line_numbers_follow_quoted_line_breaks_and_blank_lines() -> None:
    content = b'email,note\r\na@exemple.fr,"two\r\nlines"\r\n\r\nb@exemple.fr,x\r\nc@exemple.fr,y\r\n'
    leads = read_leads(content, name="notes.csv")
    assert leads.frame["note"].tolist() == ["two\r\nlines", "x", "y"]
    assert [leads.locate(i) for i in range(3)] == ["line 2", "line 5", "line 6"]
    for encoding in ("utf-16", "utf-16-be", "utf-32"):
        shifted = read_leads(content.decode().encode(encoding), name="notes.txt", encoding=encoding)
        assert [shifted.locate(i) for i in range(3)] == ["line 2", "line 5", "line 6"], encoding
    plain = read_leads(FIXTURES / "crm-utf8.csv")
    assert [plain.locate(i) for i in range(4)] == ["line 2", "line 3", "line 4", "line 5"]
    assert read_leads(FIXTURES / "crm-records.jsonl").locate(3) == "line 4"
    assert read_leads(FIXTURES / "crm-records.json").locate(3) == "record 4"


def test_a_big_file_is_detected_from_its_head_and_read_whole(tmp_path: Path) -> None:
    rows = [f"lead{i}@exemple.fr;Zoë Müller;{i:07d}" for i in range(40_000)]
    path = tmp_path / "big.csv"
    path.write_bytes(("email;name;id\r\n" + "\r\n".join(rows) + "\r\n").encode("cp1252"))
    assert path.stat().st_size > 1 << 20
    leads = read_leads(path)
    assert (leads.encoding, leads.delimiter, leads.frame.shape) == ("cp1252", ";", (40_000, 3))
    assert leads.frame["id"].iloc[7] == "0000007" and leads.frame["name"].iloc[-1] == "Zoë Müller"
    assert leads.locate(39_999) == "line 40001"


def test_the_public_reader_is_the_one_the_widgets_use(tmp_path: Path) -> None:
    from publitrac.widgets import LeadExplorer

    explorer = LeadExplorer(FIXTURES / "excel-csv-cp1252-semicolon.csv")
    assert explorer.df is not None
    same_values(explorer.df)
    assert (
        "excel-csv-cp1252-semicolon.csv: 4 rows, 5 columns (Windows-1252, delimiter" in explorer.status.value
    )


def test_the_module_docstring_example(tmp_path: Path) -> None:
    leads: Any = publitrac.read_leads(b"email;Nom\nzoe@example.com;Zo\xeb\n", name="leads.csv")
    assert leads.describe() == "1 row, 2 columns from leads.csv (Windows-1252, delimiter ';')"
