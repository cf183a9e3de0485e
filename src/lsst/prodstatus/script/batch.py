"""The plans of one command: applied in one batch, or previewed (``--dry-run``).

A command tags each plan with the issue it writes (an issue the batch creates may get a
second plan later in the batch, once content naming other new issues can be computed),
then `run_batch` either hands them all to the executor (`apply_plans`, one call) or, in
a dry run, works out what they would change by the executor's own rules: an attachment
is uploaded only when its bytes differ, a link made only when missing, the description,
summary and labels written only when they differ.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..core.markup import DamagedSectionError
from ..core.plan import SELF, Action, IssuePlan
from ..errors import IncompleteWriteError, ServiceError
from ..services.tracker.base import Issue, Tracker
from .apply import Applied, PlanSource, apply_plans, attachment_unchanged

__all__ = [
    "HINT_BATCH_INCOMPLETE",
    "MSG_BATCH_INCOMPLETE",
    "Batch",
    "BatchOutcome",
    "IssueWrites",
    "merged",
    "preview_plan",
    "run_batch",
]


@dataclass
class IssueWrites:
    """What one or more plans of one issue did (or, in a dry run, would do)."""

    key: str | None
    action: Action
    attached: list[str] = field(default_factory=list)
    """Attachments uploaded (or that would be)."""
    linked: list[str] = field(default_factory=list)
    """The other issue of each link made (or that would be)."""
    adopted: bool = False
    """An issue found by its identity label when the plan was to create it."""

    def merge(self, other: IssueWrites) -> IssueWrites:
        """Both writes of the same issue (a plan and the one that completes it later in the batch)."""
        rank = [Action.UNCHANGED, Action.UPDATED, Action.WOULD_UPDATE, Action.CREATED, Action.WOULD_CREATE]
        return IssueWrites(
            self.key or other.key,
            max(self.action, other.action, key=rank.index),
            [*self.attached, *(a for a in other.attached if a not in self.attached)],
            [*self.linked, *(k for k in other.linked if k not in self.linked)],
            self.adopted or other.adopted,
        )

    @classmethod
    def of(cls, applied: Applied) -> IssueWrites:
        """The writes the executor reports for one plan."""
        return cls(applied.key, applied.action, list(applied.attached), list(applied.linked), applied.adopted)


def preview_plan(
    tracker: Tracker, plan: IssuePlan, issue: Issue | None, known: Mapping[str, Issue] | None = None
) -> IssueWrites:
    """What applying ``plan`` to ``issue`` (`None`: an issue not made yet) would write.

    ``known`` holds the other issues read (sources of links into this one). Attachments of
    the same size are read back, as the executor does.

    Raises
    ------
    DamagedSectionError
        A managed section of ``issue`` has damaged markers (the executor refuses it too).
    """
    others = [_other(link.from_key, link.to_key) for link in plan.links]
    if issue is None:
        return IssueWrites(None, Action.WOULD_CREATE, [a.filename for a in plan.attachments], others)
    try:
        description = plan.new_description(issue.description)
    except DamagedSectionError as exc:
        raise exc.for_issue(issue.key) from None
    wanted = [*plan.add_labels, *([plan.identity_label] if plan.identity_label else [])]
    fields_change = (
        description != issue.description
        or (plan.summary is not None and plan.summary != issue.summary)
        or any(label not in issue.labels for label in wanted)
        or any(label in issue.labels and label not in wanted for label in plan.remove_labels)
    )
    attached = [
        a.filename for a in plan.attachments if not attachment_unchanged(tracker, issue, a.filename, a.data)
    ]
    linked: list[str] = []
    for link, other in zip(plan.links, others, strict=True):
        source = issue if link.from_key == SELF else (known or {}).get(link.from_key)
        target = issue.key if link.to_key == SELF else link.to_key
        if source is None or target not in source.linked_keys():
            linked.append(other)
    changed = fields_change or attached or linked
    return IssueWrites(issue.key, Action.WOULD_UPDATE if changed else Action.UNCHANGED, attached, linked)


def _other(from_key: str, to_key: str) -> str:
    """The issue at the other end of a link of the plan's own issue."""
    return to_key if from_key == SELF else from_key


def merged(writes: Sequence[IssueWrites]) -> IssueWrites:
    """All writes of one issue as one."""
    total = writes[0]
    for more in writes[1:]:
        total = total.merge(more)
    return total


@dataclass
class Batch:
    """The plans of one command, each tagged with the issue it writes."""

    known: list[Issue] = field(default_factory=list)
    """Issues as read while planning (saves Jira reads; sources of links)."""
    existing: dict[str, str] = field(default_factory=dict)
    """Tag → key of the issues that exist already."""
    entries: list[tuple[str, PlanSource]] = field(default_factory=list)

    def add(self, tag: str, source: PlanSource) -> None:
        """Add a plan (or a function of the keys of earlier plans) of the issue tagged ``tag``.

        Plans must be named by their tag (`IssuePlan.name`), so that later plans find their keys.
        """
        self.entries.append((tag, source))


@dataclass
class BatchOutcome:
    """What a batch did (or would do): per tag, and the plan in words."""

    writes: dict[str, IssueWrites]
    lines: list[str]


def run_batch(tracker: Tracker, batch: Batch, *, dry_run: bool) -> BatchOutcome:
    """Apply every plan of ``batch`` with one `apply_plans` call, or (``dry_run``) preview them.

    Before anything is written every plan is computed once against the issues as read, so
    that damaged managed sections are refused while nothing is written yet. When Jira
    fails part way, the error names what the batch had still to write.

    Raises
    ------
    DamagedSectionError
        A managed section to replace has damaged markers; nothing is written.
    ServiceError
        The tracker failed (`~lsst.prodstatus.errors.IncompleteWriteError` names the
        issues that a re-run completes).
    """
    issues = {issue.key: issue for issue in batch.known}
    keys = dict(batch.existing)
    found: dict[str, list[IssueWrites]] = {}
    lines: list[str] = []
    new: dict[str, str] = {}
    what: dict[str, str] = {}
    for tag, source in batch.entries:
        plan = source if isinstance(source, IssuePlan) else source(keys)
        what.setdefault(tag, plan.what)
        if plan.key is None and tag in new:
            # A later plan of an issue this batch would create.
            plan = replace(plan, key=f"the new {plan.what}")
            writes = preview_plan(tracker, replace(plan, key=None), None, issues) if dry_run else None
        else:
            current = issues.get(plan.key) if plan.key is not None else None
            if plan.key is not None and current is None and dry_run:
                current = tracker.get_issue(plan.key)
            if current is not None and not dry_run:
                try:
                    plan.new_description(current.description)
                except DamagedSectionError as exc:
                    raise exc.for_issue(current.key) from None
            writes = preview_plan(tracker, plan, current, issues) if dry_run else None
            if plan.key is None:
                new[tag] = plan.what
        lines.extend(plan.lines())
        if writes is not None:
            found.setdefault(tag, []).append(writes)
    if dry_run:
        return BatchOutcome({tag: merged(w) for tag, w in found.items()}, lines)

    started: list[int] = []
    made: dict[str, str] = {}

    def tracked(index: int, source: PlanSource) -> Callable[[Mapping[str, str]], IssuePlan]:
        def build(done: Mapping[str, str]) -> IssuePlan:
            started.append(index)
            made.update(done)
            # Issues that existed before the batch are known by their keys from the start.
            return source if isinstance(source, IssuePlan) else source({**batch.existing, **done})

        return build

    try:
        applied = apply_plans(
            tracker, [tracked(i, source) for i, (_, source) in enumerate(batch.entries)], batch.known
        )
    except ServiceError as exc:
        if tracker.transactional or not started:
            raise
        failed_tag = batch.entries[started[-1]][0]
        pending = [tag for tag, _ in batch.entries[started[-1] + 1 :] if tag != failed_tag]
        if not pending:
            raise
        names = [
            f"the {what[tag]} ({made.get(tag) or keys.get(tag) or 'not created yet'})"
            for tag in dict.fromkeys(pending)
        ]
        raise IncompleteWriteError(
            MSG_BATCH_INCOMPLETE.format(error=exc.message, pending="; ".join(names)),
            HINT_BATCH_INCOMPLETE,
        ) from exc
    for (tag, _), result in zip(batch.entries, applied, strict=True):
        found.setdefault(tag, []).append(IssueWrites.of(result))
    return BatchOutcome({tag: merged(w) for tag, w in found.items()}, lines)


MSG_BATCH_INCOMPLETE = "{error}; not written yet: {pending}"
HINT_BATCH_INCOMPLETE = (
    "re-run the same command: it finds the issues made so far by their labels and completes them"
)
