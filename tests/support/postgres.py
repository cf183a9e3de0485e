"""A throw-away PostgreSQL server for Butler registries in tests.

`PostgresServer.start` finds the server binaries (Debian's ``postgresql`` package puts
them in ``/usr/lib/postgresql/<version>/bin``; ``make postgres`` installs it where it
can), initialises a cluster in a fresh temporary directory, and starts it on 127.0.0.1
on a free port; `PostgresServer.stop` stops it and deletes the directory. PostgreSQL
refuses to run as root, so as root the cluster belongs to the ``postgres`` user (created
by the Debian package) and every server command runs as that user.

Two roles: the cluster's superuser (``trust`` on 127.0.0.1, used by the tests to create
databases), and `OPERATOR`, a password-protected role that reaches the server only with
its password, as an operator reaches a production registry (``PGPASSFILE``).

Every repository gets its own database (`PostgresServer.new_database`), created from
``template1`` in which the ``btree_gist`` extension daf_butler needs is installed once.
Durability is switched off (``fsync``, ``synchronous_commit``, ``full_page_writes``):
the cluster is thrown away, and that makes repository creation several times faster.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["OPERATOR", "PostgresServer", "PostgresUnavailableError", "find_bindir", "free_port"]

OPERATOR = "operator"
"""The password-protected role (what an operator's ``~/.pgpass`` would hold)."""

_INSTALL_HINT = "install Debian's postgresql package (`make postgres` does, as root with apt-get)"


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL cannot be run here; the message says why (a test skip reason)."""


def find_bindir() -> Path | None:
    """Return the directory of ``initdb``/``pg_ctl``, newest version first; `None` if absent."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
        reverse=True,
    )
    if candidates:
        return Path(candidates[0]).parent
    # Other layouts (Homebrew, conda, RPM): initdb on PATH, or pg_config --bindir.
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        bindir = Path(out.stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A running throw-away cluster; create with `start`, end with `stop`."""

    bindir: Path
    directory: Path
    port: int
    superuser: str
    operator_password: str
    run_as: str | None
    """The user the server commands run as (`None`: the current user)."""
    _n_databases: int = field(default=0, repr=False)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @classmethod
    def start(cls) -> PostgresServer:
        """Initialise and start a cluster; raise `PostgresUnavailableError` saying why not."""
        bindir = find_bindir()
        if bindir is None:
            raise PostgresUnavailableError(
                f"PostgreSQL server binaries (initdb, pg_ctl) not found: {_INSTALL_HINT}"
            )
        run_as: str | None = None
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root.
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailableError(
                    "running as root and there is no 'postgres' user to run the server as"
                ) from None
            run_as = "postgres"
            if shutil.which("runuser") is None:
                raise PostgresUnavailableError("running as root and runuser is not available")
        # Not under pytest's tmp dirs: those are private to root (0700), the server user
        # could not enter them.
        directory = Path(tempfile.mkdtemp(prefix="prodstat-pg-"))
        if run_as is not None:
            entry = pwd.getpwnam(run_as)
            os.chown(directory, entry.pw_uid, entry.pw_gid)
        superuser = run_as or pwd.getpwuid(os.geteuid()).pw_name
        server = cls(bindir, directory, 0, superuser, "op-" + os.urandom(8).hex(), run_as)
        try:
            server._init_cluster()
            server._start_server()
            server._prepare()
        except BaseException as exc:
            server.stop()
            if isinstance(exc, PostgresUnavailableError):
                raise
            raise PostgresUnavailableError(f"PostgreSQL could not be started: {exc}") from exc
        return server

    # -- server commands ----------------------------------------------------------------------

    def _run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        out = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if check and out.returncode != 0:
            raise PostgresUnavailableError(
                f"{Path(args[0]).name} failed ({out.returncode}): {(out.stderr or out.stdout).strip()[-2000:]}"
            )
        return out

    @property
    def _data(self) -> Path:
        return self.directory / "data"

    def _init_cluster(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self._data),
            "-U",
            self.superuser,
            "--auth-local=trust",
            "--auth-host=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        # The superuser is trusted on 127.0.0.1 (the tests create databases with it); every
        # other role must give its password, as on a production server.
        (self._data / "pg_hba.conf").write_text(
            "local all all trust\n"
            f"host all {self.superuser} 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )

    def _start_server(self) -> None:
        for _attempt in range(5):  # the free port can be taken before the server binds it
            self.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                f"-c unix_socket_directories={self.directory} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200"
            )
            out = self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self._data),
                "-l",
                str(self.directory / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
                check=False,
            )
            if out.returncode == 0:
                return
            time.sleep(0.2)
        log = self.directory / "server.log"
        tail = log.read_text()[-2000:] if log.exists() else out.stderr
        raise PostgresUnavailableError(f"pg_ctl start failed: {tail.strip()}")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` as the superuser over TCP; return its output."""
        out = self._run(
            str(self.bindir / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-U",
            self.superuser,
            "-d",
            database,
            "-tA",
            "-c",
            sql,
        )
        return out.stdout

    def _prepare(self) -> None:
        # daf_butler refuses a database without btree_gist; every database made from
        # template1 inherits it.
        self.psql("CREATE EXTENSION IF NOT EXISTS btree_gist", database="template1")
        password = self.operator_password.replace("'", "''")
        self.psql(f"CREATE ROLE {OPERATOR} LOGIN PASSWORD '{password}'")

    def stop(self) -> None:
        """Stop the server (if it runs) and delete its directory."""
        if self._data.is_dir() and (self._data / "postmaster.pid").exists():
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self._data),
                "-m",
                "immediate",
                "-w",
                "stop",
                check=False,
            )
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- databases ----------------------------------------------------------------------------

    def new_database(self, prefix: str = "repo", owner: str | None = None) -> str:
        """Create an empty database (with ``btree_gist``); return its name."""
        self._n_databases += 1
        name = f"{prefix}_{self._n_databases}"
        self.psql(f"CREATE DATABASE {name}" + (f" OWNER {owner}" if owner else ""))
        return name

    def url(self, database: str, user: str | None = None) -> str:
        """The registry ``db`` URL of ``database`` (no password: it never goes in a config)."""
        return f"postgresql://{user or self.superuser}@{self.host}:{self.port}/{database}"

    def write_pgpass(self, path: Path) -> Path:
        """Write a ``.pgpass`` file (mode 0600, as libpq requires) holding `OPERATOR`'s password."""
        path.write_text(f"{self.host}:{self.port}:*:{OPERATOR}:{self.operator_password}\n")
        path.chmod(0o600)
        return path
