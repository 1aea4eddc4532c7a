"""How often the reader decodes a lead file to exactly its text: the encoding corpus's whole matrix, and speed.

Accuracy: every file of `tests/encoding_corpus.py` (languages x encodings x delimiters x sizes x density) is
read by `read_leads` with no options and judged cell by cell: *right* (exact), *flagged* (not exact, but said
to be ambiguous, with a reading that is exact), *refused* (an error), or *silently wrong* (wrong text and
nothing said: the failure that must never happen). The table gives, per (encoding, language), files right /
files tried, and the flagged and silently wrong ones.

Speed: `read_leads` on a Windows-1252 `;` file of French and German leads (8 columns) against
`pd.read_csv` given the right options, alternating, medians.

    python benchmarks/encodings.py                          # the matrix (~3 min) and the speed at 1M rows
    python benchmarks/encodings.py --label before --src /tmp/before/src   # an older reader (a worktree's src)
    python benchmarks/encodings.py --quick                  # 5 and 500 rows, speed at 100,000 rows

Results: `benchmarks/results/encodings-LABEL.json`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
VERDICTS = ("right", "flagged", "flagged, no reading right", "refused", "silently wrong")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--label", default="after", help="the name of this run in the results (default: after)"
    )
    parser.add_argument(
        "--src", help="read with the publitrac found in this folder (an older checkout's src)"
    )
    parser.add_argument("--quick", action="store_true", help="small files only, speed at 100,000 rows")
    parser.add_argument("--skip-speed", action="store_true", help="the matrix only")
    parser.add_argument("--skip-matrix", action="store_true", help="the speed only")
    parser.add_argument(
        "--speed-rows", type=int, default=None, help="rows of the speed file (default 1,000,000)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="speed repetitions (default 3)")
    args = parser.parse_args(argv)
    if args.src:
        sys.path.insert(0, args.src)
    sys.path.insert(0, str(HERE.parent / "tests"))
    import encoding_corpus as corpus

    import publitrac

    print(f"reader: {publitrac.__file__}")
    result: dict[str, Any] = {"label": args.label, "reader": publitrac.__file__}
    if not args.skip_matrix:
        result["matrix"] = matrix(corpus, quick=args.quick)
    if not args.skip_speed:
        rows = args.speed_rows or (100_000 if args.quick else 1_000_000)
        result["speed"] = speed(corpus, publitrac.read_leads, rows, args.repeat)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"encodings-{args.label}{'-speed' if args.skip_matrix else ''}.json"
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written: {out.relative_to(HERE.parent)}")
    return 0


def matrix(corpus: Any, *, quick: bool) -> dict[str, Any]:
    """Every file of the corpus, judged; the counts per (encoding, language)."""
    started = time.perf_counter()
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    wrong: list[dict[str, str | None]] = []
    sizes = (5, 500) if quick else (5, 500, 5000)
    files = list(corpus.cases(sizes=sizes))
    if not quick:  # 100,000 rows: once per (language, encoding), with ';' as Excel writes in Europe
        files += corpus.cases(delimiters=[";"], sizes=[100_000])
    for case in files:
        outcome = corpus.judge(case)
        counts[(case.encoding, case.language)][outcome.verdict] += 1
        if outcome.verdict != "right" and outcome.verdict != "flagged":
            wrong.append(
                {
                    "file": case.id,
                    "verdict": outcome.verdict,
                    "read as": outcome.encoding,
                    "first difference": outcome.difference,
                }
            )
    cells = [
        {"encoding": encoding, "language": language, "tried": sum(found.values())}
        | {verdict: found[verdict] for verdict in VERDICTS}
        for (encoding, language), found in sorted(counts.items())
    ]
    total = Counter[str]()
    for found in counts.values():
        total.update(found)
    print_table(cells)
    print(
        f"{len(files)} files in {time.perf_counter() - started:.0f} s: "
        + ", ".join(f"{total[verdict]} {verdict}" for verdict in VERDICTS)
    )
    for item in wrong[:20]:
        print("  ", item)
    return {
        "files": len(files),
        "totals": {verdict: total[verdict] for verdict in VERDICTS},
        "cells": cells,
        "not right nor flagged": wrong,
    }


def print_table(cells: list[dict[str, Any]]) -> None:
    print(
        f"{'encoding':<14} {'language':<13} {'right/tried':>11} {'flagged':>8} {'silently wrong':>15} {'other':>6}"
    )
    for cell in cells:
        other = cell["refused"] + cell["flagged, no reading right"]
        print(
            f"{cell['encoding']:<14} {cell['language']:<13} {cell['right']:>5}/{cell['tried']:<5} "
            f"{cell['flagged']:>8} {cell['silently wrong']:>15} {other:>6}"
        )


def speed(corpus: Any, read_leads: Any, rows: int, repeat: int) -> dict[str, Any]:
    """`read_leads` against `pd.read_csv` with the right options, alternating; medians of `repeat`."""
    import pandas as pd

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "leads.csv"
        path.write_bytes(corpus.large_file_text(rows).encode("cp1252"))
        times: dict[str, list[float]] = {"read_leads": [], "pd.read_csv": []}
        for _ in range(repeat):
            started = time.perf_counter()
            pd.read_csv(path, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
            times["pd.read_csv"].append(time.perf_counter() - started)
            started = time.perf_counter()
            leads = read_leads(path)
            times["read_leads"].append(time.perf_counter() - started)
            assert leads.encoding == "cp1252" and len(leads.frame) == rows, (leads.encoding, len(leads.frame))
        size = path.stat().st_size
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["read_leads"] / medians["pd.read_csv"]
    print(
        f"speed, {rows:,} rows ({size / 1e6:.0f} MB, Windows-1252, ';'): read_leads {medians['read_leads']:.2f} s, "
        f"pd.read_csv {medians['pd.read_csv']:.2f} s: {ratio:.2f}x (medians of {repeat})"
    )
    return {"rows": rows, "bytes": size, "times": times, "medians": medians, "ratio": ratio}


if __name__ == "__main__":
    raise SystemExit(main())
