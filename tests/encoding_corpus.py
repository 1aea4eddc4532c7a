"""A corpus of lead files as Excel and CRMs write them: the same leads in 13 languages and 10 encodings.

Deterministic (seeded, no network): `cases(...)` yields `Case`s, each the bytes of one CSV file and the exact
text it holds, so that `tests/test_encoding_corpus.py` (a sample) and `benchmarks/encodings.py` (the matrix)
judge the reader on the same files.

- languages: French, German, Spanish, Portuguese, Italian, Dutch, Scandinavian (Swedish, Danish, Norwegian,
  Finnish), Polish, Czech, Hungarian, Turkish, plain ASCII, and two mixed lists (Western Europe; Central
  Europe with German);
- encodings: UTF-8, UTF-8 with BOM, UTF-16 LE and BE with BOM, Windows-1252, ISO-8859-1, ISO-8859-15,
  Windows-1250, Mac Roman, Windows-1254; only where the encoding can write every letter of the language
  (`pairs()`);
- delimiters `,` `;` tab `|`; any number of rows;
- density: `dense`, accented names on every row (a French trade-show list: `Élodie`, `Lefèvre`, `Thérèse`,
  `Raphaël` on every line), or `sparse`, 3 accented rows in 5,000 (at least one), the others plain ASCII
  names of the same language.

Each file has a header (`email` and English names), quoted fields where the delimiter or a quote appears in a
value (`Dupont, Fils & Cie`), ASCII emails, and Excel's CRLF line ends.

Example:
    >>> case = next(cases(languages=["French"], encodings=["cp1252"], delimiters=[";"], sizes=[5]))
    >>> case.data.decode("cp1252") == case.text, case.header[:3], case.rows[0][1:3]
    (True, ('email', 'first_name', 'last_name'), ('Thérèse', 'Côté'))
    >>> judge(case).verdict
    'right'
"""

from __future__ import annotations

import codecs
import csv
import io
import random
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import pandas as pd

Density = Literal["dense", "sparse"]
Verdict = Literal["right", "flagged", "flagged, no reading right", "refused", "silently wrong"]

HEADER: Final = ("email", "first_name", "last_name", "company", "city", "job_title")
DELIMITERS: Final = (",", ";", "\t", "|")
DENSITIES: Final[tuple[Density, ...]] = ("dense", "sparse")
SPARSE_PER: Final = (3, 5000)  # accented rows per rows, in a sparse file
SEED: Final = 16

# The encodings, by the name a case carries, and how to write them (a BOM where the name says so).
ENCODINGS: Final = {
    "utf-8": ("utf-8", b""),
    "utf-8-sig": ("utf-8", codecs.BOM_UTF8),
    "utf-16-le-bom": ("utf-16-le", codecs.BOM_UTF16_LE),
    "utf-16-be-bom": ("utf-16-be", codecs.BOM_UTF16_BE),
    "cp1252": ("cp1252", b""),
    "iso8859-1": ("iso8859-1", b""),
    "iso8859-15": ("iso8859-15", b""),
    "cp1250": ("cp1250", b""),
    "mac-roman": ("mac_roman", b""),
    "cp1254": ("cp1254", b""),
}
UNICODE: Final = ("utf-8", "utf-8-sig", "utf-16-le-bom", "utf-16-be-bom")
# Windows-1254 is written for Turkish only: for the other languages it is Windows-1252 byte for byte.
ONLY_FOR: Final = {"cp1254": frozenset({"Turkish"})}


@dataclass(frozen=True)
class Pool:
    """The words of one language: accented ones (every accented row draws its names from these) and plain ones."""

    first: Sequence[str]
    last: Sequence[str]
    first_plain: Sequence[str]
    last_plain: Sequence[str]
    companies: Sequence[str]
    companies_plain: Sequence[str]
    cities: Sequence[str]
    cities_plain: Sequence[str]
    titles: Sequence[str]
    titles_plain: Sequence[str]
    tld: str


def _split(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split("/"))


POOLS: Final[dict[str, Pool]] = {
    "French": Pool(
        first=_split(
            "Élodie / Thérèse / Raphaël / Hélène / Benoît / Gaëlle / Jérôme / Françoise / Anaïs / Cécile"
        ),
        last=_split(
            "Lefèvre / Bérenger / Gagné / Lemaître / Côté / Ménard / Hébert / Château / Bézier / Müller"
        ),
        first_plain=_split("Jean / Marie / Pierre / Sophie / Nicolas / Claire / Julien / Camille"),
        last_plain=_split("Martin / Bernard / Dubois / Moreau / Laurent / Simon / Michel / Garnier"),
        companies=_split(
            'Société Générale / Crédit Agricole / Hôtel Ibis / Dupont, Fils & Cie / Café "Le Zèbre"'
        ),
        companies_plain=_split("Orange / Danone / Michelin / Dupont, Fils & Cie / Renault"),
        cities=_split("Besançon / Orléans / Nîmes / Périgueux / Angoulême / Saint-Étienne / Montréal"),
        cities_plain=_split("Paris / Lyon / Marseille / Toulouse / Nantes / Lille"),
        titles=_split("Directrice générale / Chargée d'affaires / Ingénieur études / Responsable sécurité"),
        titles_plain=_split("Acheteur / Responsable marketing / Directeur commercial / Consultant"),
        tld="fr",
    ),
    "German": Pool(
        first=_split("Jürgen / Jörg / Björn / Günther / Bärbel / Sönke / Hansjörg / Dörte / Käthe / Jürgen"),
        last=_split("Müller / Schröder / Groß / Köhler / Böhm / Weiß / Krüger / Jäger / Fuß / Strauß"),
        first_plain=_split("Hans / Anna / Klaus / Petra / Stefan / Sabine / Thomas / Monika"),
        last_plain=_split("Schmidt / Schneider / Fischer / Wagner / Becker / Hoffmann / Schulz / Koch"),
        companies=_split(
            "Bäckerei Müller / Süßwaren GmbH / Gebrüder Öhler KG / Möbel Höffner / Straßenbau AG"
        ),
        companies_plain=_split("Siemens AG / Bosch GmbH / Allianz / Schmidt, Wagner & Partner / Henkel"),
        cities=_split("München / Köln / Düsseldorf / Nürnberg / Lübeck / Würzburg / Osnabrück"),
        cities_plain=_split("Berlin / Hamburg / Frankfurt / Stuttgart / Bremen / Dresden"),
        titles=_split("Geschäftsführer / Vertriebsleiterin / Einkäufer / Prüfingenieur / Bürokauffrau"),
        titles_plain=_split("Vertriebsleiter / Einkaufsleiterin / Projektmanager / Berater"),
        tld="de",
    ),
    "Spanish": Pool(
        first=_split("José / María / Íñigo / Begoña / Jesús / Inés / Ramón / Mónica / Raúl / Ángela"),
        last=_split("Muñoz / Peña / Ibáñez / Núñez / Gómez / Martínez / Sánchez / Rodríguez / Fernández"),
        first_plain=_split("Carlos / Ana / Pablo / Lucia / Miguel / Elena / Javier / Carmen"),
        last_plain=_split("Garcia / Lopez / Perez / Romero / Navarro / Torres / Ruiz / Moreno"),
        companies=_split(
            "Telefónica / Construcciones Peña, S.A. / Panadería La Española / Compañía Logística"
        ),
        companies_plain=_split("Iberdrola / Mapfre / Inditex / Grupo Torres, S.L. / Repsol"),
        cities=_split("Málaga / Córdoba / León / Cádiz / San Sebastián / Logroño / Ávila"),
        cities_plain=_split("Madrid / Barcelona / Valencia / Sevilla / Bilbao / Zaragoza"),
        titles=_split("Director Técnico / Jefa de Producción / Ingeniera Química / Técnico Comercial"),
        titles_plain=_split("Director Comercial / Gerente / Jefe de Compras / Consultora"),
        tld="es",
    ),
    "Portuguese": Pool(
        first=_split(
            "João / Conceição / Sebastião / Inês / Estêvão / Lúcia / Antônio / Flávia / Gonçalo / Tânia"
        ),
        last=_split("Gonçalves / Simões / Magalhães / Araújo / Brandão / Guimarães / Conceição / Falcão"),
        first_plain=_split("Pedro / Ana / Rui / Maria / Tiago / Carla / Paulo / Sofia"),
        last_plain=_split("Silva / Santos / Ferreira / Pereira / Costa / Oliveira / Rodrigues / Alves"),
        companies=_split(
            "Construções Simões / Padaria São Jorge / Distribuição Lusitânia, Lda. / Café Atlântico"
        ),
        companies_plain=_split("Sonae / Galp / Jeronimo Martins / Costa, Silva & Filhos / Navigator"),
        cities=_split("Lisboa / São Paulo / Évora / Guimarães / Braga / Setúbal / Maceió"),
        cities_plain=_split("Porto / Coimbra / Faro / Aveiro / Viseu / Leiria"),
        titles=_split(
            "Diretora Comercial / Gestor de Projetos / Técnico de Manutenção / Assistente Jurídica"
        ),
        titles_plain=_split("Gerente / Consultor / Diretor de Compras / Analista"),
        tld="pt",
    ),
    "Italian": Pool(
        first=_split("Niccolò / Nicolò / Giosuè / Noè / Mosè / Niccolò / Nicolò / Giosuè"),
        last=_split("Cantù / Lucà / Zappalà / D'Alò / Patanè / Pirrò / Gallò / Forlì"),
        first_plain=_split("Marco / Giulia / Luca / Francesca / Matteo / Chiara / Davide / Elena"),
        last_plain=_split("Rossi / Russo / Ferrari / Esposito / Bianchi / Romano / Colombo / Ricci"),
        companies=_split("Città Nuova S.p.A. / Caffè Società / Pasticceria Però / Vinicola Cantù, S.r.l."),
        companies_plain=_split("Fiat / Barilla / Luxottica / Rossi, Bianchi & Figli / Pirelli"),
        cities=_split("Forlì / Cantù / Cefalù / Sassuolo / Mondovì / Santa Maria Capua Vetere / Paternò"),
        cities_plain=_split("Roma / Milano / Napoli / Torino / Bologna / Firenze"),
        titles=_split("Responsabile Qualità / Direttore Attività / Addetta Sicurezza / Capo Unità"),
        titles_plain=_split("Direttore Commerciale / Responsabile Acquisti / Consulente / Ingegnere"),
        tld="it",
    ),
    "Dutch": Pool(
        first=_split("Daniël / Eloïse / Gaëlle / Joëlle / Noël / Anaïs / Zoë / Raphaël / Michaël / Chloë"),
        last=_split("Daniëls / Noël / de Vries / Janssens / Peeters / Maes"),
        first_plain=_split("Jan / Sanne / Pieter / Lotte / Bram / Femke / Sem / Anouk"),
        last_plain=_split("de Jong / Jansen / de Vries / van den Berg / Bakker / Visser / Smit / Meijer"),
        companies=_split(
            "Coöperatie Rabobank / Geïntegreerde Zorg / Café 't Hoekje / Financiële Diensten, B.V."
        ),
        companies_plain=_split("Philips / Heineken / Ahold Delhaize / Jansen, Smit & Zonen / Unilever"),
        cities=_split("Curaçao / Liège / Genève / Zürich / Roermond / Den Haag"),
        cities_plain=_split("Amsterdam / Rotterdam / Utrecht / Eindhoven / Groningen / Tilburg"),
        titles=_split(
            "Coördinator Verkoop / Financieel Adviseur / Reïntegratiecoach / Medewerker Coöperatie"
        ),
        titles_plain=_split("Accountmanager / Inkoper / Directeur / Projectleider"),
        tld="nl",
    ),
    "Scandinavian": Pool(
        first=_split("Søren / Åse / Bjørn / Ørjan / Märta / Åsa / Jörgen / Päivi / Jyrki / Sæmund"),
        last=_split("Kærgaard / Sørensen / Åberg / Lindström / Ødegård / Mäkinen / Hämäläinen / Bjørnstad"),
        first_plain=_split("Lars / Ingrid / Erik / Karin / Anders / Sofie / Mikko / Anna"),
        last_plain=_split("Hansen / Johansson / Larsen / Nilsson / Olsen / Virtanen / Berg / Lund"),
        companies=_split("Søstrene Grene / Åhléns AB / Kjøbenhavns Bryggeri / Fazer Leipomot, Oy"),
        companies_plain=_split("Volvo / Nokia / Maersk / Hansen, Berg & Co / Equinor"),
        cities=_split("Malmö / Göteborg / Tromsø / Århus / Jyväskylä / Köge / Bodø"),
        cities_plain=_split("Oslo / Stockholm / Helsinki / Bergen / Uppsala / Odense"),
        titles=_split("Försäljningschef / Økonomisjef / Innkjøpssjef / Myyntipäällikkö / Säljare"),
        titles_plain=_split("Salgschef / Projektleder / Konsult / Direktor"),
        tld="se",
    ),
    "Polish": Pool(
        first=_split("Łukasz / Małgorzata / Józef / Michał / Wojciech / Grażyna / Paweł / Bożena / Jędrzej"),
        last=_split("Wójcik / Żak / Kowalczyk / Wiśniewski / Dąbrowski / Łęcka / Sołtysiak / Gąsiorowski"),
        first_plain=_split("Jan / Anna / Piotr / Katarzyna / Marek / Ewa / Tomasz / Agnieszka"),
        last_plain=_split("Nowak / Kowalski / Kaminski / Lewandowski / Zielinski / Szymanski / Mazur"),
        companies=_split("Przedsiębiorstwo Łódź / Spółdzielnia Mleczarska / Zakłady Mięsne, Sp. z o.o."),
        companies_plain=_split("Orlen / Allegro / Asseco / Nowak, Mazur i Wspolnicy / Comarch"),
        cities=_split("Łódź / Kraków / Gdańsk / Poznań / Wrocław / Białystok / Świnoujście"),
        cities_plain=_split("Warszawa / Lublin / Katowice / Szczecin / Radom / Opole"),
        titles=_split("Główny Księgowy / Kierownik Sprzedaży / Dyrektor Handlowy / Specjalista ds. Zakupów"),
        titles_plain=_split("Dyrektor / Prezes Zarzadu / Konsultant / Analityk"),
        tld="pl",
    ),
    "Czech": Pool(
        first=_split("Jiří / Růžena / Tomáš / Kateřina / Lukáš / Zdeněk / Dagmar / Věra / Přemysl / Hana"),
        last=_split("Dvořáková / Černý / Novotný / Procházka / Kučera / Veselý / Horák / Němec / Růžička"),
        first_plain=_split("Jan / Petra / Martin / Jana / Pavel / Eva / Karel / Lenka"),
        last_plain=_split("Novak / Svoboda / Dvorak / Marek / Pokorny / Fiala / Kral / Benes"),
        companies=_split(
            "Stavební společnost / Pivovar Třeboň / Řeznictví U Nádraží, s.r.o. / Účetní služby"
        ),
        companies_plain=_split("Skoda / CEZ / Avast / Novak, Fiala a spol. / Kofola"),
        cities=_split("Plzeň / Brno / České Budějovice / Ústí nad Labem / Třebíč / Olomouc"),
        cities_plain=_split("Praha / Ostrava / Liberec / Kladno / Zlin / Opava"),
        titles=_split("Obchodní ředitel / Vedoucí nákupu / Účetní / Technický pracovník"),
        titles_plain=_split("Manager / Konzultant / Analytik / Specialista"),
        tld="cz",
    ),
    "Hungarian": Pool(
        first=_split("Éva / Gábor / Zsófia / Ildikó / Gyöngyi / Ádám / Erzsébet / Lőrinc / Tünde / Győző"),
        last=_split("Erdős / Szűcs / Kovács / Pál / Tóth / Szabó / Fehér / Bíró / Kőszegi / Gulyás"),
        first_plain=_split("Anna / Peter / Laszlo / Eszter / Istvan / Katalin / Zoltan / Judit"),
        last_plain=_split("Nagy / Horvath / Varga / Kiss / Molnar / Nemeth / Farkas / Balogh"),
        companies=_split("Győri Keksz Kft. / Szegedi Paprika Zrt. / Bőrdíszmű Bt. / Füszért, Kft."),
        companies_plain=_split("MOL / OTP Bank / Richter Gedeon / Nagy, Kiss es Tarsa / Zwack"),
        cities=_split("Győr / Pécs / Székesfehérvár / Kecskemét / Nyíregyháza / Hódmezővásárhely"),
        cities_plain=_split("Budapest / Debrecen / Szeged / Miskolc / Eger / Sopron"),
        titles=_split("Értékesítési vezető / Ügyvezető igazgató / Beszerzési előadó / Könyvelő"),
        titles_plain=_split("Igazgato / Tanacsado / Manager / Elemzo"),
        tld="hu",
    ),
    "Turkish": Pool(
        first=_split("Şükrü / Ayşe / İsmail / Gülşen / Çağrı / Doğan / Ilgın / Özlem / Ömer / Tuğba"),
        last=_split("Yılmaz / Doğan / Şahin / Çelik / Öztürk / Aydın / Kılıç / Güneş / Yıldız / Ateş"),
        first_plain=_split("Ali / Zeynep / Murat / Elif / Emre / Fatma / Kemal / Deniz"),
        last_plain=_split("Kaya / Demir / Arslan / Polat / Kurt / Aslan / Koc / Tekin"),
        companies=_split("Koç Holding / Şişecam / Türk Hava Yolları / Ülker Bisküvi, A.Ş."),
        companies_plain=_split("Arcelik / Turkcell / Vestel / Kaya, Demir ve Ortaklari / Tofas"),
        cities=_split("İstanbul / İzmir / Eskişehir / Şanlıurfa / Muğla / Çanakkale / Diyarbakır"),
        cities_plain=_split("Ankara / Bursa / Antalya / Konya / Adana / Kayseri"),
        titles=_split("Satış Müdürü / Genel Müdür / Satın Alma Uzmanı / Muhasebeci / Yazılım Mühendisi"),
        titles_plain=_split("Direktor / Analist / Konsultan / Koordinator"),
        tld="com.tr",
    ),
    "ASCII": Pool(
        first=_split("John / Mary / Robert / Linda / Michael / Susan / David / Karen"),
        last=_split("Smith / Johnson / Williams / Brown / Jones / Miller / Davis / Wilson"),
        first_plain=_split("James / Patricia / William / Jennifer / Richard / Elizabeth"),
        last_plain=_split("Taylor / Anderson / Thomas / Jackson / White / Harris"),
        companies=_split('Acme Corp / Smith, Jones & Co / Initech / "Best" Widgets Ltd / Globex'),
        companies_plain=_split("Acme Corp / Initech / Globex / Umbrella Inc / Hooli"),
        cities=_split("London / Boston / Dublin / Chicago / Leeds / Denver"),
        cities_plain=_split("Austin / Seattle / Bristol / Glasgow / Phoenix / Dallas"),
        titles=_split("Sales Director / Head of Purchasing / CTO / Marketing Manager"),
        titles_plain=_split("Buyer / Consultant / Analyst / Account Manager"),
        tld="com",
    ),
}
# Lists that hold several languages, row by row.
MIXED: Final = {
    "Western mix": ("French", "German", "Spanish", "Portuguese", "Italian", "Dutch", "Scandinavian"),
    "Central mix": ("Polish", "Czech", "Hungarian", "German"),
}
LANGUAGES: Final = (*POOLS, *MIXED)
WESTERN: Final = frozenset(
    {"French", "German", "Spanish", "Portuguese", "Italian", "Dutch", "Scandinavian", "ASCII", "Western mix"}
)

_TRANSLITERATE: Final = str.maketrans(
    {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "ı": "i", "æ": "ae"}
)


@dataclass(frozen=True)
class Case:
    """One file of the corpus: its bytes and the exact text of every cell.

    Attributes:
        language, encoding, delimiter, density: what it is (`encoding` a key of `ENCODINGS`).
        data: the file's bytes.
        text: the whole file decoded as written.
        header, rows: every cell, as `read_leads` must give them.
    """

    language: str
    encoding: str
    delimiter: str
    density: Density
    data: bytes
    text: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @property
    def size(self) -> int:
        return len(self.rows)

    @property
    def name(self) -> str:
        """A file name for `read_leads(..., name=)`: `.txt` for tabs, as Excel's "Unicode text" names it."""
        return "leads.txt" if self.delimiter == "\t" else "leads.csv"

    @property
    def id(self) -> str:
        shown = {"\t": "tab", "|": "pipe", ",": "comma", ";": "semicolon"}[self.delimiter]
        return f"{self.language}-{self.encoding}-{shown}-{self.size}-{self.density}".replace(" ", "_")

    def expected_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.rows), columns=list(self.header), dtype=str)


def words(language: str) -> Iterator[str]:
    """Every word a language's rows may hold."""
    for name in MIXED.get(language, (language,)):
        pool = POOLS[name]
        for values in (
            pool.first,
            pool.last,
            pool.first_plain,
            pool.last_plain,
            pool.companies,
            pool.companies_plain,
            pool.cities,
            pool.cities_plain,
            pool.titles,
            pool.titles_plain,
        ):
            yield from values


def can_write(language: str, encoding: str) -> bool:
    """Whether the encoding has every letter of the language (and is written for it)."""
    if encoding in ONLY_FOR and language not in ONLY_FOR[encoding]:
        return False
    codec = ENCODINGS[encoding][0]
    try:
        for word in words(language):
            word.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def pairs(
    languages: Iterable[str] = LANGUAGES, encodings: Iterable[str] = ENCODINGS
) -> Iterator[tuple[str, str]]:
    """Every (language, encoding) that the encoding can write."""
    encodings = list(encodings)
    for language in languages:
        for encoding in encodings:
            if can_write(language, encoding):
                yield language, encoding


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
    return "".join(c for c in plain if c.isascii() and (c.isalnum() or c in ".-")).lower()


def leads(language: str, size: int, density: Density, *, seed: int = SEED) -> tuple[tuple[str, ...], ...]:
    """`size` rows of leads in a language (a mixed list cycles its languages), the same for every encoding."""
    rng = random.Random(f"{seed}:{language}:{size}:{density}")
    names = MIXED.get(language, (language,))
    if density == "dense":
        accented = set(range(size))
    else:
        count = max(1, size * SPARSE_PER[0] // SPARSE_PER[1])
        accented = set(rng.sample(range(size), min(count, size)))
    rows = []
    for index in range(size):
        pool = POOLS[names[index % len(names)]]
        if index in accented:
            first, last = rng.choice(pool.first), rng.choice(pool.last)
            company, city, title = (
                rng.choice(pool.companies),
                rng.choice(pool.cities),
                rng.choice(pool.titles),
            )
        else:
            first, last = rng.choice(pool.first_plain), rng.choice(pool.last_plain)
            company, city = rng.choice(pool.companies_plain), rng.choice(pool.cities_plain)
            title = rng.choice(pool.titles_plain)
        email = f"{_ascii(first)}.{_ascii(last).replace(' ', '')}{index}@example.{pool.tld}"
        rows.append((email, first, last, company, city, title))
    return tuple(rows)


def render(header: Sequence[str], rows: Iterable[Sequence[str]], delimiter: str) -> str:
    """CSV as Excel writes it: quotes only where needed, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def encode(text: str, encoding: str) -> bytes:
    codec, bom = ENCODINGS[encoding]
    return bom + text.encode(codec)


def make_case(language: str, encoding: str, delimiter: str, size: int, density: Density) -> Case:
    rows = leads(language, size, density)
    text = render(HEADER, rows, delimiter)
    return Case(language, encoding, delimiter, density, encode(text, encoding), text, HEADER, rows)


def cases(
    *,
    languages: Iterable[str] = LANGUAGES,
    encodings: Iterable[str] = ENCODINGS,
    delimiters: Iterable[str] = DELIMITERS,
    sizes: Iterable[int] = (5, 500, 5000),
    densities: Iterable[Density] = DENSITIES,
) -> Iterator[Case]:
    """Every file of the corpus in the given ranges, for the pairs the encoding can write; in a fixed order."""
    delimiters, sizes, densities = list(delimiters), list(sizes), list(densities)
    for language, encoding in pairs(languages, encodings):
        for delimiter in delimiters:
            for size in sizes:
                for density in densities:
                    if density == "sparse" and language == "ASCII":
                        continue  # every ASCII row is plain: sparse would be the same file as dense
                    yield make_case(language, encoding, delimiter, size, density)


def large_file_text(rows: int, *, seed: int = SEED) -> str:
    """A French and German export with 8 columns (`;`), as the speed benchmark reads it: names accented on
    one row in ten."""
    rng = random.Random(seed)
    french, german = POOLS["French"], POOLS["German"]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow((*HEADER, "phone", "country"))
    for index in range(rows):
        pool, country = (french, "France") if index % 2 else (german, "Deutschland")
        accented = index % 10 < 1
        first = rng.choice(pool.first if accented else pool.first_plain)
        last = rng.choice(pool.last if accented else pool.last_plain)
        writer.writerow(
            (
                f"lead{index}@example.{pool.tld}",
                first,
                last,
                rng.choice(pool.companies_plain),
                rng.choice(pool.cities),
                rng.choice(pool.titles),
                f"+33 6 {rng.randrange(10**8):08d}",
                country,
            )
        )
    return out.getvalue()


@dataclass(frozen=True)
class Outcome:
    """How the reader did on one case.

    `verdict`: `right` (every cell exact), `flagged` (not exact, but the guess is said to be ambiguous and one
    of its alternatives reads the exact text), `flagged, no reading right`, `refused` (the reader raised),
    or `silently wrong` (wrong text and nothing said).
    """

    verdict: Verdict
    encoding: str | None
    ambiguous: bool
    difference: str | None = None  # the first cell that differs, or the error


def first_difference(case: Case, frame: pd.DataFrame) -> str | None:
    """None when the frame holds exactly the case's header and cells; else where it first differs."""
    if list(frame.columns) != list(case.header):
        return f"header {list(frame.columns)!r} != {list(case.header)!r}"
    if len(frame) != len(case.rows):
        return f"{len(frame)} rows != {len(case.rows)}"
    got = frame.to_numpy(dtype=object).tolist()
    for index, (row, expected) in enumerate(zip(got, case.rows, strict=True)):
        if tuple(row) != expected:
            for column, (value, want) in enumerate(zip(row, expected, strict=True)):
                if value != want:
                    return f"row {index}, {case.header[column]}: {value!r} != {want!r}"
    return None


def judge(case: Case, read: Any = None) -> Outcome:
    """Read the case's bytes with `read_leads` (no options) and judge every cell.

    `read`: the reader (default `publitrac.read_leads`); an older reader's `LeadFile` may lack
    `encoding_ambiguous` and `alternatives`, which then count as False and none.
    """
    import warnings

    if read is None:
        import publitrac

        read = publitrac.read_leads
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ambiguity is judged from the LeadFile, not the warning
        try:
            leads = read(case.data, name=case.name)
        except Exception as exc:  # noqa: BLE001  (a refusal is an outcome, whatever its type)
            return Outcome("refused", None, False, f"{type(exc).__name__}: {exc}")
    ambiguous = bool(getattr(leads, "encoding_ambiguous", False))
    encoding = getattr(leads, "encoding", None)
    difference = first_difference(case, leads.frame)
    if difference is None:
        return Outcome("right", encoding, ambiguous)
    if not ambiguous:
        return Outcome("silently wrong", encoding, False, difference)
    for alternative in getattr(leads, "alternatives", ()):
        try:
            if case.data.decode(alternative.encoding) == case.text:
                return Outcome("flagged", encoding, True, difference)
        except UnicodeDecodeError:
            continue
    return Outcome("flagged, no reading right", encoding, True, difference)
