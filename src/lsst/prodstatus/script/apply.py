"""The one executor of issue plans.

Every command that writes issues computes `~lsst.prodstatus.core.plan.IssuePlan` objects
and calls `apply_plans`. The order of writes is fixed:

1. a new issue is created in one request with its complete description and labels;
2. attachments are uploaded (only those whose bytes differ);
3. links are made (only those missing);
4. the description, summary and labels of an existing issue are written, before the
   attachments, or last when the description refers to them (``description_last``).

On the local tracker the whole batch is one SQLite transaction: all or nothing, even
under SIGKILL. Jira has no transactions, so instead:

* a create whose reply is lost (dropped connection, timeout, 5xx) is never re-sent
  blindly: the issue is searched for by its identity label and adopted if it is there;
* after a create, the identity label is searched again; when concurrent runs created
  several issues the lowest key wins, a run whose own issue lost deletes it (or, where
  deleting is not permitted, labels it ``prodstat_duplicate`` and links it to the winner)
  and completes the winner;
* a failure after the create names the issue and what is missing, and the next run of
  the same command completes it (it finds the issue by its label).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..core.ids import DUPLICATE_LABEL, issue_number
from ..core.markup import DamagedSectionError
from ..core.plan import SELF, Action, IssuePlan, PlannedAttachment, PlannedLink
from ..errors import (
    AmbiguousWriteError,
    AuthenticationError,
    IncompleteWriteError,
    IssueNotFoundError,
    ProdstatError,
    ServiceError,
)
from ..services.tracker.base import Issue, Tracker

__all__ = [
    "HINT_CREATE_LOST",
    "HINT_DUPLICATE_NOT_REMOVED",
    "HINT_INCOMPLETE",
    "MISSING_ATTACHMENTS",
    "MISSING_DESCRIPTION",
    "MISSING_LINKS",
    "MISSING_UNKNOWN",
    "MSG_CREATE_LOST",
    "MSG_DUPLICATE_NOT_REMOVED",
    "MSG_INCOMPLETE",
    "Applied",
    "PlanSource",
    "apply_plan",
    "apply_plans",
    "attachment_unchanged",
]

_log = logging.getLogger(__name__)

CREATE_ATTEMPTS = 3
"""Creates tried after lost replies, each only once a search showed the issue is not there."""


@dataclass
class Applied:
    """What applying one plan did."""

    key: str
    action: Action
    issue: Issue
    attached: list[str] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)
    adopted: bool = False
    """The issue was found by its identity label (a lost create's, or a concurrent run's)."""
    duplicates_removed: list[str] = field(default_factory=list)
    removed_attachments: list[str] = field(default_factory=list)
    attachments_done: int = 0
    """Planned attachments found in place or uploaded (for the message when a later step fails)."""
    links_done: int = 0
    description_written: bool = False


def attachment_unchanged(tracker: Tracker, issue: Issue, filename: str, data: bytes) -> bool:
    """Whether ``issue`` already holds ``data`` as ``filename`` (size first, bytes only if needed)."""
    att = issue.attachment(filename)
    if att is None or att.size != len(data):
        return False
    return tracker.read_attachment(issue.key, filename, current=issue) == data


PlanSource = IssuePlan | Callable[[Mapping[str, str]], IssuePlan]
"""A plan, or a function computing it from the keys of the batch's earlier plans (name → key).

Content that names an issue the same batch creates (a step yaml naming its new campaign)
can only be computed once that issue exists.
"""


def apply_plans(tracker: Tracker, plans: Sequence[PlanSource], known: Sequence[Issue] = ()) -> list[Applied]:
    """Apply ``plans`` in order as one batch (one transaction on the local tracker).

    Links may name earlier plans of the batch by `~lsst.prodstatus.core.plan.plan_ref`; a
    plan given as a function is computed when its turn comes. ``known`` are issues as just
    read (the issues plans update, sources of planned links): on Jira they save a read each,
    and each is kept current through the batch.
    """
    done: dict[str, str] = {}
    issues = {issue.key: issue for issue in known}
    results: list[Applied] = []
    with tracker.batch():
        for source in plans:
            plan = source if isinstance(source, IssuePlan) else source(dict(done))
            current = issues.get(plan.key) if plan.key else None
            result = _apply(tracker, plan, current, done, issues)
            issues[result.key] = result.issue
            if plan.name:
                done[plan.name] = result.key
            results.append(result)
    return results


def apply_plan(
    tracker: Tracker, plan: IssuePlan, current: Issue | None = None, known: Sequence[Issue] = ()
) -> Applied:
    """Apply one plan.

    ``current`` is the issue as just read and ``known`` other issues just read (the
    sources of planned links): they save Jira requests.
    """
    with tracker.batch():
        return _apply(tracker, plan, current, {}, {i.key: i for i in known})


def _apply(
    tracker: Tracker, plan: IssuePlan, current: Issue | None, done: dict[str, str], known: dict[str, Issue]
) -> Applied:
    if not tracker.transactional:
        # Only a tracker without transactions trusts what was read before the batch.
        done = _Known(done, known)
    if plan.creates:
        return _apply_create(tracker, plan, done)
    assert plan.key is not None
    if current is not None and not tracker.transactional:
        # Read before the batch (update-stat: minutes before): good enough to decide whether
        # anything changes, and read again right before the description is written.
        return _apply_update(tracker, plan, current, done, fresh=not plan.reread)
    return _apply_update(tracker, plan, tracker.get_issue(plan.key), done)


# -- create ---------------------------------------------------------------------------------------


def _identity_matches(tracker: Tracker, plan: IssuePlan) -> list[Issue]:
    assert plan.identity_label is not None
    return _carrying(tracker.search(labels=[plan.identity_label], project=plan.project), plan.identity_label)


def _carrying(found: Sequence[Issue], label: str) -> list[Issue]:
    """The issues of ``found`` that carry ``label``, lowest key first (the one that wins)."""
    return sorted((i for i in found if label in i.labels), key=lambda i: issue_number(i.key))


def _apply_create(tracker: Tracker, plan: IssuePlan, done: dict[str, str]) -> Applied:
    if not plan.identity_label:
        raise ValueError(f"a create plan needs an identity label ({plan.what})")
    if tracker.transactional:
        # Inside the transaction no other writer runs: an issue made since the script's
        # search is seen here and updated instead.
        existing = _identity_matches(tracker, plan)
        if existing:
            return _adopt(tracker, plan, existing[0], done)
    else:
        recorded = _recorded_by_this_machine(tracker, plan)
        if recorded is not None:
            return _adopt(tracker, plan, recorded, done)
    issue, adopted = _create(tracker, plan)
    journal = getattr(tracker, "journal", None)
    if journal is not None:
        journal.record(plan.identity_label, issue.key)
    if adopted:
        return _adopt(tracker, plan, issue, done)
    result = _complete(tracker, plan, issue, done)
    if tracker.transactional:
        return result
    return _check_concurrent_runs(tracker, plan, result, done)


def _check_concurrent_runs(
    tracker: Tracker, plan: IssuePlan, result: Applied, done: dict[str, str]
) -> Applied:
    """After a create on a tracker without transactions: did a concurrent run do the same?

    One search finds both the issues carrying the identity label (the lowest key wins; a
    run whose own issue lost removes it and completes the winner) and the sources of the
    links just made (concurrent runs may each have made the same link: one is kept).
    """
    assert plan.identity_label is not None
    sources = _link_sources(plan, result.key, done)
    found = tracker.search(keys=sources, labels=[plan.identity_label], project=plan.project)
    matches = _carrying(found, plan.identity_label)
    if matches and issue_number(matches[0].key) < issue_number(result.key):
        winner = matches[0]
        _log.info(
            "%s was created concurrently as %s and %s; keeping %s",
            plan.what,
            winner.key,
            result.key,
            winner.key,
        )
        _retire(tracker, result.issue, winner, [i for i in found if i.key in sources])
        adopted = _adopt(tracker, plan, winner, done)
        adopted.duplicates_removed = [result.key]
        return adopted
    _settle(tracker, result.key, found, sources)
    return result


def _link_sources(plan: IssuePlan, key: str, done: dict[str, str]) -> list[str]:
    """The other issues that planned links start from (their links are read back)."""
    return [s for s in dict.fromkeys(_resolve(li, key, done) for li in plan.links) if s != key]


def _settle(tracker: Tracker, key: str, found: Sequence[Issue], sources: Sequence[str]) -> None:
    """Keep one of each attachment name and of each link that concurrent runs made twice."""
    for issue in found:
        if issue.key == key:
            for other in dict.fromkeys(li.other_key for li in issue.links if li.direction == "outward"):
                _drop_duplicate_links(tracker, issue, other)
            by_name: dict[str, list[str]] = {}
            for att in issue.attachments:
                by_name.setdefault(att.filename, []).append(att.attachment_id)
            for ids in by_name.values():
                # Every run keeps the newest copy, so runs that settle at once agree.
                for extra in sorted(ids, key=_id_order)[:-1]:
                    tracker.delete_attachment(key, extra)
        if issue.key in sources:
            _drop_duplicate_links(tracker, issue, key)


def _id_order(value: str) -> tuple[int, str]:
    return (int(value), value) if value.isdigit() else (0, value)


MSG_DUPLICATE_NOT_REMOVED = "{key} is a duplicate of {winner} ({what}) and could not be removed: {error}"
HINT_DUPLICATE_NOT_REMOVED = "re-run the same command to remove it"


def _retire_all(tracker: Tracker, plan: IssuePlan, result: Applied) -> None:
    """Remove the duplicates the script found (left by a lost or concurrent create)."""
    for key in plan.retire:
        if key == result.key:
            continue
        try:
            _retire(tracker, tracker.get_issue(key), result.issue, [])
        except IssueNotFoundError:
            continue  # removed by a concurrent run already
        except ProdstatError as exc:
            raise IncompleteWriteError(
                MSG_DUPLICATE_NOT_REMOVED.format(
                    key=key, winner=result.key, what=plan.what, error=exc.message
                ),
                HINT_DUPLICATE_NOT_REMOVED,
            ) from exc
        result.duplicates_removed.append(key)


def _retire(tracker: Tracker, mine: Issue, winner: Issue, sources: Sequence[Issue]) -> None:
    """Remove an issue that lost to a concurrent run's; where deleting is refused, label it."""
    try:
        tracker.delete_issue(mine.key)
        return
    except AuthenticationError:
        pass
    # Deleting is often not permitted: retire the duplicate so that no search finds it.
    fresh = tracker.get_issue(mine.key)
    tracker.update_sections(
        mine.key,
        {},
        add_labels=[DUPLICATE_LABEL],
        remove_labels=[label for label in fresh.labels if label != DUPLICATE_LABEL],
        current=fresh,
    )
    for source in sources:
        for link in source.links:
            if link.other_key == mine.key:
                tracker.delete_link(link.link_id)
    tracker.link(mine.key, winner.key, current=fresh)


def _pending_waits(timeout: float) -> list[float]:
    """Waits before each search after a timed-out create: 0, 1, 2, 4 … s, about ``timeout`` in all."""
    waits, total, step = [0.0], 0.0, 1.0
    while total + step <= max(timeout, 1.0):
        waits.append(step)
        total += step
        step *= 2
    return waits


def _recorded_by_this_machine(tracker: Tracker, plan: IssuePlan) -> Issue | None:
    """An issue this machine created for the same identity label, read by key.

    Jira Cloud's search lags behind writes; reading by key does not, so a create made a
    moment ago by the previous command is found here even when the script's search missed it.
    """
    journal = getattr(tracker, "journal", None)
    if journal is None or plan.identity_label is None:
        return None
    for key in journal.keys(plan.identity_label):
        try:
            issue = tracker.get_issue(key)
        except IssueNotFoundError:
            continue  # deleted since (a duplicate removed, or by hand)
        if plan.identity_label in issue.labels:
            return issue
    return None


MSG_CREATE_LOST = (
    "could not create the {what}: {error}; no issue labelled {label} was found after {attempts} tries"
)
HINT_CREATE_LOST = (
    "re-run the same command: it finds the issue by that label if it was made, and creates it otherwise"
)


def _create(tracker: Tracker, plan: IssuePlan) -> tuple[Issue, bool]:
    """Create the issue; after a lost reply, adopt it if the search finds it."""
    assert plan.summary is not None
    description = _description(plan, "")
    labels = list(dict.fromkeys([*plan.add_labels, plan.identity_label or ""]))
    labels = [label for label in labels if label]
    last: AmbiguousWriteError | None = None
    for attempt in range(CREATE_ATTEMPTS):
        try:
            issue = tracker.create_issue(
                plan.summary, description, labels=labels, project=plan.project, issue_type=plan.issue_type
            )
            return issue, False
        except AmbiguousWriteError as exc:
            last = exc
            _log.info("create of %s may have been lost (%s); searching by label", plan.what, exc.message)
            # A reply that timed out may belong to a create Jira is still making: look a few
            # times, over about as long as the request was given, before creating again.
            waits = _pending_waits(getattr(tracker, "timeout", 30.0)) if exc.pending else [0.0]
            for wait in waits:
                time.sleep(wait)
                found = _identity_matches(tracker, plan)
                if found:
                    return found[0], True
            time.sleep(min(0.5 * 2**attempt, 4.0))
    assert last is not None
    raise AmbiguousWriteError(
        MSG_CREATE_LOST.format(
            what=plan.what, error=last.message, label=plan.identity_label, attempts=CREATE_ATTEMPTS
        ),
        HINT_CREATE_LOST,
    )


def _adopt(tracker: Tracker, plan: IssuePlan, issue: Issue, done: dict[str, str]) -> Applied:
    """Update an issue found by the identity label instead of creating another."""
    fresh = issue if tracker.transactional else tracker.get_issue(issue.key)
    return _apply_update(tracker, plan, fresh, done, adopted=True)


# -- update ---------------------------------------------------------------------------------------


def _description(plan: IssuePlan, current: str, key: str | None = None) -> str:
    try:
        return plan.new_description(current)
    except DamagedSectionError as exc:
        raise (exc.for_issue(key) if key else exc) from None


def _apply_update(
    tracker: Tracker,
    plan: IssuePlan,
    issue: Issue,
    done: dict[str, str],
    *,
    adopted: bool = False,
    fresh: bool = True,
) -> Applied:
    description = _description(plan, issue.description, issue.key)
    labels_after = [lb for lb in issue.labels if lb not in plan.remove_labels or lb in plan.add_labels]
    wanted = [*plan.add_labels, *([plan.identity_label] if plan.identity_label else [])]
    labels_after += [lb for lb in wanted if lb not in labels_after]
    fields_change = (
        description != issue.description
        or (plan.summary is not None and plan.summary != issue.summary)
        or labels_after != issue.labels
    )
    result = Applied(issue.key, Action.UNCHANGED, issue, adopted=adopted)

    def write_fields() -> None:
        # Jira has no conditional update: the description is written whole, so it is built
        # from the issue as it is now, not as read before the statistics were computed
        # (a person's note added meanwhile must survive).
        current = issue if fresh else tracker.get_issue(issue.key)
        written = tracker.update_sections(
            issue.key,
            plan.sections,
            summary=plan.summary,
            head=plan.head,
            add_labels=wanted,
            remove_labels=plan.remove_labels,
            current=current,
        )
        result.issue = written
        result.action = Action.UPDATED
        result.description_written = True

    steps_done: list[str] = []
    try:
        if fields_change and not plan.description_last:
            write_fields()
            steps_done.append("description")
        _attachments_and_links(tracker, plan, result, done)
        if fields_change and plan.description_last:
            write_fields()
        if not tracker.transactional and plan.settle and (result.attached or result.linked):
            # Concurrent runs of the same command may each have uploaded or linked.
            sources = _link_sources(plan, issue.key, done)
            _settle(tracker, issue.key, tracker.search(keys=[issue.key, *sources]), sources)
    except ProdstatError as exc:
        if tracker.transactional or not (steps_done or result.attached or result.linked):
            raise
        raise _incomplete(plan, issue.key, "updated", result, exc) from exc
    # The issue is complete now: a duplicate that cannot be removed is reported on its own.
    _retire_all(tracker, plan, result)
    return result


def _complete(tracker: Tracker, plan: IssuePlan, issue: Issue, done: dict[str, str]) -> Applied:
    """Attachments and links of a just-created issue."""
    result = Applied(issue.key, Action.CREATED, issue)
    try:
        _attachments_and_links(tracker, plan, result, done)
    except ProdstatError as exc:
        if tracker.transactional:
            raise
        raise _incomplete(plan, issue.key, "created", result, exc) from exc
    _retire_all(tracker, plan, result)
    return result


def _attachments_and_links(tracker: Tracker, plan: IssuePlan, result: Applied, done: dict[str, str]) -> None:
    issue = result.issue
    for att in plan.attachments:
        _put_attachment(tracker, issue, att, result)
        result.attachments_done += 1
    for old in issue.attachments:
        if old.filename in plan.remove_attachments:
            tracker.delete_attachment(issue.key, old.attachment_id)
            result.removed_attachments.append(old.filename)
            result.action = Action.UPDATED if result.action == Action.UNCHANGED else result.action
    for link_id in plan.remove_links:
        tracker.delete_link(link_id)
    for link in plan.links:
        from_key, to_key = _resolve(link, issue.key, done), _resolve_to(link, issue.key, done)
        current = issue if from_key == issue.key else getattr(done, "issues", {}).get(from_key)
        if _link(tracker, from_key, to_key, link, current):
            result.linked.append(to_key if from_key == issue.key else from_key)
            if result.action == Action.UNCHANGED:
                result.action = Action.UPDATED
            if not tracker.transactional and result.adopted:
                # Concurrent runs of the same command may each have linked: keep one.
                _drop_duplicate_links(tracker, tracker.get_issue(from_key), to_key, link.link_type)
        result.links_done += 1


def _put_attachment(tracker: Tracker, issue: Issue, att: PlannedAttachment, result: Applied) -> None:
    if attachment_unchanged(tracker, issue, att.filename, att.data):
        return
    try:
        tracker.attach(issue.key, att.filename, att.data, current=issue)
    except AmbiguousWriteError:
        # The upload may have arrived: look before sending it again.
        fresh = tracker.get_issue(issue.key)
        if not attachment_unchanged(tracker, fresh, att.filename, att.data):
            tracker.attach(issue.key, att.filename, att.data, current=fresh)
    result.attached.append(att.filename)
    if result.action == Action.UNCHANGED:
        result.action = Action.UPDATED


def _drop_duplicate_links(tracker: Tracker, source: Issue, to_key: str, link_type: str | None = None) -> None:
    """Keep one of identical links ``source`` → ``to_key`` (the oldest); concurrent runs may make two."""
    by_type: dict[str, list[str]] = {}
    for li in source.links:
        if li.other_key == to_key and li.direction == "outward" and link_type in (None, li.link_type):
            by_type.setdefault(li.link_type, []).append(li.link_id)
    for ids in by_type.values():
        for extra in sorted(ids, key=lambda i: int(i) if i.isdigit() else 0)[1:]:
            tracker.delete_link(extra)


def _link(tracker: Tracker, from_key: str, to_key: str, link: PlannedLink, current: Issue | None) -> bool:
    try:
        return tracker.link(from_key, to_key, link.link_type, current=current)
    except AmbiguousWriteError:
        # link() re-reads the source issue and makes the link only if it is still missing.
        return tracker.link(from_key, to_key, link.link_type)


class _Known(dict[str, str]):
    """Keys of applied plans, plus issues read before the batch (link sources)."""

    def __init__(self, done: dict[str, str], issues: dict[str, Issue]) -> None:
        super().__init__(done)
        self.issues = issues


def _resolve(link: PlannedLink, own: str, done: dict[str, str]) -> str:
    return _ref(link.from_key, own, done)


def _resolve_to(link: PlannedLink, own: str, done: dict[str, str]) -> str:
    return _ref(link.to_key, own, done)


def _ref(ref: str, own: str, done: dict[str, str]) -> str:
    if ref == SELF:
        return own
    if ref.startswith("@"):
        return done[ref[1:]]
    return ref


MISSING_ATTACHMENTS = "attachment(s) {names} may be missing"
MISSING_LINKS = "{missing} of {total} links may be missing"
MISSING_DESCRIPTION = "the description is not updated"
MISSING_UNKNOWN = "it may be incomplete"
MSG_INCOMPLETE = "{what} {key} was {how} but is not complete ({missing}): {error}"
HINT_INCOMPLETE = "re-run the same command to complete {key}"


def _incomplete(plan: IssuePlan, key: str, how: str, result: Applied, exc: ProdstatError) -> ServiceError:
    missing = [a.filename for a in plan.attachments[result.attachments_done :]]
    parts = []
    if missing:
        parts.append(MISSING_ATTACHMENTS.format(names=", ".join(missing)))
    if result.links_done < len(plan.links):
        parts.append(MISSING_LINKS.format(missing=len(plan.links) - result.links_done, total=len(plan.links)))
    if plan.description_last and not result.description_written:
        parts.append(MISSING_DESCRIPTION)
    what_missing = "; ".join(parts) or MISSING_UNKNOWN
    return IncompleteWriteError(
        MSG_INCOMPLETE.format(what=plan.what, key=key, how=how, missing=what_missing, error=exc.message),
        HINT_INCOMPLETE.format(key=key),
    )
