"""The reader on the encoding corpus (`encoding_corpus.py`): every file read without options, every cell judged.

This is the sample CI runs: every (language, encoding) the corpus writes, each delimiter in turn, 5 and 5,000
rows, accents on every row and on 3 rows in 5,000. The whole matrix (100,000 rows too, every delimiter for
every size) is `benchmarks/encodings.py`.

A file is right when every cell is the text written. The only other outcome allowed is *flagged*: the guess
is said to be ambiguous and one of the readings it names gives the exact text. Western European languages in
Windows-1252 and in UTF-8/UTF-16 must be right, every one.
"""

from __future__ import annotations

import itertools

import pytest
from encoding_corpus import DELIMITERS, UNICODE, WESTERN, Case, cases, judge, make_case, pairs

# Long, and the same on every Python: .ci/run runs it on Python 3.11 only (pytest -m "not slow" on the newest).
pytestmark = pytest.mark.slow

SIZES = (5, 5000)


def sample() -> list[Case]:
    delimiter = itertools.cycle(DELIMITERS)
    return [
        make_case(language, encoding, next(delimiter), size, density)
        for language, encoding in pairs()
        for size in SIZES
        for density in ("dense", "sparse")
        if not (density == "sparse" and language == "ASCII")
    ]


SAMPLE = sample()


def must_be_exact(case: Case) -> bool:
    return case.language in WESTERN and (case.encoding in UNICODE or case.encoding == "cp1252")


@pytest.mark.parametrize("case", SAMPLE, ids=[case.id for case in SAMPLE])
def test_every_file_is_read_exactly_or_flagged_with_the_right_reading(case: Case) -> None:
    outcome = judge(case)
    if must_be_exact(case):
        assert outcome.verdict == "right", (outcome.encoding, outcome.difference)
    else:
        assert outcome.verdict in ("right", "flagged"), (
            outcome.verdict,
            outcome.encoding,
            outcome.difference,
        )


def test_the_sample_covers_the_matrix() -> None:
    languages = {case.language for case in SAMPLE}
    encodings = {case.encoding for case in SAMPLE}
    assert len(languages) == 14 and len(encodings) == 10, (sorted(languages), sorted(encodings))
    assert {case.delimiter for case in SAMPLE} == set(DELIMITERS)
    western = [case for case in SAMPLE if must_be_exact(case)]
    assert len(western) >= 100


def test_a_french_trade_show_list_in_windows_1252_is_french() -> None:
    # `Élodie`, `Lefèvre`, `Thérèse`, `Raphaël` on every line: the reader before issue 16 took Windows-1250.
    for delimiter in DELIMITERS:
        [case] = cases(
            languages=["French"],
            encodings=["cp1252"],
            delimiters=[delimiter],
            sizes=[300],
            densities=["dense"],
        )
        outcome = judge(case)
        assert (outcome.verdict, outcome.encoding, outcome.ambiguous) == ("right", "cp1252", False), outcome
