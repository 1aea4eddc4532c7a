"""Write `examples/leads.csv`: 300 synthetic leads with a fixed seed (standard library only).

    python examples/make_leads.py            # rewrites examples/leads.csv beside this file
    python examples/make_leads.py out.csv    # or anywhere else

What the file holds, relied upon by tests and notebooks (`tests/test_validation.py` pins it):

- 300 rows; French, Québécois, Spanish and German names with accents; UTF-8.
- Columns: `E-mail Address`, `First Name`, `Last Name`, `Job Title`, `CRM Lead ID` (a few blanks, so
  pandas reads it as float64), `Company`, `Country`, `Phone`, `Source`, `Signed Up` (ISO dates),
  `Newsletter` (yes/no), `Score` (0-100, a few blanks).
- 5 invalid rows (errors), at these 0-based positions: 17 (email blank), 58 (`jean.martin@exemple`: no
  dot after the @), 133 (email only spaces), 176 (`sofia.garcia.ejemplo.es`: no @), 264
  (`hans..weber@beispiel.de`: two dots in a row). 295 valid rows.
- 1 duplicate email: position 251 repeats position 42's address (other case, trailing space) with a new
  job title (a warning: the later row wins). One valid address is internationalised (position 90,
  `zoë.müller@beispiel.de`, RFC 6531).
- A few blank cells in `Job Title`, `Company` and `Phone`.
"""

from __future__ import annotations

import csv
import random
import sys
import unicodedata
from datetime import date, timedelta
from pathlib import Path

SEED = 20240301
ROWS = 300
COLUMNS = [
    "E-mail Address",
    "First Name",
    "Last Name",
    "Job Title",
    "CRM Lead ID",
    "Company",
    "Country",
    "Phone",
    "Source",
    "Signed Up",
    "Newsletter",
    "Score",
]

PEOPLE = {
    "France": (
        [
            "Élodie",
            "Hélène",
            "François",
            "Jérôme",
            "Cécile",
            "Loïc",
            "Aurélie",
            "Benoît",
            "Chloé",
            "Gaëlle",
            "Théo",
            "Noémie",
            "Amélie",
            "René",
            "Zoé",
            "Anaïs",
            "Maëlle",
            "Inès",
            "Léa",
            "Marie",
            "Jean",
        ],
        [
            "Lefèvre",
            "Dubois",
            "Girard",
            "Martin",
            "Bernard",
            "Rousseau",
            "Moreau",
            "Fabre",
            "Mercier",
            "Chevalier",
            "Lemaître",
            "Faure",
            "Perrin",
        ],
        [
            "Directrice marketing",
            "Chef de projet",
            "Responsable des ventes",
            "Développeur",
            "Chargée de communication",
            "Directeur général",
            "Analyste de données",
        ],
        [
            "Éditions Lumière",
            "Boulangerie Rivière",
            "Atelier Crème",
            "Société Générale d'Électricité",
            "Côté Jardin",
        ],
        "+33 6 {:02d} {:02d} {:02d} {:02d}",
    ),
    "Canada": (
        ["Mathéo", "Frédérique", "Rosalie", "Étienne", "Maxime", "Geneviève", "Stéphane", "Josée", "Noé"],
        [
            "Tremblay",
            "Gagnon",
            "Côté",
            "Bérubé",
            "Lévesque",
            "Fréchette",
            "Bélanger",
            "Thériault",
            "Gélinas",
            "Ouellet",
            "Pelletier",
        ],
        [
            "Conseillère en marketing",
            "Gestionnaire de comptes",
            "Programmeur-analyste",
            "Directrice des ventes",
        ],
        ["Érablière Saint-Côme", "Québec Numérique", "Les Éditions du Fleuve", "Boréal Conseil"],
        "+1 514 555 {:02d}{:02d}",
    ),
    "Spain": (
        [
            "José",
            "María",
            "Sofía",
            "Andrés",
            "Lucía",
            "Martín",
            "Ramón",
            "Begoña",
            "Íñigo",
            "Núria",
            "Álvaro",
            "Jesús",
        ],
        ["García", "Martínez", "Pérez", "López", "Sánchez", "Muñoz", "Gómez", "Jiménez", "Núñez", "Ibáñez"],
        ["Jefa de ventas", "Ingeniero de software", "Directora de marketing", "Analista de datos", "Gerente"],
        ["Café Olé SL", "Construcciones Peñalara", "Música Andaluza SA", "Logística Ibérica"],
        "+34 6{:02d} {:02d} {:02d} {:02d}",
    ),
    "Germany": (
        [
            "Jürgen",
            "Günther",
            "Jörg",
            "Björn",
            "Käthe",
            "Lukas",
            "Anna",
            "Sören",
            "Mia",
            "Felix",
            "Hans",
            "Zoë",
        ],
        [
            "Müller",
            "Schäfer",
            "Weiß",
            "Köhler",
            "Groß",
            "Schröder",
            "Böhm",
            "Krüger",
            "Hoffmann",
            "Vogel",
            "Weber",
        ],
        ["Vertriebsleiter", "Geschäftsführerin", "Softwareentwickler", "Marketingleiterin", "Einkäufer"],
        ["Müller & Söhne GmbH", "Bäckerei Groß", "Schön Software AG", "Grünwald Logistik"],
        "+49 151 {:02d}{:02d}{:02d}{:02d}",
    ),
}
DOMAINS = {
    "France": ["exemple.fr", "courriel.fr"],
    "Canada": ["exemple.ca", "quebec-numerique.ca"],
    "Spain": ["ejemplo.es", "correo.es"],
    "Germany": ["beispiel.de", "post.de"],
}
SOURCES = ["Webinar", "Salon", "Formulaire web", "LinkedIn", "Recommandation", "Newsletter"]

BLANK_EMAIL = 17
MALFORMED = {58: "jean.martin@exemple", 176: "sofia.garcia.ejemplo.es", 264: "hans..weber@beispiel.de"}
SPACES_EMAIL = 133
DUPLICATE = (42, 251)
INTERNATIONAL = 90


def ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


def make_rows(rows: int = ROWS, seed: int = SEED) -> list[dict[str, str]]:
    """The leads, as CSV cells (text), deterministic for a given seed."""
    rng = random.Random(seed)
    seen: set[str] = set()
    ids = rng.sample(range(10_000, 99_999), rows)
    result = []
    for position in range(rows):
        country = rng.choice(list(PEOPLE))
        firsts, lasts, titles, companies, phone = PEOPLE[country]
        first, last = rng.choice(firsts), rng.choice(lasts)
        local = f"{ascii_slug(first)}.{ascii_slug(last)}"
        email = f"{local}@{rng.choice(DOMAINS[country])}"
        suffix = 2
        while email.lower() in seen:
            email = f"{local}{suffix}@{rng.choice(DOMAINS[country])}"
            suffix += 1
        seen.add(email.lower())
        signed_up = date(2023, 1, 1) + timedelta(days=rng.randrange(700))
        result.append(
            {
                "E-mail Address": email,
                "First Name": first,
                "Last Name": last,
                "Job Title": "" if rng.random() < 0.05 else rng.choice(titles),
                "CRM Lead ID": "" if rng.random() < 0.08 else str(ids[position]),
                "Company": "" if rng.random() < 0.04 else rng.choice(companies),
                "Country": country,
                "Phone": "" if rng.random() < 0.1 else phone.format(*(rng.randrange(100) for _ in range(4))),
                "Source": rng.choice(SOURCES),
                "Signed Up": signed_up.isoformat(),
                "Newsletter": rng.choice(["yes", "no"]),
                "Score": "" if rng.random() < 0.03 else str(rng.randrange(101)),
            }
        )
    if rows > max(MALFORMED):
        result[BLANK_EMAIL]["E-mail Address"] = ""
        result[SPACES_EMAIL]["E-mail Address"] = "   "
        for position, email in MALFORMED.items():
            result[position]["E-mail Address"] = email
        first, later = DUPLICATE
        # The same person later, with a new job title: an update of the earlier row.
        result[later] = {
            **result[first],
            "E-mail Address": result[first]["E-mail Address"].title() + " ",
            "Job Title": "Directrice des ventes",
            "CRM Lead ID": result[later]["CRM Lead ID"],
        }
        result[INTERNATIONAL].update(
            {
                "First Name": "Zoë",
                "Last Name": "Müller",
                "Country": "Germany",
                "E-mail Address": "zoë.müller@beispiel.de",
                "Job Title": "Einkäuferin",
                "Company": "Schön Software AG",
                "Phone": "+49 151 12345678",
            }
        )
    return result


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path(__file__).with_name("leads.csv")
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(make_rows())
    print(f"wrote {ROWS} leads to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
