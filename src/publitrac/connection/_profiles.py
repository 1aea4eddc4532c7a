"""Profiles: named accounts saved by `publitrac login`, the key in the OS keyring and the rest in a TOML file.

A profile is a name (`default`, `ci`, `eu-prod`, ...) with a base URL and optionally a timeout and the plain-http
opt-in. The API key is never in the file: it lives in the OS keyring (the `keyring` library: macOS Keychain,
Windows Credential Locker, the Secret Service on Linux desktops), under the service `publitrac` and the profile's
name as the username. Where no keyring backend exists (a headless server), the key comes from
`PUBLITRAC_API_KEY` as before, and the file still holds the other settings.

The file is `config.toml` in the user's config directory (`platformdirs.user_config_dir("publitrac")`, e.g.
`~/.config/publitrac/config.toml` on Linux), or the file named by `PUBLITRAC_CONFIG`:

    [profiles.default]
    base_url = "https://api.example.com/v2"

    [profiles.ci]
    base_url = "https://staging.example.com/v2"
    timeout = 60.0

Which profile: the one named (`Publitrac(profile=...)`, `--profile`), else `PUBLITRAC_PROFILE`, else `default`
when it exists, else none. Each setting is then taken from the first that has it: the explicit argument (or
flag), the environment (`PUBLITRAC_API_KEY`, `PUBLITRAC_BASE_URL`), the profile (`publitrac.connection._client`
applies the order).
"""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .._exceptions import ConfigurationError
from .._words import Setting

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_PROFILE",
    "KEYRING_SERVICE",
    "PROFILE_ENV",
    "KeyringUnavailable",
    "Profile",
    "config_path",
    "delete_key",
    "keyring_name",
    "load_key",
    "read_profiles",
    "remove_profile",
    "save_profile",
    "select_profile",
    "check_name",
    "store_key",
]

PROFILE_ENV = "PUBLITRAC_PROFILE"
CONFIG_ENV = "PUBLITRAC_CONFIG"
DEFAULT_PROFILE = "default"
KEYRING_SERVICE = "publitrac"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SETTINGS = ("base_url", "timeout", "allow_insecure_http")


class KeyringUnavailable(Exception):
    """No usable keyring backend on this machine (keyring's `fail.Keyring`, a headless server).

    The message names the reason keyring gave, never a secret.
    """


@dataclass(frozen=True)
class Profile:
    """One saved account, without its key (the key is in the keyring: `load_key(profile.name)`).

    Args:
        name: the profile's name.
        base_url: the API's base URL, ending in `/v2`.
        timeout: seconds allowed for each HTTP call, or None for the library's default.
        allow_insecure_http: permit plain http to a remote host, or None when the profile does not say.

    Example:
        >>> Profile("ci", "https://api.example.com/v2", timeout=60.0)
        Profile(name='ci', base_url='https://api.example.com/v2', timeout=60.0, allow_insecure_http=None)
    """

    name: str
    base_url: str | None = None
    timeout: float | None = None
    allow_insecure_http: bool | None = None

    def as_toml(self) -> dict[str, Any]:
        """The profile's table in the config file: only the settings it holds.

        Example:
            >>> Profile("ci", "https://api.example.com/v2").as_toml()
            {'base_url': 'https://api.example.com/v2'}
        """
        table = {name: getattr(self, name) for name in _SETTINGS}
        return {name: value for name, value in table.items() if value is not None}


def config_path() -> Path:
    """The config file: `PUBLITRAC_CONFIG`, else `config.toml` in the user's config directory.

    Returns:
        The path (the file may not exist yet).

    Example:
        >>> config_path().name
        'config.toml'
    """
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("publitrac", appauthor=False)) / "config.toml"


def check_name(name: str) -> str:
    """A profile's name, checked: letters, digits, `_`, `.`, `-`, starting with a letter or digit, 64 at most.

    Raises:
        ConfigurationError: any other name.

    Example:
        >>> check_name("eu-prod")
        'eu-prod'
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigurationError(
            f"Not a profile name: {name!r} (letters, digits, '_', '.' and '-', starting with a letter or digit)"
        )
    return name


def _read_document(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"The config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigurationError(f"Cannot read the config file {path}: {exc.strerror or exc}") from None


def _profile(name: str, table: Any, path: Path) -> Profile:
    if not isinstance(table, dict):
        raise ConfigurationError(f"The config file {path}: [profiles.{name}] is not a table")
    base_url, timeout, insecure = (table.get(setting) for setting in _SETTINGS)
    if base_url is not None and not isinstance(base_url, str):
        raise ConfigurationError(f"The config file {path}: profiles.{name}.base_url is not a string")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)):
        raise ConfigurationError(f"The config file {path}: profiles.{name}.timeout is not a number")
    if insecure is not None and not isinstance(insecure, bool):
        raise ConfigurationError(
            f"The config file {path}: profiles.{name}.allow_insecure_http is not a boolean"
        )
    return Profile(name, base_url, None if timeout is None else float(timeout), insecure)


def read_profiles(path: Path | None = None) -> dict[str, Profile]:
    """Every profile of the config file, by name (empty when the file does not exist).

    Args:
        path: the config file; default: `config_path()`.

    Returns:
        `{name: Profile}`, in the file's order.

    Raises:
        ConfigurationError: the file is not valid TOML, or a profile's setting has the wrong type.

    Example:
        >>> import pathlib, tempfile
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "config.toml"
        >>> save_profile(Profile("ci", "https://api.example.com/v2"), file)
        >>> read_profiles(file)
        {'ci': Profile(name='ci', base_url='https://api.example.com/v2', timeout=None, allow_insecure_http=None)}
    """
    path = path or config_path()
    tables = _read_document(path).get("profiles", {})
    if not isinstance(tables, dict):
        raise ConfigurationError(f"The config file {path}: `profiles` is not a table")
    return {name: _profile(name, table, path) for name, table in tables.items()}


def _write_document(path: Path, document: dict[str, Any]) -> None:
    import tomli_w

    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the file, then renamed over it: an interrupted write never leaves half a config.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as handle:
            tomli_w.dump(document, handle)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def save_profile(profile: Profile, path: Path | None = None) -> None:
    """Add or replace one profile in the config file; other profiles and other tables are kept.

    Args:
        profile: the profile (its settings only: a key is never written to the file).
        path: the config file; default: `config_path()`.

    Raises:
        ConfigurationError: the profile's name is not valid, or the existing file is not valid TOML.

    Example:
        >>> import pathlib, tempfile
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "config.toml"
        >>> save_profile(Profile("default", "https://api.example.com/v2", timeout=60.0), file)
        >>> print(file.read_text(), end="")
        [profiles.default]
        base_url = "https://api.example.com/v2"
        timeout = 60.0
    """
    path = path or config_path()
    check_name(profile.name)
    document = _read_document(path)
    tables = document.setdefault("profiles", {})
    if not isinstance(tables, dict):
        raise ConfigurationError(f"The config file {path}: `profiles` is not a table")
    tables[profile.name] = profile.as_toml()
    _write_document(path, document)


def remove_profile(name: str, path: Path | None = None) -> bool:
    """Remove one profile from the config file.

    Args:
        name: the profile's name.
        path: the config file; default: `config_path()`.

    Returns:
        True when the file held the profile.

    Raises:
        ConfigurationError: the file is not valid TOML.

    Example:
        >>> import pathlib, tempfile
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "config.toml"
        >>> save_profile(Profile("ci", "https://api.example.com/v2"), file)
        >>> remove_profile("ci", file), remove_profile("ci", file), read_profiles(file)
        (True, False, {})
    """
    path = path or config_path()
    document = _read_document(path)
    tables = document.get("profiles")
    if not isinstance(tables, dict) or name not in tables:
        return False
    del tables[name]
    _write_document(path, document)
    return True


def select_profile(
    profile: str | Literal[False] | None = None, *, path: Path | None = None
) -> Profile | None:
    """The profile a connection uses: the one named, else `PUBLITRAC_PROFILE`, else `default` if it exists.

    Args:
        profile: a profile's name; None: `PUBLITRAC_PROFILE`, else the `default` profile when the file has one;
            False: no profile (the sandbox).
        path: the config file; default: `config_path()`.

    Returns:
        The profile, or None when none is named and there is no `default` one.

    Raises:
        ConfigurationError: the name (given, or from `PUBLITRAC_PROFILE`) is not a profile of the file; the
            message lists the profiles there are.

    Example:
        >>> import pathlib, tempfile
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "config.toml"
        >>> select_profile(path=file) is None                       # no file, no default profile
        True
        >>> save_profile(Profile("default", "https://api.example.com/v2"), file)
        >>> select_profile(path=file).name
        'default'
        >>> select_profile("eu", path=file)                          # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        publitrac._exceptions.ConfigurationError: Unknown profile 'eu' (profile='eu'); the profiles in ... default.
    """
    if profile is False:
        return None
    from_environment = profile is None
    name = (os.environ.get(PROFILE_ENV) or None) if profile is None else profile
    path = path or config_path()
    profiles = read_profiles(path)
    if name is None:
        return profiles.get(DEFAULT_PROFILE)
    found = profiles.get(name)
    if found is not None:
        return found
    known = ", ".join(profiles) if profiles else "none yet (publitrac login saves one)"
    where: tuple[str | Setting, ...] = (
        (f"{PROFILE_ENV}={name}",) if from_environment else (Setting("profile", value=name),)
    )
    raise ConfigurationError(f"Unknown profile {name!r} (", *where, f"); the profiles in {path}: {known}.")


def keyring_name() -> str:
    """The keyring backend in use, as keyring names it (e.g. `SecretService Keyring`).

    Example:
        >>> isinstance(keyring_name(), str)
        True
    """
    import keyring

    backend = keyring.get_keyring()
    return str(getattr(backend, "name", type(backend).__name__))


def _backend() -> Any:
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise KeyringUnavailable(
            "no keyring backend is available on this machine (a headless server has none)"
        )
    return backend


def load_key(name: str) -> str | None:
    """The API key stored for profile `name` in the OS keyring.

    Args:
        name: the profile's name.

    Returns:
        The key, or None when none is stored or no keyring backend exists.

    Raises:
        ConfigurationError: the keyring exists but could not be read (locked, refused); the message holds no
            secret.

    Example (not run by the doctests: it reads the OS keyring):
        >>> load_key("default")                       # doctest: +SKIP
    """
    from keyring.errors import KeyringError, NoKeyringError

    try:
        key = _backend().get_password(KEYRING_SERVICE, name)
    except (KeyringUnavailable, NoKeyringError):
        return None
    except KeyringError as exc:
        raise ConfigurationError(
            f"Could not read the API key of profile {name!r} from the keyring ({type(exc).__name__}); unlock it, "
            "or set ",
            Setting("api_key"),
        ) from None
    return key if isinstance(key, str) and key.strip() else None


def store_key(name: str, key: str) -> str:
    """Store the API key of profile `name` in the OS keyring.

    Args:
        name: the profile's name.
        key: the API key.

    Returns:
        The name of the keyring backend that holds it.

    Raises:
        KeyringUnavailable: no keyring backend exists here (a headless server), or it refused the key.

    Example (not run by the doctests: it writes to the OS keyring):
        >>> store_key("default", key)                       # doctest: +SKIP
        'SecretService Keyring'
    """
    from keyring.errors import KeyringError

    check_name(name)
    try:
        _backend().set_password(KEYRING_SERVICE, name, key)
    except KeyringError as exc:
        # keyring's own messages never hold the password; its type is enough to act on.
        raise KeyringUnavailable(f"the keyring refused the key ({type(exc).__name__})") from None
    return keyring_name()


def delete_key(name: str) -> bool:
    """Delete the API key of profile `name` from the OS keyring.

    Args:
        name: the profile's name.

    Returns:
        True when a key was stored and is now deleted; False when none was (or no keyring backend exists).

    Example (not run by the doctests: it changes the OS keyring):
        >>> delete_key("default")                       # doctest: +SKIP
        True
    """
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        backend = _backend()
        if backend.get_password(KEYRING_SERVICE, name) is None:
            return False
        backend.delete_password(KEYRING_SERVICE, name)
    except (KeyringUnavailable, PasswordDeleteError):
        return False
    except KeyringError as exc:
        raise ConfigurationError(
            f"Could not delete the API key of profile {name!r} from the keyring ({type(exc).__name__})"
        ) from None
    return True
