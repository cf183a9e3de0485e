"""Workflow-issue content that is not bps parsing: the PanDA link line, the BPS block swap,
and picking the issue that already records a workflow. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol, TypeVar

from ..errors import without_userinfo
from .ids import issue_number, uniq_label


class IssueLike(Protocol):
    """What `choose_existing_issue` needs of an issue (core knows no tracker types)."""

    key: str
    summary: str
    labels: list[str]


IssueT = TypeVar("IssueT", bound=IssueLike)

__all__ = [
    "BPS_BLOCK_RE",
    "PRODUCTION_SECTION",
    "STATISTICS_SECTIONS",
    "choose_existing_issue",
    "panda_tasks_link",
    "production_section_text",
    "replace_bps_block",
    "uniq_label",
]

STATISTICS_SECTIONS = ("butler", "panda", "status", "failures")
"""Managed sections update-stat writes, in the order they are first added; they describe one run."""

PRODUCTION_SECTION = "production"
"""Managed section holding the production issue and the PanDA link of a workflow."""

BPS_BLOCK_RE = re.compile(
    r"BPS Submit Keywords:[ \t]*\r?\n\{code\}.*?^\{code\}[ \t]*(\r?\n|$)", re.S | re.M | re.I
)
"""The ``BPS Submit Keywords:`` ``{code}`` block at the top of a workflow issue (the original tool's)."""


def panda_tasks_link(pandamon_url: str, timestamp: str) -> str:
    """Return the PanDA task-list link of a workflow, as the original wrote it (host configurable).

    ``https://<monitor>/tasks/?taskname=*<ts lower>*&date_from=01-<MM>-<YYYY>&days=62&sortby=time-ascending``
    """
    # Credentials in the monitor URL never go into an issue.
    base = without_userinfo(pandamon_url)
    base = base if base.endswith("/") else base + "/"
    month, year = timestamp[4:6], timestamp[0:4]
    return (
        f"{base}tasks/?taskname=*{timestamp.lower()}*&date_from=01-{month}-{year}&days=62"
        "&sortby=time-ascending"
    )


def production_section_text(production_key: str, panda_link: str, production_url: str | None) -> str:
    """Return the ``production`` section: the original's ``PanDA PREOPS: <key> link:<url>`` line.

    The line keeps the original's shape (its parsers look for ``PanDA.*link:``); the
    production issue is also given as a wiki link when it exists in the tracker.
    """
    lines = [f"PanDA PREOPS: {production_key} link:{panda_link}"]
    if production_url:
        lines.append(f"Production issue: [{production_key}|{production_url}]")
    else:
        lines.append(f"Production issue: {production_key}")
    return "\n".join(lines)


def replace_bps_block(head: str, block: str) -> str:
    """Return ``head`` with its BPS block replaced by ``block`` (prepended if it has none).

    Only the block itself is prodstat's: text before or after it (a person's notes, or
    tables the original tool wrote) is kept as it is.
    """
    if not block.endswith("\n"):
        block += "\n"
    match = BPS_BLOCK_RE.search(head)
    if match is None:
        return block + head
    return head[: match.start()] + block + head[match.end() :]


def choose_existing_issue(
    candidates: Sequence[IssueT], *, uniq_label_name: str, ts_label_name: str, summary: str
) -> IssueT | None:
    """Pick the issue that already records this workflow, or `None`.

    Preference: the ``uniqProcName`` label; then the timestamp label together with the
    same summary; then the same summary alone (issues made by the original tool, which
    had no labels). Summaries are compared without surrounding blanks, as
    `~lsst.prodstatus.core.ids.WorkflowId.records` does (a summary edited by hand may
    keep a trailing space). Among equals the oldest (lowest number) wins.
    """
    wanted = summary.strip()
    for test in (
        lambda i: uniq_label_name in i.labels,
        lambda i: ts_label_name in i.labels and i.summary.strip() == wanted,
        lambda i: i.summary.strip() == wanted,
    ):
        matches = sorted((i for i in candidates if test(i)), key=lambda i: issue_number(i.key))
        if matches:
            return matches[0]
    return None
