"""Self-tests of the Jira emulator, driven through the real ``jira`` client over HTTP.

The JQL has its own tests, in ``test_jira_jql.py``.
"""

from __future__ import annotations

import io
import threading
import time
import types
from collections.abc import Callable
from typing import Any

import jira.resilientsession
import pytest
import requests
from jira import JIRA
from jira.exceptions import JIRAError

from tests.emulators.jira_client import (
    PAT,
    TOKEN,
    USER,
    Env,
    error_json,
    issue_keys,
    make_client,
    new_issue,
)
from tests.support.jira import JiraEmulator

# Every byte value plus sequences that would confuse a sloppy multipart parser.
BINARY = bytes(range(256)) + b"\r\n--boundary\r\n\r\n\xff\xfe\x00" + "ünïcode".encode("latin-1")


@pytest.fixture
def fake_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the client's retry back-off instead of sleeping through it."""
    delays: list[float] = []
    monkeypatch.setattr(jira.resilientsession, "time", types.SimpleNamespace(sleep=delays.append))
    return delays


# --------------------------------------------------------------------------------------------------
# Construction, authentication, issues
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("deployment", ["Server", "Cloud"])
def test_anonymous_server_info_and_auth_required(
    start_emulator: Callable[..., JiraEmulator], deployment: str
) -> None:
    emu = start_emulator(deployment=deployment)
    anonymous = make_client(emu, auth="anonymous")
    info = anonymous.server_info()
    assert info["deploymentType"] == deployment
    assert info["baseUrl"] == emu.url
    assert anonymous._is_cloud is (deployment == "Cloud")
    assert anonymous._version == ((1001, 0, 0) if deployment == "Cloud" else (9, 12, 2))
    with pytest.raises(JIRAError) as excinfo:
        anonymous.myself()
    assert excinfo.value.status_code == 401
    assert "not authenticated" in (excinfo.value.text or "")
    assert emu.recorded("GET", "myself")[0].auth == "none"


def test_myself_shape_differs_between_deployments(env: Env) -> None:
    me = env.jira.myself()
    assert me["active"] is True
    if env.emu.deployment == "Cloud":
        assert me["accountId"].startswith("emu-") and "name" not in me
        assert me["emailAddress"] == USER
    elif env.auth == "pat":
        assert me["name"] == "pat-user"
    else:
        assert me["name"] == USER and me["displayName"] == "Operator"
    rec = env.emu.recorded("GET", "myself")[-1]
    assert rec.auth == ("bearer" if env.auth == "pat" else "basic")
    assert rec.user is not None and rec.status == 200


@pytest.mark.parametrize(
    ("deployment", "credentials"),
    [
        ("Server", {"token_auth": "wrong-pat"}),
        ("Server", {"basic_auth": (USER, "wrong")}),
        ("Cloud", {"basic_auth": (USER, "wrong")}),
        ("Cloud", {"basic_auth": ("nobody@example.org", TOKEN)}),
        # Jira Cloud has no personal access tokens, so even a valid-looking bearer fails.
        ("Cloud", {"token_auth": PAT}),
    ],
)
def test_wrong_credentials_give_401(
    start_emulator: Callable[..., JiraEmulator], deployment: str, credentials: dict[str, Any]
) -> None:
    emu = start_emulator(deployment=deployment)
    client = JIRA(server=emu.url, get_server_info=True, timeout=5, max_retries=2, **credentials)
    with pytest.raises(JIRAError) as excinfo:
        client.myself()
    assert excinfo.value.status_code == 401
    assert error_json(excinfo.value) == {
        "errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
        "errors": {},
    }
    # 401 is not retryable, so exactly one attempt was made.
    assert emu.count("GET", "myself") == 1
    assert emu.recorded("GET", "myself")[0].user is None


def test_create_get_update_issue(env: Env) -> None:
    first = new_issue(env.jira, "first workflow", labels=("prodstat", "campaign-a"))
    second = new_issue(env.jira, "second workflow")
    assert (first.key, second.key) == ("DRP-1", "DRP-2")

    fetched = env.jira.issue("DRP-1")
    assert fetched.fields.summary == "first workflow"
    assert fetched.fields.description == "about first workflow"
    assert fetched.fields.labels == ["campaign-a", "prodstat"]
    assert fetched.fields.issuetype.name == "Task"
    assert fetched.fields.project.key == "DRP"
    assert fetched.fields.status.name == "To Do"
    assert fetched.fields.issuelinks == [] and fetched.fields.attachment == []
    assert fetched.fields.comment.comments == []
    assert fetched.fields.created <= fetched.fields.updated

    created = fetched.fields.updated
    fetched.update(
        fields={"summary": "renamed", "description": "new text"},
        update={"labels": [{"add": "done"}, {"remove": "campaign-a"}, {"add": "prodstat"}]},
    )
    # Issue.update() reloads the issue, so the resource reflects the server state.
    assert fetched.fields.summary == "renamed"
    assert fetched.fields.description == "new text"
    assert fetched.fields.labels == ["done", "prodstat"]
    assert fetched.fields.updated > created
    assert env.jira.issue(fetched.id).key == "DRP-1"  # lookups by numeric id work too

    put = env.emu.recorded("PUT", "issue/")[-1]
    assert put.json()["update"]["labels"][0] == {"add": "done"}

    only = env.jira.issue("DRP-1", fields="summary,labels")
    assert set(only.raw["fields"]) == {"summary", "labels"}

    second.delete()
    with pytest.raises(JIRAError) as excinfo:
        env.jira.issue("DRP-2")
    assert excinfo.value.status_code == 404
    assert "Issue does not exist" in (excinfo.value.text or "")


def test_create_with_project_and_type_names(start_emulator: Callable[..., JiraEmulator]) -> None:
    emu = start_emulator()
    client = make_client(emu)
    # With plain strings the client looks the project and issue type up first.
    issue = client.create_issue(project="PREOPS", issuetype="Story", summary="via names")
    assert issue.key == "PREOPS-1"
    assert issue.fields.issuetype.name == "Story"
    assert emu.count("GET", "project/PREOPS") >= 1


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"project": {"key": "NOPE"}}, "project", "valid project is required"),
        ({"labels": ["has space"]}, "labels", "contains spaces"),
        ({"summary": ""}, "summary", "You must specify a summary"),
        ({"summary": "two\nlines"}, "summary", "newline"),
        ({"issuetype": {"name": "Saga"}}, "issuetype", "valid issue type"),
        ({"priority": {"name": "High"}}, "priority", "cannot be set"),
    ],
)
def test_create_validation_leaves_state_untouched(
    start_emulator: Callable[..., JiraEmulator], fields: dict[str, Any], field: str, message: str
) -> None:
    emu = start_emulator()
    client = make_client(emu)
    new_issue(client, "existing")
    before = emu.snapshot()
    payload = {"project": {"key": "DRP"}, "issuetype": {"name": "Task"}, "summary": "ok", **fields}
    with pytest.raises(JIRAError) as excinfo:
        client.create_issue(fields=payload)
    assert excinfo.value.status_code == 400
    errors = error_json(excinfo.value)["errors"]
    assert message in errors[field]
    assert emu.snapshot() == before


def test_edit_validation_leaves_state_untouched(start_emulator: Callable[..., JiraEmulator]) -> None:
    emu = start_emulator()
    client = make_client(emu)
    issue = new_issue(client, "stable", labels=("keep",))
    before = emu.snapshot()
    for kwargs in (
        {"fields": {"summary": "fine"}, "update": {"labels": [{"add": "bad label"}]}},
        {"fields": {"customfield_1": "x"}},
        {"update": {"labels": [{"rename": "x"}]}},
    ):
        with pytest.raises(JIRAError) as excinfo:
            issue.update(**kwargs)
        assert excinfo.value.status_code == 400
    assert emu.snapshot() == before


def test_seed_issue(start_emulator: Callable[..., JiraEmulator]) -> None:
    emu = start_emulator()
    emu.seed_issue("PREOPS-1248", "seeded", description="from the past", labels=["old"])
    client = make_client(emu)
    seeded = client.issue("PREOPS-1248")
    assert (seeded.fields.summary, seeded.fields.labels) == ("seeded", ["old"])
    # Jira keeps counting after the highest number in the project.
    assert new_issue(client, "next", project="PREOPS").key == "PREOPS-1249"
    assert new_issue(client, "other project").key == "DRP-1"
    for bad in (("PREOPS-1248", "dup"), ("NOPE-1", "x"), ("not-a-key", "x"), ("DRP-9", "")):
        with pytest.raises(ValueError):
            emu.seed_issue(*bad)
    with pytest.raises(ValueError):
        emu.seed_issue("DRP-10", "x", labels=["a b"])


def test_concurrent_creates_get_unique_keys(start_emulator: Callable[..., JiraEmulator]) -> None:
    emu = start_emulator()
    keys: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        client = make_client(emu)
        for i in range(5):
            key = new_issue(client, f"t{n}-{i}").key
            with lock:
                keys.append(key)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(keys, key=lambda k: int(k.split("-")[1])) == [f"DRP-{n}" for n in range(1, 21)]


# --------------------------------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------------------------------


def test_search_fetch_all_paginates(env: Env) -> None:
    for n in range(10):
        new_issue(env.jira, f"bulk {n}", labels=("bulk",))
    env.emu.reset_requests()
    everything = env.jira.search_issues("labels = bulk", maxResults=False)
    assert issue_keys(everything) == [f"DRP-{n}" for n in range(1, 11)]
    # The emulator caps pages at 4, so the client had to ask three times.
    searches = env.emu.recorded(path_prefix="search")
    assert len(searches) == 3
    first_page = env.jira.search_issues("labels = bulk", maxResults=3)
    assert issue_keys(first_page) == ["DRP-1", "DRP-2", "DRP-3"]
    if env.emu.deployment == "Cloud":
        assert searches[1].query["nextPageToken"]
        # ResultList.total is only the page length on Cloud; there is no server-side total.
        assert first_page.total == 3
    else:
        assert [r.query.get("startAt") for r in searches] == ["0", "4", "8"]
        assert first_page.total == 10


def test_server_search_start_at(start_emulator: Callable[..., JiraEmulator]) -> None:
    emu = start_emulator()
    client = make_client(emu)
    for n in range(6):
        new_issue(client, f"s{n}")
    page = client.search_issues("project = DRP ORDER BY key ASC", startAt=2, maxResults=3)
    assert issue_keys(page) == ["DRP-3", "DRP-4", "DRP-5"]
    assert (page.startAt, page.maxResults, page.total) == (2, 3, 6)
    raw = client.search_issues("project = DRP", maxResults=2, json_result=True)
    assert raw["total"] == 6 and len(raw["issues"]) == 2


def test_cloud_token_pagination_and_id_only_results(start_emulator: Callable[..., JiraEmulator]) -> None:
    emu = start_emulator(deployment="Cloud")
    client = make_client(emu)
    for n in range(5):
        new_issue(client, f"c{n}", labels=("cloud",))
    emu.reset_requests()
    page = client.enhanced_search_issues("labels = cloud", maxResults=2)
    seen = issue_keys(page)
    while page.nextPageToken:
        page = client.enhanced_search_issues("labels = cloud", nextPageToken=page.nextPageToken, maxResults=2)
        seen += issue_keys(page)
    assert seen == [f"DRP-{n}" for n in range(1, 6)]
    assert [r.query.get("nextPageToken") is None for r in emu.recorded(path_prefix="search")] == [
        True,
        False,
        False,
    ]
    with pytest.raises(JIRAError) as excinfo:
        client.enhanced_search_issues("labels = other", nextPageToken="bogus")
    assert excinfo.value.status_code == 400

    bare = client.enhanced_search_issues("labels = cloud", fields="", json_result=True)
    assert bare["issues"][0] == {"id": "10000"} and bare["isLast"] is True
    assert "nextPageToken" not in bare

    with pytest.raises(JIRAError) as excinfo:
        client.search_issues("ORDER BY key")
    assert excinfo.value.status_code == 400 and "Unbounded" in (excinfo.value.text or "")
    with pytest.raises(JIRAError):
        # The client refuses offset paging on Cloud before sending anything.
        client.search_issues("labels = cloud", startAt=2)


def test_cloud_legacy_search_is_gone(start_emulator: Callable[..., JiraEmulator]) -> None:
    emu = start_emulator(deployment="Cloud")
    for path in ("/rest/api/2/search", "/rest/api/3/search"):
        response = requests.get(
            f"{emu.url}{path}", params={"jql": "project = DRP"}, auth=(USER, TOKEN), timeout=5
        )
        assert response.status_code == 410
        assert "/rest/api/3/search/jql" in response.json()["errorMessages"][0]
    response = requests.post(
        f"{emu.url}/rest/api/3/search/jql", json={"jql": "project = DRP"}, auth=(USER, TOKEN), timeout=5
    )
    assert response.status_code == 200 and response.json() == {"issues": [], "isLast": True}


def test_server_has_no_enhanced_search(start_emulator: Callable[..., JiraEmulator]) -> None:
    emu = start_emulator()
    response = requests.get(
        f"{emu.url}/rest/api/2/search/jql", params={"jql": "x = y"}, auth=(USER, TOKEN), timeout=5
    )
    assert response.status_code == 404


# --------------------------------------------------------------------------------------------------
# Links, attachments, comments, remote links
# --------------------------------------------------------------------------------------------------


def test_issue_links_both_directions(env: Env) -> None:
    parent = new_issue(env.jira, "campaign")
    child = new_issue(env.jira, "workflow")
    env.jira.create_issue_link("Blocks", parent.key, child.key)

    parent = env.jira.issue(parent.key)
    child = env.jira.issue(child.key)
    (out_link,) = parent.fields.issuelinks
    (in_link,) = child.fields.issuelinks
    assert out_link.outwardIssue.key == child.key and not hasattr(out_link, "inwardIssue")
    assert out_link.outwardIssue.fields.summary == "workflow"
    assert out_link.outwardIssue.fields.status.name == "To Do"
    assert in_link.inwardIssue.key == parent.key and not hasattr(in_link, "outwardIssue")
    assert out_link.type.name == "Blocks"
    assert (out_link.type.outward, out_link.type.inward) == ("blocks", "is blocked by")
    assert out_link.id == in_link.id

    link = env.jira.issue_link(out_link.id)
    assert (link.inwardIssue.key, link.outwardIssue.key) == (parent.key, child.key)

    # Jira does not deduplicate links; callers have to check before linking.
    env.jira.create_issue_link("Blocks", parent.key, child.key)
    assert len(env.jira.issue(parent.key).fields.issuelinks) == 2

    env.jira.delete_issue_link(out_link.id)
    assert len(env.jira.issue(child.key).fields.issuelinks) == 1

    with pytest.raises(JIRAError) as excinfo:
        env.jira.create_issue_link("Frobnicates", parent.key, child.key)
    assert excinfo.value.status_code == 404
    with pytest.raises(JIRAError) as excinfo:
        env.jira.create_issue_link("Relates", parent.key, "DRP-999")
    assert excinfo.value.status_code == 404
    types_ = {t.name: t for t in env.jira.issue_link_types()}
    assert set(types_) == {"Relates", "Blocks", "Cloners"}


def test_attachments_are_binary_safe(env: Env) -> None:
    issue = new_issue(env.jira, "with files")
    attachment = env.jira.add_attachment(issue.key, io.BytesIO(BINARY), filename="butler-stats.bin")
    text = env.jira.add_attachment(issue.key, io.BytesIO(b"a,b\n1,2\n"), filename="summary table.csv")
    assert attachment.size == len(BINARY)
    assert attachment.filename == "butler-stats.bin"
    assert text.mimeType == "text/csv"

    fetched = env.jira.attachment(attachment.id)
    assert fetched.get() == BINARY
    assert b"".join(fetched.iter_content(64)) == BINARY
    assert env.jira.attachment(text.id).get() == b"a,b\n1,2\n"

    listed = env.jira.issue(issue.key).fields.attachment
    assert [a.filename for a in listed] == ["butler-stats.bin", "summary table.csv"]
    assert listed[0].get() == BINARY
    stored = env.emu.snapshot()["attachments"][attachment.id]
    assert stored["data"] == BINARY

    env.jira.delete_attachment(attachment.id)
    with pytest.raises(JIRAError) as excinfo:
        env.jira.attachment(attachment.id)
    assert excinfo.value.status_code == 404
    assert [a.id for a in env.jira.issue(issue.key).fields.attachment] == [text.id]


def test_attachment_upload_needs_xsrf_header(start_emulator: Callable[..., JiraEmulator]) -> None:
    emu = start_emulator()
    new_issue(make_client(emu), "x")
    url = f"{emu.url}/rest/api/2/issue/DRP-1/attachments"
    files = {"file": ("a.txt", b"data")}
    denied = requests.post(url, files=files, auth=(USER, TOKEN), timeout=5)
    assert denied.status_code == 403 and denied.text == "XSRF check failed"
    allowed = requests.post(
        url, files=files, auth=(USER, TOKEN), headers={"X-Atlassian-Token": "no-check"}, timeout=5
    )
    assert allowed.status_code == 200
    assert allowed.json()[0]["content"] == f"{emu.url}/secure/attachment/{allowed.json()[0]['id']}/a.txt"


def test_comments(env: Env) -> None:
    issue = new_issue(env.jira, "discussed")
    first = env.jira.add_comment(issue.key, "started processing")
    second = env.jira.add_comment(issue, "step1 done")
    first.update(body="started processing (edited)")
    assert first.body == "started processing (edited)"
    assert env.jira.comment(issue.key, first.id).body == "started processing (edited)"
    assert [c.body for c in env.jira.comments(issue.key)] == ["started processing (edited)", "step1 done"]
    container = env.jira.issue(issue.key).fields.comment
    assert container.total == 2
    assert [c.id for c in container.comments] == [first.id, second.id]
    author = container.comments[0].author
    if env.emu.deployment == "Cloud":
        assert author.accountId.startswith("emu-")
    else:
        assert author.name == ("pat-user" if env.auth == "pat" else USER)
    second.delete()
    assert [c.id for c in env.jira.comments(issue.key)] == [first.id]


def test_remote_links_are_idempotent_by_global_id(env: Env) -> None:
    issue = new_issue(env.jira, "linked out")
    first = env.jira.add_remote_link(issue.key, {"url": "https://a/1", "title": "run 1"}, globalId="wf:1")
    again = env.jira.add_remote_link(issue.key, {"url": "https://a/1b", "title": "run 1b"}, globalId="wf:1")
    other = env.jira.add_remote_link(issue.key, {"url": "https://a/2", "title": "run 2"}, globalId="wf:2")
    env.jira.add_simple_link(issue.key, {"url": "https://a/3", "title": "no id"})
    env.jira.add_simple_link(issue.key, {"url": "https://a/3", "title": "no id"})
    assert first.id == again.id != other.id
    links = env.jira.remote_links(issue.key)
    assert len(links) == 4
    by_id = {link.id: link for link in links}
    assert by_id[first.id].object.title == "run 1b"
    assert by_id[first.id].globalId == "wf:1"
    assert env.emu.recorded("POST", "issue/DRP-1/remotelink")[1].status == 200
    with pytest.raises(JIRAError) as excinfo:
        env.jira.add_simple_link(issue.key, {"url": "https://no-title"})
    assert excinfo.value.status_code == 400


def test_delete_issue_cascades(start_emulator: Callable[..., JiraEmulator]) -> None:
    emu = start_emulator()
    client = make_client(emu)
    doomed = new_issue(client, "doomed")
    survivor = new_issue(client, "survivor")
    client.create_issue_link("Relates", doomed.key, survivor.key)
    client.add_comment(doomed.key, "bye")
    client.add_attachment(doomed.key, io.BytesIO(b"x"), filename="x.txt")
    client.add_simple_link(doomed.key, {"url": "https://x", "title": "x"})
    doomed.delete()
    state = emu.snapshot()
    assert list(state["issues"]) == ["DRP-2"]
    assert state["links"] == state["comments"] == state["attachments"] == state["remote_links"] == {}
    assert client.issue(survivor.key).fields.issuelinks == []


# --------------------------------------------------------------------------------------------------
# Faults, retries, timeouts, request log
# --------------------------------------------------------------------------------------------------


def test_429_is_retried_after_retry_after(start_emulator: Callable[..., JiraEmulator]) -> None:
    emu = start_emulator()
    client = make_client(emu)
    emu.reset_requests()
    emu.inject(429, headers={"Retry-After": "1"}, times=1)
    started = time.monotonic()
    assert client.myself()["name"] == USER
    elapsed = time.monotonic() - started
    assert [r.status for r in emu.recorded()] == [429, 200]
    assert emu.recorded()[0].faulted and not emu.recorded()[1].faulted
    # The client waits 2 * Retry-After scaled by a random jitter in [0.5, 1].
    assert 1.0 <= elapsed < 4
    assert emu.pending_faults() == 0


def test_503_retry_depends_on_retry_after(
    start_emulator: Callable[..., JiraEmulator], fake_sleep: list[float]
) -> None:
    emu = start_emulator(deployment="Cloud")
    client = make_client(emu)
    emu.reset_requests()
    emu.inject(503, headers={"Retry-After": "3"}, times=2, path="/myself$")
    assert client.myself()["emailAddress"] == USER
    assert [r.status for r in emu.recorded("GET", "myself")] == [503, 503, 200]
    assert len(fake_sleep) == 2 and all(3 <= d <= 6 for d in fake_sleep)

    # Without Retry-After the client treats 503 as final.
    emu.inject(503, path="/myself$")
    with pytest.raises(JIRAError) as excinfo:
        client.myself()
    assert excinfo.value.status_code == 503
    assert emu.count("GET", "myself") == 4 and len(fake_sleep) == 2


def test_retries_exhausted(start_emulator: Callable[..., JiraEmulator], fake_sleep: list[float]) -> None:
    emu = start_emulator()
    client = make_client(emu, max_retries=2)
    emu.reset_requests()
    emu.inject(429, times=5, body='{"errorMessages":["Rate limited"]}')
    with pytest.raises(JIRAError) as excinfo:
        client.myself()
    assert excinfo.value.status_code == 429 and excinfo.value.text == "Rate limited"
    # max_retries=2 means three attempts; 429 without Retry-After backs off 10 * 2**n seconds.
    assert emu.count() == 3
    assert len(fake_sleep) == 2 and 10 <= fake_sleep[0] <= 20 and 20 <= fake_sleep[1] <= 40
    assert emu.pending_faults() == 2


def test_500_on_write_is_not_retried_and_changes_nothing(start_emulator: Callable[..., JiraEmulator]) -> None:
    emu = start_emulator()
    client = make_client(emu)
    new_issue(client, "before")
    before = emu.snapshot()
    emu.inject(500, method="POST", path=r"/rest/api/2/issue$")
    with pytest.raises(JIRAError) as excinfo:
        new_issue(client, "never stored")
    assert excinfo.value.status_code == 500
    assert emu.count("POST", "/rest/api/2/issue") == 2  # the earlier create plus the failed one
    assert emu.snapshot() == before
    assert new_issue(client, "after").key == "DRP-2"


def test_slow_response_times_out(start_emulator: Callable[..., JiraEmulator]) -> None:
    emu = start_emulator()
    client = make_client(emu, timeout=0.3)
    emu.inject(0, delay=1.0, path="/myself$")
    with pytest.raises(requests.exceptions.Timeout):
        client.myself()
    # A timed-out write may still have happened: the outcome is unknown to the client.
    emu.inject(0, delay=0.8, method="POST", path=r"/issue$")
    with pytest.raises(requests.exceptions.Timeout):
        new_issue(client, "maybe created")
    assert emu.wait_idle(5)
    assert list(emu.snapshot()["issues"]) == ["DRP-1"]
    assert client.issue("DRP-1").fields.summary == "maybe created"


def test_connection_refused_is_retried_with_long_backoff(
    start_emulator: Callable[..., JiraEmulator], fake_sleep: list[float]
) -> None:
    emu = start_emulator()
    client = make_client(emu, max_retries=2)
    emu.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        client.myself()
    # ConnectionError back-off is 10 * 2**n seconds (capped at 60) before jitter.
    assert len(fake_sleep) == 2 and 10 <= fake_sleep[0] <= 20 and 20 <= fake_sleep[1] <= 40


def test_request_log_and_fault_matching(start_emulator: Callable[..., JiraEmulator]) -> None:
    emu = start_emulator()
    client = make_client(emu)
    construction = emu.recorded()
    assert [(r.method, r.path, r.auth) for r in construction] == [("GET", "/rest/api/2/serverInfo", "basic")]
    emu.reset_requests()
    assert emu.count() == 0

    new_issue(client, "logged")
    client.search_issues("project = DRP", fields=["summary", "labels"])
    assert emu.count("POST") == 1
    assert emu.count("GET", "issue/DRP-1") == 1  # create_issue re-fetches what it created
    assert emu.count(path_prefix="/rest/api/2/field") == 1  # search_issues loads the field list
    search = emu.recorded("GET", "search")[0]
    assert search.query["jql"] == "project = DRP" and search.query["fields"] == "summary,labels"
    assert emu.recorded("POST")[0].json()["fields"]["summary"] == "logged"

    # Issue.delete()/update() use the id-based "self" URL, so match on the id, not the key.
    emu.inject(418, method="DELETE", times=2, path=r"/issue/10000$")
    client.myself()  # not matched: wrong method
    assert emu.pending_faults() == 2
    for _ in range(2):
        with pytest.raises(JIRAError) as excinfo:
            client.issue("DRP-1").delete()
        assert excinfo.value.status_code == 418
    assert emu.pending_faults() == 0
    client.issue("DRP-1").delete()
    assert emu.snapshot()["issues"] == {}

    unknown = requests.get(f"{emu.url}/rest/api/2/flux-capacitor", auth=(USER, TOKEN), timeout=5)
    assert unknown.status_code == 404 and "null for uri" in unknown.json()["errorMessages"][0]
    wrong_method = requests.patch(f"{emu.url}/rest/api/2/myself", auth=(USER, TOKEN), timeout=5)
    assert wrong_method.status_code == 405
    with pytest.raises(ValueError):
        emu.inject(0)
