"""A throw-away PostgreSQL cluster for tests and benchmarks: its own folder, loopback port and socket folder.

Needs the server's programs (``initdb``, ``pg_ctl``; see ``find_postgres_bin``) and asyncpg for the SQL it runs
itself (CREATE and DROP DATABASE). As root the server runs as the ``postgres`` user (``initdb`` refuses root).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import glob
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

# Points the search at one folder instead (one that lacks the programs makes the PostgreSQL tests skip).
BIN_ENV = "SMSRELAY_PG_BIN"
DEBIAN_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_TOOLS = ("initdb", "pg_ctl")
_SERVER_USER = "postgres"  # the cluster's superuser name, and the OS user the server runs as under root
_TIMEOUT = 60  # seconds for initdb and for pg_ctl to start or stop
_names = itertools.count(1)
_T = TypeVar("_T")


def _has_tools(folder: Path) -> bool:
    return all(os.access(folder / tool, os.X_OK) and (folder / tool).is_file() for tool in _TOOLS)


def _version_key(folder: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin: "15" or "9.6"; a folder named otherwise sorts first.
    return tuple(int(part) for part in re.findall(r"\d+", folder.parent.name)) or (-1,)


def find_postgres_bin() -> Path | None:
    """The folder holding both ``initdb`` and ``pg_ctl``: ``$SMSRELAY_PG_BIN`` alone if set, else the PATH (links
    resolved), else the newest ``/usr/lib/postgresql/*/bin``. None when there is none."""
    override = os.environ.get(BIN_ENV)
    if override:
        return Path(override) if _has_tools(Path(override)) else None
    candidates = [Path(found).resolve().parent for tool in _TOOLS if (found := shutil.which(tool))]
    candidates += sorted(map(Path, glob.glob(DEBIAN_BIN_GLOB)), key=_version_key, reverse=True)
    return next((folder for folder in candidates if _has_tools(folder)), None)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run_coroutine(coroutine: Coroutine[Any, Any, _T]) -> _T:
    # Its own thread and event loop: callable from plain code and from inside a running loop alike.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, coroutine).result()


def _conf_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class PostgresCluster:
    """One initdb'd cluster in a temp folder, on a free 127.0.0.1 port that stays the same across restarts.

    Trust authentication for the superuser ``postgres``, fsync off. ``close()`` stops it and removes the folder.
    """

    def __init__(self, bin_dir: Path, base_dir: Path | None = None) -> None:
        """Runs ``initdb`` (not yet started); ``base_dir`` is where the temp folder goes (default: the system's)."""
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="smsrelay-pg-", dir=base_dir))
        self.root.chmod(0o755)  # reachable for the postgres user when we are root
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.log_file = self.root / "log" / "postgres.log"
        self.port = _free_port()
        self._user = _SERVER_USER if os.geteuid() == 0 else None
        try:
            for folder in (self.data_dir, self.socket_dir, self.log_file.parent):
                folder.mkdir(mode=0o700)
                if self._user is not None:
                    entry = pwd.getpwnam(self._user)  # KeyError: no postgres user to run the server as
                    os.chown(folder, entry.pw_uid, entry.pw_gid)
            self._run("initdb", "-D", str(self.data_dir), "-U", _SERVER_USER, "-A", "trust", "-E", "UTF8",
                      "--locale=C", "--no-sync")  # fmt: skip
            settings = {
                "port": str(self.port),
                "listen_addresses": _conf_text("127.0.0.1"),
                "unix_socket_directories": _conf_text(str(self.socket_dir)),
                "fsync": "off",
                "full_page_writes": "off",
            }
            with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
                conf.write("\n# tests/postgres_cluster.py\n")
                conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        """``postgresql://postgres@127.0.0.1:<port>``: append ``/<database>``."""
        return f"postgresql://{_SERVER_USER}@127.0.0.1:{self.port}"

    def _run(self, tool: str, *arguments: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / tool), *arguments]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        return subprocess.run(
            command,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )

    def _pg_ctl(self, *arguments: str) -> None:
        result = self._run("pg_ctl", "-D", str(self.data_dir), *arguments)
        if result.returncode != 0:
            raise RuntimeError(
                f"pg_ctl {' '.join(arguments)} failed ({result.returncode}): {result.stdout}{result.stderr}"
                f"\n--- {self.log_file} ---\n{self.log_tail()}"
            )

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the server's log (empty before the first start)."""
        try:
            return "\n".join(self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    @property
    def running(self) -> bool:
        """Whether the server runs (``pg_ctl status``)."""
        return self._run("pg_ctl", "-D", str(self.data_dir), "status").returncode == 0

    def start(self) -> None:
        """Starts the server on ``self.port`` and returns once it accepts connections."""
        self._pg_ctl("-l", str(self.log_file), "-w", "-t", str(_TIMEOUT), "start")

    def stop(self, mode: Literal["smart", "fast", "immediate"] = "immediate") -> None:
        """Stops the server; ``immediate`` is a crash (connections cut, recovery on the next start)."""
        self._pg_ctl("-m", mode, "-w", "-t", str(_TIMEOUT), "stop")

    def create_database(self) -> str:
        """A new empty database (from template0); returns its ``postgresql://postgres@127.0.0.1:<port>/<name>``."""
        name = f"test_{os.getpid()}_{next(_names)}"
        _run_coroutine(self._execute(f'CREATE DATABASE "{name}" TEMPLATE template0'))
        return f"{self.base_url}/{name}"

    def drop_database(self, url: str) -> None:
        """Drops a database ``create_database`` made, cutting its connections first."""
        name = url.rsplit("/", 1)[1]
        _run_coroutine(self._execute(f'DROP DATABASE IF EXISTS "{name}"', force=True))

    async def _execute(self, statement: str, *, force: bool = False) -> None:
        import asyncpg  # here, so a missing driver fails these tests only

        connection = await asyncpg.connect(f"{self.base_url}/postgres", timeout=_TIMEOUT)
        try:
            if force and connection.get_server_version().major >= 13:  # WITH (FORCE) is new in 13
                statement += " WITH (FORCE)"
            await connection.execute(statement)
        finally:
            await connection.close()

    def close(self) -> None:
        """Stops the server if it runs and removes the folder; safe to call twice."""
        if self.data_dir.exists() and self.running:
            with contextlib.suppress(RuntimeError):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
