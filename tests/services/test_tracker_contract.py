"""One contract suite for every Tracker: the local SQLite tracker and Jira (Server and Cloud).

The Jira runs use the real ``jira`` client over real HTTP against the loopback Jira REST
emulator of ``tests/support``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lsst.prodstatus.core.ids import HINT_MALFORMED_KEY, MSG_MALFORMED_KEY
from lsst.prodstatus.core.markup import MSG_SECTION_DAMAGED, PROBLEM_END_MISSING
from lsst.prodstatus.errors import HINT_ISSUE_NOT_FOUND, MSG_ISSUE_NOT_FOUND, InputError, IssueNotFoundError
from lsst.prodstatus.services.tracker import Tracker
from lsst.prodstatus.services.tracker.base import (
    HINT_BAD_ATTACHMENT_NAME,
    HINT_INVALID_LABEL,
    MSG_BAD_ATTACHMENT_NAME,
    MSG_INVALID_LABEL,
    MSG_SELF_LINK,
)
from lsst.prodstatus.services.tracker.jira import HINT_NO_TRANSITION, MSG_NO_TRANSITION, JiraTracker
from lsst.prodstatus.services.tracker.local import LocalTracker

PAT = "pat-token"
CLOUD_USER, CLOUD_TOKEN = "operator@example.org", "secret-token"


@pytest.fixture(params=["local", "jira-server", "jira-cloud"])
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    """Each tracker implementation, empty, with a PREOPS-1 issue to link to."""
    if request.param == "local":
        local = LocalTracker(tmp_path)
        local.create_issue("Campaign request", project="PREOPS")
        yield local
        local.close()
        return
    from tests.support.jira import JiraEmulator

    deployment = "Server" if request.param == "jira-server" else "Cloud"
    with JiraEmulator(deployment=deployment) as emulator:
        emulator.seed_issue("PREOPS-1", "Campaign request")
        user, token = (None, PAT) if deployment == "Server" else (CLOUD_USER, CLOUD_TOKEN)
        remote = JiraTracker(emulator.url, user, token, timeout=5, max_retries=1)
        remote.emulator = emulator  # type: ignore[attr-defined]
        yield remote
        remote.close()


def test_create_get_and_keys(tracker: Tracker) -> None:
    first = tracker.create_issue(
        "step1#v23/PREOPS-973/20220127T205042Z", "desc", labels=["prodstat_20220127T205042Z"]
    )
    second = tracker.create_issue("Step step1")
    assert first.key == "DRP-1" and second.key == "DRP-2"
    got = tracker.get_issue("drp-1")
    assert got.key == "DRP-1"
    assert got.summary == "step1#v23/PREOPS-973/20220127T205042Z"
    assert got.description == "desc"
    assert got.labels == ["prodstat_20220127T205042Z"]
    assert got.issue_type == "Task"
    assert got.url.endswith("DRP-1")
    assert tracker.get_issue("PREOPS-1").summary == "Campaign request"


def test_unknown_and_malformed_keys(tracker: Tracker) -> None:
    with pytest.raises(IssueNotFoundError) as missing:
        tracker.get_issue("DRP-99")
    assert (
        str(missing.value)
        == f"{MSG_ISSUE_NOT_FOUND.format(key='DRP-99', tracker=tracker.name)}; {HINT_ISSUE_NOT_FOUND}"
    )
    with pytest.raises(InputError) as malformed:
        tracker.get_issue("DRP486")
    assert (
        str(malformed.value)
        == f"{MSG_MALFORMED_KEY.format(what='issue key', key='DRP486')}; {HINT_MALFORMED_KEY}"
    )


def test_update_issue_and_labels(tracker: Tracker) -> None:
    issue = tracker.create_issue("old", "d1", labels=["a"])
    tracker.update_issue(issue.key, summary="new", description="d2", add_labels=["b", "a"])
    got = tracker.get_issue(issue.key)
    assert (got.summary, got.description, sorted(got.labels)) == ("new", "d2", ["a", "b"])


def test_update_sections_idempotent_and_keeps_human_text(tracker: Tracker) -> None:
    head = "BPS Submit Keywords:\n{code}\nproject: dp02\n{code}\n"
    issue = tracker.create_issue("wf", head)
    first = tracker.update_sections(issue.key, {"status": "Status:finished", "panda": "||a||\n|1|"})
    tracker.update_issue(issue.key, description=first.description + "Operator note: all good.\n")
    tracker.update_sections(issue.key, {"status": "Status:finished", "panda": "||a||\n|2|"})
    once = tracker.get_issue(issue.key).description
    tracker.update_sections(issue.key, {"status": "Status:finished", "panda": "||a||\n|2|"})
    again = tracker.get_issue(issue.key).description
    assert once == again
    assert once.startswith(head)
    assert "Operator note: all good.\n" in once
    assert "|2|" in once and "|1|" not in once
    new_head = "BPS Submit Keywords:\n{code}\nproject: dp03\n{code}\n"
    written = tracker.update_sections(issue.key, {}, head=new_head, summary="wf2")
    got = tracker.get_issue(issue.key)
    assert got.description == written.description and got.description.startswith(new_head)
    assert got.summary == "wf2"


def test_search_by_keys_labels_summaries_in_one_query(tracker: Tracker) -> None:
    a = tracker.create_issue("step1#c/20220728T192631Z", labels=["prodstat_20220728T192631Z"])
    b = tracker.create_issue("step1#c/20220729T001725Z", labels=["prodstat_20220729T001725Z"])
    c = tracker.create_issue("Step step1")
    found = tracker.search(labels=["prodstat_20220729T001725Z"], keys=[c.key, "DRP-404"], summaries=["nope"])
    assert [i.key for i in found] == [b.key, c.key]
    by_summary = tracker.search(summaries=["step1#c/20220728T192631Z"], project="DRP")
    assert [i.key for i in by_summary] == [a.key]
    assert tracker.search() == []
    assert tracker.search(labels=["prodstat_20220728T192631Z"], project="PREOPS") == []


def test_links_not_duplicated_and_seen_from_both_sides(tracker: Tracker) -> None:
    step = tracker.create_issue("Step step1")
    wf = tracker.create_issue("step1#c/20220728T192631Z")
    assert tracker.link(step.key, wf.key) is True
    assert tracker.link(step.key, wf.key) is False
    assert tracker.link("PREOPS-1", wf.key) is True
    s, w = tracker.get_issue(step.key), tracker.get_issue(wf.key)
    assert [(li.direction, li.other_key, li.link_type) for li in s.links] == [("outward", wf.key, "Relates")]
    assert sorted((li.direction, li.other_key) for li in w.links) == sorted(
        [("inward", "PREOPS-1"), ("inward", step.key)]
    )
    assert w.linked_keys("inward") and s.linked_keys("outward") == [wf.key]
    with pytest.raises(IssueNotFoundError):
        tracker.link(step.key, "DRP-999")
    with pytest.raises(InputError) as info:
        tracker.link(step.key, step.key)
    assert str(info.value) == MSG_SELF_LINK.format(key=step.key)


def test_attachments_replaced_by_name_binary_safe(tracker: Tracker) -> None:
    issue = tracker.create_issue("wf")
    payload = bytes(range(256)) * 3
    tracker.attach(issue.key, "step1_1248.yaml", b"payload: 1\n")
    tracker.attach(issue.key, "stats.bin", payload)
    tracker.attach(issue.key, "step1_1248.yaml", b"payload: 2\n")
    got = tracker.get_issue(issue.key)
    assert sorted(a.filename for a in got.attachments) == ["stats.bin", "step1_1248.yaml"]
    assert tracker.read_attachment(issue.key, "step1_1248.yaml") == b"payload: 2\n"
    assert tracker.read_attachment(issue.key, "stats.bin") == payload
    assert tracker.read_attachment(issue.key, "absent.yaml") is None
    with pytest.raises(InputError) as info:
        tracker.attach(issue.key, "a/b.yaml", b"")
    assert (
        str(info.value)
        == f"{MSG_BAD_ATTACHMENT_NAME.format(filename='a/b.yaml')}; {HINT_BAD_ATTACHMENT_NAME}"
    )


def test_comments(tracker: Tracker) -> None:
    issue = tracker.create_issue("wf")
    comment = tracker.add_comment(issue.key, "pandaStat table v1")
    tracker.add_comment(issue.key, "second")
    tracker.update_comment(issue.key, comment.comment_id, "pandaStat table v2")
    bodies = [c.body for c in tracker.get_issue(issue.key).comments]
    assert bodies == ["pandaStat table v2", "second"]


def test_other_project_and_invalid_label(tracker: Tracker) -> None:
    issue = tracker.create_issue("request", project="PREOPS")
    assert issue.key == "PREOPS-2"
    with pytest.raises(InputError) as info:
        tracker.create_issue("x", labels=["has space"])
    assert str(info.value) == f"{MSG_INVALID_LABEL.format(label='has space')}; {HINT_INVALID_LABEL}"


def test_labels_added_and_removed_in_one_write(tracker: Tracker) -> None:
    issue = tracker.create_issue("s", labels=["a", "b"])
    written = tracker.update_sections(issue.key, {}, add_labels=["c"], remove_labels=["a"])
    assert sorted(written.labels) == ["b", "c"]
    assert sorted(tracker.get_issue(issue.key).labels) == ["b", "c"]


def test_damaged_sections_are_refused_untouched(tracker: Tracker) -> None:
    from lsst.prodstatus.core.markup import DamagedSectionError

    issue = tracker.create_issue("s", "{anchor:prodstat-a}\nold\nnote below\n")
    with pytest.raises(DamagedSectionError) as info:
        tracker.update_sections(issue.key, {"a": "new"})
    assert info.value.message == MSG_SECTION_DAMAGED.format(
        name="a",
        where=f" of {issue.key}",
        problem=PROBLEM_END_MISSING.format(marker="{anchor:prodstat-a-end}"),
    )
    assert tracker.get_issue(issue.key).description == "{anchor:prodstat-a}\nold\nnote below\n"


def test_delete_issue_and_link(tracker: Tracker) -> None:
    first = tracker.create_issue("first")
    second = tracker.create_issue("second")
    tracker.link("PREOPS-1", first.key)
    tracker.link("PREOPS-1", second.key)
    link = next(li for li in tracker.get_issue("PREOPS-1").links if li.other_key == first.key)
    tracker.delete_link(link.link_id)
    tracker.delete_link(link.link_id)  # gone already: fine
    assert tracker.get_issue("PREOPS-1").linked_keys() == [second.key]
    tracker.delete_issue(second.key)
    with pytest.raises(IssueNotFoundError):
        tracker.get_issue(second.key)
    assert tracker.get_issue("PREOPS-1").linked_keys() == []


def test_batch_is_all_or_nothing_where_the_tracker_has_transactions(tracker: Tracker) -> None:
    with pytest.raises(RuntimeError), tracker.batch():
        made = tracker.create_issue("inside a failing batch")
        tracker.attach(made.key, "a.txt", b"a")
        raise RuntimeError("interrupted")
    left = tracker.search(summaries=["inside a failing batch"])
    assert [i.summary for i in left] == ([] if tracker.transactional else ["inside a failing batch"])


def test_local_reads_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    import sqlite3
    import threading

    LocalTracker(tmp_path).create_issue("an issue")
    writer = sqlite3.connect(tmp_path / "tracker.sqlite3", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    writer.execute("UPDATE issues SET summary = 'changing'")
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.append(LocalTracker(tmp_path).get_issue("DRP-1").summary))
    reader.start()
    reader.join(timeout=10)
    writer.execute("ROLLBACK")
    writer.close()
    assert not reader.is_alive() and seen == ["an issue"]


def test_search_by_text_in_the_description(tracker: Tracker) -> None:
    tracker.create_issue("a", "BPS block\nPanDA PREOPS: PREOPS-1248 link:https://x\n")
    tracker.create_issue("b", "PanDA PREOPS: PREOPS-12480 link:https://y\n")
    tracker.create_issue("c", "nothing here")
    found = tracker.search(texts=["PanDA PREOPS: PREOPS-1248 "])
    assert [i.summary for i in found] == ["a"]


def test_transition_issue(tracker: Tracker) -> None:
    issue = tracker.create_issue("s")
    target = "In Progress"
    name = "Start Progress" if tracker.name == "jira" else target
    assert tracker.transition_issue(issue.key, name) is True
    assert tracker.get_issue(issue.key).status == target
    assert tracker.transition_issue(issue.key, target) is False  # there already
    if tracker.name == "jira":
        with pytest.raises(InputError) as info:
            tracker.transition_issue(issue.key, "Fly away")
        assert info.value.message.startswith(
            MSG_NO_TRANSITION.format(key=issue.key, status=target, name="Fly away", names="")
        )
        assert info.value.hint == HINT_NO_TRANSITION
