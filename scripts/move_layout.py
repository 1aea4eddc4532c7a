"""Move `src/publitrac`'s flat modules into folders for the stages a lead goes through (issue 19); stdlib only.

    python scripts/move_layout.py --check    # what would change; exit 1 if anything would, 0 if the move is done
    python scripts/move_layout.py            # do it: git mv, imports and references rewritten, ruff format

Run it from a clean checkout at the repository root. It is idempotent: a second run finds nothing to do.

What it does, in this order, and nothing before every check has passed:
1. Checks: every top-level module of `src/publitrac` is in `TABLE` (moved) or in `STAY` (the base), every
   folder is known, no module that moves uses `__file__` or imports by string; else it stops, naming each one.
2. `git mv` of each module to its folder (history follows); an `__init__.py` for each new folder, whose docstring
   says what it holds and what it may import (read from `ALLOWED` in the structure test: the order is written
   once); a "May import" paragraph added to the docstrings of `sandbox/`, `widgets/` and `app/`;
   `cli/__init__.py` (re-exports `main`, for the entry point `publitrac.cli:main`) and `cli/__main__.py`
   (`python -m publitrac.cli`). `scripts/test_structure.py` moves to `tests/test_structure.py`.
3. Imports in `src/publitrac`: each relative import is resolved with `ast` to the module it names, mapped through
   `TABLE`, and written back relative to the importing module's new place (absolute ones stay absolute).
4. Every other tracked text file (tests, benchmarks, scripts, notebooks, conftest.py, pyproject.toml, README.md,
   docs, examples, .ci/run): `from publitrac import _x` statements, dotted names (`publitrac._ledger.X`, in code,
   strings such as `"publitrac._ledger.open_ledger"` for monkeypatch or mock.patch, comments, notebook JSON)
   and paths (`src/publitrac/_ledger.py`). `publitrac.cli` keeps its public spellings (`-m publitrac.cli`,
   `publitrac.cli:main`); only `publitrac.cli.<name>` and imports from it go to `publitrac.cli._main`.
   `benchmarks/results/` (records of past runs) is left as it was.
5. Checks the result: every dotted `publitrac.…` reference and every import resolves to a module of the new
   tree (else it stops before writing anything); lists prose in Markdown that still names an old module in
   backticks (a warning: prose is for a person to reread).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "publitrac"
SRC = Path("src") / PACKAGE
TEST_TEMPLATE = Path("scripts/test_structure.py")
TEST = Path("tests/test_structure.py")

# old module (under publitrac) -> new module. The top level keeps only the base every folder may import.
TABLE: dict[str, str] = {
    # files/: reading a file of leads
    "_encoding": "files._encoding",
    "_files": "files._reader",
    "_batches": "files._batches",
    # lead/: the lead itself
    "_values": "lead._values",
    "_mapping": "lead._mapping",
    "_validation": "lead._validation",
    "_bodies": "lead._bodies",
    "_preview": "lead._preview",
    # connection/: talking to Publitrac
    "_auth": "connection._auth",
    "_transport": "connection._transport",
    "_client": "connection._client",
    "_verify": "connection._verify",
    # engine/: sending rows, and what happened to them
    "_engine": "engine._engine",
    "_report": "engine._report",
    "_outcome": "engine._outcome",
    # ledger/: what Publitrac already has
    "_ledger_records": "ledger._records",
    "_ledger": "ledger._store",
    "_ledger_postgres": "ledger._postgres",
    "_fingerprints": "ledger._fingerprints",
    "_incremental": "ledger._incremental",
    # syncs/: the sync entry points
    "_settings": "syncs._settings",
    "_blocking": "syncs._blocking",
    "_sync_frame": "syncs._frame",
    "_stream": "syncs._stream",
    "_dask": "syncs._dask",
    "_sync": "syncs._sync",
    "_accessor": "syncs._accessor",
    # cli/: the command line
    "cli": "cli._main",
    "_cli_common": "cli._common",
    "_cli_ledger": "cli._ledger",
    "_cli_stream": "cli._stream",
}
# the base: imported by every folder, importing no folder
STAY = {"__init__", "_exceptions", "_words", "_spec"}
KEPT_FOLDERS = {"sandbox", "widgets", "app"}

FOLDER_DOCS: dict[str, str] = {
    "files": "Reading a file of leads, as CRMs and Excel write it: one reader for the command line, Python and "
    "the widgets.\n\n"
    "- `_encoding`: which text encoding a file is in, decided from what people write.\n"
    "- `_reader`: `read_leads` and `LeadFile`: the whole file, its delimiter and encoding detected.\n"
    "- `_batches`: a file larger than memory, read in batches of rows.",
    "lead": "The lead itself: what a row's cells are sent as, where each column goes, what is wrong with a row, "
    "the request bodies.\n\n"
    "- `_values`: value conversion, column by column.\n"
    "- `_mapping`: which column goes where (`LeadMapping`, `map_columns`).\n"
    "- `_validation`: the rows Publitrac would drop, found before anything is sent (`validate`).\n"
    "- `_bodies`: request bodies, chunk by chunk.\n"
    "- `_preview`: the first bodies a sync would send (`preview`).",
    "connection": "The connection to Publitrac: the client, its transport and its tokens.\n\n"
    "- `_auth`: one `httpx.Auth` that keeps a valid token in every request.\n"
    "- `_transport`: httpx's API on aiohttp's connection pool, for the engine.\n"
    "- `_client`: `Publitrac`: settings, the token source, the calls made through the generated client.\n"
    "- `_verify`: checking a key before anything is sent.",
    "engine": "The engine every sync sends through, and its report.\n\n"
    "- `_engine`: rows sent concurrently, with retries, each outcome recorded.\n"
    "- `_report`: `SyncReport`: what happened to every row.\n"
    "- `_outcome`: `RunOutcome`: a push and its retries as one view.",
    "ledger": "The ledger: what Publitrac has accepted, per destination and per lead, and the history of runs.\n\n"
    "- `_records`: what a ledger keeps and gives back (`Destination`, `RunRecord`, `LedgerStats`).\n"
    "- `_store`: the `Ledger` interface, the SQLite store and `open_ledger`.\n"
    "- `_postgres`: the ledger on a PostgreSQL server.\n"
    "- `_fingerprints`: a 64-bit key per email and per request body, column by column.\n"
    "- `_incremental`: which rows are unchanged, and the acceptances written as they happen.",
    "syncs": "The syncs: one set of run settings, and an entry for every kind of lead data.\n\n"
    "- `_settings`: the run settings' defaults and checks.\n"
    "- `_blocking`: running a sync's coroutine from a script as in Jupyter.\n"
    "- `_frame`: a DataFrame in memory (`sync_async`, `last_report`).\n"
    "- `_stream`: a file in batches (`sync_file`, `StreamReport`).\n"
    "- `_dask`: a Dask DataFrame, partition by partition (`sync_dask`).\n"
    "- `_sync`: `publitrac.sync`, which hands each kind of data to its sync.\n"
    "- `_accessor`: `df.publitrac`.",
    "cli": "The `publitrac` command line (`main`, the console script's entry point).\n\n"
    "- `_main`: the parser and the commands `sync`, `validate`, `sandbox`, `app`.\n"
    "- `_common`: what the command line's modules share.\n"
    "- `_ledger`: `publitrac runs` and `publitrac ledger`.\n"
    "- `_stream`: `sync` and `validate` on files too big to hold.",
}
CLI_MAIN = '''"""`python -m publitrac.cli`: the `publitrac` command."""

import sys

from ._main import main

sys.exit(main())
'''
# old module bound in files, after `from publitrac import X`: still bound to the same name after the move
_SUBMODULE = re.compile(r"^_\w+$")


class MoveError(Exception):
    """A module, a folder or a reference this script does not know how to move."""


def run(*args: str) -> str:
    return subprocess.run(args, cwd=ROOT, check=True, capture_output=True, text=True).stdout


# ---------------------------------------------------------------- the order, from the structure test


def allowed_imports() -> dict[str, list[str]]:
    """`ALLOWED` of the structure test: folder -> the folders it may import, lowest first."""
    for path in (TEST, TEST_TEMPLATE):
        if (ROOT / path).is_file():
            tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
            for node in tree.body:
                target = node.target if isinstance(node, ast.AnnAssign) else None
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target = node.targets[0]
                if isinstance(target, ast.Name) and target.id == "ALLOWED" and node.value is not None:
                    value = ast.literal_eval(node.value)
                    return {name: list(folders) for name, folders in value.items()}
            raise MoveError(f"{path} has no ALLOWED = {{...}}")
    raise MoveError(f"neither {TEST} nor {TEST_TEMPLATE} is there: the order of the folders is written in it")


def may_import_line(folder: str, allowed: dict[str, list[str]]) -> str:
    names = allowed[folder]
    if not names:
        return "May import: nothing of the package."
    shown = ", ".join(f"`{name}/`" if name in allowed and name != "base" else f"`{name}`" for name in names)
    return textwrap.fill(
        f"May import: {shown} (the order is checked by `tests/test_structure.py`).", LINE_LENGTH
    )


# ---------------------------------------------------------------- module names


def module_of(relative: Path) -> str:
    """`src/publitrac/lead/_mapping.py` -> `publitrac.lead._mapping`."""
    parts = list(relative.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def path_of(module: str, package: bool = False) -> Path:
    parts = module.split(".")
    return (
        SRC.parent.joinpath(*parts, "__init__.py")
        if package
        else SRC.parent.joinpath(*parts[:-1], parts[-1] + ".py")
    )


MAP = {f"{PACKAGE}.{old}": f"{PACKAGE}.{new}" for old, new in TABLE.items()}


@dataclass
class Plan:
    moves: list[tuple[Path, Path]] = field(default_factory=list)
    created: dict[Path, str] = field(default_factory=dict)
    edited: dict[Path, str] = field(default_factory=dict)  # path (after the moves) -> new text
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def survey(plan: Plan) -> tuple[set[str], dict[str, str]]:
    """The modules now (`current`), and each one's name after the move; fills `plan.moves` and checks the tree."""
    top = ROOT / SRC
    current: set[str] = set()
    packages: set[str] = set()
    for path in sorted(top.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if "__pycache__" in relative.parts:
            continue
        current.add(module_of(relative))
        if path.name == "__init__.py":
            packages.add(module_of(relative))
    renamed: dict[str, str] = {name: name for name in current}
    folders = set(FOLDER_DOCS) | KEPT_FOLDERS
    for entry in sorted(top.iterdir()):
        if entry.name == "__pycache__" or entry.suffix in (".typed",):
            continue
        if entry.is_dir():
            if entry.name not in folders:
                plan.errors.append(f"{entry.relative_to(ROOT)}/: a folder this script does not know (add it)")
            continue
        if entry.suffix != ".py":
            plan.errors.append(f"{entry.relative_to(ROOT)}: a file this script does not know")
            continue
        stem = entry.stem
        if stem in STAY:
            continue
        if stem not in TABLE:
            plan.errors.append(
                f"{entry.relative_to(ROOT)}: a top-level module missing from TABLE (say which folder it goes to)"
            )
            continue
        new = f"{PACKAGE}.{TABLE[stem]}"
        target = path_of(new)
        if (ROOT / target).exists():
            plan.errors.append(f"{entry.relative_to(ROOT)} and {target} both exist: merge them by hand")
            continue
        plan.moves.append((entry.relative_to(ROOT), target))
        renamed[f"{PACKAGE}.{stem}"] = new
    for old, new in TABLE.items():
        if not (top / f"{old}.py").exists() and f"{PACKAGE}.{new}" not in current:
            plan.errors.append(
                f"{PACKAGE}.{old}: neither {SRC}/{old}.py nor its new place {path_of(PACKAGE + '.' + new)}"
            )
    moving = {old for old, _ in plan.moves}
    for old in sorted(moving):
        text = (ROOT / old).read_text(encoding="utf-8")
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == "__file__":
                plan.errors.append(
                    f"{old}:{node.lineno}: uses __file__, and moves one folder down: fix it by hand"
                )
            if isinstance(node, ast.Call):
                name = (
                    node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                )
                if name in ("import_module", "__import__", "find_spec") and _may_name_ours(node, tree):
                    plan.errors.append(f"{old}:{node.lineno}: imports by string ({name}): check it by hand")
    # folders to create
    for folder in FOLDER_DOCS:
        packages.add(f"{PACKAGE}.{folder}")
    return current, renamed


def _ours(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(rf"\.+_\w+(\.\w+)*|{PACKAGE}(\.\w+)*", value) is not None


def _may_name_ours(call: ast.Call, tree: ast.Module) -> bool:
    """An import by string that may name a module of the package: a constant naming one, or a computed name in
    a module that holds a string naming one (`"dask"` is fine; `name` where the module spells `"._x"` is not)."""
    if not call.args:
        return True
    first = call.args[0]
    if isinstance(first, ast.Constant):
        return _ours(first.value)
    return any(isinstance(node, ast.Constant) and _ours(node.value) for node in ast.walk(tree))


# ---------------------------------------------------------------- rewriting imports


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _offset(text: str, starts: list[int], lineno: int, col: int) -> int:
    """ast's (line, UTF-8 byte column) -> index into `text`."""
    line = text[starts[lineno - 1] : starts[lineno]]
    return starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8"))


def resolve(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    if node.level - 1 > len(parts) - 1:
        raise MoveError(f"relative import beyond the top of {PACKAGE}")
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def render(target: str, package: str, relative: bool) -> str:
    """`target` as written in `from … import` by a module of `package`."""
    if not relative:
        return target
    here, there = package.split("."), target.split(".")
    common = 0
    while common < min(len(here), len(there)) and here[common] == there[common]:
        common += 1
    if common == 0:
        raise MoveError(f"{target} is outside {package}")
    return "." * (len(here) - common + 1) + ".".join(there[common:])


def mapped(name: str, current: set[str], renamed: dict[str, str]) -> str:
    """A module's name after the move (a package or an unknown module stays as it is)."""
    return renamed.get(name, name) if name in current else name


_FROM = re.compile(r"from(\s+)([.\w]+)(\s+)import\b")


def rewrite_imports(
    text: str,
    name: str,
    new_name: str,
    is_package: bool,
    current: set[str],
    renamed: dict[str, str],
    where: str,
) -> str:
    """Every `from … import` of the file, for a module now called `name` that will be called `new_name`."""
    tree = ast.parse(text)
    old_package = name if is_package else name.rpartition(".")[0]
    new_package = new_name if is_package else new_name.rpartition(".")[0]
    starts = _line_starts(text)
    edits: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        relative = node.level > 0
        if relative and name == "__outside__":
            continue  # a relative import outside the package (tests' helpers): not ours
        base = resolve(node, old_package) if relative else (node.module or "")
        if base != PACKAGE and not base.startswith(PACKAGE + "."):
            continue
        start = _offset(text, starts, node.lineno, node.col_offset)
        end = _offset(text, starts, node.end_lineno or node.lineno, node.end_col_offset or 0)
        segment = text[start:end]
        match = _FROM.match(segment)
        if match is None:
            raise MoveError(f"{where}:{node.lineno}: cannot read this import")
        as_module = [f"{base}.{alias.name}" in current for alias in node.names]
        if not any(as_module):
            new_base = mapped(base, current, renamed)
            spec = render(new_base, new_package, relative)
            if spec != match.group(2):
                edits.append((start + match.start(2), start + match.end(2), spec))
            continue
        if not all(as_module):
            raise MoveError(
                f"{where}:{node.lineno}: imports modules and names in one statement: split it by hand"
            )
        groups: dict[str, list[tuple[str, str]]] = {}
        for alias in node.names:
            parent, _, leaf = mapped(f"{base}.{alias.name}", current, renamed).rpartition(".")
            groups.setdefault(parent, []).append((leaf, alias.asname or alias.name))
        if len(groups) == 1 and all(
            leaf == alias.name
            for (leaf, _), alias in zip(next(iter(groups.values())), node.names, strict=True)
        ):
            spec = render(next(iter(groups)), new_package, relative)
            if spec != match.group(2):
                edits.append((start + match.start(2), start + match.end(2), spec))
            continue
        if "#" in segment:
            raise MoveError(
                f"{where}:{node.lineno}: a comment inside an import that must be split: move it by hand"
            )
        line_start = starts[node.lineno - 1]
        indent = text[line_start:start]
        if indent.strip():
            raise MoveError(f"{where}:{node.lineno}: an import after other code on its line: move it by hand")
        statements = []
        for parent, names in groups.items():
            shown = ", ".join(leaf if leaf == bound else f"{leaf} as {bound}" for leaf, bound in names)
            statements.append(f"from {render(parent, new_package, relative)} import {shown}")
        edits.append((start, end, ("\n" + indent).join(statements)))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


# ---------------------------------------------------------------- rewriting dotted names and paths


def rewrite_references(text: str, active: dict[str, str], folder: str | None = None) -> str:
    """`publitrac._ledger…` -> `publitrac.ledger._store…`, `src/publitrac/_ledger.py` -> `…/ledger/_store.py`,
    and in prose `` `_ledger` `` -> `` `ledger._store` ``; for the modules of `active` (those not moved yet)."""
    if not active:
        return text
    olds = sorted((old for old in active if old != "cli"), key=len, reverse=True)
    if olds:
        names = "|".join(map(re.escape, olds))
        text = re.sub(rf"(?<=`)({names})(?![\w])", lambda m: _short(TABLE[m.group(1)], folder), text)
        text = re.sub(
            rf"(?<![\w.]){PACKAGE}\.({names})(?![\w])", lambda m: f"{PACKAGE}.{TABLE[m.group(1)]}", text
        )
    # publitrac.cli stays a module (the package) for `-m publitrac.cli` and `publitrac.cli:main`; what is looked
    # up in it (`publitrac.cli.main`, `"publitrac.cli.tempfile"`) is looked up in its `_main`
    if "cli" not in active:
        return _rewrite_paths(text, olds)
    kept = "|".join(
        sorted({new.split(".")[1] for new in TABLE.values() if new.startswith("cli.")} | {"__main__"})
    )
    text = re.sub(
        rf"(?<![\w.]){PACKAGE}\.cli\.(?!(?:{kept})(?![\w]))(?=[A-Za-z_])", f"{PACKAGE}.cli._main.", text
    )
    return _rewrite_paths(text, [*olds, "cli"])


def _short(new: str, folder: str | None) -> str:
    """How prose in `folder` (a folder of the package; None: outside it) names the module `new`."""
    there, _, leaf = new.rpartition(".")
    return leaf if there == folder else new


def _rewrite_paths(text: str, olds: list[str]) -> str:
    if not olds:
        return text
    paths = re.compile(rf"(?<![\w]){PACKAGE}/({'|'.join(map(re.escape, olds))})\.py\b")
    return paths.sub(lambda m: f"{PACKAGE}/{TABLE[m.group(1)].replace('.', '/')}.py", text)


_DOTTED = re.compile(rf"(?<![\w.]){PACKAGE}((?:\.\w+)+)")
_FINE_ATTRIBUTES = {"__version__", "__all__", "__file__", "__doc__", "__name__", "__path__"}


def unresolved(text: str, modules: set[str]) -> list[str]:
    """Dotted `publitrac.…` names whose private part names no module of the new tree."""
    found = []
    for match in _DOTTED.finditer(text):
        prefix = PACKAGE
        for part in match.group(1).strip(".").split("."):
            candidate = f"{prefix}.{part}"
            if candidate in modules:
                prefix = candidate
                continue
            # an attribute of `prefix`; a private lower-case name right under the package looks like a module
            if prefix == PACKAGE and part.startswith("_") and part not in _FINE_ATTRIBUTES:
                found.append(match.group(0))
            if prefix in (f"{PACKAGE}.cli",) and part not in ("main",):
                found.append(match.group(0))
            break
    return found


# ---------------------------------------------------------------- docstrings of kept folders


def with_may_import(text: str, line: str, where: str) -> str:
    if "May import:" in text:
        return text
    tree = ast.parse(text)
    first = tree.body[0] if tree.body else None
    if not (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        raise MoveError(f"{where}: no module docstring to say what the folder may import")
    starts = _line_starts(text)
    end = _offset(text, starts, first.end_lineno or first.lineno, first.end_col_offset or 0)
    quote = text[end - 3 : end]
    if quote not in ('"""', "'''"):
        raise MoveError(f"{where}: the module docstring is not triple-quoted")
    body_end = end - 3
    before = text[:body_end].rstrip()
    closing_on_own_line = text[:body_end].endswith("\n")
    return before + "\n\n" + line + ("\n" if closing_on_own_line else "") + text[body_end:]


# ---------------------------------------------------------------- the plan


def tracked_files() -> list[Path]:
    names = run("git", "ls-files", "-z").split("\0")
    return [Path(name) for name in names if name]


def is_outside_text(path: Path) -> bool:
    if path.parts[0] in ("generated_client",) or path.parts[:2] == ("benchmarks", "results"):
        return False
    if path.parts[:2] == ("src", PACKAGE) or path in (Path("scripts/move_layout.py"), TEST_TEMPLATE):
        return False
    if path.suffix in (".png", ".jpg", ".gif", ".xlsx", ".parquet", ".whl", ".ico", ".zip", ".gz"):
        return False
    return True


def make_plan() -> Plan:
    plan = Plan()
    current, renamed = survey(plan)
    if plan.errors:
        return plan
    allowed = allowed_imports()
    active = {
        old: new
        for old, new in TABLE.items()
        if f"{PACKAGE}.{old}" in current and renamed[f"{PACKAGE}.{old}"] != f"{PACKAGE}.{old}"
    }
    new_modules = {renamed[name] for name in current} | {f"{PACKAGE}.{folder}" for folder in FOLDER_DOCS}
    moved_to = {old: new for old, new in plan.moves}
    for folder in FOLDER_DOCS:
        if folder not in allowed:
            plan.errors.append(f"{folder}/ is not in ALLOWED of the structure test")
    for folder in KEPT_FOLDERS:
        if folder not in allowed:
            plan.errors.append(f"{folder}/ is not in ALLOWED of the structure test")
    if plan.errors:
        return plan
    # the package's own files
    for path in sorted((ROOT / SRC).rglob("*.py")):
        relative = path.relative_to(ROOT)
        if "__pycache__" in relative.parts:
            continue
        name = module_of(relative)
        text = path.read_text(encoding="utf-8")
        try:
            new = rewrite_imports(
                text, name, renamed[name], path.name == "__init__.py", current, renamed, str(relative)
            )
        except MoveError as error:
            plan.errors.append(str(error))
            continue
        folder = (
            ".".join(renamed[name].split(".")[1:-1])
            if path.name != "__init__.py"
            else ".".join(name.split(".")[1:])
        )
        new = rewrite_references(new, active, folder)
        if relative.parent.name in KEPT_FOLDERS and path.name == "__init__.py":
            try:
                new = with_may_import(new, may_import_line(relative.parent.name, allowed), str(relative))
            except MoveError as error:
                plan.errors.append(str(error))
        for reference in unresolved(new, new_modules):
            plan.errors.append(f"{relative}: `{reference}` names no module of the new layout")
        if new != text:
            plan.edited[moved_to.get(relative, relative)] = new
            _warn_long_lines(plan, moved_to.get(relative, relative), text, new)
    # new folders
    for folder, doc in FOLDER_DOCS.items():
        init = SRC / folder / "__init__.py"
        if (ROOT / init).exists():
            continue
        body = (
            f'"""{doc}\n\n{may_import_line(folder, allowed)}\n"""\n\nfrom __future__ import annotations\n\n'
        )
        if folder == "cli":
            body += 'from ._main import main\n\n__all__ = ["main"]\n'
        else:
            body += "__all__: list[str] = []\n"
        plan.created[init] = body
    if not (ROOT / SRC / "cli" / "__main__.py").exists():
        plan.created[SRC / "cli" / "__main__.py"] = CLI_MAIN
    if not (ROOT / TEST).exists():
        if not (ROOT / TEST_TEMPLATE).exists():
            plan.errors.append(f"{TEST_TEMPLATE}: missing (the structure test that comes with the move)")
        else:
            plan.moves.append((TEST_TEMPLATE, TEST))
    # everything else the repository tracks
    for relative in tracked_files():
        if not is_outside_text(relative) or not (ROOT / relative).is_file():
            continue
        try:
            text = (ROOT / relative).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if PACKAGE not in text:
            continue
        new = text
        if relative.suffix == ".py":
            try:
                new = rewrite_imports(
                    new, "__outside__", "__outside__", False, current, renamed, str(relative)
                )
            except (MoveError, SyntaxError) as error:
                plan.errors.append(f"{relative}: {error}")
                continue
        elif relative.suffix == ".ipynb":
            new = rewrite_notebook(new, current, renamed, str(relative), plan)
        new = rewrite_references(new, active)
        if relative.suffix == ".ipynb":
            json.loads(new)  # still a notebook
        for reference in unresolved(new, new_modules):
            plan.errors.append(f"{relative}: `{reference}` names no module of the new layout")
        if relative.suffix == ".md":
            olds = "|".join(sorted((o for o in active if o != "cli"), key=len, reverse=True))
            for number, line in enumerate(new.splitlines(), 1):
                if olds and re.search(rf"(?<![\w`/.])({olds})(\.py)?(?![\w`])", line):
                    plan.warnings.append(f"{relative}:{number}: prose names an old module: reread it")
        if new != text:
            plan.edited[moved_to.get(relative, relative)] = new
            if relative.suffix == ".py":
                _warn_long_lines(plan, relative, text, new)
    return plan


LINE_LENGTH = 110  # pyproject's [tool.ruff]; `ruff format` wraps code, not docstrings or comments


def _warn_long_lines(plan: Plan, path: Path, old: str, new: str) -> None:
    before = set(old.splitlines())
    for number, line in enumerate(new.splitlines(), 1):
        if len(line) > LINE_LENGTH and line not in before:
            plan.warnings.append(f"{path}:{number}: {len(line)} characters once renamed (prose: rewrap it)")


def rewrite_notebook(text: str, current: set[str], renamed: dict[str, str], where: str, plan: Plan) -> str:
    """The imports of each code cell, rewritten in its source text; the JSON around them stays byte for byte."""
    notebook = json.loads(text)
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if PACKAGE not in source:
            continue
        try:
            new = rewrite_imports(
                source, "__outside__", "__outside__", False, current, renamed, f"{where} cell {index}"
            )
        except SyntaxError:
            continue  # IPython magics: the dotted names are still rewritten in the JSON text
        except MoveError as error:
            plan.errors.append(str(error))
            continue
        if new != source:
            plan.errors.append(
                f"{where} cell {index}: an import from publitrac to rewrite in a notebook: do it by hand"
            )
    return text


def ruff_format(paths: list[Path]) -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists() and shutil.which("ruff") is None:
        print("ruff not found: run `ruff format` on the files listed above", file=sys.stderr)
        return
    python = [str(path) for path in paths if path.suffix == ".py"]
    if python:
        subprocess.run([ruff, "format", "--quiet", *python], cwd=ROOT, check=True)


def apply(plan: Plan) -> None:
    for old, new in plan.moves:
        (ROOT / new).parent.mkdir(parents=True, exist_ok=True)
        run("git", "mv", str(old), str(new))
    for path, text in plan.created.items():
        (ROOT / path).parent.mkdir(parents=True, exist_ok=True)
        (ROOT / path).write_text(text, encoding="utf-8")
    for path, text in plan.edited.items():
        (ROOT / path).write_text(text, encoding="utf-8")
    changed = sorted(set(plan.created) | set(plan.edited))
    ruff_format(changed)
    if changed:
        run("git", "add", "--", *map(str, changed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="say what would change; change nothing")
    parser.add_argument(
        "--allow-dirty", action="store_true", help="run on a working tree with uncommitted changes"
    )
    args = parser.parse_args(argv)
    if (
        not args.check
        and not args.allow_dirty
        and run("git", "status", "--porcelain", "--untracked-files=no")
    ):
        print(
            "the working tree has uncommitted changes: commit or stash them (or --allow-dirty)",
            file=sys.stderr,
        )
        return 2
    try:
        plan = make_plan()
    except MoveError as error:
        plan = Plan(errors=[str(error)])
    for warning in plan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if plan.errors:
        for error in plan.errors:
            print(f"error: {error}", file=sys.stderr)
        print(f"move_layout: {len(plan.errors)} problem(s); nothing was changed", file=sys.stderr)
        return 2
    for old, new in plan.moves:
        print(f"git mv {old} {new}")
    for path in plan.created:
        print(f"create {path}")
    for path in plan.edited:
        print(f"rewrite {path}")
    if not (plan.moves or plan.created or plan.edited):
        print("move_layout: nothing to do (the layout is already the new one)")
        return 0
    if args.check:
        return 1
    apply(plan)
    print(f"move_layout: {len(plan.moves)} moved, {len(plan.created)} created, {len(plan.edited)} rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
