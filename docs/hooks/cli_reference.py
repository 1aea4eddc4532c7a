"""MkDocs hook: the command-line reference, generated from `publitrac.cli._main.build_parser()` at build time.

`docs/reference/cli.md` holds the marker below; `on_page_markdown` replaces it with one section per command and
subcommand (usage, description, arguments and options, epilog), so the page cannot drift from the parser.
"""

from __future__ import annotations

import argparse
import re

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

MARKER = "<!-- cli-reference -->"
PAGE = "reference/cli.md"
USAGE_WIDTH = 100
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _escape(text: str) -> str:
    """Help text as literal Markdown: no emphasis, link, HTML or table syntax taken from it."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) for each subcommand of `parser`, in the order they were added."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, subparser in action.choices.items():
                found.append((name, helps.get(name, ""), subparser))
    return found


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=USAGE_WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _arguments(parser: argparse.ArgumentParser) -> list[str]:
    """A Markdown list per argument group: each argument as invoked, then its help."""
    formatter = argparse.HelpFormatter(parser.prog, width=USAGE_WIDTH)
    lines: list[str] = []
    for group in parser._action_groups:
        actions = [
            action
            for action in group._group_actions
            if action.help != argparse.SUPPRESS and not isinstance(action, argparse._SubParsersAction)
        ]
        if not actions:
            continue
        lines += [f"**{_escape((group.title or 'arguments').capitalize())}**", ""]
        for action in actions:
            invocation = formatter._format_action_invocation(action)
            text = formatter._expand_help(action) if action.help else ""
            lines.append(f"- `{invocation}`" + (f": {_escape(text)}" if text else ""))
        lines.append("")
    return lines


def _section(path: list[str], summary: str, parser: argparse.ArgumentParser) -> list[str]:
    level = "#" * min(len(path) + 1, 4)
    lines = [f"{level} {' '.join(path)}", ""]
    if summary:
        lines += [f"*{_escape(summary)}*", ""]
    lines += ["```text", _usage(parser), "```", ""]
    if parser.description:
        lines += [_escape(parser.description), ""]
    lines += _arguments(parser)
    if parser.epilog:
        lines += [_escape(parser.epilog), ""]
    for name, help_text, subparser in _subcommands(parser):
        lines += _section([*path, name], help_text, subparser)
    return lines


def render(parser: argparse.ArgumentParser | None = None) -> str:
    """The reference of every command of `parser` (default: the `publitrac` command's), as Markdown."""
    if parser is None:
        from publitrac.cli._main import build_parser

        parser = build_parser()
    return "\n".join(_section([parser.prog], "", parser)).rstrip() + "\n"


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"{PAGE} lost its marker {MARKER!r}: the generated reference has nowhere to go")
    return markdown.replace(MARKER, render())
