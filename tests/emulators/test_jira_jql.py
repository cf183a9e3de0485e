"""Self-tests of the Jira emulator's JQL, parsed directly and searched through the real client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from jira.exceptions import JIRAError

from tests.emulators.jira_client import Env, issue_keys, make_client, new_issue
from tests.support.jira import JiraEmulator, JqlError, parse_jql
from tests.support.jira.jql import select


def test_parse_jql_structure() -> None:
    query = parse_jql("a = 1 OR b = 2 AND NOT c in (x, 'y z') ORDER BY key DESC, created")
    assert type(query.where).__name__ == "_Or"
    left, right = query.where.parts
    assert (left.field, left.op, left.values) == ("a", "=", ("1",))
    assert type(right).__name__ == "_And"
    negated = right.parts[1]
    assert type(negated).__name__ == "_Not"
    assert (negated.part.op, negated.part.values) == ("in", ("x", "y z"))
    assert query.order == (("key", True), ("created", False))

    escaped = parse_jql(r'summary ~ "say \"hi\"\u0021" && labels is not EMPTY || labels != EMPTY')
    assert escaped.where.parts[0].parts[0].values == ('say "hi"!',)
    assert escaped.where.parts[0].parts[1].op == "is not"
    assert escaped.where.parts[1].op == "is not"
    assert parse_jql("").where is None
    assert parse_jql("order by created desc").order == (("created", True),)
    for bad in ("labels in x", "labels = ", "a = 1 ORDER key", r'x = "bad \q escape"', "x is 3", "= 1"):
        with pytest.raises(JqlError):
            parse_jql(bad)


class _Corpus:
    """A store of three issues, enough for the evaluator without HTTP."""

    statuses = ("To Do", "In Progress", "Done")
    issue_types = ("Task", "Bug")

    def __init__(self) -> None:
        self.projects = {"DRP": {"id": "10000", "key": "DRP", "name": "DRP project"}}
        rows = [("DRP-1", "To Do", ["a"]), ("DRP-2", "Done", ["a", "b"]), ("DRP-3", "Done", [])]
        self.issues = {
            key: {
                "key": key,
                "id": str(10000 + n),
                "project": "DRP",
                "summary": f"issue {n}",
                "description": None,
                "labels": labels,
                "status": status,
                "issuetype": "Task",
                "created": f"2024-01-0{n + 1}T00:00:00.000+0000",
                "updated": "2024-02-01T00:00:00.000+0000",
            }
            for n, (key, status, labels) in enumerate(rows)
        }

    def comment_bodies(self, issue: dict[str, Any]) -> list[str]:
        return ["needs review"] if issue["key"] == "DRP-2" else []


def test_select_without_http() -> None:
    corpus = _Corpus()

    def keys(jql: str, **kwargs: Any) -> list[str]:
        return [i["key"] for i in select(parse_jql(jql), corpus, **kwargs)]

    assert keys("labels = a ORDER BY status DESC, key") == ["DRP-2", "DRP-1"]
    assert keys("status = done AND NOT labels = b") == ["DRP-3"]
    assert keys('comment ~ "review"') == ["DRP-2"]
    assert keys("key in (DRP-3, DRP-9)", strict=False) == ["DRP-3"]
    with pytest.raises(JqlError, match="An issue with key 'DRP-9' does not exist"):
        keys("key in (DRP-3, DRP-9)")
    with pytest.raises(JqlError, match="The value 'Story' does not exist"):
        keys("issuetype = Story")


def test_search_clauses(env: Env) -> None:
    new_issue(env.jira, "w_2024_01 step1 processing", labels=("campaign-a", "step1"))
    new_issue(env.jira, 'Quoted "phrase" workflow', labels=("campaign-a",))
    new_issue(env.jira, "unrelated", labels=("campaign-b",))
    new_issue(env.jira, "no labels at all", project="PREOPS")
    search = env.jira.search_issues

    assert issue_keys(search('labels = "campaign-a"')) == ["DRP-1", "DRP-2"]
    assert issue_keys(search("labels in ('campaign-b', step1)")) == ["DRP-1", "DRP-3"]
    assert issue_keys(search("key in (DRP-3, DRP-1)")) == ["DRP-1", "DRP-3"]
    assert issue_keys(search("issuekey = drp-2")) == ["DRP-2"]
    assert issue_keys(search('summary ~ "STEP1"')) == ["DRP-1"]
    assert issue_keys(search(r'summary ~ "\"phrase\" workflow"')) == ["DRP-2"]
    assert issue_keys(search('summary ~ "step1" OR labels = campaign-b')) == ["DRP-1", "DRP-3"]
    assert issue_keys(search('project = DRP AND (labels = step1 OR summary ~ "unrelated")')) == [
        "DRP-1",
        "DRP-3",
    ]
    assert issue_keys(search("project = DRP AND NOT labels = campaign-a")) == ["DRP-3"]
    # Like Jira, negative label clauses skip issues without labels.
    assert issue_keys(search("labels != campaign-a")) == ["DRP-3"]
    assert issue_keys(search("labels is EMPTY")) == ["PREOPS-1"]
    assert issue_keys(search("project in (DRP, PREOPS) ORDER BY key DESC")) == [
        "PREOPS-1",
        "DRP-3",
        "DRP-2",
        "DRP-1",
    ]
    assert issue_keys(search("text ~ 'about unrelated'")) == ["DRP-3"]
    assert issue_keys(search("labels = campaign-a", use_post=True)) == ["DRP-1", "DRP-2"]

    result = search("labels = campaign-a", fields=["summary", "labels"])
    assert set(result[0].raw["fields"]) == {"summary", "labels"}
    assert result[0].fields.labels == ["campaign-a", "step1"]

    if env.emu.deployment == "Cloud":
        assert env.emu.count(path_prefix="search/jql") > 0
        # On Cloud the client never touches the removed /search endpoint.
        assert all(r.path.endswith("/search/jql") for r in env.emu.recorded(path_prefix="search"))
    else:
        assert env.emu.count(path_prefix="search/jql") == 0


def test_validate_query_for_missingissue_keys(env: Env) -> None:
    new_issue(env.jira, "exists")
    with pytest.raises(JIRAError) as excinfo:
        env.jira.search_issues("key in (DRP-1, DRP-404)")
    assert excinfo.value.status_code == 400
    assert "An issue with key 'DRP-404' does not exist for field 'key'." in (excinfo.value.text or "")
    if env.emu.deployment == "Server":
        assert env.emu.recorded(path_prefix="search")[-1].query["validateQuery"] == "True"
        lenient = env.jira.search_issues("key in (DRP-1, DRP-404)", validate_query=False)
        assert issue_keys(lenient) == ["DRP-1"]
        assert env.emu.recorded(path_prefix="search")[-1].query["validateQuery"] == "False"
    else:
        # enhanced_search_issues has no validate_query, and search_issues drops it on Cloud,
        # so a stale key always fails the whole query there.
        with pytest.raises(JIRAError):
            env.jira.search_issues("key in (DRP-1, DRP-404)", validate_query=False)
        assert "validateQuery" not in env.emu.recorded(path_prefix="search")[-1].query


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("project = DRP AND", "Expecting a field name before the end of the query"),
        ("labels = x y", "Expecting either 'OR' or 'AND' but got 'y'"),
        ("(labels = x", "Expecting ')'"),
        ('summary ~ "unterminated', "Missing closing quote"),
        ('summary = "exact"', "The operator '=' is not supported by the 'summary' field."),
        ("flavour = vanilla", "Field 'flavour' does not exist"),
        ("key ~ DRP-1", "The operator '~' is not supported by the 'key' field."),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("issuekey = banana", "The issue key 'banana' for field 'issuekey' is invalid."),
        ("labels = x ORDER BY flavour", "Not able to sort using field 'flavour'."),
        ("assignee = currentUser()", "not supported"),
    ],
)
def test_bad_jql_is_400(start_emulator: Callable[..., JiraEmulator], jql: str, message: str) -> None:
    emu = start_emulator()
    client = make_client(emu)
    with pytest.raises(JIRAError) as excinfo:
        client.search_issues(jql)
    assert excinfo.value.status_code == 400
    assert message in (excinfo.value.text or "")


def test_text_equality_can_be_enabled(start_emulator: Callable[..., JiraEmulator]) -> None:
    emu = start_emulator(allow_text_equality=True)
    client = make_client(emu)
    new_issue(client, "Exact Title")
    new_issue(client, "Exact Title plus")
    assert issue_keys(client.search_issues('summary = "exact title"')) == ["DRP-1"]
