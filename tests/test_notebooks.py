"""The notebooks, executed top to bottom headless (nbclient) as a user would run them, against the sandbox.

Each notebook runs once per module, with a distinctive PUBLITRAC_API_KEY and no PUBLITRAC_BASE_URL (so
notebook 02 starts its sandbox with that key); a probe cell appended by the test reads what the notebook
produced, and then every output and the saved widget state are searched for the key and the tokens.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

import publitrac

# Long, and the same on every Python: .ci/run runs it on Python 3.11 only (pytest -m "not slow" on the newest).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
NAMES = ("01-explore-leads.ipynb", "02-push-leads.ipynb")
SECRET = "nb-Key!distinctive-4242-notebook"
PROBE_MARK = "# probe added by tests/test_notebooks.py"
PROBES = {
    "01-explore-leads.ipynb": f"""{PROBE_MARK}
import json
print(json.dumps({{
    "rows": len(df),
    "email": mapping.email,
    "custom": dict(mapping.custom),
    "errors": int((problems["severity"] == "error").sum()),
    "warnings": int((problems["severity"] == "warning").sum()),
    "explorer_rows": len(explorer.df),
    "explorer_invalid": len(explorer.row_positions("invalid")),
    "explorer_duplicate": len(explorer.row_positions("duplicate")),
}}))
""",
    "02-push-leads.ipynb": f"""{PROBE_MARK}
import json
held = panel.client.auth._held
print(json.dumps({{
    "rows": len(df),
    "summary": {{status: int(count) for status, count in report.summary.items()}},
    "retried": len(retry.results) if retry is not None else 0,
    "failures": report.results.loc[report.results["status"] == "failed", "error"].astype(str).tolist(),
    "sandbox_leads": len(panel.sandbox.leads()),
    "sandbox_url": panel.sandbox.base_url,
    "token": held.token.value if held is not None else None,
    "token_requests": panel.client.token_requests,
}}))
""",
}


def execute(name: str) -> tuple[nbformat.NotebookNode, dict[str, Any]]:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PROBES[name]))
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    probe = notebook.cells.pop()
    text = "".join(output.get("text", "") for output in probe.outputs if output.output_type == "stream")
    return notebook, json.loads(text.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def kernel_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kernels' user data directory, where the default ledger would be (never the user's own)."""
    return tmp_path_factory.mktemp("notebook-kernels") / "data"


@pytest.fixture(scope="module")
def executed(kernel_data: Path) -> Iterator[dict[str, tuple[nbformat.NotebookNode, dict[str, Any]]]]:
    # Inherited by the kernels nbclient starts: the key, and a data directory of their own.
    own = {"PUBLITRAC_API_KEY": SECRET, "XDG_DATA_HOME": str(kernel_data)}
    saved = {
        key: os.environ.pop(key) for key in list(os.environ) if key.startswith("PUBLITRAC_") or key in own
    }
    os.environ.update(own)
    try:
        yield {name: execute(name) for name in NAMES}
    finally:
        for key in own:
            os.environ.pop(key, None)
        os.environ.update(saved)


@pytest.fixture(scope="module")
def example() -> pd.DataFrame:
    return pd.read_csv(ROOT / "examples" / "leads.csv")


def expected(example: pd.DataFrame) -> dict[str, int]:
    problems = publitrac.validate(example)
    invalid = set(problems.loc[problems["severity"] == "error", "position"])
    valid = example.drop(index=example.index[sorted(invalid)])
    email = publitrac.map_columns(example).email
    keys = example[email].astype("string").str.strip().str.lower()
    warned = sorted(set(problems.loc[problems["severity"] == "warning", "position"]))
    return {
        "invalid": len(invalid),
        "valid": len(example) - len(invalid),
        "distinct": int(valid[email].astype(str).str.strip().str.lower().nunique()),
        "warnings": int((problems["severity"] == "warning").sum()),
        "duplicate_rows": int(keys.isin(keys.iloc[warned]).sum()),
    }


# -- as committed --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs_and_thin(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "a notebook without code"
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [] and cell.execution_count is None, f"cell {number} has outputs"
        assert len(cell.source.splitlines()) <= 6, f"cell {number} is not thin:\n{cell.source}"
        tree = ast.parse(cell.source)
        defined = [
            node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Lambda)
        ]
        assert not defined, f"cell {number} defines a function or class"
        previous = notebook.cells[number - 1] if number else None
        assert previous is not None and previous.cell_type == "markdown", (
            f"cell {number} has no explanation above"
        )
    assert "widgets" not in notebook.metadata, "saved widget state"


# -- executed ------------------------------------------------------------------------------------------------


def test_explore_notebook_finds_what_validation_finds(
    executed: dict[str, Any], example: pd.DataFrame
) -> None:
    notebook, probe = executed["01-explore-leads.ipynb"]
    facts = expected(example)
    assert probe["rows"] == len(example) == probe["explorer_rows"]
    assert probe["explorer_invalid"] == facts["invalid"] > 0
    # The duplicate view shows whole groups: each warned row and the earlier rows sharing its email.
    assert probe["explorer_duplicate"] == facts["duplicate_rows"] > facts["warnings"] > 0
    assert probe["email"] == publitrac.map_columns(example).email
    # The notebook's cleaning mends the one malformed email with a doubled dot; the other errors remain.
    problems = publitrac.validate(example)
    mended = problems[(problems["severity"] == "error") & problems["value"].str.contains("..", regex=False)]
    assert len(mended) == 1
    assert probe["errors"] == facts["invalid"] - len(mended)
    assert probe["warnings"] == facts["warnings"]
    assert set(probe["custom"]) == {"Company", "Country", "Source", "Newsletter", "Signed Up"}
    assert f"'error': {probe['errors']}" in outputs_text(notebook)


def test_push_notebook_pushes_every_valid_row_into_the_sandbox(
    executed: dict[str, Any], example: pd.DataFrame, kernel_data: Path
) -> None:
    notebook, probe = executed["02-push-leads.ipynb"]
    facts = expected(example)
    summary = probe["summary"]
    # The notebook syncs with the panel's ledger (its sandbox's, temporary), never the user's default one: a
    # sandbox forgets its leads, and a later one on the same port with the same key would find them "unchanged".
    assert not (kernel_data / "publitrac" / "ledger.sqlite3").exists()
    assert summary.get("failed", 0) == 0, f"rows the sandbox refused: {probe['failures']}"
    assert probe["rows"] == len(example)
    assert summary.get("accepted", 0) == facts["valid"]
    assert summary.get("invalid", 0) == facts["invalid"]
    assert summary.get("failed", 0) == 0
    assert probe["sandbox_leads"] == facts["distinct"]
    assert probe["sandbox_url"].startswith("http://127.0.0.1:")
    texts = outputs_text(notebook)
    assert f"{facts['valid']} accepted" in texts or f"'accepted': {facts['valid']}" in texts
    # Pushing from code shows a progress bar under the running cell: tqdm's widget, displayed from the worker
    # thread the blocking sync runs its event loop in.
    push = next(cell for cell in notebook.cells if "df.publitrac.sync(" in cell.source)
    bars = [
        output["data"]
        for output in push.outputs
        if "application/vnd.jupyter.widget-view+json" in output.get("data", {})
    ]
    assert bars and "publitrac sync" in bars[0]["text/plain"], push.outputs


@pytest.mark.parametrize("name", NAMES)
def test_no_output_holds_the_key_or_a_token(executed: dict[str, Any], name: str) -> None:
    notebook, probe = executed[name]
    saved = json.dumps(notebook)  # every output, the metadata and any widget state nbclient stored
    assert SECRET not in saved
    if probe.get("token"):
        assert probe["token"] not in saved


def outputs_text(notebook: nbformat.NotebookNode) -> str:
    parts: list[str] = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            for value in output.get("data", {}).values():
                parts.append(value if isinstance(value, str) else json.dumps(value))
    return "\n".join(parts)
