"""The Tracker protocol and the plain data it returns.

Both trackers (`LocalTracker`, `JiraTracker`) implement `Tracker` and pass the same
contract tests. Command modules only ever see these types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ...core.ids import ISSUE_KEY_RE, check_issue_key
from ...errors import InputError

__all__ = [
    "HINT_BAD_ATTACHMENT_NAME",
    "HINT_INVALID_LABEL",
    "ISSUE_KEY_RE",
    "MSG_BAD_ATTACHMENT_NAME",
    "MSG_EMPTY_SUMMARY",
    "MSG_INVALID_LABEL",
    "MSG_SELF_LINK",
    "Attachment",
    "Comment",
    "Issue",
    "IssueLink",
    "Tracker",
    "check_issue_key",
    "check_label",
]

_LABEL_RE = re.compile(r"^\S{1,255}$")

# User-facing messages of every tracker (tests import them).
MSG_INVALID_LABEL = "invalid label {label!r}"
HINT_INVALID_LABEL = "labels have no spaces and at most 255 characters"
MSG_EMPTY_SUMMARY = "an issue needs a non-empty summary"
MSG_SELF_LINK = "cannot link issue {key} to itself"
MSG_BAD_ATTACHMENT_NAME = "invalid attachment name {filename!r}"
HINT_BAD_ATTACHMENT_NAME = "use a plain file name"


def check_label(label: str) -> str:
    """Return ``label`` if Jira accepts it (no white space, at most 255 characters)."""
    if not _LABEL_RE.match(label):
        raise InputError(MSG_INVALID_LABEL.format(label=label), HINT_INVALID_LABEL)
    return label


@dataclass(frozen=True)
class IssueLink:
    """A link between two issues, seen from one of them.

    ``direction`` is ``outward`` when this issue is the link's source (the
    ``inwardIssue`` of the Jira link request: campaign → step, step → workflow) and
    ``inward`` when it is the target.
    """

    link_id: str
    link_type: str
    direction: str
    other_key: str
    other_summary: str = ""


@dataclass(frozen=True)
class Attachment:
    """An attachment's metadata (its bytes are read with `Tracker.read_attachment`)."""

    attachment_id: str
    filename: str
    size: int
    created: str = ""


@dataclass(frozen=True)
class Comment:
    """A comment on an issue."""

    comment_id: str
    body: str
    created: str = ""


@dataclass
class Issue:
    """An issue as prodstat sees it, whatever the tracker."""

    key: str
    summary: str
    description: str = ""
    labels: list[str] = field(default_factory=list)
    issue_type: str = "Task"
    status: str = ""
    links: list[IssueLink] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    url: str = ""
    created: str = ""
    updated: str = ""

    def attachment(self, filename: str) -> Attachment | None:
        """Return the newest attachment called ``filename``, or `None`."""
        found = [a for a in self.attachments if a.filename == filename]
        return found[-1] if found else None

    def linked_keys(self, direction: str | None = None) -> list[str]:
        """Return the keys of linked issues, optionally only in one ``direction``."""
        return [link.other_key for link in self.links if direction in (None, link.direction)]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (for ``--json``)."""
        return {
            "key": self.key,
            "summary": self.summary,
            "description": self.description,
            "labels": list(self.labels),
            "issue_type": self.issue_type,
            "status": self.status,
            "url": self.url,
            "created": self.created,
            "updated": self.updated,
            "links": [
                {
                    "id": li.link_id,
                    "type": li.link_type,
                    "direction": li.direction,
                    "key": li.other_key,
                    "summary": li.other_summary,
                }
                for li in self.links
            ],
            "attachments": [
                {"id": a.attachment_id, "filename": a.filename, "size": a.size, "created": a.created}
                for a in self.attachments
            ],
            "comments": [{"id": c.comment_id, "body": c.body, "created": c.created} for c in self.comments],
        }


@runtime_checkable
class Tracker(Protocol):
    """What prodstat needs from an issue tracker.

    Every method that writes either completes or leaves the issue as it was. Methods
    raise `~lsst.prodstatus.errors.IssueNotFoundError` for unknown keys, and
    `~lsst.prodstatus.errors.ServiceError` when the tracker cannot be reached.
    """

    name: str
    """``local`` or ``jira``."""

    transactional: bool
    """Whether `batch` makes its writes one all-or-nothing transaction."""

    def batch(self) -> AbstractContextManager[None]:
        """Group the writes of one command: one transaction where the tracker has them."""
        ...

    def delete_issue(self, key: str) -> None:
        """Delete issue ``key`` (used only for an issue this run created twice)."""
        ...

    def transition_issue(self, key: str, name: str) -> bool:
        """Move ``key`` to another status (Jira: through the transition ``name``); `False` if there already."""
        ...

    def delete_attachment(self, key: str, attachment_id: str) -> None:
        """Delete one attachment of ``key`` (a copy concurrent runs uploaded twice); gone already is fine."""
        ...

    def delete_link(self, link_id: str) -> None:
        """Delete one link (used only for a link concurrent runs made twice); gone already is fine."""
        ...

    def browse_url(self, key: str) -> str:
        """Return the URL (or locator) a person opens to see issue ``key``."""
        ...

    def create_issue(
        self,
        summary: str,
        description: str = "",
        *,
        labels: Sequence[str] = (),
        project: str | None = None,
        issue_type: str | None = None,
    ) -> Issue:
        """Create an issue in one request and return it."""
        ...

    def get_issue(self, key: str) -> Issue:
        """Return issue ``key`` with its links, attachments and comments."""
        ...

    def update_issue(
        self,
        key: str,
        *,
        summary: str | None = None,
        description: str | None = None,
        add_labels: Sequence[str] = (),
    ) -> None:
        """Set the summary and/or description and add labels, in one request."""
        ...

    def update_sections(
        self,
        key: str,
        sections: Mapping[str, str | None],
        *,
        summary: str | None = None,
        head: str | None = None,
        add_labels: Sequence[str] = (),
        remove_labels: Sequence[str] = (),
        current: Issue | None = None,
    ) -> Issue:
        """Replace managed description sections (`None` removes one); keep everything else.

        ``head`` replaces the text before the first managed section (the BPS block of a
        workflow issue); `None` keeps it. ``current`` is the issue as just read, which
        saves a remote tracker a request; ``add_labels`` and ``remove_labels`` change the
        labels in the same write. Returns the issue as written.

        Raises
        ------
        DamagedSectionError
            When a section's markers are damaged; nothing is written.
        """
        ...

    def search(
        self,
        *,
        keys: Sequence[str] = (),
        labels: Sequence[str] = (),
        summaries: Sequence[str] = (),
        project: str | None = None,
        texts: Sequence[str] = (),
    ) -> list[Issue]:
        """Return, in one query, issues matching any of ``keys``, ``labels``, exact ``summaries``
        or whose description holds one of ``texts`` word for word.

        Unknown keys are ignored. ``project`` restricts label, summary and text matches.
        """
        ...

    def link(
        self, from_key: str, to_key: str, link_type: str | None = None, *, current: Issue | None = None
    ) -> bool:
        """Link ``from_key`` → ``to_key`` unless already linked; return whether a link was made.

        ``current`` is ``from_key``'s issue as just read (saves a request).
        """
        ...

    def attach(self, key: str, filename: str, data: bytes, *, current: Issue | None = None) -> Attachment:
        """Attach ``data`` as ``filename``, replacing attachments of the same name."""
        ...

    def read_attachment(self, key: str, filename: str, *, current: Issue | None = None) -> bytes | None:
        """Return the bytes of attachment ``filename`` of ``key``, or `None` if absent."""
        ...

    def add_comment(self, key: str, body: str) -> Comment:
        """Add a comment."""
        ...

    def update_comment(self, key: str, comment_id: str, body: str) -> None:
        """Replace the body of a comment."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
