"""The import structure of `src/publitrac`: no circle between modules, and no folder importing a higher one.

Every import counts: at the top of a module, under `if TYPE_CHECKING:`, and inside functions (the lazy ones);
an import of a module counts once, whatever it names of it. Found with `ast`, nothing is imported. The few
exceptions are listed in `EXCEPTIONS`, each with its reason.

`ALLOWED` is the order of the folders, written once: lowest first, each folder with the folders it may import
(only lower ones). `base` is the modules at the top of the package (`_exceptions`, `_words`, `_spec`): what
every folder may import; `publitrac` is the package's `__init__`, the public API.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "publitrac"

ALLOWED: dict[str, list[str]] = {
    "base": [],
    "files": ["base"],
    "lead": ["base"],
    "connection": ["base"],
    "engine": ["base", "lead", "connection"],
    "ledger": ["base", "lead", "connection", "engine"],
    "syncs": ["base", "files", "lead", "connection", "engine", "ledger"],
    "publitrac": ["base", "files", "lead", "connection", "engine", "ledger", "syncs"],
    "sandbox": ["base"],
    "widgets": ["base", "files", "lead", "connection", "engine", "ledger", "syncs", "publitrac", "sandbox"],
    "app": ["base", "publitrac", "sandbox", "widgets"],
    "cli": [
        "base",
        "files",
        "lead",
        "connection",
        "engine",
        "ledger",
        "syncs",
        "publitrac",
        "sandbox",
        "app",
    ],
}

# (importing module, imported module): why it may break the rules above
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("publitrac._exceptions", "publitrac.engine._report"): (
        "under TYPE_CHECKING only: PublitracError.report is annotated SyncReport; nothing is imported at run time"
    ),
}


def _module(path: Path) -> str:
    parts = ["publitrac", *path.relative_to(PACKAGE).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph() -> dict[str, dict[str, int]]:
    """module -> {imported module of the package: line of the first import}."""
    paths = {_module(path): path for path in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in path.parts}
    graph: dict[str, dict[str, int]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")
                    base = ".".join(
                        parts[: len(parts) - node.level + 1] + ([node.module] if node.module else [])
                    )
                else:
                    base = node.module or ""
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in paths else base for a in node.names]
            for target in targets:
                while (
                    target not in paths and "." in target
                ):  # `import publitrac.x.y` names y; `a.b.attr` names a.b
                    target = target.rpartition(".")[0]
                if target in paths and target != name:
                    edges.setdefault(target, node.lineno)
        graph[name] = edges
    return graph


def _folder(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "publitrac"
    if len(parts) == 2 and (PACKAGE / f"{parts[1]}.py").is_file():
        return "base"
    return parts[1]


def test_the_order_is_strict() -> None:
    names = list(ALLOWED)
    for index, (folder, allowed) in enumerate(ALLOWED.items()):
        higher = [name for name in allowed if name not in names[:index]]
        assert not higher, f"{folder} may import only folders listed before it in ALLOWED, not {higher}"


def test_every_folder_has_its_place() -> None:
    folders = {_folder(module) for module in _graph()}
    assert not folders - set(ALLOWED), (
        f"folders missing from ALLOWED (say what they may import): {folders - set(ALLOWED)}"
    )


def test_no_folder_imports_a_higher_one() -> None:
    wrong = []
    for module, edges in _graph().items():
        here = _folder(module)
        for target, line in edges.items():
            there = _folder(target)
            if there != here and there not in ALLOWED.get(here, []) and (module, target) not in EXCEPTIONS:
                wrong.append(f"{module} (line {line}, {here}) imports {target} ({there})")
    assert not wrong, "imports against the order of ALLOWED:\n" + "\n".join(wrong)


def test_no_import_circle() -> None:
    graph = {
        m: {t: line for t, line in edges.items() if (m, t) not in EXCEPTIONS} for m, edges in _graph().items()
    }
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []
    circles: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in graph[module]:
            if state.get(target) == 1:
                circle = [*path[path.index(target) :], target]
                circles.append(" -> ".join(circle))
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not circles, "import circles:\n" + "\n".join(circles)


@pytest.mark.parametrize("pair", sorted(EXCEPTIONS))
def test_every_exception_is_still_needed(pair: tuple[str, str]) -> None:
    module, target = pair
    assert target in _graph().get(module, {}), f"{module} no longer imports {target}: drop it from EXCEPTIONS"
