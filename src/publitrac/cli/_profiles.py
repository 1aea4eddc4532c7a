"""`publitrac login`, `publitrac profiles` and `publitrac logout`: saved accounts, from the shell.

    publitrac login                                   # asks for the base URL and the key (no echo): profile "default"
    publitrac login --profile ci --base-url URL < key.txt      # scripted: the key from standard input
    publitrac profiles                                # the saved profiles, where each key comes from (never the key)
    publitrac sync leads.csv --profile ci             # or PUBLITRAC_PROFILE=ci; "default" when none is named
    publitrac logout --profile ci                     # deletes the key from the keyring and the profile from the file

The key is checked with one getToken before anything is stored, then kept in the OS keyring; the base URL (and
`--timeout`, `--allow-insecure-http` when given) in the config file (`publitrac.connection._profiles`). The key is
never a command-line argument, and never printed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any, TextIO

from ._common import UsageError, positive_float
from .._exceptions import AuthenticationError, PublitracError
from .._words import CLI
from ..connection._client import API_KEY_ENV, BASE_URL_ENV, Publitrac
from ..connection._profiles import (
    DEFAULT_PROFILE,
    PROFILE_ENV,
    KeyringUnavailable,
    Profile,
    check_name,
    config_path,
    delete_key,
    keyring_name,
    load_key,
    read_profiles,
    remove_profile,
    save_profile,
    select_profile,
    store_key,
)
from ..connection._verify import verify_key

__all__ = ["add_commands", "add_profile_argument"]


def add_profile_argument(parser: argparse.ArgumentParser) -> None:
    """Add `--profile NAME` to a command that connects to Publitrac.

    Args:
        parser: the command's parser.

    Example:
        >>> parser = argparse.ArgumentParser(); add_profile_argument(parser)
        >>> parser.parse_args(["--profile", "ci"]).profile
        'ci'
    """
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help=f"the saved account to use (publitrac login); default: {PROFILE_ENV}, else the profile named "
        f'"{DEFAULT_PROFILE}" if there is one. {API_KEY_ENV} and {BASE_URL_ENV} win over the profile',
    )


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `login`, `profiles` and `logout` to the `publitrac` command line.

    Args:
        commands: the subparsers of the main parser.

    Example:
        >>> parser = argparse.ArgumentParser(prog="publitrac"); add_commands(parser.add_subparsers())
        >>> parser.parse_args(["login", "--profile", "ci", "--base-url", "https://api.example.com/v2"]).profile
        'ci'
    """
    login = commands.add_parser(
        "login",
        help="save an account: check the key, keep it in the OS keyring",
        description="Ask for the base URL and the API key (without echo; read from standard input when it is not "
        "a terminal), check them with one getToken, then store the key in the OS keyring and the other "
        f"settings in the config file ({PROFILE_ENV} or --profile selects it later).",
        epilog="Exit status: 0 saved (where no keyring exists, the settings only: set PUBLITRAC_API_KEY for the "
        "key); 2 the key was refused, the server could not be reached or a setting is wrong: nothing stored.",
    )
    login.add_argument(
        "--profile",
        metavar="NAME",
        help=f'the profile to save (default: {PROFILE_ENV}, else "{DEFAULT_PROFILE}")',
    )
    login.add_argument(
        "--base-url",
        metavar="URL",
        help="the API's base URL, ending in /v2 (default: asked, offering the profile's current one)",
    )
    login.add_argument(
        "--timeout", type=positive_float, metavar="S", help="seconds to wait for each answer (kept)"
    )
    login.add_argument(
        "--allow-insecure-http",
        action="store_true",
        default=None,
        help="allow plain http to a host other than this machine (kept in the profile)",
    )
    login.set_defaults(run=run_login)

    profiles = commands.add_parser(
        "profiles",
        help="list the saved accounts (never the keys)",
        description="List the saved profiles: base URL and where the key comes from (the keyring, or "
        f"{API_KEY_ENV}, which wins over every profile). The key itself is never shown.",
    )
    profiles.add_argument(
        "--output", choices=("text", "json"), default="text", help="text (default) or one JSON document"
    )
    profiles.set_defaults(run=run_profiles)

    logout = commands.add_parser(
        "logout",
        help="forget an account: its key in the keyring and its settings",
        description="Delete the profile's API key from the OS keyring and the profile from the config file.",
    )
    logout.add_argument(
        "--profile",
        metavar="NAME",
        help=f'the profile to forget (default: {PROFILE_ENV}, else "{DEFAULT_PROFILE}")',
    )
    logout.set_defaults(run=run_logout)


def _named(args: argparse.Namespace) -> str:
    name = args.profile or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    try:
        return check_name(name)
    except PublitracError as exc:
        raise UsageError(f"--profile: {exc}") from None


def _ask(prompt: str) -> str:
    print(prompt, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip()


def _read_key(name: str) -> str:
    """The key, asked without echo on a terminal, else the first line of standard input."""
    if sys.stdin is not None and sys.stdin.isatty():
        try:
            key = getpass.getpass(f"API key for profile {name!r} (not shown): ", stream=sys.stderr)
        except EOFError:
            key = ""
    else:
        key = sys.stdin.readline() if sys.stdin is not None else ""
    key = key.strip()
    if not key:
        raise UsageError(
            "no API key given: type it when asked, or pipe it on standard input "
            f"(e.g. printenv {API_KEY_ENV} | publitrac login --profile {name} --base-url URL)"
        )
    return key


def _base_url(args: argparse.Namespace, current: str | None) -> str:
    if args.base_url:
        return str(args.base_url).strip()
    if sys.stdin is not None and sys.stdin.isatty():
        shown = f" [{current}]" if current else " (e.g. https://host/v2)"
        answer = _ask(f"Base URL{shown}: ")
        if answer or current:
            return answer or str(current)
    elif current:
        return current
    raise UsageError("no base URL: pass --base-url URL (it ends in /v2)")


def run_login(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`publitrac login`: check the key with one getToken, then save it (keyring) and the settings (file).

    Returns:
        0 saved; usage and connection errors raise (exit status 2): nothing is stored then.
    """
    out = out or sys.stdout
    name = _named(args)
    existing = read_profiles().get(name)
    current = existing.base_url if existing is not None else os.environ.get(BASE_URL_ENV)
    base_url = _base_url(args, current)
    key = _read_key(name)
    timeout = args.timeout if args.timeout is not None else (existing.timeout if existing else None)
    insecure = args.allow_insecure_http or (existing.allow_insecure_http if existing else None)
    try:
        with Publitrac(
            api_key=key, base_url=base_url, profile=False, timeout=timeout, allow_insecure_http=insecure
        ) as connection:
            verify_key(connection)
            base_url = connection.base_url
    except AuthenticationError as exc:
        raise UsageError(
            f"the API key was refused by {base_url} (getToken answered {exc.status_code}): nothing was stored"
        ) from None
    except PublitracError as exc:
        raise UsageError(f"{exc.in_words(CLI)} Nothing was stored.") from None
    profile = Profile(name, base_url, timeout, insecure)
    # The settings first: a file that cannot be written leaves nothing stored, a keyring that cannot take the key
    # leaves the settings (the documented fallback: the key from the environment).
    try:
        save_profile(profile)
    except OSError as exc:
        raise UsageError(
            f"could not save the profile in {config_path()}: {exc.strerror or exc}; nothing was stored"
        ) from None
    try:
        where: str | None = f"the keyring ({store_key(name, key)})"
    except KeyringUnavailable as exc:
        where = None
        print(
            f"publitrac: warning: the API key was NOT stored: {exc}. Set {API_KEY_ENV} in the environment of "
            "the runs (from your scheduler's or CI's secret store); the profile's other settings are saved.",
            file=sys.stderr,
        )
    print(f"Profile {name!r}: {base_url} (the key was accepted)", file=out)
    print(f"Settings saved in {config_path()}", file=out)
    if where is not None:
        print(f"Key stored in {where}", file=out)
    selector = "" if name == DEFAULT_PROFILE else f" --profile {name}"
    print(f"Next: publitrac sync FILE{selector}", file=out)
    return 0


def _key_source(name: str, key_in_environment: bool, keyring_here: bool) -> str | None:
    if key_in_environment:
        return "environment"
    if not keyring_here:
        return None
    try:
        return "keyring" if load_key(name) is not None else None
    except PublitracError:
        return "unreadable"  # a locked keyring: the listing goes on


def _describe(profile: Profile, key_in_environment: bool, keyring_here: bool) -> dict[str, Any]:
    key = _key_source(profile.name, key_in_environment, keyring_here)
    return {
        "name": profile.name,
        "base_url": profile.base_url,
        "timeout": profile.timeout,
        "allow_insecure_http": profile.allow_insecure_http,
        "key": key,
    }


def _keyring_here() -> str | None:
    from keyring.backends import fail

    import keyring

    return None if isinstance(keyring.get_keyring(), fail.Keyring) else keyring_name()


def run_profiles(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`publitrac profiles`: the saved profiles and where each key comes from; never a key."""
    out = out or sys.stdout
    path = config_path()
    profiles = read_profiles(path)
    backend = _keyring_here()
    key_in_environment = bool(os.environ.get(API_KEY_ENV, "").strip())
    try:
        selected = select_profile()
        problem = None
    except PublitracError as exc:
        selected, problem = None, exc.in_words(CLI)
    rows = [_describe(profile, key_in_environment, backend is not None) for profile in profiles.values()]
    for row in rows:
        row["selected"] = selected is not None and row["name"] == selected.name
    if args.output == "json":
        document = {
            "config_file": str(path),
            "keyring": backend,
            "selected": selected.name if selected is not None else None,
            "environment": {
                API_KEY_ENV: key_in_environment,
                BASE_URL_ENV: os.environ.get(BASE_URL_ENV) or None,
                PROFILE_ENV: os.environ.get(PROFILE_ENV) or None,
            },
            "profiles": rows,
        }
        print(json.dumps(document, indent=2), file=out)
        return 0 if problem is None else 2
    if not rows:
        print(f"No profiles in {path}: publitrac login saves one.", file=out)
    else:
        print(f"Profiles in {path} (* = used when no --profile is given):", file=out)
        no_key = "none: set " + API_KEY_ENV if backend is None else "none stored: publitrac login"
        table = [("", "PROFILE", "BASE URL", "KEY")] + [
            (
                "*" if row["selected"] else "",
                row["name"],
                row["base_url"] or "-",
                {"environment": API_KEY_ENV, "keyring": "keyring", "unreadable": "keyring (locked?)"}.get(
                    row["key"], no_key
                ),
            )
            for row in rows
        ]
        widths = [max(len(cells[column]) for cells in table) for column in range(4)]
        for cells in table:
            print(
                "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip(),
                file=out,
            )
    print(f"Keyring: {backend or f'none on this machine (keys come from {API_KEY_ENV})'}", file=out)
    for variable in (API_KEY_ENV, BASE_URL_ENV):
        if os.environ.get(variable, "").strip():
            print(f"{variable} is set: it wins over every profile", file=out)
    if problem is not None:
        print(f"publitrac: error: {problem}", file=sys.stderr)
        return 2
    return 0


def run_logout(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`publitrac logout`: delete the profile's key from the keyring and the profile from the config file."""
    out = out or sys.stdout
    name = _named(args)
    path = config_path()
    known = read_profiles(path)
    deleted = delete_key(name)
    removed = remove_profile(name, path)
    if not (deleted or removed):
        listed = ", ".join(known) or "none"
        raise UsageError(f"no profile {name!r} to log out of (--profile); the profiles in {path}: {listed}")
    done = []
    if deleted:
        done.append("key deleted from the keyring")
    if removed:
        done.append(f"settings removed from {path}")
    print(f"Logged out of profile {name!r}: {', '.join(done)}", file=out)
    return 0
