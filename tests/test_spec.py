"""openapi.yaml is a valid OpenAPI document and passes Redocly's recommended lint with no warning."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from publitrac import _spec

ROOT = Path(__file__).resolve().parent.parent
REDOCLY = "@redocly/cli@2.77.0"


def test_spec_is_valid_openapi() -> None:
    spec_dict, _ = read_from_filename(str(ROOT / "openapi.yaml"))
    validate(spec_dict)


def test_loaded_spec_is_the_root_spec() -> None:
    # an editable install (the tests' own) reads the repository's spec; tests/test_packaging.py checks a wheel's
    assert _spec.spec()["paths"].keys() == {"/auth/getToken", "/lead/delayedSync"}
    assert _spec.spec_file().read_bytes() == (ROOT / "openapi.yaml").read_bytes()
    assert not (ROOT / "src/publitrac/openapi.yaml").exists(), (
        "the wheel gets its copy from the build backend"
    )


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
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower().replace("deprecation warning", ""), output


def test_production_comes_first_with_a_host_the_user_must_set() -> None:
    # Clients generated from the spec take the first server: never the sandbox, never a host that resolves.
    production, sandbox = _spec.spec()["servers"]
    assert production["url"] == "https://{host}/v2"
    assert production["variables"]["host"]["default"].endswith(".invalid")  # RFC 2606: never resolves
    assert sandbox["url"].startswith("http://127.0.0.1:")


def test_crm_lead_id_is_integer_or_string_and_assumed() -> None:
    crm_lead_id = _spec.lead_info_fields()["crmLeadId"]
    assert set(crm_lead_id["type"]) == {"integer", "string"}
    assert "**Assumed:**" in crm_lead_id["description"]


def test_emails_are_internationalised_and_assumed() -> None:
    email = _spec.lead_info_fields()["email"]
    assert email["format"] == "idn-email" and "minLength" not in email
    assert "**Assumed:**" in email["description"]


def test_error_bodies_require_only_what_a_doc_literal_server_sends() -> None:
    error = _spec.schema("ErrorResponse")
    assert error["required"] == ["status", "code"]
    assert "const" not in error["properties"]["status"]
    jsonschema_validator = Draft202012Validator(error)
    assert jsonschema_validator.is_valid({"status": "error", "code": 401})


def test_server_errors_may_be_any_media_type() -> None:
    content = _spec.spec()["components"]["responses"]["ServerError"]["content"]
    assert "*/*" in content and "application/json" in content


def test_inferences_are_labelled_assumed() -> None:
    document = _spec.spec()
    token = _spec.schema("TokenResponse")["properties"]
    assert "**Assumed:**" in token["token"]["description"] and "minLength" in token["token"]
    assert "**Assumed:**" in token["ttl"]["description"] and "pattern" in token["ttl"]
    description = document["info"]["description"]
    for claim in ("re-sending the same lead is harmless", "dropped later, out of sight"):
        sentence_start = description.rfind(".", 0, description.index(claim))
        assert "**assumed" in description[sentence_start : description.index(claim)].lower(), claim
    sync = document["paths"]["/lead/delayedSync"]["post"]["description"]
    assert "**Assumed:** custom fields the body does not name" in sync
    assert "LeadCustomFields" in sync  # the vendor's prose name, noted beside the example's `leadCustomField`
    assert "Accept: application/json" in description
