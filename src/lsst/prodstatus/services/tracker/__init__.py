"""Issue trackers: the `Tracker` protocol, the embedded local tracker and Jira."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Attachment, Comment, Issue, IssueLink, Tracker, check_issue_key

if TYPE_CHECKING:
    from ...config import Settings

__all__ = [
    "HINT_NO_JIRA_URL",
    "MSG_NO_JIRA_URL",
    "Attachment",
    "Comment",
    "Issue",
    "IssueLink",
    "Tracker",
    "check_issue_key",
    "open_tracker",
]

# User-facing messages (tests import them).
MSG_NO_JIRA_URL = "--tracker jira needs a Jira URL"
HINT_NO_JIRA_URL = "set PRODSTAT_JIRA_URL or jira_url in the config file"


def open_tracker(settings: Settings) -> Tracker:
    """Open the tracker the settings select (``local`` or ``jira``).

    Raises
    ------
    InputError
        If the local tracker's ``--home`` is not writable.
    ServiceError
        If Jira cannot be reached or refuses the credentials.
    """
    if settings.tracker == "jira":
        from ...errors import ConfigError
        from .jira import JiraTracker

        if not settings["jira_url"]:
            raise ConfigError(MSG_NO_JIRA_URL, HINT_NO_JIRA_URL)
        tracker = JiraTracker(
            settings["jira_url"],
            settings["jira_user"],
            settings["jira_token"],
            project=settings.project,
            issue_type=settings["issue_type"],
            link_type=settings["link_type"],
            timeout=settings["jira_timeout"],
            max_retries=settings["jira_retries"],
        )
        tracker.retry_budget = settings["jira_retry_budget"]
        try:
            settings.home.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # no journal then: it only narrows the window of Jira Cloud's search lag
        else:
            from .journal import CreatedJournal

            tracker.journal = CreatedJournal(settings.home, tracker.url)
        return tracker
    from ...config import ensure_writable_dir
    from .local import LocalTracker

    home = ensure_writable_dir(settings.home, "prodstat home")
    return LocalTracker(
        home, project=settings.project, issue_type=settings["issue_type"], link_type=settings["link_type"]
    )
