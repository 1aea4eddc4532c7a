"""Regenerate generated_client/publitrac_client from openapi.yaml with the pinned openapi-python-client.

Usage (from the repository root, with the test extra installed):
    python scripts/regenerate_client.py            # rewrites generated_client/publitrac_client
    python scripts/regenerate_client.py OUT_DIR    # writes the package into OUT_DIR instead (the drift test)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
CONFIG = ROOT / "generator-config.yaml"
PACKAGE = ROOT / "generated_client" / "publitrac_client"


def generate(output: Path = PACKAGE) -> None:
    """Generate the client package into `output` (overwritten)."""
    bin_dir = str(Path(sys.executable).parent)
    # The generator's post-hooks call `ruff` by name: the pinned one beside this interpreter must come first.
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    command = [
        sys.executable,
        "-m",
        "openapi_python_client",
        "generate",
        "--path",
        str(SPEC),
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


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else PACKAGE)
    print(f"generated {sys.argv[1] if len(sys.argv) > 1 else PACKAGE.relative_to(ROOT)}")
