"""Griffe extension: the docstrings' `Example (...):` blocks shown as Python sessions on the site.

The house style titles an example with what it needs (`Example (against a local sandbox; ...):`), which the
Google-style parser does not take for an `Examples` section: without this, the doctest lines would run together
into one paragraph. Each such title keeps its words, and the indented `>>>` lines under it become a `pycon`
block. Docstrings in the source are left as they are (the doctests run them).
"""

from __future__ import annotations

import ast
import re
from typing import Any

import griffe

TITLE = re.compile(r"^(?P<indent> *)Examples? \(.*\):$")


def fence_examples(text: str) -> str:
    """`text` with each titled example's indented session in a fenced `pycon` block."""
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        index += 1
        title = TITLE.match(line)
        if not title or index >= len(lines) or not lines[index].lstrip().startswith(">>>"):
            continue
        depth = len(title["indent"])
        block: list[str] = []
        while index < len(lines) and (
            not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) > depth
        ):
            block.append(lines[index])
            index += 1
        while block and not block[-1].strip():
            block.pop()
        margin = min(len(b) - len(b.lstrip()) for b in block if b.strip())
        out += ["", title["indent"] + "```pycon"]
        out += [title["indent"] + b[margin:] if b.strip() else "" for b in block]
        out += [title["indent"] + "```", ""]
    return "\n".join(out)


class TitledExamples(griffe.Extension):
    def on_instance(self, *, node: ast.AST | griffe.ObjectNode, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_examples(obj.docstring.value)
