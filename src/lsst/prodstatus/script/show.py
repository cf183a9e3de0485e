"""``show``: one issue, as the tracker holds it."""

from __future__ import annotations

from ..config import Settings
from ..services.tracker.base import Issue, Tracker

__all__ = ["run_show"]


def run_show(tracker: Tracker, settings: Settings, *, key: str) -> Issue:
    """``show``: read issue ``key`` (summary, description, labels, links, attachments).

    Raises
    ------
    IssueNotFoundError
        No such issue (exit 1).
    """
    return tracker.get_issue(key)
