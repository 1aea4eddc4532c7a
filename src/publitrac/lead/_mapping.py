"""Which DataFrame column goes where in a lead: `leadInfo` fields, custom fields, or nowhere.

The standard fields are read from the spec (`LeadInfo` in `openapi.yaml`), so adding a field there is
enough for a column of that name to be mapped to it. Columns are matched by *normalised* name: case,
accents, spaces, `_`, `-` and `.` are ignored, so `First Name`, `first_name` and `FirstName` all map to
`firstName`, `CRM Lead ID` to `crmLeadId`.

Rules, in order:

1. The email column is `email=` when given; else a column named `email` (normalised: `Email`, `E-mail`,
   `e_mail`) if there is exactly one; else exactly one column with another common name for an email
   address (`E-mail Address`, `Mail`, `Courriel`, `Adresse électronique`, `Correo electrónico`,
   `E-Mail-Adresse`, `E-post`, `Sähköposti`, `Adres e-mail`...). Several candidates at the same level, or
   none, raise `ConfigurationError`: pass `email=`.
2. `mapping={column: field}` maps columns explicitly (`field` must be a `leadInfo` field of the spec);
   `None` or `"ignore"` drops a column that would otherwise be detected. Explicit choices beat detection.
3. Every other column whose normalised name is a `leadInfo` field's is mapped to it.
4. A field still free takes the column named for it in a European export (`_FIELD_ALIASES`: French,
   German, Spanish, Portuguese, Italian, Dutch, Swedish, Danish, Norwegian, Finnish, Polish, Czech,
   Hungarian, Turkish):
   `Prénom`, `Vorname`, `Voornaam`, `Imię` -> `firstName`; `Nachname`, `Apellido(s)`, `Cognome`,
   `Příjmení` -> `lastName`; `Fonction`, `Position`, `Cargo`, `Functie`, `Stanowisko` -> `jobTitle`;
   `Lead ID`, `Salesforce ID`, `ID du prospect` -> `crmLeadId`. A word is an alias only when, as a lead
   export's header, it almost always means that field: German `Name` and `Titel` (`Dr.` as often as a
   job) and French `Titre` (`Mme`) are not. Aliases only serve fields of the spec: it has no company
   field, so `Société`, `Firma`, `Empresa` are not sent unless asked (rule 6).
5. Then the words that are a name only beside the other name (`_PAIRED_ALIASES`): French `Nom` is the
   last name when another column is mapped to `firstName` (`Prénom`), and may be the whole name
   otherwise; Spanish `Nombre`, Italian and Portuguese `Nome`, Czech `Jméno` and Turkish `Ad`, `Adı`, `İsim`
   are the first name when another column is mapped to `lastName`. Alone, they are not sent.

   In rules 2 to 5 a better match wins (an explicit choice, the exact name, an alias, a paired word, in
   that order): the columns it beats are not sent. Two columns for one field at the same level
   (`First Name` and `first_name`, `Vorname` and `Prénom`) raise `ConfigurationError` naming both and the
   `mapping=` that keeps one, as two email columns do.
6. Custom fields are only the ones asked for: a list of columns (named after the column, stripped), a dict
   `{column: custom field name}`, or `"all"` (every column not mapped above nor ignored in `mapping`).
7. Every remaining column is `ignored`: it is never sent.
"""

from __future__ import annotations

import difflib
import html
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal, NamedTuple

from .. import _spec
from .._exceptions import ConfigurationError
from ._values import custom_field_types, lead_info_types
from .._words import Setting

__all__ = ["ALL", "EMAIL_FIELD", "FieldPlan", "LeadMapping", "field_plan", "map_columns", "normalise_name"]

ALL: Final = "all"
"""`custom_fields=ALL`: every column not mapped to a standard field becomes a custom field."""

EMAIL_FIELD: Final = "email"
"""The `leadInfo` field that identifies a lead (required by the spec)."""

IGNORE: Final = "ignore"

# Other names people give to an email column, normalised (see `normalise_name`). A column normalised to
# exactly "email" is preferred to these (tier 0 versus tier 1).
_EMAIL_ALIASES: Final = frozenset(
    {
        "emailaddress",
        "emailadress",
        "emailaddr",
        "mail",
        "mailaddress",
        "mailadress",
        "courriel",
        "adressecourriel",
        "adressedecourriel",
        "adresseelectronique",
        "adresseemail",
        "adressemail",
        "adressedemessagerie",
        "correo",
        "correoelectronico",
        "direcciondecorreo",
        "direcciondecorreoelectronico",
        "direccionemail",
        "emailadresse",
        "mailadresse",
        "emailadres",
        "indirizzoemail",
        "postaelettronica",
        "enderecodeemail",
        "enderecoemail",
        "epost",
        "epostadress",
        "epostadresse",
        "sahkoposti",
        "sahkopostiosoite",
        "adresemail",
        "emailovaadresa",
        "emailcim",
        "eposta",
        "epostaadresi",
    }
)
_IGNORED_CHARACTERS: Final = re.compile(r"[\s_\-.]+")

# The headers European exports give to standard fields, normalised, by field. A field that is not in the spec is
# skipped. A word is here only when, as a lead export's header, it almost always means the field; words that
# also mean something else are left out (German `Name` and `Titel`, French `Titre`, Italian `Posizione`,
# Finnish `Tehtävä`), so that a column is never sent to the wrong field: an unmapped one is at worst not sent.
_FIELD_ALIASES: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "firstName": frozenset(
            {
                "prenom",  # fr
                "vorname",  # de
                "nombredepila",  # es
                "primeironome",  # pt
                "voornaam",  # nl
                "fornamn",  # sv (Förnamn)
                "fornavn",  # da, no
                "etunimi",  # fi
                "imie",  # pl (Imię)
                "krestnijmeno",  # cs (Křestní jméno)
                "keresztnev",  # hu (Keresztnév)
                "utonev",
            }
        ),
        "lastName": frozenset(
            {
                "nomdefamille",  # fr
                "nomfamille",
                "nachname",  # de
                "familienname",
                "zuname",
                "apellido",  # es
                "apellidos",
                "apellido(s)",
                "sobrenome",  # pt-BR
                "apelido",  # pt-PT
                "ultimonome",
                "cognome",  # it
                "achternaam",  # nl
                "efternamn",  # sv
                "efternavn",  # da
                "etternavn",  # no
                "sukunimi",  # fi
                "nazwisko",  # pl
                "prijmeni",  # cs (Příjmení)
                "vezeteknev",  # hu (Vezetéknév)
                "csaladnev",
                "soyadı",  # tr (Soyadı)
                "soyad",
            }
        ),
        "jobTitle": frozenset(
            {
                "fonction",  # fr
                "poste",
                "intituledeposte",
                "intituleduposte",
                "titredeposte",
                "titreduposte",
                "position",  # de (and en)
                "funktion",
                "berufsbezeichnung",
                "stellenbezeichnung",
                "positionsbezeichnung",
                "jobtitel",  # de, da
                "cargo",  # es, pt
                "puesto",
                "puestodetrabajo",
                "titulodelpuesto",
                "funcao",  # pt (Função)
                "titulodocargo",
                "ruolo",  # it
                "qualifica",
                "mansione",
                "functie",  # nl
                "functietitel",
                "functienaam",
                "befattning",  # sv
                "yrkestitel",
                "jobbtitel",
                "stilling",  # da, no
                "stillingsbetegnelse",
                "stillingstittel",
                "tehtavanimike",  # fi
                "ammattinimike",
                "stanowisko",  # pl
                "pozice",  # cs
                "pracovnipozice",
                "funkce",
                "beosztas",  # hu (Beosztás)
                "munkakor",
                "unvan",  # tr (Ünvan)
                "gorev",
                "pozisyon",
            }
        ),
        "crmLeadId": frozenset(
            {
                "leadid",  # en, de and nl (Lead-ID)
                "crmid",
                "idcrm",
                "salesforceid",
                "salesforceleadid",
                "idlead",  # it
                "iddulead",  # fr
                "idduprospect",
                "idprospect",
                "iddelead",  # es
                "iddolead",  # pt
            }
        ),
    }
)
# Words that mean a name only beside the other name: {field: (the field that must be mapped too, words)}.
# French `Nom` is the last name next to `Prénom` and the whole name (or a company's) alone; Spanish `Nombre`,
# Italian and Portuguese `Nome`, Czech `Jméno`, Turkish `Ad`/`Adı`/`İsim` the first name next to a last name, the
# full name alone.
_PAIRED_ALIASES: Final[Mapping[str, tuple[str, frozenset[str]]]] = MappingProxyType(
    {
        "lastName": ("firstName", frozenset({"nom"})),
        "firstName": ("lastName", frozenset({"nombre", "nome", "jmeno", "ad", "adı", "isim"})),
    }
)


def normalise_name(name: object) -> str:
    """A column or field name reduced for matching: accents folded, case, spaces, `_`, `-` and `.` ignored.

    Args:
        name: a column label or a field name (non-strings are converted with `str`).

    Returns:
        The normalised name.

    Example:
        >>> normalise_name("Adresse Électronique"), normalise_name("crm_lead-ID")
        ('adresseelectronique', 'crmleadid')
    """
    decomposed = unicodedata.normalize("NFKD", str(name))
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _IGNORED_CHARACTERS.sub("", folded)


@dataclass(frozen=True, repr=False)
class LeadMapping:
    """Where each column of a frame goes in a lead. Build it with `map_columns`.

    Attributes:
        email: the email column.
        fields: `{column: leadInfo field}`, including `{email: "email"}`, in column order.
        custom: `{column: custom field name}` sent in `leadCustomField`.
        ignored: columns that are never sent.

    Example:
        >>> m = map_columns(["E-mail", "First Name", "Company", "Notes"], custom_fields=["Company"])
        >>> m.email, dict(m.fields), dict(m.custom), m.ignored
        ('E-mail', {'E-mail': 'email', 'First Name': 'firstName'}, {'Company': 'Company'}, ('Notes',))
    """

    email: str
    fields: Mapping[str, str]
    custom: Mapping[str, str]
    ignored: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Frozen and read-only all the way down: a mapping is shared by the sync, the report and the widgets.
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        object.__setattr__(self, "custom", MappingProxyType(dict(self.custom)))
        object.__setattr__(self, "ignored", tuple(self.ignored))
        if self.fields.get(self.email) != EMAIL_FIELD:
            raise ConfigurationError(
                f"LeadMapping: fields must map the email column {self.email!r} to 'email'"
            )
        known = _spec.lead_info_fields()
        seen: dict[str, str] = {}
        for column, field in self.fields.items():
            if field not in known:
                raise ConfigurationError(_unknown_field_message(column, field, known))
            if field in seen:
                raise ConfigurationError(
                    f"columns {seen[field]!r} and {column!r} are both mapped to leadInfo field {field!r}"
                )
            seen[field] = column
        names: dict[str, str] = {}
        for column, name in self.custom.items():
            if not isinstance(name, str) or not name.strip():
                raise ConfigurationError(
                    f"custom field name for column {column!r} must be a non-empty string"
                )
            if column in self.fields:
                raise ConfigurationError(
                    f"column {column!r} is sent as leadInfo field {self.fields[column]!r}; it cannot also be "
                    "a custom field"
                )
            if name in names:
                raise ConfigurationError(
                    f"columns {names[name]!r} and {column!r} would both be sent as custom field {name!r}"
                )
            names[name] = column

    def __hash__(self) -> int:
        return hash((self.email, tuple(self.fields.items()), tuple(self.custom.items()), self.ignored))

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns that are sent: the `leadInfo` ones, then the custom ones."""
        return (*self.fields, *self.custom)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy (for a config file or a widget's state); `from_dict` reads it back.

        Returns:
            `{"email": ..., "fields": {...}, "custom": {...}, "ignored": [...]}`.

        Example:
            >>> m = map_columns(["email", "Company"], custom_fields="all")
            >>> LeadMapping.from_dict(m.to_dict()) == m
            True
        """
        return {
            "email": self.email,
            "fields": dict(self.fields),
            "custom": dict(self.custom),
            "ignored": list(self.ignored),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeadMapping:
        """The mapping `to_dict` wrote.

        Args:
            data: a dict with `email`, `fields` and optionally `custom` and `ignored`.

        Returns:
            The mapping, checked against the spec.

        Raises:
            ConfigurationError: a key is missing or the mapping is inconsistent (an unknown field, a field
                twice).

        Example:
            >>> LeadMapping.from_dict({"email": "Mail", "fields": {"Mail": "email"}}).email
            'Mail'
        """
        try:
            email = data["email"]
            fields = dict(data.get("fields") or {EMAIL_FIELD: EMAIL_FIELD})
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"not a LeadMapping dict (needs 'email' and 'fields'): {exc}") from exc
        fields.setdefault(email, EMAIL_FIELD)
        return cls(
            email=email,
            fields=fields,
            custom=dict(data.get("custom") or {}),
            ignored=tuple(data.get("ignored") or ()),
        )

    def _rows(self) -> list[tuple[str, str]]:
        rows = [(column, f"leadInfo.{field}") for column, field in self.fields.items()]
        rows += [(column, f"leadCustomField[{name!r}]") for column, name in self.custom.items()]
        rows += [(column, "not sent") for column in self.ignored]
        return rows

    def __repr__(self) -> str:
        rows = self._rows()
        width = max(len(repr(column)) for column, _ in rows)
        lines = [f"LeadMapping(email={self.email!r})"]
        lines += [f"  {column!r:<{width}} -> {target}" for column, target in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><td>{html.escape(str(column))}</td><td><code>{html.escape(target)}</code></td></tr>"
            for column, target in self._rows()
        )
        return (
            "<table><caption>LeadMapping</caption><thead><tr><th>column</th><th>sent as</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )


def map_columns(
    columns_or_df: Any,
    *,
    email: str | None = None,
    mapping: Mapping[str, str | None] | LeadMapping | None = None,
    custom_fields: Sequence[str] | Mapping[str, str] | Literal["all"] | None = None,
) -> LeadMapping:
    """Decide which column becomes which `leadInfo` field or custom field (rules in the module docstring).

    Args:
        columns_or_df: a DataFrame, its columns, or an already built `LeadMapping` (returned unchanged).
        email: the email column; detected from its name when omitted.
        mapping: `{column: leadInfo field}` overriding detection; `None` or `"ignore"` as a field drops a
            column that would be detected. A `LeadMapping` here is checked against the columns and returned
            unchanged.
        custom_fields: the columns to send as custom fields: a list (named after the column), a dict
            `{column: custom field name}`, or `"all"`.

    Returns:
        The mapping.

    Raises:
        ConfigurationError: a named column does not exist, a field is not in the spec, two columns go to the
            same field, or the email column is missing or ambiguous. The message names the columns involved.

    Example:
        >>> columns = ["E-mail Address", "first_name", "CRM Lead ID", "Company"]
        >>> m = map_columns(columns, custom_fields=["Company"])
        >>> dict(m.fields)
        {'E-mail Address': 'email', 'first_name': 'firstName', 'CRM Lead ID': 'crmLeadId'}
    """
    if isinstance(columns_or_df, LeadMapping):
        if email is not None or mapping is not None or custom_fields is not None:
            raise ConfigurationError("pass either a LeadMapping or email=/mapping=/custom_fields=, not both")
        return columns_or_df
    columns = _column_list(columns_or_df)
    if isinstance(mapping, LeadMapping):
        if email is not None or custom_fields is not None:
            raise ConfigurationError(
                "pass either mapping=LeadMapping(...) or email=/custom_fields=, not both"
            )
        missing = [column for column in mapping.columns if column not in set(columns)]
        if missing:
            raise ConfigurationError(
                f"the mapping names columns the frame does not have: {_names(missing)}; "
                f"available columns: {_names(columns)}"
            )
        return mapping

    known = _spec.lead_info_fields()
    explicit, dropped = _explicit_mapping(mapping or {}, columns, known)
    email_column = _email_column(columns, email, explicit, dropped)
    fields: dict[str, str] = {column: field for column, field in explicit.items() if field != EMAIL_FIELD}
    fields[email_column] = EMAIL_FIELD
    free = [column for column in columns if column not in fields and column not in dropped]
    fields.update(_detect_fields(free, known, set(fields.values())))

    order = {column: i for i, column in enumerate(columns)}
    fields = dict(sorted(fields.items(), key=lambda item: order[item[0]]))
    custom = _custom_fields(custom_fields, columns, fields, dropped)
    ignored = tuple(column for column in columns if column not in fields and column not in custom)
    return LeadMapping(email=email_column, fields=fields, custom=custom, ignored=ignored)


def _detect_fields(columns: list[Any], known: Mapping[str, Any], taken: set[str]) -> dict[Any, str]:
    """`{column: field}` for the free `columns`, by name (rules 3 to 5), the fields in `taken` excluded."""
    by_name = {normalise_name(field): field for field in known if field != EMAIL_FIELD}
    by_alias = {name: field for field, names in _FIELD_ALIASES.items() if field in known for name in names}
    by_pair = {
        name: (field, partner)
        for field, (partner, names) in _PAIRED_ALIASES.items()
        if field in known
        for name in names
    }
    claimed = set(taken)

    def paired(name: str) -> str | None:
        field, partner = by_pair.get(name, (None, None))
        return field if partner in claimed else None

    detected: dict[Any, str] = {}
    for level, match in (("name", by_name.get), ("alias", by_alias.get), ("alias", paired)):
        found: dict[str, list[Any]] = {}
        for column in columns:
            field = None if column in detected else match(normalise_name(column))
            if field is not None and field not in claimed:
                found.setdefault(field, []).append(column)
        for field, candidates in found.items():
            if len(candidates) > 1:
                what = "all match" if level == "name" else "are all names for"
                raise ConfigurationError(
                    f"columns {_names(candidates)} {what} leadInfo field {field!r}; map one of them "
                    "explicitly, e.g. ",
                    Setting("mapping", value={candidates[0]: field, candidates[1]: None}),
                )
            detected[candidates[0]] = field
            claimed.add(field)
    return detected


def _column_list(columns_or_df: Any) -> list[Any]:
    columns = getattr(columns_or_df, "columns", columns_or_df)
    if isinstance(columns, (str, bytes)) or not isinstance(columns, Iterable):
        raise ConfigurationError(
            f"expected a DataFrame or a list of columns, got {type(columns_or_df).__name__}"
        )
    result = list(columns)
    duplicates = [column for column, count in Counter(result).items() if count > 1]
    if duplicates:
        raise ConfigurationError(
            f"the frame has duplicate column names: {_names(duplicates)}; rename them first"
        )
    return result


def _explicit_mapping(
    mapping: Mapping[str, str | None], columns: list[Any], known: Mapping[str, Any]
) -> tuple[dict[str, str], set[str]]:
    explicit: dict[str, str] = {}
    dropped: set[str] = set()
    owner: dict[str, str] = {}
    for column, field in mapping.items():
        if column not in columns:
            raise ConfigurationError(
                Setting("mapping", named=True),
                f" names column {column!r}, which the frame does not have; "
                f"available columns: {_names(columns)}",
            )
        if field is None or field == IGNORE:
            dropped.add(column)
            continue
        if field not in known:
            raise ConfigurationError(_unknown_field_message(column, field, known))
        if field in owner:
            raise ConfigurationError(
                Setting("mapping", named=True),
                f" sends columns {owner[field]!r} and {column!r} both to leadInfo field {field!r}",
            )
        owner[field] = column
        explicit[column] = field
    return explicit, dropped


def _email_column(
    columns: list[Any], email: str | None, explicit: Mapping[str, str], dropped: set[str]
) -> str:
    mapped = [column for column, field in explicit.items() if field == EMAIL_FIELD]
    if email is not None:
        if email not in columns:
            raise ConfigurationError(
                Setting("email", column=email),
                f" names no column of the frame; available columns: {_names(columns)}",
            )
        if email in dropped or (email in explicit and explicit[email] != EMAIL_FIELD):
            raise ConfigurationError(
                Setting("email", column=email),
                " but ",
                Setting("mapping", named=True),
                " sends that column elsewhere",
            )
        if mapped and mapped[0] != email:
            raise ConfigurationError(
                Setting("email", column=email),
                " but ",
                Setting("mapping", named=True),
                f" sends column {mapped[0]!r} to 'email'",
            )
        return email
    if mapped:
        return mapped[0]
    tiers: dict[int, list[Any]] = {0: [], 1: []}
    for column in columns:
        if column in dropped or column in explicit:
            continue
        name = normalise_name(column)
        if name == EMAIL_FIELD:
            tiers[0].append(column)
        elif name in _EMAIL_ALIASES:
            tiers[1].append(column)
    for candidates in tiers.values():
        if len(candidates) == 1:
            found: str = candidates[0]
            return found
        if len(candidates) > 1:
            raise ConfigurationError(
                f"several columns could be the email: {_names(candidates)}; pass ",
                Setting("email"),
                " to choose one",
            )
    raise ConfigurationError(
        f"no email column found among {_names(columns)}; pass ",
        Setting("email"),
        " with the name of the column that holds the email addresses",
    )


def _custom_fields(
    custom_fields: Sequence[str] | Mapping[str, str] | str | None,
    columns: list[Any],
    fields: Mapping[str, str],
    dropped: set[str],
) -> dict[str, str]:
    if custom_fields is None:
        return {}
    if isinstance(custom_fields, str):
        if custom_fields != ALL:
            raise ConfigurationError(
                f"custom_fields must be a list of columns, a dict or 'all'; got the string {custom_fields!r} "
                f"(did you mean custom_fields=[{custom_fields!r}]?)"
            )
        wanted = {
            column: str(column).strip()
            for column in columns
            if column not in fields and column not in dropped
        }
    elif isinstance(custom_fields, Mapping):
        wanted = dict(custom_fields)
    else:
        wanted = {column: str(column).strip() for column in custom_fields}
    for column, name in wanted.items():
        if column not in columns:
            raise ConfigurationError(
                Setting("custom_fields", named=True),
                f" names column {column!r}, which the frame does not have; "
                f"available columns: {_names(columns)}",
            )
        if column in fields:
            raise ConfigurationError(
                f"column {column!r} is already sent as leadInfo field {fields[column]!r}; to send it as a "
                "custom field instead, also pass ",
                Setting("mapping", column=column, value=None),
            )
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(f"column {column!r} needs a non-empty custom field name, got {name!r}")
    return wanted


def _unknown_field_message(column: object, field: object, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(str(field), list(known), n=1)
    by_name = {normalise_name(name): name for name in known}
    hint = by_name.get(normalise_name(field)) or (close[0] if close else None)
    suggestion = f" (did you mean {hint!r}?)" if hint else ""
    return (
        f"column {column!r} is mapped to {field!r}, which is not a leadInfo field of the spec"
        f"{suggestion}; known fields: {_names(known)}"
    )


def _names(names: Iterable[Any]) -> str:
    return ", ".join(repr(name) for name in names)


# -- the fields a mapping sends ------------------------------------------------------------------------------


class FieldPlan(NamedTuple):
    """One field a mapping sends: its section, its key in the body, the column it comes from, its types."""

    custom: bool
    key: str
    column: Any
    types: frozenset[str]


def field_plan(mapping: LeadMapping) -> list[FieldPlan]:
    """The fields a mapping sends, standard fields first (in mapping order), then custom fields.

    Args:
        mapping: which column goes where (from `map_columns`).

    Returns:
        One `FieldPlan` per column sent.

    Example:
        >>> plan = field_plan(LeadMapping(email="E-mail", fields={"E-mail": "email"}, custom={"Plan": "Plan"}))
        >>> [(p.custom, p.key, p.column) for p in plan]
        [(False, 'email', 'E-mail'), (True, 'Plan', 'Plan')]
    """
    info_types = lead_info_types()
    custom_types = custom_field_types()
    plan = [FieldPlan(False, field, column, info_types[field]) for column, field in mapping.fields.items()]
    plan += [FieldPlan(True, name, column, custom_types) for column, name in mapping.custom.items()]
    return plan
