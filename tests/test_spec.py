"""openapi.yaml is a valid OpenAPI document and passes Redocly's recommended lint with no warning."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from publitrac import _spec

ROOT = Path(__file__).resolve().parent.parent
REDOCLY = "@redocly/cli@2.77.0"


def test_spec_is_valid_openapi() -> None:
    spec_dict, _ = read_from_filename(str(ROOT / "openapi.yaml"))
    validate(spec_dict)


def test_packaged_spec_is_the_root_spec() -> None:
    assert _spec.spec()["paths"].keys() == {"/auth/getToken", "/lead/delayedSync"}
    assert (ROOT / "src/publitrac/openapi.yaml").resolve() == (ROOT / "openapi.yaml").resolve()


def test_every_undocumented_error_is_marked_assumed() -> None:
    responses = _spec.spec()["components"]["responses"]
    for name, response in responses.items():
        assert "**Assumed.**" in response["description"], name


def test_operations_and_security() -> None:
    paths = _spec.spec()["paths"]
    get_token = paths["/auth/getToken"]["get"]
    sync = paths["/lead/delayedSync"]["post"]
    assert (get_token["operationId"], sync["operationId"]) == ("getToken", "delayedSync")
    schemes = _spec.spec()["components"]["securitySchemes"]
    assert schemes[next(iter(get_token["security"][0]))]["name"] == "Authorization"
    assert schemes[next(iter(sync["security"][0]))]["name"] == "Token"
    assert _spec.schema("LeadInfo")["required"] == ["email"]
    assert {"email", "crmLeadId", "jobTitle", "firstName", "lastName"} <= set(_spec.lead_info_fields())


def test_redocly_lint_has_no_error_or_warning() -> None:
    if shutil.which("npx") is None:
        if os.environ.get("CI"):
            pytest.fail("npx is missing in CI: .ci/run must install Node")
        pytest.skip("npx (Node.js) is not installed: cannot run redocly lint on this machine")
    result = subprocess.run(
        ["npx", "--yes", REDOCLY, "lint", "--format", "stylish", "openapi.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower().replace("deprecation warning", ""), output
