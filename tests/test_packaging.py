"""The package as users install it: declared dependencies match the imports, and a wheel works on its own.

The rule for imports (checked on `src/publitrac` and `generated_client/publitrac_client`):
* a module-level import needs a distribution of `[project] dependencies`, except in `publitrac.widgets`, which is
  the `notebooks` extra's and may also import that extra's distributions;
* an import inside a function (imported lazily, when that function runs), or under `if TYPE_CHECKING:` (never
  imported at run time: for type checkers only), may also come from a user-facing extra (any extra except `test`
  and `dev`).
Each core dependency, in turn, is imported somewhere, except the few that another library loads by itself.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import publitrac

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "publitrac": ROOT / "src" / "publitrac",
    "publitrac_client": ROOT / "generated_client" / "publitrac_client",
}
NOT_FOR_USERS = {"test", "dev"}
# Declared but never imported: uvicorn loads them by itself when they are installed (faster HTTP parsing, loop).
LOADED_BY_ANOTHER_LIBRARY = {"httptools": "uvicorn", "uvloop": "uvicorn"}


def _project() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]  # type: ignore[no-any-return]


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(text).name) for text in requirements}


def _imports(path: Path) -> Iterator[tuple[str, int, bool]]:
    """(top-level module, line, lazy) for each absolute import in a file; lazy: inside a function, or for type
    checkers only (`if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def visit(node: ast.AST, lazy: bool) -> Iterator[tuple[str, int, bool]]:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            inner = inner or (
                isinstance(child, ast.If)
                and isinstance(child.test, ast.Name)
                and child.test.id == "TYPE_CHECKING"
            )
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name.split(".")[0], child.lineno, lazy
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                yield child.module.split(".")[0], child.lineno, lazy
            yield from visit(child, inner)

    yield from visit(tree, False)


def _third_party_imports() -> Iterator[tuple[Path, str, int, bool]]:
    for top in PACKAGES.values():
        for path in sorted(top.rglob("*.py")):
            for module, line, lazy in _imports(path):
                if module in sys.stdlib_module_names or module in PACKAGES or module == "__future__":
                    continue
                yield path, module, line, lazy


def test_every_import_is_declared() -> None:
    project = _project()
    core = _names(project["dependencies"])  # type: ignore[arg-type]
    extras = {name: _names(reqs) for name, reqs in project["optional-dependencies"].items()}  # type: ignore[attr-defined]
    user_extras = set().union(*(reqs for name, reqs in extras.items() if name not in NOT_FOR_USERS))
    providers = importlib.metadata.packages_distributions()
    widgets = PACKAGES["publitrac"] / "widgets"
    wrong = []
    for path, module, line, lazy in _third_party_imports():
        allowed = set(core)
        if widgets in path.parents:
            allowed |= extras["notebooks"]
        if lazy:
            allowed |= user_extras
        distributions = {canonicalize_name(name) for name in providers.get(module, [])}
        if not distributions & allowed:
            where = f"{path.relative_to(ROOT)}:{line}"
            provided = ", ".join(sorted(distributions)) or "no installed distribution"
            wrong.append(
                f"{where} imports {module} ({provided}), which pyproject.toml does not declare there"
            )
    assert not wrong, "\n".join(wrong)


def test_every_core_dependency_is_imported() -> None:
    providers = importlib.metadata.packages_distributions()
    imported = {
        canonicalize_name(distribution)
        for _, module, _, _ in _third_party_imports()
        for distribution in providers.get(module, [])
    }
    declared = _names(_project()["dependencies"])  # type: ignore[arg-type]
    unused = declared - imported - set(LOADED_BY_ANOTHER_LIBRARY)
    assert not unused, f"declared in [project] dependencies but imported nowhere: {sorted(unused)}"


def test_the_import_scan_sees_lazy_and_module_level_imports(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        "import os\nfrom a.b import c\n\ndef f():\n    import lazy_one\n    from . import rel\n"
    )
    assert list(_imports(module)) == [("os", 1, False), ("a", 2, False), ("lazy_one", 5, True)]


def test_maintainer_tools_are_not_in_the_users_extras() -> None:
    extras = _project()["optional-dependencies"]
    for tool in ("openapi-python-client", "ruff", "mypy"):
        assert tool in _names(extras["dev"])  # type: ignore[index]
        for name in set(extras) - {"dev"}:  # type: ignore[arg-type]
            assert tool not in _names(extras[name]), f"{tool} is in the {name} extra"  # type: ignore[index]


def test_version_comes_from_the_metadata() -> None:
    assert publitrac.__version__ == importlib.metadata.version("publitrac") == _project()["version"]
    result = subprocess.run(
        [sys.executable, "-m", "publitrac.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"publitrac {publitrac.__version__}"


def test_license_and_metadata() -> None:
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    metadata = importlib.metadata.metadata("publitrac")
    assert metadata["License-Expression"] == "MIT"
    classifiers = set(metadata.get_all("Classifier") or [])
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert "Typing :: Typed" in classifiers
    for typed in PACKAGES.values():
        assert (typed / "py.typed").is_file(), typed


def test_no_symlink_is_committed() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(
        ["git", "ls-files", "--stage"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    links = [line.split("\t", 1)[1] for line in listing.splitlines() if line.startswith("120000")]
    assert not links, f"symlinks break checkouts without symlink support (Windows): {links}"


def _clean_environment() -> dict[str, str]:
    # the wheel's processes run outside the checkout: no coverage, no virtual environment of ours
    drop = ("COVERAGE_", "VIRTUAL_ENV", "PYTHONPATH")
    return {name: value for name, value in os.environ.items() if not name.startswith(drop)}


@pytest.mark.timeout(300)
def test_a_wheel_built_without_symlinks_works_outside_the_checkout(tmp_path: Path) -> None:
    """Build a wheel from a clone made with core.symlinks=false (the Windows default), install it in a fresh
    virtual environment, then run the command line from another folder: it reads the spec from the wheel."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        if os.environ.get("CI"):
            pytest.fail("CI runs from a git clone with git installed")
        pytest.skip("not a git checkout: nothing committed to build a wheel from")
    env = _clean_environment()
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "-c", "core.symlinks=false", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
        check=True, env=env,
    )  # fmt: skip
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(clone)],
        check=True, env=env,
    )  # fmt: skip
    (wheel,) = dist.glob("publitrac-*.whl")

    # A fresh environment: the wheel itself, installed without its dependencies, which come from the tests'
    # environment (its site-packages on the path, after the fresh one, so the wheel's publitrac comes first).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, env=env)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    fresh_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True, env=env,
    ).stdout.strip()  # fmt: skip
    (Path(fresh_site) / "zz_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)],
        check=True, env=env,
    )  # fmt: skip
    command = venv / ("Scripts/publitrac.exe" if os.name == "nt" else "bin/publitrac")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    leads = shutil.copy(ROOT / "examples" / "leads.csv", elsewhere / "leads.csv")

    def run(*args: str) -> str:
        result = subprocess.run(args, cwd=elsewhere, capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    where = run(
        str(python), "-c", "import publitrac._spec as s; print(s.__file__); print(s.spec_file())"
    ).split()
    assert all(Path(path).is_relative_to(fresh_site) for path in where), where
    assert run(str(command), "--version").strip() == f"publitrac {_project()['version']}"
    # the JSON output's schema ships in the wheel (publitrac/cli/output_schema.json)
    assert run(
        str(python), "-c", "from publitrac.cli._output import load_schema as s; print(s()['title'])"
    ).strip() == ("publitrac --output json")

    sync = subprocess.run(
        [str(command), "sync", str(leads), "--sandbox", "--no-progress"],
        cwd=elsewhere, capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip
    # examples/leads.csv holds a few invalid rows on purpose (exit status 1); the valid ones reach the sandbox
    output = sync.stdout + sync.stderr
    assert sync.returncode == 1, output
    accepted = re.search(r"^300 rows: (\d+) accepted", sync.stdout, re.MULTILINE)
    assert accepted and int(accepted[1]) >= 290, output
    assert re.search(r"The sandbox now holds \d+ leads", sync.stdout), output
