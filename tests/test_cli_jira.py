"""The CLI against Jira: the real ``jira`` client over HTTP to the loopback emulator."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import CliResult
from tests.support.jira_emulator import JiraEmulator

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
    assert result.stderr == (
        f"prodstat: error: Jira at {cloud.url} refused the credentials of user {USER} (HTTP 401); "
        "Jira Cloud needs your e-mail as PRODSTAT_JIRA_USER and an API token as PRODSTAT_JIRA_TOKEN; "
        "Server/DC a personal access token with no user\n"
    )
    assert result.stdout == ""
    assert cloud.snapshot() == before


def test_unknown_issue_in_jira(run_cli: RunCli, cloud: JiraEmulator) -> None:
    result = run_cli("show", "DRP-9999", env=jira_env(cloud))
    assert result.exit_code == 1
    assert result.stderr.startswith("prodstat: error: issue DRP-9999 does not exist in the jira tracker;")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_jira_fails_fast(run_cli: RunCli) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    env = {"PRODSTAT_JIRA_URL": url, "PRODSTAT_JIRA_USER": USER, "PRODSTAT_JIRA_TOKEN": TOKEN}
    result = run_cli("show", "DRP-1", env=env)
    assert result.exit_code == 3
    assert result.stderr == (
        f"prodstat: error: cannot reach Jira at {url} (connect): connection refused; "
        "check PRODSTAT_JIRA_URL, the network and any proxy, or use --tracker local\n"
    )


def test_missing_token(run_cli: RunCli, cloud: JiraEmulator) -> None:
    result = run_cli("show", "DRP-486", env={"PRODSTAT_JIRA_URL": cloud.url})
    assert result.exit_code == 1
    assert result.stderr.startswith(f"prodstat: error: no Jira token configured for {cloud.url};")


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
    assert result.stderr == (
        f"prodstat: error: Jira at {cloud.url} is rate limiting (HTTP 429, read DRP-486) after 1 retry "
        "over 1.0 s; retry later\n"
    )


def test_slow_jira_times_out(run_cli: RunCli, cloud: JiraEmulator) -> None:
    cloud.inject(0, times=2, path=r"^/rest/api/2/issue/DRP-486$", delay=3.0)
    result = run_cli(
        "show", "DRP-486", env=jira_env(cloud, PRODSTAT_JIRA_TIMEOUT="1", PRODSTAT_JIRA_RETRIES="1")
    )
    assert result.exit_code == 3
    # Two time-outs of 1 s and a wait of 0.5 s between them: the message counts them all.
    assert re.fullmatch(
        rf"prodstat: error: Jira at {re.escape(cloud.url)} did not answer within 1 s \(read DRP-486\) after 1 "
        r"retry over 2\.\d s; retry later or raise PRODSTAT_JIRA_TIMEOUT\n",
        result.stderr,
    ), result.stderr


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
    assert "after 2 retries over 1.5 s" in result.stderr
    assert cloud.count("GET", "/rest/api/2/issue/DRP-486") == 3


def test_url_that_is_not_jira(run_cli: RunCli) -> None:
    from tests.support.panda_emulator import PandaEmulator

    with PandaEmulator() as other:  # an HTTP server that is not Jira
        url = other.url.rstrip("/")
        result = run_cli("show", "DRP-1", env={"PRODSTAT_JIRA_URL": url, "PRODSTAT_JIRA_TOKEN": "t"})
    assert result.exit_code == 3
    assert result.stderr == (
        f"prodstat: error: {url} does not look like a Jira server (HTTP 404 for /rest/api/2/serverInfo); "
        "check PRODSTAT_JIRA_URL: it is the site's base URL, e.g. https://rubinobs.atlassian.net\n"
    )


def test_retries_are_announced_at_info_level(run_cli: RunCli, cloud: JiraEmulator) -> None:
    cloud.inject(503, times=1, path=r"^/rest/api/2/issue/DRP-486$")
    quiet = run_cli("show", "DRP-486", env=jira_env(cloud))
    assert quiet.exit_code == 0 and "retrying" not in quiet.stderr  # a script's stderr stays clean
    cloud.inject(503, times=1, path=r"^/rest/api/2/issue/DRP-486$")
    told = run_cli("--log-level", "INFO", "show", "DRP-486", env=jira_env(cloud))
    assert told.exit_code == 0
    assert told.stderr.startswith(f"prodstat: Jira at {cloud.url} is unavailable (HTTP 503, read DRP-486); ")
    assert "; retrying (1/" in told.stderr and " in 0.5 s…" in told.stderr
