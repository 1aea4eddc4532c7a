"""A throwaway PostgreSQL server for the tests: Debian's binaries, a temporary data folder, a free port.

`initdb` refuses to run as root, so under root every server command runs as the `postgres` system user
(`runuser -u postgres --`), which the Debian package creates. The server listens on 127.0.0.1 only, trusts
local connections (it lives as long as the test session, in a folder nobody else uses) and skips fsync: its
data is thrown away.

`find_bindir()` tells whether the binaries are here; `running_postgres()` starts a server and stops it, data
folder included, on exit.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "publitrac"
START_TIMEOUT = 60


@dataclass(frozen=True)
class PostgresServer:
    """A running server: `url(database)` gives a libpq URL for one of its databases."""

    host: str
    port: int
    user: str
    bindir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"


def find_bindir() -> Path | None:
    """The folder of `initdb`, `pg_ctl` and `createdb`: PG_BINDIR, Debian's newest /usr/lib/postgresql/N/bin,
    or the folder that `initdb` on the PATH links to."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    versions = sorted(
        (Path(path).parent for path in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1]
    on_path = shutil.which("initdb")
    return Path(on_path).resolve().parent if on_path else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running_postgres(bindir: Path) -> Iterator[PostgresServer]:
    """Start a PostgreSQL server in a temporary folder on a free port; stop it and remove the folder on exit.

    Raises:
        RuntimeError: the server did not start (the message holds its log).
    """
    prefix: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="publitrac-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(folder, account.pw_uid, account.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log = folder / "data", folder / "server.log"
    port = _free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, *command], capture_output=True, text=True, timeout=START_TIMEOUT, check=False
        )

    try:
        made = run(
            str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{made.stdout}\n{made.stderr}")
        started = run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        if started.returncode != 0:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start:\n{started.stdout}\n{started.stderr}\n{text}")
        try:
            yield PostgresServer(host="127.0.0.1", port=port, user=SUPERUSER, bindir=bindir)
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
