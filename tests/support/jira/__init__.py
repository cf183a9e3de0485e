"""An in-process Jira REST emulator for tests that drive the real ``jira`` client.

The emulator is a small standard-library HTTP server bound to ``127.0.0.1`` on an
ephemeral port. It implements the subset of the Jira REST API (v2, plus the Cloud
``search/jql`` endpoints under v3) that prodstat's tracker and the tests use, with the
JSON shapes the ``jira`` package expects, and adds test hooks: a request log, fault
injection (rate limits, outages, slow responses, lost replies) and state snapshots.

Modules, by concern:

`state`
    The data (issues, links, comments, attachments, remote links, accounts), no HTTP.
`jql`
    The JQL parser and evaluator.
`render`
    The JSON shapes of Jira's resources.
`endpoints`
    The REST resources, as a route table.
`http`
    The server, routing, authentication, request log and fault injection.
`emulator`
    `JiraEmulator`, which puts them together.

Examples
--------
>>> with JiraEmulator(deployment="Cloud") as emu:  # doctest: +SKIP
...     jira = JIRA(server=emu.url, basic_auth=("operator@example.org", "secret-token"))
...     issue = jira.create_issue(project={"key": "DRP"}, summary="s", issuetype={"name": "Task"})
"""

from .emulator import JiraEmulator
from .http import RecordedRequest
from .jql import JqlError, JqlQuery, parse_jql

__all__ = ["JiraEmulator", "JqlError", "JqlQuery", "RecordedRequest", "parse_jql"]
