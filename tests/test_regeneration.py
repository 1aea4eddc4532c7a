"""generated_client/ is exactly what the pinned generator makes from openapi.yaml: never edited by hand."""

from __future__ import annotations

import filecmp
import importlib.util
import os
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "generated_client" / "publitrac_client"


def _files(top: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(top)): path.read_bytes()
        for path in sorted(top.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_regenerating_the_client_changes_nothing(tmp_path: Path) -> None:
    if importlib.util.find_spec("openapi_python_client") is None:
        if os.environ.get("CI"):
            pytest.fail("openapi-python-client is missing in CI: .ci/run must install the dev extra")
        pytest.skip('the pinned generator is in the dev extra: pip install -e ".[dev]"')
    regenerate = runpy.run_path(str(ROOT / "scripts" / "regenerate_client.py"))["generate"]
    fresh = tmp_path / "publitrac_client"
    regenerate(fresh)
    committed, regenerated = _files(COMMITTED), _files(fresh)
    assert committed.keys() == regenerated.keys()
    changed = [name for name in committed if committed[name] != regenerated[name]]
    assert not changed, f"generated_client differs from a fresh generation in: {changed}"
    assert not filecmp.dircmp(COMMITTED, fresh).diff_files
