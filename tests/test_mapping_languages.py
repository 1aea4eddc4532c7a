"""Exports in the user's language, pushed with `publitrac sync FILE` and no flag: their headers map (`lead._mapping`).

Each file is written as that country's Excel or CRM writes it (encoding, delimiter, line ends), read by the real
command line in a subprocess and sent to the sandbox over HTTP; the leads must arrive with their names and job
titles exactly as written, and the company column must stay at home.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import pytest


class Export(NamedTuple):
    columns: tuple[str, str, str, str, str]  # email, first name, last name, job title, company
    people: list[tuple[str, str, str, str, str]]
    encoding: str
    sep: str
    mapping_line: str
    crm_ids: tuple[str, list[Any]] | None = None  # a CRM id column, its values, and what arrives


EXPORTS = {
    # Excel's European "CSV": Windows-1252, `;`, CRLF.
    "french": Export(
        ("Courriel", "Prénom", "Nom", "Fonction", "Société"),
        [
            ("elodie@exemple.fr", "Élodie", "Lefèvre", "Directrice générale", "Crème & Cie"),
            ("therese@exemple.fr", "Thérèse", "Noël", "Chargée d'études", "Études Réunies"),
            ("raphael@exemple.fr", "Raphaël", "Benoît", "Ingénieur", "Société Générale"),
            ("francois@exemple.fr", "François", "Dupont-Aignan", "Chef de projet", "Château SA"),
        ],
        "cp1252",
        ";",
        "Mapping: Courriel -> email, Prénom -> firstName, Nom -> lastName, Fonction -> jobTitle",
    ),
    "german": Export(
        ("E-Mail", "Vorname", "Nachname", "Position", "Firma"),
        [
            ("jurgen@beispiel.de", "Jürgen", "Müller", "Geschäftsführer", "Müller & Söhne GmbH"),
            ("grete@beispiel.de", "Grete", "Weiß", "Außendienst", "Weiß AG"),
            ("oezlem@beispiel.de", "Özlem", "Schäfer", "Leiterin Einkauf", "Bäckerei Schäfer"),
            ("uwe@beispiel.de", "Uwe", "Größ", "Vertriebsleiter", "Größ KG"),
        ],
        "cp1252",
        ";",
        "Mapping: E-Mail -> email, Lead-ID -> crmLeadId, Vorname -> firstName, Nachname -> lastName, "
        "Position -> jobTitle",
        ("Lead-ID", ["00Q5e00000ABCdE", "007", "12387", "00Q5e00000XYZaB"]),
    ),
    # A CRM's UTF-8 export, `,`, with a BOM.
    "spanish": Export(
        ("Correo electrónico", "Nombre", "Apellido(s)", "Cargo", "Empresa"),
        [
            ("inigo@ejemplo.es", "Íñigo", "Muñoz Peña", "Director de ventas", "Peñalver, S.L."),
            ("maria@ejemplo.es", "María José", "Gómez", "Jefa de compras", "Gómez y Asociados"),
            ("angel@ejemplo.es", "Ángel", "Núñez", "Técnico comercial", "Núñez Hermanos"),
            ("lucia@ejemplo.es", "Lucía", "Martínez Ibáñez", "Gerente", "Ibáñez S.A."),
        ],
        "utf-8-sig",
        ",",
        "Mapping: Correo electrónico -> email, Nombre -> firstName, Apellido(s) -> lastName, Cargo -> jobTitle",
    ),
    "italian": Export(
        ("Indirizzo email", "Nome", "Cognome", "Ruolo", "Azienda"),
        [
            ("nicolo@esempio.it", "Nicolò", "Sàvio", "Responsabile acquisti", "Caffè Sàvio"),
            ("lucrezia@esempio.it", "Lucrezia", "D'Alò", "Amministratrice delegata", "D'Alò S.p.A."),
            ("mattia@esempio.it", "Mattia", "Perrò", "Ingegnere", "Perrò & Figli"),
            ("chiara@esempio.it", "Chiara", "Fabbrì", "Commerciale", "Fabbrì Srl"),
        ],
        "utf-8",
        ",",
        "Mapping: Indirizzo email -> email, Nome -> firstName, Cognome -> lastName, Ruolo -> jobTitle",
    ),
    # Excel's "Unicode text": UTF-16 with a BOM, tabs.
    "dutch": Export(
        ("E-mailadres", "Voornaam", "Achternaam", "Functie", "Bedrijf"),
        [
            ("daan@voorbeeld.nl", "Daan", "de Vries", "Inkoper", "Vries & Zonen B.V."),
            ("ine@voorbeeld.nl", "Inë", "Jansen", "Directeur", "Jansen Café"),
            ("sanne@voorbeeld.nl", "Sanne", "van den Berg", "Accountmanager", "Berg N.V."),
            ("noel@voorbeeld.nl", "Noël", "Bakker", "Hoofd inkoop", "Bakkerij Bakker"),
        ],
        "utf-16",
        "\t",
        "Mapping: E-mailadres -> email, Voornaam -> firstName, Achternaam -> lastName, Functie -> jobTitle",
    ),
}


def write_export(export: Export, path: Path) -> pd.DataFrame:
    rows = [(f"{i}.{person[0]}", *person[1:]) for i, person in enumerate(export.people * 5)]
    frame = pd.DataFrame(rows, columns=list(export.columns), dtype=object)
    if export.crm_ids is not None:
        column, ids = export.crm_ids
        frame.insert(1, column, (ids * 5)[: len(frame)])
    frame.to_csv(path, sep=export.sep, index=False, encoding=export.encoding, lineterminator="\r\n")
    return frame


@pytest.mark.parametrize("language", list(EXPORTS))
def test_an_export_in_the_users_language_is_sent_without_flags(
    language: str, sandbox: Any, tmp_path: Path
) -> None:
    export = EXPORTS[language]
    path = tmp_path / f"{language}.csv"
    frame = write_export(export, path)
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("PUBLITRAC_") or k == "PUBLITRAC_LEDGER"
    }
    environment |= {"PUBLITRAC_API_KEY": sandbox.api_key, "PUBLITRAC_BASE_URL": sandbox.base_url}
    done = subprocess.run(
        [sys.executable, "-m", "publitrac.cli", "sync", str(path), "--no-ledger", "--no-progress"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert export.mapping_line in lines, done.stdout
    assert f"Not sent: {export.columns[4]}" in lines, done.stdout
    assert "Warning" not in done.stdout
    sandbox.wait_until_applied()
    email, first, last, job, company = export.columns
    for row in frame.to_dict("records"):
        lead = sandbox.lead(row[email])
        assert lead is not None, row[email]
        info = lead["leadInfo"]
        assert (info["firstName"], info["lastName"], info["jobTitle"]) == (row[first], row[last], row[job])
        if export.crm_ids is not None:
            value = row[export.crm_ids[0]]
            assert info["crmLeadId"] == (int(value) if value == "12387" else value)  # `007` stays `007`
        assert row[company] not in str(lead)  # the company stays at home
