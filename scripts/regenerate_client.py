"""Regenerate generated_client/publitrac_client from openapi.yaml with the pinned openapi-python-client, then say
what changed for users.

Usage (from the repository root, with the dev extra installed: pip install -e ".[dev]"):
    python scripts/regenerate_client.py            # rewrites generated_client/publitrac_client, prints the changes
    python scripts/regenerate_client.py OUT_DIR    # writes the package into OUT_DIR instead (the drift test)
    python scripts/regenerate_client.py --example leads.csv   # the change report for another file's columns

The generator and the ruff its post-hooks run must be the versions pinned in pyproject.toml's `dev` extra: another
ruff formats the code differently, and the drift test (tests/test_regeneration.py) then fails.

The change report compares the standard `leadInfo` fields of the client as it was before (the committed
generated_client) with the regenerated one: fields added, removed or renamed, and, for the example file, which
columns `publitrac sync` would now send differently (a new field starts sending the column of that name).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
CONFIG = ROOT / "generator-config.yaml"
PACKAGE = ROOT / "generated_client" / "publitrac_client"
EXAMPLE = ROOT / "examples" / "leads.csv"
PINNED = ("openapi-python-client", "ruff")


def pinned_versions() -> dict[str, str]:
    """The versions of the generator and ruff pinned (`==`) in pyproject.toml's `dev` extra."""
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = {}
    for requirement in extra["optional-dependencies"]["dev"]:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*==\s*([^;\s]+)\s*", requirement)
        if match and match[1].lower() in PINNED:
            pins[match[1].lower()] = match[2]
    return pins


def check_tools(bin_dir: Path) -> None:
    """Stop with the install command unless the pinned generator and ruff are the ones that will run."""
    pins = pinned_versions()
    wrong = []
    generator = _installed("openapi-python-client")
    if generator != pins["openapi-python-client"]:
        wrong.append(
            f"openapi-python-client {generator or 'is not installed'} (pinned: {pins['openapi-python-client']})"
        )
    ruff = shutil.which("ruff", path=str(bin_dir)) or shutil.which("ruff")
    ruff_version = None
    if ruff:
        output = subprocess.run([ruff, "--version"], capture_output=True, text=True, check=False).stdout
        ruff_version = output.split()[-1] if output.strip() else None
    if ruff_version != pins["ruff"]:
        found = f"{ruff_version} at {ruff}" if ruff else "is not installed"
        wrong.append(
            f"ruff {found} (pinned: {pins['ruff']}; the post-hooks format the generated code with it)"
        )
    if wrong:
        command = " ".join(f'"{name}=={version}"' for name, version in pins.items())
        raise SystemExit(
            "regenerate_client: the generated code depends on the exact tool versions; found:\n  "
            + "\n  ".join(wrong)
            + f'\ninstall the pinned ones: pip install -e ".[dev]"   (or: pip install {command})'
        )


def _installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def generate(output: Path = PACKAGE, *, spec: Path = SPEC) -> None:
    """Generate the client package from `spec` into `output` (overwritten)."""
    bin_dir = Path(sys.executable).parent
    check_tools(bin_dir)
    # The generator's post-hooks call `ruff` and `python` by name: the ones beside this interpreter come first.
    env = {**os.environ, "PATH": str(bin_dir) + os.pathsep + os.environ.get("PATH", "")}
    command = [
        sys.executable,
        "-m",
        "openapi_python_client",
        "generate",
        "--path",
        str(spec),
        "--config",
        str(CONFIG),
        "--meta",
        "none",
        "--output-path",
        str(output),
        "--overwrite",
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0 or "Warning" in result.stdout + result.stderr:
        raise SystemExit(f"openapi-python-client failed or warned:\n{result.stdout}\n{result.stderr}")


# -- the change report ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    required: bool


def lead_info_fields(package: Path) -> list[Field]:
    """The standard fields of a generated client's LeadInfo model, in spec order ([] when there is none)."""
    model = package / "models" / "lead_info.py"
    if not model.is_file():
        return []
    body = model.read_text(encoding="utf-8").split("def from_dict", 1)[-1]
    return [Field(name, not default) for name, default in re.findall(r'd\.pop\("([^"]+)"(, UNSET)?\)', body)]


@contextlib.contextmanager
def _standard_fields(names: Sequence[str]) -> Iterator[None]:
    """publitrac's column mapping, as if the spec's LeadInfo had these fields."""
    from publitrac import _spec

    with mock.patch.object(_spec, "lead_info_fields", lambda: {name: {} for name in names}):
        yield


def _destinations(columns: list[str], names: Sequence[str], custom_all: bool) -> dict[str, str]:
    import publitrac

    with _standard_fields(names):
        mapping = publitrac.map_columns(columns, custom_fields="all" if custom_all else None)
    where = {column: f"leadInfo.{field}" for column, field in mapping.fields.items()}
    where.update({column: f'custom field "{name}"' for column, name in mapping.custom.items()})
    return {column: where.get(column, "not sent") for column in columns}


def change_report(before: list[Field], after: list[Field], example: Path = EXAMPLE) -> str:
    """What a regeneration changes for users: standard fields added, removed or renamed; columns of `example`
    that `publitrac sync` would now send differently (with no option, and with --custom-all)."""
    old, new = [field.name for field in before], [field.name for field in after]
    removed = [name for name in old if name not in new]
    added = [name for name in new if name not in old]
    # A field removed and another added at the same place in the list: most likely a rename.
    renamed = [(name, new[old.index(name)]) for name in removed if old.index(name) < len(new)]
    renamed = [(was, now) for was, now in renamed if now in added]
    removed = [name for name in removed if name not in {was for was, _ in renamed}]
    added = [name for name in added if name not in {now for _, now in renamed}]
    required_now = [
        f.name for f in after if f.required and f.name in old and not _field(before, f.name).required
    ]
    lines = ["Standard leadInfo fields (LeadInfo in openapi.yaml), before -> after regeneration:"]
    if not (added or removed or renamed or required_now):
        lines.append(f"  no change ({', '.join(new)})")
    for name in added:
        lines.append(f"  added:    {name} ({'required' if _field(after, name).required else 'optional'})")
    for name in removed:
        lines.append(f"  removed:  {name}")
    for was, now in renamed:
        lines.append(f"  renamed:  {was} -> {now} (one removed and one added at its place in the list)")
    for name in required_now:
        lines.append(f"  now required: {name}")

    import pandas as pd

    columns = [str(column) for column in pd.read_csv(example, nrows=0).columns]
    try:
        shown = example.relative_to(ROOT)
    except ValueError:
        shown = example
    for custom_all, how in ((False, "with no option"), (True, "with --custom-all")):
        then, now = _destinations(columns, old, custom_all), _destinations(columns, new, custom_all)
        changed = [column for column in columns if then[column] != now[column]]
        lines.append(f"Columns of {shown} that publitrac sync would send differently ({how}):")
        if not changed:
            lines.append("  none")
        for column in changed:
            lines.append(f"  {column}: was {then[column]}, now {now[column]}")
    return "\n".join(lines)


def _field(fields: list[Field], name: str) -> Field:
    return next(field for field in fields if field.name == name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("output", nargs="?", type=Path, default=PACKAGE, help="where to write the package")
    parser.add_argument(
        "--example", type=Path, default=EXAMPLE, help="the file whose columns the report checks"
    )
    args = parser.parse_args(argv)
    before = lead_info_fields(PACKAGE)
    generate(args.output)
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"generated {shown}")
    print(change_report(before, lead_info_fields(args.output), args.example))
    return 0


if __name__ == "__main__":
    sys.exit(main())
