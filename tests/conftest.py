"""Shared fixtures: an isolated prodstat environment, a CLI runner, the shared data dir."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.jira import JiraEmulator
from tests.support.postgres import PostgresServer, PostgresUnavailableError
from tests.support.trackers import JIRA_CLOUD_ENV, TrackerSetup

SHARED_DATA_ENV = "PRODSTAT_SHARED_DATA"

REGISTRY_BACKENDS = ("sqlite", "postgresql")
"""Registry databases the Butler tests run on: SQLite in the repo, a PostgreSQL server."""


def shared_data_dir() -> Path | None:
    """Return ``../shared/data`` (or ``$PRODSTAT_SHARED_DATA``) if it exists."""
    env = os.environ.get(SHARED_DATA_ENV)
    candidate = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data of ``../shared/data``; tests using it are skipped where it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip(f"real shared data not found (../shared/data or ${SHARED_DATA_ENV})")
    return path


@pytest.fixture
def prodstat_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolate prodstat from the user's config, netrc and data: returns the ``--home`` dir."""
    for var in list(os.environ):
        if (var.startswith("PRODSTAT_") and var != SHARED_DATA_ENV) or var in (
            "PANDAMON_URL",
            "PANDABASEURL",
        ):
            monkeypatch.delenv(var, raising=False)
    home = tmp_path / "prodstat-home"
    monkeypatch.setenv("PRODSTAT_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    return home


@dataclass
class CliResult:
    """Outcome of one in-process ``prodstat`` run."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None


@pytest.fixture
def run_cli(prodstat_env: Path) -> Callable[..., CliResult]:
    """Run ``prodstat ARGS...`` in-process (isolated environment); returns a `CliResult`."""
    from lsst.prodstatus.cli.main import cli

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> CliResult:
        runner = CliRunner()
        result = runner.invoke(cli, list(args), env=env, input=input, catch_exceptions=True)
        exc = result.exception if not isinstance(result.exception, SystemExit) else None
        return CliResult(result.exit_code, result.stdout, result.stderr, exc)

    return run


@pytest.fixture
def chdir_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run the test inside ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture(params=["local", "jira"])
def setup(request: pytest.FixtureRequest, prodstat_env: Path) -> Iterator[TrackerSetup]:
    """The test runs twice: on the local tracker, and on Jira Cloud through the emulator."""
    if request.param == "local":
        yield TrackerSetup("local", {}, prodstat_env, None)
        return
    with JiraEmulator(deployment="Cloud") as emulator:
        yield TrackerSetup(
            "jira", {"PRODSTAT_JIRA_URL": emulator.url, **JIRA_CLOUD_ENV}, prodstat_env, emulator
        )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL server on 127.0.0.1 for the whole session, removed after.

    Tests using it are skipped, with the reason, where PostgreSQL cannot be started here
    (``make postgres`` installs it on Debian as root).
    """
    try:
        server = PostgresServer.start()
    except PostgresUnavailableError as exc:
        pytest.skip(f"no PostgreSQL server for the Butler registry: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", params=REGISTRY_BACKENDS)
def new_registry(request: pytest.FixtureRequest) -> Callable[[], str | None]:
    """Per registry backend: a function returning a new, empty registry ``db`` URL.

    `None` for SQLite (the repo keeps its registry file); a new database on the session's
    PostgreSQL server otherwise. Session fixtures building repos with it run per backend.
    """
    if request.param == "sqlite":
        return lambda: None
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return lambda: server.url(server.new_database())
