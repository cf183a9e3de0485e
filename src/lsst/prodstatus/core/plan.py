"""Issue plans: everything a command will write to one issue, computed before any write.

A script computes an `IssuePlan` per issue (with no writes), hands the plans to the one
executor (`lsst.prodstatus.script.apply`), and ``--dry-run`` prints them instead. Plain
data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .markup import DamagedSectionError, replace_sections

__all__ = ["SELF", "Action", "IssuePlan", "PlannedAttachment", "PlannedLink", "plan_ref"]

SELF = "@self"
"""In a `PlannedLink`, the issue of the plan itself (its key may not exist yet)."""


def plan_ref(name: str) -> str:
    """A reference to the issue of the plan called ``name`` applied earlier in the same batch."""
    return f"@{name}"


class Action(StrEnum):
    """What a command did (or would do) to an issue; compares equal to its text."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    WOULD_CREATE = "would create"
    WOULD_UPDATE = "would update"


@dataclass(frozen=True)
class PlannedAttachment:
    """A file the issue must hold; uploaded only when the attached bytes differ."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class PlannedLink:
    """A link the issue must have: ``from_key`` → ``to_key`` (`SELF` or `plan_ref` allowed)."""

    from_key: str
    to_key: str
    link_type: str | None = None


@dataclass
class IssuePlan:
    """Everything one command writes to one issue.

    ``key`` `None` means create the issue, unless one carrying ``identity_label`` exists
    when the plan is applied (then it is updated: a create is never made twice). The
    description is given as managed ``sections`` and a ``head`` (text before the first
    section), so applying the plan to an issue that a person has edited meanwhile keeps
    their text.
    """

    what: str
    """What the issue is, for messages: ``workflow issue of step1_1248.yaml``."""
    key: str | None
    summary: str | None = None
    sections: dict[str, str | None] = field(default_factory=dict)
    head: str | None = None
    add_labels: list[str] = field(default_factory=list)
    remove_labels: list[str] = field(default_factory=list)
    identity_label: str | None = None
    """The label only this issue carries; how a lost create's issue and duplicates are found."""
    project: str | None = None
    issue_type: str | None = None
    attachments: list[PlannedAttachment] = field(default_factory=list)
    links: list[PlannedLink] = field(default_factory=list)
    description_last: bool = False
    """Write the description after attachments and links (when it refers to attachments)."""
    name: str = ""
    """How later plans of the same batch refer to this one (`plan_ref`)."""
    reread: bool = True
    """On a tracker without transactions, read the issue again right before writing its
    description (Jira has no conditional edit: a copy read earlier would undo edits made
    since). `False` trusts the copy the command read (one request less)."""
    settle: bool = True
    """On a tracker without transactions, read the issue back after uploading or linking and
    keep one of anything concurrent runs made twice (one request; `False` saves it where
    concurrent runs of the command on one issue are not expected)."""
    remove_attachments: list[str] = field(default_factory=list)
    """Attachments (every copy of these names) that no longer belong to the issue."""
    remove_links: list[str] = field(default_factory=list)
    """Links (by id) that no longer belong to the issue."""
    retire: list[str] = field(default_factory=list)
    """Duplicates of this issue that a lost or concurrent create left behind: removed
    (deleted, or labelled ``prodstat_duplicate`` where deleting is not permitted)."""

    @property
    def creates(self) -> bool:
        """Whether the plan makes a new issue."""
        return self.key is None

    def new_description(self, current: str = "") -> str:
        """The description after the plan, from the ``current`` one (empty for a new issue).

        Raises
        ------
        DamagedSectionError
            ``current`` has damaged section markers (the error names the issue).
        """
        try:
            return replace_sections(current, self.sections, head=self.head)
        except DamagedSectionError as exc:
            raise (exc.for_issue(self.key) if self.key else exc) from None

    def lines(self) -> list[str]:
        """The plan in words, one line per write (``--dry-run``)."""
        target = self.key or f"a new issue ({self.what})"
        out = [
            f"{'create' if self.creates else 'update'} {target}"
            + (f": {self.summary}" if self.summary else "")
        ]
        changed = [name for name, text in self.sections.items() if text is not None]
        removed = [name for name, text in self.sections.items() if text is None]
        if self.head is not None:
            out.append("  description head (BPS block)")
        if changed:
            out.append(f"  sections: {', '.join(changed)}")
        if removed:
            out.append(f"  remove sections: {', '.join(removed)}")
        if self.add_labels:
            out.append(f"  labels: {', '.join(self.add_labels)}")
        if self.remove_labels:
            out.append(f"  remove labels: {', '.join(self.remove_labels)}")
        out.extend(f"  attach {a.filename} ({len(a.data)} bytes, if changed)" for a in self.attachments)
        out.extend(
            f"  link {_show(link.from_key, target)} → {_show(link.to_key, target)}" for link in self.links
        )
        out.extend(f"  remove attachment {name}" for name in self.remove_attachments)
        out.extend(f"  remove link {link_id}" for link_id in self.remove_links)
        out.extend(f"  remove {key}, a duplicate of this issue" for key in self.retire)
        return out


def _show(ref: str, target: str) -> str:
    return target if ref == SELF else ref.removeprefix("@")
