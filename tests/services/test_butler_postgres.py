"""A PostgreSQL-registry Butler reached as an operator reaches production: password in PGPASSFILE.

The correctness tests of `tests.services.test_butler_stats` already run on PostgreSQL (its shared
repositories are built per registry backend); here is what only a server has: a role
that needs a password, given through ``PGPASSFILE`` and never written in ``butler.yaml``,
the issue or an error message; a server that is down; and the registry really being on
the server.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("lsst.daf.butler")
pytest.importorskip("lsst.pipe.base")

from lsst.prodstatus.errors import ServiceError, redact_credentials
from lsst.prodstatus.services.butler import MSG_OPEN_FAILED, OPEN_HINT, butler_statistics
from lsst.prodstatus.services.submit import find_run
from tests.services.messages import message_re
from tests.support.butler_repo import BuiltRepo, make_butler_repo
from tests.support.postgres import OPERATOR, PostgresServer, free_port
from tests.support.submit_trees import make_submit_tree

RUN = "u/operator/DRP/step1/20250101T060000Z"
COUNTS = {"isr": 9, "calibrateImage": 4}
REL = 1e-12


@pytest.fixture(scope="module")
def pgpass(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``.pgpass`` file with the operator's password (mode 0600)."""
    return postgres_server.write_pgpass(tmp_path_factory.mktemp("pgpass") / ".pgpass")


@pytest.fixture(scope="module")
def operator_repo(
    postgres_server: PostgresServer, pgpass: Path, tmp_path_factory: pytest.TempPathFactory
) -> BuiltRepo:
    """A repo whose registry database belongs to the password-protected operator role."""
    database = postgres_server.new_database(owner=OPERATOR)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PGPASSFILE", str(pgpass))
        return make_butler_repo(
            tmp_path_factory.mktemp("operator") / "repo",
            RUN,
            labels=list(COUNTS),
            n_per_label=COUNTS,
            seed=21,
            registry=postgres_server.url(database, user=OPERATOR),
        )


def test_registry_is_on_the_server_and_config_holds_no_password(
    operator_repo: BuiltRepo, postgres_server: PostgresServer
) -> None:
    config = (operator_repo.root / "butler.yaml").read_text()
    assert f"postgresql://{OPERATOR}@127.0.0.1:{postgres_server.port}/" in config
    assert postgres_server.operator_password not in config
    assert not list(operator_repo.root.glob("*.sqlite3"))
    database = config.split(f"{postgres_server.port}/", 1)[1].split()[0]
    tables = postgres_server.psql(f"SELECT count(*) FROM pg_tables WHERE tableowner = '{OPERATOR}'", database)
    assert int(tables) > 10  # daf_butler's registry tables, in the operator's database


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "butler_get"])
def test_password_from_pgpassfile(
    operator_repo: BuiltRepo, pgpass: Path, monkeypatch: pytest.MonkeyPatch, direct: bool
) -> None:
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    stats = butler_statistics(str(operator_repo.root), RUN, direct=direct, max_workers=4)
    for label, truth in operator_repo.truth.items():
        got = stats.label(label)
        assert (got.n_quanta, got.n_read) == (COUNTS[label], COUNTS[label])
        assert got.cpu_hours == pytest.approx(truth.cpu_hours, rel=REL)
        assert got.max_cpu_s == max(truth.cpu_values)
        assert got.first_start == truth.first_start and got.last_end == truth.last_end


def test_without_the_password_is_a_service_error(
    operator_repo: BuiltRepo, postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-such-pgpass"))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    no_password = message_re(
        MSG_OPEN_FAILED, OPEN_HINT, repo=operator_repo.root, error=re.compile(".*password.*")
    )
    with pytest.raises(ServiceError, match=no_password) as info:
        butler_statistics(str(operator_repo.root), RUN)
    assert postgres_server.operator_password not in str(info.value)


def test_server_down_is_a_service_error(operator_repo: BuiltRepo, tmp_path: Path, pgpass: Path) -> None:
    # The same repo, its registry pointed at a port where nothing listens.
    copy = tmp_path / "repo"
    copy.mkdir()
    config = (operator_repo.root / "butler.yaml").read_text()
    port = int(config.split("@127.0.0.1:", 1)[1].split("/", 1)[0])
    (copy / "butler.yaml").write_text(config.replace(f":{port}/", f":{free_port()}/"))
    down = message_re(MSG_OPEN_FAILED, OPEN_HINT, repo=copy, error=re.compile(".*(refused|connect).*"))
    with pytest.raises(ServiceError, match=down):
        butler_statistics(str(copy), RUN)


def test_password_in_a_repo_url_is_redacted_everywhere() -> None:
    with pytest.raises(ServiceError) as info:
        butler_statistics(f"postgresql://{OPERATOR}:hunter2@127.0.0.1:1/db", RUN)
    assert "hunter2" not in str(info.value) and f"{OPERATOR}:****@" in str(info.value)
    assert redact_credentials("https://u:p%40ss@host/repo and s3://b/butler.yaml") == (
        "https://u:****@host/repo and s3://b/butler.yaml"
    )
    assert redact_credentials("postgresql+psycopg://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert redact_credentials("/repo/main") == "/repo/main"


def test_update_issue_never_writes_a_password_of_butler_config(tmp_path: Path) -> None:
    make_submit_tree(tmp_path, payload_extra={"butlerConfig": "https://op:hunter2@butler.example/repo"})
    run = find_run("step1_1248.yaml", cwd=tmp_path)
    (line,) = [text for name, text in run.keywords if name == "butlerConfig"]
    assert "hunter2" not in line and "https://op:****@butler.example/repo" in line
    assert "hunter2" not in run.bps_block
