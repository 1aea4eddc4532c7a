"""MkDocs hook: a page for each notebook of `notebooks/`, which stay where the tests and JupyterLab expect them.

Each `notebooks/NN-topic.ipynb` becomes the page `notebooks/NN-topic/`: its Markdown cells as they are, its code
cells as Python blocks, and the notebook itself beside it to download. The notebooks are committed without
outputs and not run here (tests/test_notebooks.py runs them), so a build needs no kernel and takes no time.
"""

from __future__ import annotations

import json
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def notebook_markdown(notebook: Path) -> str:
    """The page of a notebook: its Markdown cells, its code cells as Python blocks, a link to download it."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    parts = []
    for number, cell in enumerate(cells):
        source = "".join(cell["source"]).strip("\n")
        if cell["cell_type"] == "markdown":
            parts.append(source)
        elif cell["cell_type"] == "code" and source:
            parts.append(f"```python\n{source}\n```")
        if number == 0:
            parts.append(
                f"*`notebooks/{notebook.name}`, shown as committed (code, no outputs): "
                f"[download it]({notebook.name}) and open it in JupyterLab to run it.*"
            )
    return "\n\n".join(parts) + "\n"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add each notebook's page (`notebooks/NN-topic.md`) and the notebook, copied beside it."""
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        uri = f"notebooks/{notebook.stem}"
        files.append(File.generated(config, f"{uri}.md", content=notebook_markdown(notebook)))
        files.append(File.generated(config, f"{uri}.ipynb", abs_src_path=str(notebook)))
    return files
