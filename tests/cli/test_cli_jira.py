"""The CLI against Jira: the real ``jira`` client over HTTP to the loopback emulator."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Iterator

import pytest

from lsst.prodstatus.errors import MSG_ISSUE_NOT_FOUND
from lsst.prodstatus.services.tracker import jira as jt
from tests.conftest import CliResult
from tests.services.messages import message_re
from tests.support.jira import JiraEmulator

RunCli = Callable[..., CliResult]
USER, TOKEN = "operator@example.org", "secret-token"


@pytest.fixture
def cloud() -> Iterator[JiraEmulator]:
    with JiraEmulator(deployment="Cloud") as emulator:
        emulator.seed_issue("PREOPS-1248", "Test campaign request")
        emulator.seed_issue(
            "DRP-486",
            "step1#u/ops/PREOPS-1248/20220728T192631Z",
            "BPS Submit Keywords:\n{code}\nproject: dp02\n{code}\n"
            "{anchor:prodstat-panda}\n||Task||nJobs||\n|isr|12|\n{anchor:prodstat-panda-end}\n",
            labels=["prodstat_20220728T192631Z"],
        )
        yield emulator


def jira_env(emulator: JiraEmulator, **extra: str) -> dict[str, str]:
    env = {
        "PRODSTAT_JIRA_URL": emulator.url,
        "PRODSTAT_JIRA_USER": USER,
        "PRODSTAT_JIRA_TOKEN": TOKEN,
        "PRODSTAT_JIRA_TIMEOUT": "3",
        "PRODSTAT_JIRA_RETRIES": "2",
    }
    env.update(extra)
    return env


def test_show_from_jira_cloud(run_cli: RunCli, cloud: JiraEmulator) -> None:
    result = run_cli("show", "DRP-486", env=jira_env(cloud))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("DRP-486  step1#u/ops/PREOPS-1248/20220728T192631Z\n")
    assert f"url: {cloud.url}/browse/DRP-486" in result.stdout
    assert re.search(r"^ *Task +nJobs", result.stdout, re.M) and "{anchor" not in result.stdout
    data = json.loads(run_cli("--json", "show", "DRP-486", env=jira_env(cloud)).stdout)
    assert data["labels"] == ["prodstat_20220728T192631Z"]
    # login (serverInfo + myself) and one issue read per run; no /field or reloads
    reads = [r for r in cloud.requests if r.path.startswith("/rest/api/2/issue/")]
    assert len(reads) == 2


def test_show_from_jira_server_with_pat(run_cli: RunCli) -> None:
    with JiraEmulator(deployment="Server") as server:
        server.seed_issue("DRP-1", "Step step1")
        env = {"PRODSTAT_JIRA_URL": server.url, "PRODSTAT_JIRA_TOKEN": "pat-token"}
        result = run_cli("show", "DRP-1", env=env)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.startswith("DRP-1  Step step1\n")


def test_wrong_token_is_auth_error_not_missing_issue(run_cli: RunCli, cloud: JiraEmulator) -> None:
    before = cloud.snapshot()
    result = run_cli("show", "DRP-486", env=jira_env(cloud, PRODSTAT_JIRA_TOKEN="wrong"))
    assert result.exit_code == 3
    refused = jt.MSG_CREDENTIALS.format(jira=cloud.url, who=f"user {USER}")
    assert result.stderr == f"prodstat: error: {refused}; {jt.HINT_CREDENTIALS}\n"
    assert result.stdout == ""
    assert cloud.snapshot() == before


def test_unknown_issue_in_jira(run_cli: RunCli, cloud: JiraEmulator) -> None:
    result = run_cli("show", "DRP-9999", env=jira_env(cloud))
    assert result.exit_code == 1
    missing = MSG_ISSUE_NOT_FOUND.format(key="DRP-9999", tracker="jira")
    assert result.stderr.startswith(f"prodstat: error: {missing};")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_jira_fails_fast(run_cli: RunCli) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    env = {"PRODSTAT_JIRA_URL": url, "PRODSTAT_JIRA_USER": USER, "PRODSTAT_JIRA_TOKEN": TOKEN}
    result = run_cli("show", "DRP-1", env=env)
    assert result.exit_code == 3
    unreachable = jt.MSG_UNREACHABLE.format(jira=url, what="connect", reason="connection refused")
    assert result.stderr == f"prodstat: error: {unreachable}; {jt.HINT_UNREACHABLE}\n"


def test_missing_token(run_cli: RunCli, cloud: JiraEmulator) -> None:
    result = run_cli("show", "DRP-486", env={"PRODSTAT_JIRA_URL": cloud.url})
    assert result.exit_code == 1
    assert result.stderr.startswith(f"prodstat: error: {jt.MSG_NO_TOKEN.format(jira=cloud.url)};")


def test_retry_after_429_and_503(run_cli: RunCli, cloud: JiraEmulator) -> None:
    cloud.inject(429, times=1, path=r"^/rest/api/2/issue/DRP-486$", headers={"Retry-After": "1"})
    cloud.inject(503, times=1, path=r"^/rest/api/2/issue/DRP-486$", headers={"Retry-After": "1"})
    result = run_cli("show", "DRP-486", env=jira_env(cloud))
    assert result.exit_code == 0, result.stderr
    assert cloud.count("GET", "/rest/api/2/issue/DRP-486") == 3


def test_429_forever_gives_up_with_exit_3(run_cli: RunCli, cloud: JiraEmulator) -> None:
    cloud.inject(429, times=10, path=r"^/rest/api/2/issue/DRP-486$", headers={"Retry-After": "1"})
    result = run_cli("show", "DRP-486", env=jira_env(cloud, PRODSTAT_JIRA_RETRIES="1"))
    assert result.exit_code == 3
    limited = jt.MSG_UNAVAILABLE.format(
        jira=cloud.url, state="rate limiting", status=429, what="read DRP-486"
    )
    given_up = jt.AFTER_RETRIES.format(message=limited, times="1 retry", waited=1.0)
    assert result.stderr == f"prodstat: error: {given_up}; {jt.HINT_RETRY_LATER}\n"


def test_slow_jira_times_out(run_cli: RunCli, cloud: JiraEmulator) -> None:
    cloud.inject(0, times=2, path=r"^/rest/api/2/issue/DRP-486$", delay=3.0)
    result = run_cli(
        "show", "DRP-486", env=jira_env(cloud, PRODSTAT_JIRA_TIMEOUT="1", PRODSTAT_JIRA_RETRIES="1")
    )
    assert result.exit_code == 3
    # Two time-outs of 1 s and a wait of 0.5 s between them: the message counts them all.
    timed_out = jt.MSG_TIMEOUT.format(jira=cloud.url, seconds=1.0, what="read DRP-486")
    given_up = message_re(
        jt.AFTER_RETRIES, jt.HINT_TIMEOUT, message=timed_out, times="1 retry", waited=re.compile(r"2\.\d")
    )
    assert re.fullmatch(given_up, result.stderr.removeprefix("prodstat: error: ").removesuffix("\n")), (
        result.stderr
    )
    assert result.stderr.startswith("prodstat: error: ") and result.stderr.count("\n") == 1


def test_one_slow_reply_to_a_read_is_retried(run_cli: RunCli, cloud: JiraEmulator) -> None:
    cloud.inject(0, times=1, path=r"^/rest/api/2/issue/DRP-486$", delay=3.0)
    result = run_cli("show", "DRP-486", env=jira_env(cloud, PRODSTAT_JIRA_TIMEOUT="1"))
    assert result.exit_code == 0, result.stderr
    assert cloud.count("GET", "/rest/api/2/issue/DRP-486") == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_without_retry_after_on_a_read_is_retried(
    run_cli: RunCli, cloud: JiraEmulator, status: int
) -> None:
    cloud.inject(status, times=2, path=r"^/rest/api/2/issue/DRP-486$")
    result = run_cli("show", "DRP-486", env=jira_env(cloud))
    assert result.exit_code == 0, result.stderr
    assert cloud.count("GET", "/rest/api/2/issue/DRP-486") == 3


def test_5xx_forever_says_how_long_it_tried(run_cli: RunCli, cloud: JiraEmulator) -> None:
    cloud.inject(502, times=10, path=r"^/rest/api/2/issue/DRP-486$")
    result = run_cli("show", "DRP-486", env=jira_env(cloud, PRODSTAT_JIRA_RETRIES="2"))
    assert result.exit_code == 3
    assert "(read DRP-486, HTTP 502)" in result.stderr
    assert jt.AFTER_RETRIES.format(message="", times="2 retries", waited=1.5) in result.stderr
    assert cloud.count("GET", "/rest/api/2/issue/DRP-486") == 3


def test_url_that_is_not_jira(run_cli: RunCli) -> None:
    from tests.support.panda_emulator import PandaEmulator

    with PandaEmulator() as other:  # an HTTP server that is not Jira
        url = other.url.rstrip("/")
        result = run_cli("show", "DRP-1", env={"PRODSTAT_JIRA_URL": url, "PRODSTAT_JIRA_TOKEN": "t"})
    assert result.exit_code == 3
    assert result.stderr == f"prodstat: error: {jt.MSG_NOT_JIRA.format(jira=url)}; {jt.HINT_NOT_JIRA}\n"


def test_retries_are_announced_at_info_level(run_cli: RunCli, cloud: JiraEmulator) -> None:
    cloud.inject(503, times=1, path=r"^/rest/api/2/issue/DRP-486$")
    quiet = run_cli("show", "DRP-486", env=jira_env(cloud))
    assert quiet.exit_code == 0 and "retrying" not in quiet.stderr  # a script's stderr stays clean
    cloud.inject(503, times=1, path=r"^/rest/api/2/issue/DRP-486$")
    told = run_cli("--log-level", "INFO", "show", "DRP-486", env=jira_env(cloud))
    assert told.exit_code == 0
    unavailable = jt.MSG_UNAVAILABLE.format(
        jira=cloud.url, state="unavailable", status=503, what="read DRP-486"
    )
    note = message_re(jt.RETRY_NOTE, message=unavailable, attempt=1, retries=re.compile(r"\d+"), delay=0.5)
    assert re.fullmatch(note, told.stderr.splitlines()[0].removeprefix("prodstat: ")), told.stderr
    assert told.stderr.startswith("prodstat: ")
