"""Which text encoding a file of leads is in: decided from what people write, with how sure that is.

A name that changes on the way (`Lefèvre` sent as `Lefčvre`) is worse than a refused row: it lands in the
customer's marketing system and nothing says so. So the encoding is never taken from a library's first guess:

1. A byte order mark decides (UTF-8, UTF-16, UTF-32): certain.
2. Text that is valid UTF-8 in every byte of the file is UTF-8 (plain ASCII included): certain. Text that is
   mostly UTF-8 but not in some line (two programs wrote one file) is refused, naming the line: no code page
   reads it right.
3. Otherwise the file is in a single-byte code page, and several of them decode the same bytes without error.
   Each candidate (Windows-1252, ISO-8859-15, Windows-1250, ISO-8859-2, Windows-1254, Mac Roman, Windows-1251,
   Windows-1253, ISO-8859-1) reads the file's non-ASCII bytes as other characters; candidates that read
   them alike are one reading. Each reading is scored by how plausible its text is as something people write:
   - its letters, against the letters of the languages written in these code pages (French, German, Spanish,
     Catalan, Portuguese, Italian, Dutch, the Nordic languages, Polish, Czech, Slovak, Hungarian, Slovene,
     Croatian, Romanian, Turkish, Albanian, Estonian, Icelandic, Russian and the other Cyrillic languages,
     Greek), fitted as a mixture: a file may hold several languages, but a reading that needs a Slovak `ŕ`,
     a Polish `ę` and a Hungarian `ű` to explain one French list is less likely than French;
   - what surrounds each character in its word: an upper-case letter after a lower-case one (`LefÈvre`), a
     symbol inside a word (`Ma¿gorzata`, `C½ur`), two scripts in one word (`Lefиvre`), letters no one language
     writes together in one word (`Jiøí`, the Czech `Jiří` read as Windows-1252), a control character;
   - a prior that prefers Windows-1252 (what Excel writes in Western Europe) when the evidence is equal.
   The best reading is chosen; `confidence` is its share of the evidence (the readings' scores as
   probabilities), and the other readings are kept as `alternatives` with the characters that would differ.
   Below 99% the guess is *ambiguous*: every interface then warns, naming the characters and the setting to
   pass (`--encoding cp1250`, `encoding="cp1250"`, the Encoding box).

The whole file is looked at, not its head: every non-ASCII byte is counted (a pass with numpy over the bytes,
8 MiB at a time), and up to `_QUOTA` occurrences of each are sampled with their word for the context. So a
French letter on row 90,000 of an otherwise ASCII file counts, and a streamed file's later batches cannot
hold a byte the choice did not see.

Example:
    >>> detect_encoding("Élodie;Lefèvre;Thérèse;Raphaël\\n".encode("cp1252") * 3).encoding
    'cp1252'
    >>> guess = detect_encoding("Lefèvre\\n".encode("cp1252"))       # one letter: little evidence
    >>> guess.encoding, guess.ambiguous, guess.alternatives[0].label, guess.alternatives[0].differences
    ('cp1252', True, 'Windows-1250', (('è', 'č'),))
"""

from __future__ import annotations

import codecs
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np

__all__ = [
    "AMBIGUOUS_BELOW",
    "EncodingAlternative",
    "EncodingGuess",
    "MixedEncodingError",
    "NotTextError",
    "detect_encoding",
    "encoding_label",
]

AMBIGUOUS_BELOW: Final = 0.99
"""A guess whose confidence is below this is ambiguous: every interface warns before anything is sent."""

_CHUNK: Final = 8 << 20
_QUOTA: Final = 48  # occurrences of each non-ASCII byte sampled with their word
_MAX_WORDS: Final = 4000
_WORD: Final = re.compile(rb"[A-Za-z\x80-\xff]+")
_WINDOW: Final = 48

LABELS: Final = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16 with BOM",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "utf-32": "UTF-32 with BOM",
    "utf-32-le": "UTF-32 LE",
    "utf-32-be": "UTF-32 BE",
    "ascii": "ASCII",
    "cp1252": "Windows-1252",
    "cp1250": "Windows-1250",
    "cp1251": "Windows-1251",
    "cp1253": "Windows-1253",
    "cp1254": "Windows-1254",
    "iso8859-1": "ISO-8859-1",
    "latin-1": "ISO-8859-1",
    "iso8859-2": "ISO-8859-2",
    "iso8859-15": "ISO-8859-15",
    "mac-roman": "Mac Roman",
}

# The single-byte candidates and their prior (natural log): Windows-1252 first, as the evidence ties go to it.
# Candidates that read a file's bytes alike form one reading, named after the first of them in this order.
_CANDIDATES: Final = (
    ("cp1252", 0.0),
    ("iso8859-15", -0.7),
    ("cp1250", -1.5),
    ("cp1254", -2.0),
    ("iso8859-2", -2.5),
    ("mac_roman", -2.5),
    ("cp1251", -2.0),
    ("cp1253", -2.5),
    ("latin-1", -3.0),
)

# -- what people write -----------------------------------------------------------------------------------------
# The non-ASCII letters of each language, lower case, each followed by its rough relative frequency in names,
# places and ordinary text (per mille of letters, from the languages' orthographies; only the proportions within
# a language matter). Upper case letters count as their lower case; `İ` is Turkish's own.
_LANGUAGES: Final[dict[str, str]] = {
    "French": "é40 è7 à5 ê3 ç2 ô1.2 î0.8 â0.6 û0.4 ù0.4 ë0.5 ï0.4 œ0.3 æ0.02 ÿ0.01",
    "German": "ü9 ä8 ö5 ß4 é0.2",
    "Spanish": "ó12 í10 á8 é7 ñ4 ú3 ü0.2",
    "Catalan": "à6 è6 é5 í4 ò4 ó3 ú2 ç2 ï1 ü0.5",
    "Portuguese": "ã6 ç5 é5 á5 í4 ó3 ê3 õ1.5 ú1.5 â1 ô1 à1",
    "Italian": "à6 è6 ò3 ù2 ì2 é1 í0.05 ó0.05",
    "Dutch": "ë3 é2 ï1 ö0.5 è0.5 ü0.3 á0.2 ó0.2 ç0.1",
    "Danish and Norwegian": "ø10 å8 æ8 é0.3 ü0.1 ó0.05 ô0.05",
    "Swedish": "ä18 å13 ö13 é0.5 ü0.1",
    "Finnish": "ä37 ö4 å0.1 š0.1 ž0.05",
    "Icelandic": "ð44 á18 þ16 í15 ó9 æ8 ö8 é6 ú6 ý2",
    "Estonian": "ä25 õ25 ö10 ü10 š0.5 ž0.3",
    "Polish": "ł18 ę11 ą9 ó8 ż8 ś7 ć4 ń2 ź0.8",
    "Czech": "í30 á22 é13 ě12 ý10 č10 ř10 ž8 š8 ů5 ú1 ň1 ť0.4 ó0.3 ď0.2",
    "Slovak": "á25 í15 é10 č10 ý8 ž7 š7 ú7 ľ3 ť3 ô2 ň1 ď1 ä0.5 ó0.5 ĺ0.1 ŕ0.1",
    "Hungarian": "é40 á35 ó10 ö10 ő8 í5 ü5 ú3 ű1",
    "Slovene": "č15 š10 ž10",
    "Croatian": "č10 ć10 š10 ž8 đ2",
    "Romanian": "ă30 î10 â7 ș10 ş10 ț10 ţ10",
    "Turkish": "ı50 ü19 ş18 ç12 ğ11 ö8 İ3 â0.5 î0.2 û0.2",
    "Albanian": "ë85 ç6",
    "Cyrillic": (
        "о110 е85 а80 и73 н67 т63 с55 р47 в45 л44 к35 м32 д30 п28 у26 я20 ы19 ь17 г17 з16 б16 ч14 "
        "й12 х10 ж9 ш7 ю6 ц5 щ4 э3 ф2 і5 ї1 є1 ґ0.2 ј1 љ0.5 њ0.5 ћ0.5 ђ0.2 џ0.1 ў0.3 ъ0.5 ё0.4"
    ),
    "Greek": (
        "α120 ο100 ι90 ε80 τ80 σ70 ν70 η50 υ45 ρ45 π40 κ40 ς40 μ35 λ30 ω20 δ20 γ20 θ13 χ10 φ10 β7 "
        "ξ5 ζ4 ψ2 ά18 έ15 ί18 ό15 ή10 ύ8 ώ5 ϊ0.5 ϋ0.2 ΐ0.1 ΰ0.1"
    ),
    # Not a language: the symbols people type (and the no-break space, the soft hyphen), one more component
    # of the mixture.
    "symbols": (
        "’20 €10 \u00a05 “6 ”6 –6 —3 …3 °3 «2 »2 ‘2 £2 •2 „1 ©1 ®1 ™1 ¿1 ¡1 º1 ª0.5 §0.5 ×0.5 "
        "±0.3 µ0.3 ½0.3 ²0.3 ·0.3 ³0.2 ‚0.2 ¼0.1 ¾0.1 ¥0.1 ¢0.1 ´0.1 \u00ad0.1 ¹0.05 ‰0.05 †0.05 "
        "÷0.05 ‹0.02 ›0.02 ƒ0.02 ¬0.01 ¦0.01 ¨0.01 ¯0.01 ¸0.01 ¤0.01 ‡0.01 ˆ0.01 ˜0.01 ¶0.01 "
        "ˇ0.01 ˘0.01 ˝0.01 ˛0.01 ˙0.01"
    ),
}
# A character no language above writes, and a control character (never in a lead file).
_UNKNOWN: Final = 1e-6
_CONTROL: Final = 1e-12
# A character whose neighbours in its word are implausible (an upper-case letter after a lower-case one, a
# symbol or another script inside a word) counts this much more against its reading, per occurrence.
_ANOMALY: Final = math.log(1e-4)
# Symbols that people do write against a word: before it (opening), after it (closing), inside it.
_OPENING: Final = frozenset("¿¡«“‘„‚‹\u00a0")
_CLOSING: Final = frozenset("’”»™®©°²³¹ªº›\u00a0")
_INSIDE: Final = frozenset("’·–\u00ad")
# Capital letters that stand alone as a word (French `À la carte`).
_ALONE: Final = frozenset("ÀÉ")


class NotTextError(ValueError):
    """The bytes are not text in any encoding this reader knows."""


class MixedEncodingError(ValueError):
    """The file is UTF-8 except at `offset`: two programs wrote it, and no single encoding reads it right."""

    def __init__(self, offset: int) -> None:
        self.offset = offset
        super().__init__(f"not UTF-8 at byte {offset}")


@dataclass(frozen=True)
class EncodingAlternative:
    """Another way to read a file's bytes, and what it would change.

    Attributes:
        encoding: the Python codec (`"cp1250"`), what to pass as `encoding=` / `--encoding`.
        label: the encoding as people name it (`"Windows-1250"`).
        likelihood: its share of the evidence, from 0 to 1 (the chosen reading has the rest).
        differences: `(as read, as this reading would read it)` for each character that would differ, the
            most frequent first: `(("è", "č"), ("à", "ŕ"))`.
        example: a word as read and as this reading would read it, with its line: `("Lefèvre", "Lefčvre", 3)`.
    """

    encoding: str
    label: str
    likelihood: float
    differences: tuple[tuple[str, str], ...]
    example: tuple[str, str, int] | None = None

    def describe(self) -> str:
        """`as Windows-1250 (6%), 'è' would be 'č' (line 3: 'Lefèvre' would be 'Lefčvre')`."""
        shown = ", ".join(f"{a!r} would be {b!r}" for a, b in self.differences[:4])
        more = len(self.differences) - 4
        if more > 0:
            shown += f" and {more} more would differ"
        text = f"as {self.label} ({_percent(self.likelihood)}), {shown}"
        if self.example is not None:
            read, other, line = self.example
            text += f" (line {line:,}: {read!r} would be {other!r})"
        return text


@dataclass(frozen=True)
class EncodingGuess:
    """The encoding chosen for a file's bytes, how sure that is, and the readings it was chosen over.

    Attributes:
        encoding: the Python codec to read with (`"utf-8"`, `"utf-8-sig"`, `"utf-16"`, `"cp1252"`...).
        confidence: 1.0 when the bytes leave no doubt (a byte order mark, valid UTF-8, ASCII, every code page
            reading the same text, or an encoding given by the user); else the chosen reading's share of the
            evidence.
        alternatives: the other readings that the evidence does not rule out, the likeliest first.
        given: True when the user named the encoding (nothing was guessed).
    """

    encoding: str
    confidence: float = 1.0
    alternatives: tuple[EncodingAlternative, ...] = ()
    given: bool = False
    _scores: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        return encoding_label(self.encoding)

    @property
    def ambiguous(self) -> bool:
        """True when another reading is still plausible (confidence below `AMBIGUOUS_BELOW`)."""
        return self.confidence < AMBIGUOUS_BELOW


def encoding_label(codec: str) -> str:
    """The encoding as people name it: `UTF-8 with BOM`, `Windows-1252`, `Mac Roman`...

    Example:
        >>> encoding_label("cp1252"), encoding_label("utf-8-sig"), encoding_label("latin-1")
        ('Windows-1252', 'UTF-8 with BOM', 'ISO-8859-1')
    """
    try:
        name = codecs.lookup(codec).name
    except LookupError:
        return codec
    return LABELS.get(codec, LABELS.get(name, name))


def _percent(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 else "<1%"


# -- looking at the file ---------------------------------------------------------------------------------------


@dataclass
class _Scan:
    """What a pass over the file saw: its first bytes, whether it is UTF-8, the non-ASCII bytes and their words."""

    head: bytes
    utf8_error: int | None = None  # the offset of the first byte that is not UTF-8
    counts: np.ndarray = field(default_factory=lambda: np.zeros(256, dtype=np.int64))
    words: dict[bytes, list[int]] = field(default_factory=dict)  # word -> [sampled occurrences, first offset]
    sampled: np.ndarray = field(default_factory=lambda: np.zeros(256, dtype=np.int64))


def _chunks(data: Path | bytes) -> Iterator[bytes]:
    if isinstance(data, bytes):
        view = memoryview(data)
        for start in range(0, len(data), _CHUNK):
            yield bytes(view[start : start + _CHUNK])
        return
    with data.open("rb") as handle:
        yield from iter(lambda: handle.read(_CHUNK), b"")


def _scan(data: Path | bytes) -> _Scan:
    scan: _Scan | None = None
    utf8 = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    for chunk in _chunks(data):
        if scan is None:
            scan = _Scan(head=chunk[:65536])
        array = np.frombuffer(chunk, dtype=np.uint8)
        high = np.flatnonzero(array >= 0x80)
        if scan.utf8_error is None and (high.size or utf8.getstate()[0]):
            pending = len(utf8.getstate()[0])
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError as exc:
                scan.utf8_error = offset - pending + exc.start
        if high.size:
            values = array[high]
            present = np.bincount(values, minlength=256)
            scan.counts += present
            _sample(scan, chunk, offset, high, values, present)
        offset += len(chunk)
    if scan is None:
        return _Scan(head=b"")
    if scan.utf8_error is None:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            scan.utf8_error = offset - len(utf8.getstate()[0])
    return scan


def _sample(
    scan: _Scan, chunk: bytes, offset: int, high: np.ndarray, values: np.ndarray, present: np.ndarray
) -> None:
    """Take the words of the first `_QUOTA` occurrences of each non-ASCII byte not yet sampled enough."""
    needy = [int(v) for v in np.flatnonzero(present) if scan.sampled[v] < _QUOTA]
    for value in needy:
        positions = high[values == value][: _QUOTA - int(scan.sampled[value])]
        scan.sampled[value] += len(positions)
        for position in positions.tolist():
            start = max(0, position - _WINDOW)
            window = chunk[start : position + _WINDOW]
            for match in _WORD.finditer(window):
                if match.start() <= position - start < match.end():
                    word = match.group()
                    seen = scan.words.get(word)
                    if seen is not None:
                        seen[0] += 1
                    elif len(scan.words) < _MAX_WORDS:
                        scan.words[word] = [1, offset + start + match.start()]
                    break


# -- deciding --------------------------------------------------------------------------------------------------


def detect_encoding(data: Path | bytes) -> EncodingGuess:
    """The encoding of a file's bytes, and how sure that is (rules in the module docstring).

    Args:
        data: the file's path or its bytes.

    Returns:
        An EncodingGuess.

    Raises:
        NotTextError: empty, or not text in any encoding known here.
        MixedEncodingError: UTF-8 except in some line (`.offset` says where).

    Example:
        >>> detect_encoding("Zoë;Müller\\n".encode("utf-8")).encoding
        'utf-8'
    """
    scan = _scan(data)
    head = scan.head
    if not head:
        raise NotTextError("empty")
    bom = _bom(head)
    if bom is not None:
        return EncodingGuess(bom)
    if b"\0" in head:
        return _without_bom(head)
    if scan.utf8_error is None:
        return EncodingGuess("utf-8")
    if _mostly_utf8(scan):
        raise MixedEncodingError(scan.utf8_error)
    return _code_page(scan, data)


def _bom(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _without_bom(head: bytes) -> EncodingGuess:
    """UTF-16 or UTF-32 without a byte order mark, by where the zero bytes of ASCII characters fall."""
    size = len(head) - len(head) % 4
    units = np.frombuffer(head[:size], dtype=np.uint8).reshape(-1, 4) == 0
    share = units.mean(axis=0)
    for codec, pattern in (
        ("utf-32-le", (False, True, True, True)),
        ("utf-32-be", (True, True, True, False)),
        ("utf-16-le", (False, True, False, True)),
        ("utf-16-be", (True, False, True, False)),
    ):
        if all((s > 0.3) if zero else (s < 0.05) for s, zero in zip(share, pattern, strict=True)):
            try:
                head[: size - 8].decode(codec)
            except UnicodeDecodeError:
                continue
            return EncodingGuess(codec)
    raise NotTextError("zero bytes in a file that is not UTF-16 or UTF-32")


def _mostly_utf8(scan: _Scan) -> bool:
    """True when most sampled non-ASCII words are UTF-8 sequences (the file is UTF-8 with foreign lines)."""
    utf8 = other = 0
    for word, (count, _) in scan.words.items():
        try:
            word.decode("utf-8")
        except UnicodeDecodeError:
            other += count
        else:
            utf8 += count
    return utf8 > 0 and utf8 >= other


@dataclass
class _Reading:
    codec: str
    prior: float
    chars: dict[int, str]  # each non-ASCII byte in the file -> the character this reading makes of it
    score: float = 0.0


def _code_page(scan: _Scan, data: Path | bytes) -> EncodingGuess:
    present = [int(b) for b in np.flatnonzero(scan.counts)]
    readings: dict[tuple[str, ...], _Reading] = {}
    for codec, prior in _CANDIDATES:
        try:
            chars = {b: bytes([b]).decode(codec) for b in present}
        except UnicodeDecodeError:
            continue  # a byte of the file that this code page does not define
        key = tuple(chars[b] for b in present)
        if key not in readings:
            readings[key] = _Reading(codec, prior, chars)
    if not readings:
        raise NotTextError("no code page decodes it")
    for reading in readings.values():
        reading.score = _plausibility(reading, scan) + reading.prior
    ranked = sorted(readings.values(), key=lambda r: r.score, reverse=True)
    best = ranked[0]
    top = best.score
    weights = [math.exp(r.score - top) for r in ranked]
    total = sum(weights)
    alternatives = tuple(
        _alternative(best, reading, weight / total, scan, data)
        for reading, weight in zip(ranked[1:], weights[1:], strict=True)
        if weight / total >= 1e-4
    )
    return EncodingGuess(
        best.codec,
        confidence=weights[0] / total,
        alternatives=alternatives,
        _scores={r.codec: r.score for r in ranked},
    )


def _plausibility(reading: _Reading, scan: _Scan) -> float:
    """The log-likelihood of a reading's non-ASCII characters: the languages' mixture, then their contexts."""
    counts: dict[str, float] = {}
    controls = 0.0
    for byte, char in reading.chars.items():
        n = float(scan.counts[byte])
        if unicodedata.category(char) == "Cc":
            controls += n
            continue
        key = _letter_key(char)
        counts[key] = counts.get(key, 0.0) + n
    score = controls * math.log(_CONTROL) + _mixture(counts)
    # Contexts, from the sampled words: each byte's share of anomalous occurrences, applied to all of them.
    anomalous = np.zeros(256)
    for word, (count, _) in scan.words.items():
        try:
            text = word.decode(reading.codec)
        except UnicodeDecodeError:
            continue
        accented_only = len(text) >= 3 and text.isalpha() and not any(char < "\x80" for char in text)
        incoherent = not _one_language(text)
        for index, byte in enumerate(word):
            if byte >= 0x80 and (incoherent or _anomalous(text, index, accented_only)):
                anomalous[byte] += count
    sampled = np.maximum(scan.sampled, 1)
    expected = float(np.sum(scan.counts * anomalous / sampled))
    return score + expected * _ANOMALY


def _one_language(word: str) -> bool:
    """Whether one language writes every non-ASCII letter of the word (`Jiří`: Czech), unlike a reading that needs
    two in one word (`Jiøí`: a Danish `ø` beside a Czech or Spanish `í`, Windows-1250's bytes read as 1252)."""
    letters = {_letter_key(char) for char in word if char >= "\x80" and char.isalpha()}
    if len(letters) < 2:
        return True
    return any(letters <= language for language in _LANGUAGE_LETTERS)


def _letter_key(char: str) -> str:
    lower = char.lower()
    return lower if len(lower) == 1 else char


def _mixture(counts: dict[str, float]) -> float:
    """The log-likelihood of character counts under the best mixture of the languages (EM on the weights)."""
    if not counts:
        return 0.0
    keys = list(counts)
    n = np.array([counts[k] for k in keys])
    table = np.array([[language.get(k, 0.0) for k in keys] for language in _NORMALISED])
    weights = np.full(len(_NORMALISED), 1.0 / len(_NORMALISED))
    for _ in range(40):
        joint = weights[:, None] * table
        weights = (joint / (joint.sum(axis=0) + _UNKNOWN) * n).sum(axis=1)
        total = weights.sum()
        if total <= 0:  # no language writes any of these characters
            break
        weights /= total
    mixed = (weights[:, None] * table).sum(axis=0) + _UNKNOWN
    return float(np.sum(n * np.log(mixed)))


def _normalised() -> tuple[dict[str, float], ...]:
    tables = []
    for letters in _LANGUAGES.values():
        weights = {
            item[0]: float(item[1:]) for item in letters.split(" ")
        }  # not split(): "\u00a0" is a space
        total = sum(weights.values())
        tables.append({char: weight / total for char, weight in weights.items()})
    return tuple(tables)


_NORMALISED: Final = _normalised()
# Each language's letters (the symbols are not a language: a word may hold them beside any letter).
_LANGUAGE_LETTERS: Final = tuple(
    frozenset(table) for name, table in zip(_LANGUAGES, _NORMALISED, strict=True) if name != "symbols"
)


def _script(char: str) -> str:
    if char < "\x80":
        return "LATIN"
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0]


def _anomalous(text: str, index: int, accented_only: bool) -> bool:
    """Whether the character at `index` of a word sits where people do not write it.

    `accented_only`: the word has three letters or more and none of them ASCII, which in a Latin script happens
    in no language (`Ãéþñãïò` is the Greek `Γιώργος` read as Windows-1252); in Cyrillic and Greek it is the rule.
    """
    char = text[index]
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    if unicodedata.category(char) == "Cc":
        return False  # counted as a control already
    if not char.isalpha():
        left, right = before.isalpha(), after.isalpha()
        if left and right:
            return char not in _INSIDE
        if right:
            return char not in _OPENING
        if left:
            return char not in _CLOSING
        return False
    if not before and not after:
        return char.isupper() and char not in _ALONE  # `Ä` alone is a symbol read as a letter (`€`)
    script = _script(char)
    if accented_only and script == "LATIN":
        return True
    for neighbour in (before, after):
        if neighbour.isalpha() and _script(neighbour) != script:
            return True
    if char.isupper() and before.islower():
        return True
    return char.islower() and char != "ß" and before.isupper() and after.isupper()


def _alternative(
    best: _Reading, other: _Reading, likelihood: float, scan: _Scan, data: Path | bytes
) -> EncodingAlternative:
    differing = sorted(
        (b for b in best.chars if best.chars[b] != other.chars[b]), key=lambda b: -int(scan.counts[b])
    )
    differences = tuple((best.chars[b], other.chars[b]) for b in differing)
    changed = set(differing)
    example: tuple[str, str, int] | None = None
    words = sorted(scan.words.items(), key=lambda item: (-item[1][0], item[1][1]))
    for word, (_, offset) in words:
        if len(word) > 1 and changed.intersection(word):
            try:
                example = (word.decode(best.codec), word.decode(other.codec), _line_at(data, offset))
            except UnicodeDecodeError:
                continue
            break
    return EncodingAlternative(other.codec, encoding_label(other.codec), likelihood, differences, example)


def _line_at(data: Path | bytes, offset: int) -> int:
    """The 1-based line of a byte offset of a single-byte text."""
    if isinstance(data, bytes):
        return data.count(b"\n", 0, offset) + 1
    lines, read = 1, 0
    with data.open("rb") as handle:
        while read < offset:
            chunk = handle.read(min(_CHUNK, offset - read))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            read += len(chunk)
    return lines
