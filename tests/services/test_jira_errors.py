"""Jira tracker failures as the user meets them: each message made by a real reply.

The loopback Jira emulator answers with injected statuses, bodies, delays and dropped
connections; the fault proxy cuts replies off mid-body or swallows a request. The real
``jira`` client talks to both over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from lsst.prodstatus.config import ConfigError
from lsst.prodstatus.errors import (
    EXIT_BAD_INPUT,
    EXIT_SERVICE,
    REASON_DROPPED,
    AmbiguousWriteError,
    AuthenticationError,
    InputError,
    ServiceError,
)
from lsst.prodstatus.services.tracker import jira as jt
from lsst.prodstatus.services.tracker.base import MSG_EMPTY_SUMMARY
from lsst.prodstatus.services.tracker.jira import JiraTracker
from tests.conftest import CliResult
from tests.support.fault_proxy import FaultProxy
from tests.support.jira import JiraEmulator

RunCli = Callable[..., CliResult]
USER, TOKEN = "operator@example.org", "secret-token"
ISSUE_PATH = r"^/rest/api/2/issue/DRP-1$"
CREATE_PATH = r"^/rest/api/2/issue$"


@pytest.fixture
def cloud() -> Iterator[JiraEmulator]:
    with JiraEmulator(deployment="Cloud") as emulator:
        emulator.seed_issue("DRP-1", "Step step1")
        emulator.seed_issue("DRP-2", "step1#c/20220728T192631Z")
        yield emulator


@pytest.fixture
def tracker(cloud: JiraEmulator) -> Iterator[JiraTracker]:
    """A tracker that does not retry and waits 1 s for a reply."""
    remote = JiraTracker(cloud.url, USER, TOKEN, timeout=1, max_retries=0)
    yield remote
    remote.close()


def jira_env(url: str, **extra: str) -> dict[str, str]:
    return {
        "PRODSTAT_JIRA_URL": url,
        "PRODSTAT_JIRA_USER": USER,
        "PRODSTAT_JIRA_TOKEN": TOKEN,
        "PRODSTAT_JIRA_TIMEOUT": "2",
        "PRODSTAT_JIRA_RETRIES": "0",
        **extra,
    }


def error_line(message: str, hint: str | None = None) -> str:
    """stderr of a command that failed with ``message``."""
    return f"prodstat: error: {message}; {hint}\n" if hint else f"prodstat: error: {message}\n"


def ambiguous(url: str, what: str, reason: str) -> str:
    return f"{jt.MSG_AMBIGUOUS.format(jira=url, what=what, reason=reason)}; {jt.HINT_AMBIGUOUS}"


# -- configuration ------------------------------------------------------------------------------


def test_no_token_says_where_to_set_one(cloud: JiraEmulator) -> None:
    with pytest.raises(ConfigError) as info:
        JiraTracker(cloud.url, USER, None)
    assert info.value.one_line() == f"{jt.MSG_NO_TOKEN.format(jira=cloud.url)}; {jt.HINT_NO_TOKEN}"
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert cloud.requests == []  # found before any request


# -- replies to a read, through the command line ------------------------------------------------


def test_forbidden(run_cli: RunCli, cloud: JiraEmulator) -> None:
    cloud.inject(403, path=ISSUE_PATH)
    result = run_cli("show", "DRP-1", env=jira_env(cloud.url))
    assert result.exit_code == EXIT_SERVICE
    forbidden = jt.MSG_FORBIDDEN.format(jira=cloud.url, what="read DRP-1", detail="Forbidden")
    assert result.stderr == error_line(forbidden, jt.HINT_FORBIDDEN)
    assert result.stdout == ""


def test_html_login_page_instead_of_json(run_cli: RunCli, cloud: JiraEmulator) -> None:
    cloud.inject(200, path=ISSUE_PATH, body="<html><body><form>Log in with SSO</form></body></html>")
    result = run_cli("show", "DRP-1", env=jira_env(cloud.url, PRODSTAT_JIRA_RETRIES="2"))
    assert result.exit_code == EXIT_SERVICE
    html = jt.MSG_HTML_REPLY.format(jira=cloud.url, what="read DRP-1", status=200)
    assert result.stderr == error_line(html, jt.HINT_HTML_REPLY)
    assert cloud.count("GET", "/rest/api/2/issue/DRP-1") == 1  # a login page is not retried


def test_server_error(run_cli: RunCli, cloud: JiraEmulator) -> None:
    cloud.inject(500, path=ISSUE_PATH)
    result = run_cli("show", "DRP-1", env=jira_env(cloud.url))
    assert result.exit_code == EXIT_SERVICE
    failed = jt.MSG_FAILED_HTTP.format(
        jira=cloud.url, what="read DRP-1", status=500, detail="Internal Server Error"
    )
    assert result.stderr == error_line(failed, jt.HINT_RETRY_LATER)


def test_reply_cut_off_mid_body(run_cli: RunCli, cloud: JiraEmulator) -> None:
    with FaultProxy(cloud.url) as proxy:
        proxy.inject("truncate", r"^/rest/api/2/issue/DRP-1$", method="GET")
        result = run_cli("show", "DRP-1", env=jira_env(proxy.url))
    assert result.exit_code == EXIT_SERVICE
    incomplete = jt.MSG_INCOMPLETE_REPLY.format(jira=proxy.url, what="read DRP-1")
    assert result.stderr == error_line(incomplete, jt.HINT_INCOMPLETE_REPLY)


def test_connection_dropped_on_a_read(run_cli: RunCli, cloud: JiraEmulator) -> None:
    cloud.inject(0, path=ISSUE_PATH, drop=True)
    result = run_cli("show", "DRP-1", env=jira_env(cloud.url))
    assert result.exit_code == EXIT_SERVICE
    dropped = jt.MSG_UNREACHABLE.format(jira=cloud.url, what="read DRP-1", reason=REASON_DROPPED)
    assert result.stderr == error_line(dropped, jt.HINT_UNREACHABLE)


def test_redirect_loop(tracker: JiraTracker, cloud: JiraEmulator) -> None:
    # A proxy sending the request back to itself: requests gives up after 30 redirects.
    cloud.inject(302, times=40, path=ISSUE_PATH, headers={"Location": f"{cloud.url}/rest/api/2/issue/DRP-1"})
    with pytest.raises(ServiceError) as info:
        tracker.get_issue("DRP-1")
    assert info.value.one_line() == jt.MSG_REQUEST_FAILED.format(
        what="read DRP-1", reason="Exceeded 30 redirects."
    )


def test_reply_the_client_cannot_read(tracker: JiraTracker, cloud: JiraEmulator) -> None:
    cloud.inject(200, path=ISSUE_PATH, body="[]")
    with pytest.raises(ServiceError) as info:
        tracker.get_issue("DRP-1")
    cannot = jt.MSG_CANNOT_READ.format(
        jira=cloud.url, what="read DRP-1", reason="We cannot instantiate empty resources: []"
    )
    assert info.value.one_line() == f"{cannot}; {jt.HINT_CANNOT_READ}"


def test_issue_of_the_wrong_shape(tracker: JiraTracker, cloud: JiraEmulator) -> None:
    cloud.inject(200, path=ISSUE_PATH, body='{"id": "10001", "fields": {"summary": "Step step1"}}')
    with pytest.raises(ServiceError) as info:
        tracker.get_issue("DRP-1")
    unreadable = jt.MSG_ISSUE_UNREADABLE.format(
        jira=cloud.url, what="read DRP-1", kind="KeyError", error=KeyError("key")
    )
    assert info.value.one_line() == f"{unreadable}; {jt.HINT_ISSUE_UNREADABLE}"


# -- writes -------------------------------------------------------------------------------------


def test_bad_request_names_the_field(tracker: JiraTracker, cloud: JiraEmulator) -> None:
    with pytest.raises(InputError) as info:
        tracker.create_issue("Step step1", project="NOPE")
    rejected = jt.MSG_BAD_REQUEST.format(what="create an issue", detail="project: valid project is required")
    assert info.value.one_line() == f"{rejected}; {jt.HINT_BAD_REQUEST}"
    assert info.value.exit_code == EXIT_BAD_INPUT


def test_empty_summary_is_refused_before_any_request(tracker: JiraTracker, cloud: JiraEmulator) -> None:
    sent = len(cloud.requests)
    with pytest.raises(InputError) as info:
        tracker.create_issue("  ")
    assert info.value.one_line() == MSG_EMPTY_SUMMARY
    assert len(cloud.requests) == sent


def test_create_answered_by_a_gateway_error(tracker: JiraTracker, cloud: JiraEmulator) -> None:
    cloud.inject(502, path=CREATE_PATH, method="POST")
    with pytest.raises(AmbiguousWriteError) as info:
        tracker.create_issue("Step step2")
    reason = jt.REASON_HTTP.format(status=502)
    assert info.value.one_line() == ambiguous(cloud.url, "create an issue", reason)
    assert not info.value.pending


def test_create_without_a_reply_in_time(tracker: JiraTracker, cloud: JiraEmulator) -> None:
    cloud.inject(0, path=CREATE_PATH, method="POST", delay=2.0)
    with pytest.raises(AmbiguousWriteError) as info:
        tracker.create_issue("Step step2")
    reason = jt.REASON_NO_REPLY.format(seconds=1)
    assert info.value.one_line() == ambiguous(cloud.url, "create an issue", reason)
    assert info.value.pending  # Jira may still be making it


def test_create_reply_cut_off(cloud: JiraEmulator) -> None:
    with FaultProxy(cloud.url) as proxy:
        tracker = JiraTracker(proxy.url, USER, TOKEN, timeout=2, max_retries=2)
        proxy.inject("truncate", CREATE_PATH, method="POST")
        with pytest.raises(AmbiguousWriteError) as info:
            tracker.create_issue("Step step2")
        tracker.close()
    assert info.value.one_line() == ambiguous(proxy.url, "create an issue", jt.REASON_CUT_OFF)
    assert sorted(cloud.snapshot()["issues"]) == ["DRP-1", "DRP-2", "DRP-3"]  # made, once


def test_create_connection_dropped(tracker: JiraTracker, cloud: JiraEmulator) -> None:
    cloud.inject(0, path=CREATE_PATH, method="POST", drop=True)
    with pytest.raises(AmbiguousWriteError) as info:
        tracker.create_issue("Step step2")
    reason = jt.REASON_CONNECTION_DROPPED.format(reason=REASON_DROPPED)
    assert info.value.one_line() == ambiguous(cloud.url, "create an issue", reason)


def test_create_reply_not_json(tracker: JiraTracker, cloud: JiraEmulator) -> None:
    cloud.inject(201, path=CREATE_PATH, method="POST", body="Created.")
    with pytest.raises(AmbiguousWriteError) as info:
        tracker.create_issue("Step step2")
    assert info.value.one_line() == ambiguous(cloud.url, "create an issue", jt.REASON_UNREADABLE)


def test_create_reply_with_a_malformed_key(tracker: JiraTracker, cloud: JiraEmulator) -> None:
    cloud.inject(201, path=CREATE_PATH, method="POST", body='{"id": "10003", "key": "3"}')
    with pytest.raises(AmbiguousWriteError) as info:
        tracker.create_issue("Step step2")
    reason = jt.REASON_NO_KEY.format(key="3")
    assert info.value.one_line() == ambiguous(cloud.url, "create an issue", reason)


def test_create_reply_without_a_key(tracker: JiraTracker, cloud: JiraEmulator) -> None:
    # The client itself refuses a 201 without a key; Jira may have made the issue.
    cloud.inject(201, path=CREATE_PATH, method="POST", body='{"id": "10003"}')
    with pytest.raises(AmbiguousWriteError) as info:
        tracker.create_issue("Step step2")
    assert info.value.one_line() == ambiguous(cloud.url, "create an issue", jt.REASON_UNREADABLE)


def test_attach_reply_names_no_attachment(tracker: JiraTracker, cloud: JiraEmulator) -> None:
    cloud.inject(200, path=r"/attachments$", method="POST", body='[{"filename": "a.yaml", "size": 3}]')
    with pytest.raises(AmbiguousWriteError) as info:
        tracker.attach("DRP-1", "a.yaml", b"a:1")
    what = "attach a.yaml to DRP-1"
    assert info.value.one_line() == ambiguous(cloud.url, what, jt.REASON_NO_ATTACHMENT)


def test_attach_reply_empty_list(tracker: JiraTracker, cloud: JiraEmulator) -> None:
    # The client itself refuses "[]" ("Unable to parse JSON"): the upload may have been made.
    cloud.inject(200, path=r"/attachments$", method="POST", body="[]")
    with pytest.raises(AmbiguousWriteError) as info:
        tracker.attach("DRP-1", "a.yaml", b"a:1")
    what = "attach a.yaml to DRP-1"
    assert info.value.one_line() == ambiguous(cloud.url, what, jt.REASON_UNREADABLE)


def test_link_swallowed_by_an_intermediary(cloud: JiraEmulator) -> None:
    with FaultProxy(cloud.url) as proxy:
        tracker = JiraTracker(proxy.url, USER, TOKEN, timeout=2, max_retries=0)
        proxy.inject("replace", r"/rest/api/2/issueLink$", method="POST", status=200, body="{}")
        with pytest.raises(ServiceError) as info:
            tracker.link("DRP-1", "DRP-2")
        tracker.close()
    not_made = jt.MSG_LINK_NOT_MADE.format(jira=proxy.url, from_key="DRP-1", to_key="DRP-2", status=200)
    assert info.value.one_line() == f"{not_made}; {jt.HINT_NOT_DONE}"
    assert cloud.count("POST", "/rest/api/2/issueLink") == 0  # the proxy never passed it on


def test_forbidden_write_is_not_retried(tracker: JiraTracker, cloud: JiraEmulator) -> None:
    cloud.inject(
        403,
        path=r"^/rest/api/2/issue/DRP-1$",
        method="PUT",
        body='{"errorMessages": ["You do not have permission to edit issues in this project."]}',
    )
    with pytest.raises(AuthenticationError) as info:
        tracker.update_issue("DRP-1", summary="Step step1 (renamed)")
    forbidden = jt.MSG_FORBIDDEN.format(
        jira=cloud.url,
        what="update DRP-1",
        detail="You do not have permission to edit issues in this project.",
    )
    assert info.value.one_line() == f"{forbidden}; {jt.HINT_FORBIDDEN}"
    assert cloud.count("PUT", "/rest/api/2/issue/DRP-1") == 1
    assert tracker.get_issue("DRP-1").summary == "Step step1"


def test_attach_an_empty_file(tracker: JiraTracker, cloud: JiraEmulator) -> None:
    tracker.attach("DRP-1", "a.csv", b"x\n")
    tracker.attach("DRP-1", "a.csv", b"")
    assert tracker.read_attachment("DRP-1", "a.csv") == b""
    assert [a.filename for a in tracker.get_issue("DRP-1").attachments] == ["a.csv"]
