"""The real ``jira`` client, set up against `JiraEmulator` as prodstat sets it up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jira import JIRA
from jira.exceptions import JIRAError

from tests.support.jira import JiraEmulator

__all__ = ["PAT", "TOKEN", "USER", "Env", "error_json", "issue_keys", "make_client", "new_issue"]

USER = "operator@example.org"
TOKEN = "secret-token"
PAT = "pat-token"


@dataclass
class Env:
    """An emulator and a client logged in to it with one kind of credentials."""

    emu: JiraEmulator
    jira: JIRA
    auth: str


def make_client(
    emu: JiraEmulator,
    auth: str = "basic",
    *,
    timeout: float = 5,
    max_retries: int = 2,
    **kwargs: Any,
) -> JIRA:
    """Build a real client the way prodstat does.

    Parameters
    ----------
    emu : `JiraEmulator`
        A started emulator.
    auth : `str`
        ``"basic"`` (`USER`, `TOKEN`), ``"pat"`` (`PAT`) or anything else for anonymous.
    timeout : `float`
        Client read timeout in seconds.
    max_retries : `int`
        Client retries of retryable failures.
    **kwargs
        More `jira.JIRA` arguments.

    Returns
    -------
    client : `jira.JIRA`
        The client, which has already read ``serverInfo``.
    """
    credentials: dict[str, Any] = {}
    if auth == "basic":
        credentials["basic_auth"] = (USER, TOKEN)
    elif auth == "pat":
        credentials["token_auth"] = PAT
    return JIRA(
        server=emu.url,
        get_server_info=True,
        timeout=timeout,
        max_retries=max_retries,
        options={"rest_api_version": "2"},
        **credentials,
        **kwargs,
    )


def new_issue(jira: JIRA, summary: str, labels: tuple[str, ...] = (), project: str = "DRP") -> Any:
    """Create a Task with a description derived from its summary; return the client's issue."""
    fields = {
        "project": {"key": project},
        "issuetype": {"name": "Task"},
        "summary": summary,
        "description": f"about {summary}",
        "labels": list(labels),
    }
    return jira.create_issue(fields=fields)


def error_json(error: JIRAError) -> Any:
    """Decode the JSON body of the response behind a client error."""
    assert error.response is not None
    return error.response.json()


def issue_keys(issues: Any) -> list[str]:
    """Return the keys of the issues a search returned, in order."""
    return [issue.key for issue in issues]
