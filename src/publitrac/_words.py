"""The words each interface uses for a setting, so that every message has one source and speaks to its reader.

A message that names a setting holds a `Setting` instead of the setting's spelling; it is rendered as a
Python keyword (`email=`, `mapping={'Notes': None}`) in Python, as a flag (`--email-column`,
`--map Notes=ignore`) on the command line, and as the box on the page (`the Encoding box`) in the push app.
Errors that name settings (`Worded`) keep their parts, so that `str(error)` speaks Python, the command line
calls `error.in_words("cli")` and the app `error.in_words("app")`.

A message that names another row (the validation's "same email as row 42") holds a `RowRef` the same way: Python
and the app say the row's index label (`row 42`), the command line says where the row is in the file it read
(`line 44`, through the reader's `LeadFile.locate`).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = ["APP", "CLI", "PYTHON", "Interface", "Locate", "RowRef", "Setting", "Worded"]

Interface = Literal["python", "cli", "app"]
Locate = Callable[[int], str]
"""Where a row (by 0-based position) is in the input, in the input's own terms (`LeadFile.locate`)."""
PYTHON: Final = "python"
CLI: Final = "cli"
APP: Final = "app"
# The push app's boxes and steps, by setting.
_APP_BOXES: Final = {
    "encoding": "the Encoding box",
    "sep": "the Delimiter box",
    "api_key": "the API key box",
    "base_url": "the Base URL box",
    "email": "the email column in the Map step",
    "mapping": "the Map step",
    "custom_fields": "a custom field in the Map step",
    "allow_insecure_http": "an https:// address in the Base URL box",
}

_UNSET: Final[Any] = object()
# The environment variables (the same in every interface); _client.py defines the same names for reading them.
_API_KEY_ENV: Final = "PUBLITRAC_API_KEY"
_BASE_URL_ENV: Final = "PUBLITRAC_BASE_URL"


@dataclass(frozen=True)
class Setting:
    """A setting named in a message; `column` and `value` fill it in where the setting takes them.

    Example:
        >>> Setting("mapping", column="Notes", value=None).spell("python")
        "mapping={'Notes': None}"
        >>> Setting("mapping", column="Notes", value=None).spell("cli")
        '--map Notes=ignore'
    """

    name: str
    column: Any = _UNSET
    value: Any = _UNSET
    named: bool = False
    """True: the setting's name only (`mapping` / `--map`), as in "mapping names column 'X'"."""

    def spell(self, interface: Interface) -> str:
        """The setting in the words of `interface`."""
        column, value = self.column, self.value
        if interface == CLI:
            if self.named:
                return self._cli(_UNSET, _UNSET)
            return self._cli(column, value)
        if interface == APP:
            return self._app(column, value)
        if self.named:
            return self.name
        return self._python(column, value)

    def _python(self, column: Any, value: Any) -> str:
        name = self.name
        if name == "mapping" and isinstance(value, dict):
            return f"mapping={value!r}"
        if name == "mapping" and column is not _UNSET:
            return f"mapping={{{column!r}: {'None' if value is _UNSET else repr(value)}}}"
        if name == "custom_fields" and column is not _UNSET:
            return f"custom_fields=[{column!r}]"
        if name == "email" and column is not _UNSET:
            return f"email={column!r}"
        if name == "api_key":
            return f"api_key=... or {_API_KEY_ENV}"
        if name == "base_url":
            return f"base_url=... or {_BASE_URL_ENV}"
        if value is not _UNSET:
            return f"{name}={value!r}"
        return f"{name}="

    def _app(self, column: Any, value: Any) -> str:
        name = self.name
        if name == "mapping" and column is not _UNSET and not self.named:
            target = "— ignore —" if value is _UNSET or value is None else f"leadInfo.{value}"
            return f"{column!r} set to {target!r} in the Map step"
        if name == "email" and column is not _UNSET and not self.named:
            return f"{column!r} as the email column in the Map step"
        return _APP_BOXES.get(name, f"the {name.replace('_', ' ')} setting")

    def _cli(self, column: Any, value: Any) -> str:
        name = self.name
        if name == "mapping":
            if isinstance(value, dict):
                return " ".join(Setting("mapping", column=c, value=v).spell(CLI) for c, v in value.items())
            if column is _UNSET:
                return "--map"
            target = "ignore" if value is _UNSET or value is None else str(value)
            return f"--map {shlex.quote(f'{column}={target}')}"
        if name == "custom_fields":
            if value == "all":
                return "--custom-all"
            return "--custom" if column is _UNSET else f"--custom {shlex.quote(str(column))}"
        if name == "email":
            return "--email-column" if column is _UNSET else f"--email-column {shlex.quote(str(column))}"
        if name == "api_key":
            return f"{_API_KEY_ENV} in the environment"
        if name == "base_url":
            return f"--base-url or {_BASE_URL_ENV}"
        if name == "allow_insecure_http":
            return "--allow-insecure-http"
        flag = "--" + name.replace("_", "-")
        if value is _UNSET or value is True:
            return flag
        return f"{flag} {shlex.quote(str(value))}"

    @staticmethod
    def render(
        parts: Iterable[str | Setting | RowRef], interface: Interface, *, locate: Locate | None = None
    ) -> str:
        """Join the parts of a message, each setting and row spelled for `interface`.

        In the app one does not "pass" a box: "...; pass encoding=" reads "...; choose the Encoding box".
        `locate` places rows in the input file (the command line); without it a row is named by its label.
        """
        items = list(parts)
        words: list[str] = []
        for index, part in enumerate(items):
            if isinstance(part, str):
                following = items[index + 1] if index + 1 < len(items) else None
                if interface == APP and isinstance(following, Setting) and part.endswith("pass "):
                    part = part.removesuffix("pass ") + "use "
                words.append(part)
            elif isinstance(part, RowRef):
                words.append(part.spell(interface, locate=locate))
            else:
                words.append(part.spell(interface))
        return "".join(words)


@dataclass(frozen=True)
class RowRef:
    """A row named in a message: its index label (Python's and the app's words) and its 0-based position.

    Example:
        >>> RowRef(label=42, position=42).spell("python")
        'row 42'
        >>> RowRef(label=42, position=42).spell("cli", locate=lambda position: f"line {position + 2}")
        'line 44'
    """

    label: Any
    position: int

    def spell(self, interface: Interface, *, locate: Locate | None = None) -> str:
        """The row in the words of `interface`: where the file holds it on the command line, else its label."""
        if interface == CLI and locate is not None:
            return locate(self.position)
        return f"row {self.label!r}"


class Worded:
    """Mixin of the errors whose message names settings: `str()` speaks Python, `in_words(CLI)` flags."""

    parts: tuple[str | Setting, ...] = ()

    def in_words(self, interface: Interface) -> str:
        """The message in the words of `interface` (`"python"`, `"cli"` or `"app"`)."""
        if not self.parts:
            return str(self)
        return Setting.render(self.parts, interface)
