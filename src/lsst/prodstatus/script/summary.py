"""``add-job-to-summary``: a workflow in the summary issues' tables (the original's, defects fixed).

Two summary issues, named by the ``summary_issues`` setting (the original's DRP-53 and
DRP-55; on the local tracker they are made on first use, labelled `ALL_LABEL` and
`STEP1_LABEL`): the all-workflows issue holds the state, a JSON object in the original's
layout (``{"<production>#<timestamp>": [production, issue, [T,Q,D,Fa,Sf], PanDA link, what], …}``),
as the attachment `STATE_FILENAME`, and both hold a table in the original's layout
(``||Date||PREOPS||STATS||(T,Q,D,Fa,Sf)||PANDA||DESCRIP||``) in their ``summary`` section.

Concurrent runs never lose an entry. On the local tracker the state is read, merged and
written inside one transaction. Jira has none: the state is read again just before the
write, and read back after it; if a concurrent run's write replaced this run's entry,
the merge is made again from the fresh state (at most `MERGE_ATTEMPTS` times).
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import Settings
from ..core.ids import issue_kind, issue_number, kind_phrase
from ..core.plan import Action, IssuePlan, PlannedAttachment
from ..core.summary import (
    ALL_LABEL,
    STATE_FILENAME,
    STEP1_LABEL,
    SUMMARY_SECTION,
    SummaryEntry,
    dump_state,
    entry_from_issue,
    load_state,
    merge_entry,
    summary_table,
)
from ..errors import ConfigError, InputError, IssueNotFoundError, ServiceError, UsageError
from ..services.tracker.base import Issue, Tracker, check_issue_key
from .apply import apply_plan, apply_plans

__all__ = [
    "HINT_NOT_WORKFLOW",
    "HINT_PRODUCTION_EMPTY",
    "HINT_STATE_REPLACED",
    "HINT_SUMMARY_HELD",
    "HINT_SUMMARY_ITSELF",
    "HINT_SUMMARY_NOT_FOUND",
    "MERGE_ATTEMPTS",
    "MSG_NOT_WORKFLOW",
    "MSG_PRODUCTION_EMPTY",
    "MSG_STATE_REPLACED",
    "MSG_SUMMARY_HELD",
    "MSG_SUMMARY_ITSELF",
    "NOT_CONFIGURED",
    "RESET_AND_REMOVE",
    "SummaryResult",
    "add_job_to_summary",
    "browse_prefix",
    "run_add_job_to_summary",
]

MERGE_ATTEMPTS = 5
"""Merges tried on Jira when concurrent runs keep replacing each other's state."""

NOT_CONFIGURED = (
    "the summary issues are not configured for the Jira tracker",
    "set summary_issues to the keys of the all-workflows and the step1 summary issues, e.g. "
    "'summary_issues: DRP-53,DRP-55' in the config file or PRODSTAT_SUMMARY_ISSUES=DRP-53,DRP-55",
)
"""(message, hint) when Jira is used and ``summary_issues`` is unset."""

RESET_AND_REMOVE = (
    "--reset and --remove cannot be used together: --reset rebuilds the summary with this workflow only"
)
"""Usage error: both flags."""

_SUMMARIES = {
    ALL_LABEL: "prodstat summary: all workflows",
    STEP1_LABEL: "prodstat summary: step1 workflows",
}


@dataclass
class SummaryResult:
    """What add-job-to-summary did (or would do)."""

    entry: SummaryEntry
    removed: bool
    reset: bool
    keys: dict[str, str | None]
    """``all`` and ``step1`` summary issue keys (`None`: would be created)."""
    action: Action
    entries: int
    plan: list[str] = field(default_factory=list)
    merges: int = 1

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``--json``)."""
        return {
            "entry": {"id": self.entry.entry_id, "value": self.entry.to_json()},
            "removed": self.removed,
            "reset": self.reset,
            "summary_issues": self.keys,
            "action": str(self.action),
            "entries": self.entries,
            "plan": self.plan,
        }


def browse_prefix(tracker: Tracker, jira_url: str | None) -> str:
    """The prefix of issue links in tables: the configured Jira's ``…/browse/``, else the tracker's."""
    if jira_url:
        return jira_url.rstrip("/") + "/browse/"
    probe = "X-1"
    return tracker.browse_url(probe)[: -len(probe)]


def _summary_plan(
    label: str, key: str | None, table: str, state: bytes | None, project: str | None
) -> IssuePlan:
    return IssuePlan(
        what="all-workflows summary issue" if label == ALL_LABEL else "step1 summary issue",
        key=key,
        summary=_SUMMARIES[label] if key is None else None,
        sections={SUMMARY_SECTION: table},
        # Only the issues made here carry the label: a configured issue keeps its labels.
        identity_label=label if key is None else None,
        project=project,
        attachments=[PlannedAttachment(STATE_FILENAME, state)] if state is not None else [],
        # The table is drawn from the state: never show an entry the state does not hold.
        description_last=True,
    )


HINT_SUMMARY_NOT_FOUND = "summary_issues names {key}: create it, or set summary_issues to existing keys"


def _find_configured(tracker: Tracker, keys: tuple[str, str]) -> dict[str, Issue]:
    found = {i.key: i for i in tracker.search(keys=list(keys))}
    for key in keys:
        if key not in found:
            raise IssueNotFoundError(
                key,
                tracker.name,
                HINT_SUMMARY_NOT_FOUND.format(key=key),
            )
    return found


def _merged(
    current: Mapping[str, SummaryEntry], entry: SummaryEntry, remove: bool, reset: bool
) -> dict[str, SummaryEntry]:
    return merge_entry({} if reset else current, entry, remove=remove)


def _holds(state: Mapping[str, SummaryEntry], entry: SummaryEntry, remove: bool) -> bool:
    """Whether this run's change is in ``state``."""
    if remove:
        return not any(v.key == entry.key and v.production == entry.production for v in state.values())
    return state.get(entry.entry_id) == entry


MSG_PRODUCTION_EMPTY = "PRODUCTION_ISSUE is empty"
HINT_PRODUCTION_EMPTY = "give the production issue, e.g. PREOPS-973"
MSG_NOT_WORKFLOW = "{key} is {kind} ({summary}), not a workflow issue"
HINT_NOT_WORKFLOW = "give the key update-issue printed for the workflow"
MSG_SUMMARY_ITSELF = "{key} is a summary issue itself"
HINT_SUMMARY_ITSELF = "give a workflow issue"


def add_job_to_summary(
    tracker: Tracker,
    production_issue: str,
    drp_issue: str,
    *,
    summary_issues: Sequence[str] | None,
    browse: str,
    project: str | None = None,
    reset: bool = False,
    remove: bool = False,
    dry_run: bool = False,
) -> SummaryResult:
    """Add (replace) or remove workflow ``drp_issue`` in the summary issues.

    Raises
    ------
    InputError
        Not a workflow issue, a damaged state attachment, a configured summary issue
        that does not exist (exit 1).
    ConfigError
        Jira without ``summary_issues`` (exit 1).
    ServiceError
        The tracker failed, or concurrent runs kept replacing the state (exit 3).
    """
    if reset and remove:
        raise UsageError(RESET_AND_REMOVE)
    production = production_issue.strip()
    if not production:
        raise InputError(MSG_PRODUCTION_EMPTY, HINT_PRODUCTION_EMPTY)
    key = check_issue_key(drp_issue)
    if summary_issues is None and not tracker.transactional:
        raise ConfigError(*NOT_CONFIGURED)
    workflow = tracker.get_issue(key)
    kind = issue_kind(workflow.summary, workflow.labels)
    if kind != "workflow":
        raise InputError(
            MSG_NOT_WORKFLOW.format(key=key, kind=kind_phrase(kind), summary=workflow.summary),
            HINT_NOT_WORKFLOW,
        )
    entry = entry_from_issue(production, workflow.key, workflow.summary, workflow.description)
    configured = (
        (check_issue_key(summary_issues[0]), check_issue_key(summary_issues[1])) if summary_issues else None
    )
    if key in (configured or ()):
        raise InputError(MSG_SUMMARY_ITSELF.format(key=key), HINT_SUMMARY_ITSELF)

    if tracker.transactional:
        return _local(tracker, entry, configured, browse, project, reset, remove, dry_run)
    assert configured is not None
    return _jira(tracker, entry, configured, browse, reset, remove, dry_run)


def _local(
    tracker: Tracker,
    entry: SummaryEntry,
    configured: tuple[str, str] | None,
    browse: str,
    project: str | None,
    reset: bool,
    remove: bool,
    dry_run: bool,
) -> SummaryResult:
    result = SummaryResult(entry, remove, reset, {"all": None, "step1": None}, Action.UNCHANGED, 0)
    merged: dict[str, SummaryEntry] = {}

    def targets() -> tuple[str | None, str | None]:
        if configured is not None:
            _find_configured(tracker, configured)
            return configured
        found = sorted(
            tracker.search(labels=[ALL_LABEL, STEP1_LABEL], project=project),
            key=lambda i: issue_number(i.key),
        )

        def first(label: str) -> str | None:
            return next((i.key for i in found if label in i.labels), None)

        return first(ALL_LABEL), first(STEP1_LABEL)

    def plan_all(_done: Mapping[str, str]) -> IssuePlan:
        # Runs inside the batch's transaction: the state read here is the state written over.
        all_key, step1_key = targets()
        result.keys = {"all": all_key, "step1": step1_key}
        current = load_state(
            tracker.read_attachment(all_key, STATE_FILENAME) if all_key else None,
            f"{STATE_FILENAME} of {all_key}",
        )
        merged.update(_merged(current, entry, remove, reset))
        table = summary_table(merged, browse)
        return _summary_plan(ALL_LABEL, all_key, table, dump_state(merged), project)

    def plan_step1(_done: Mapping[str, str]) -> IssuePlan:
        table = summary_table(merged, browse, step1_only=True)
        return _summary_plan(STEP1_LABEL, result.keys["step1"], table, None, project)

    if dry_run:
        plans = [plan_all({}), plan_step1({})]
        result.plan = [line for p in plans for line in p.lines()]
        result.action = Action.WOULD_UPDATE if all(result.keys.values()) else Action.WOULD_CREATE
        result.entries = len(merged)
        return result
    applied = apply_plans(tracker, [plan_all, plan_step1])
    result.keys = {"all": applied[0].key, "step1": applied[1].key}
    result.action = _overall(a.action for a in applied)
    result.entries = len(merged)
    return result


def _overall(actions: Any) -> Action:
    actions = list(actions)
    if Action.CREATED in actions:
        return Action.CREATED
    if Action.UPDATED in actions:
        return Action.UPDATED
    return Action.UNCHANGED


LOCK_PREFIX = "prodstat_summary_lock_"
"""Labels of runs waiting for (or holding) the Jira summary: ``<prefix><ms>_<random>``."""

LOCK_WAIT = 90.0
"""Seconds a run waits for the runs ahead of it on Jira."""

LOCK_STALE = 120.0
"""A lock label older than this is a killed run's: ignored."""


def _ticket_time(label: str) -> float:
    try:
        return int(label[len(LOCK_PREFIX) :].split("_", 1)[0]) / 1000
    except ValueError:
        return 0.0


MSG_SUMMARY_HELD = (
    "another add-job-to-summary run has held the summary {key} for over {wait:g} s (label {label})"
)
HINT_SUMMARY_HELD = "re-run when it has finished; if no run is going on, remove that label from the issue"


class _JiraTurn:
    """Runs take turns on a Jira summary: each adds a label (Jira adds labels atomically) and
    goes when its label is the oldest of the live ones; the label is removed at the end.

    Jira has no transactions; without turns, two runs that read the state before either
    wrote it would each write a state lacking the other's entry.
    """

    def __init__(self, tracker: Tracker, key: str) -> None:
        self.tracker = tracker
        self.key = key
        self.label = f"{LOCK_PREFIX}{int(time.time() * 1000)}_{random.randrange(16**6):06x}"

    def __enter__(self) -> Issue:
        apply_plan(self.tracker, IssuePlan(what="summary turn", key=self.key, add_labels=[self.label]))
        started = time.monotonic()
        # A run that took its ticket a moment earlier may still be adding it.
        time.sleep(0.3)
        while True:
            issue = self.tracker.get_issue(self.key)
            now = time.time()
            live = sorted(
                (
                    lb
                    for lb in issue.labels
                    if lb.startswith(LOCK_PREFIX) and now - _ticket_time(lb) < LOCK_STALE
                ),
                key=lambda lb: (_ticket_time(lb), lb),
            )
            if not live or live[0] == self.label:
                return issue
            if time.monotonic() - started > LOCK_WAIT:
                self.__exit__()
                raise ServiceError(
                    MSG_SUMMARY_HELD.format(key=self.key, wait=LOCK_WAIT, label=live[0]),
                    HINT_SUMMARY_HELD,
                )
            time.sleep(random.uniform(0.1, 0.4))

    def __exit__(self, *exc: object) -> None:
        # A label left behind goes stale by itself (LOCK_STALE).
        with contextlib.suppress(ServiceError):
            apply_plan(self.tracker, IssuePlan(what="summary turn", key=self.key, remove_labels=[self.label]))


MSG_STATE_REPLACED = "concurrent writers replaced the summary state of {key} {attempts} times"
HINT_STATE_REPLACED = "re-run the same command when the others have finished"


def _jira(
    tracker: Tracker,
    entry: SummaryEntry,
    configured: tuple[str, str],
    browse: str,
    reset: bool,
    remove: bool,
    dry_run: bool,
) -> SummaryResult:
    all_key, step1_key = configured
    result = SummaryResult(entry, remove, reset, {"all": all_key, "step1": step1_key}, Action.UNCHANGED, 0)
    issues = _find_configured(tracker, configured)
    where = f"{STATE_FILENAME} of {all_key}"
    if dry_run:
        current = load_state(tracker.read_attachment(all_key, STATE_FILENAME, current=issues[all_key]), where)
        merged = _merged(current, entry, remove, reset)
        result.plan = [line for p in _plans(merged, configured, browse) for line in p.lines()]
        result.action = Action.WOULD_UPDATE
        result.entries = len(merged)
        return result
    actions: list[Action] = []
    with _JiraTurn(tracker, all_key) as fresh:
        issues[all_key] = fresh
        for attempt in range(1, MERGE_ATTEMPTS + 1):
            # Read just before writing: the state the previous run left.
            current = load_state(
                tracker.read_attachment(all_key, STATE_FILENAME, current=issues[all_key]), where
            )
            # A reset happens once: a retry merges into what other runs added since.
            merged = _merged(current, entry, remove, reset and attempt == 1)
            applied = apply_plans(tracker, _plans(merged, configured, browse), known=list(issues.values()))
            actions.extend(a.action for a in applied)
            # Read back: a run that did not take its turn (an older prodstat, a person) may
            # have replaced the state meanwhile.
            issues[all_key] = tracker.get_issue(all_key)
            after = load_state(
                tracker.read_attachment(all_key, STATE_FILENAME, current=issues[all_key]), where
            )
            if _holds(after, entry, remove):
                result.merges = attempt
                result.action = _overall(actions)
                result.entries = len(after)
                return result
            time.sleep(random.uniform(0.05, 0.3) * attempt)
    raise ServiceError(
        MSG_STATE_REPLACED.format(key=all_key, attempts=MERGE_ATTEMPTS),
        HINT_STATE_REPLACED,
    )


def _plans(merged: Mapping[str, SummaryEntry], keys: tuple[str, str], browse: str) -> list[IssuePlan]:
    return [
        _summary_plan(ALL_LABEL, keys[0], summary_table(merged, browse), dump_state(merged), None),
        _summary_plan(STEP1_LABEL, keys[1], summary_table(merged, browse, step1_only=True), None, None),
    ]


def run_add_job_to_summary(
    tracker: Tracker,
    settings: Settings,
    *,
    production_issue: str,
    drp_issue: str,
    reset: bool = False,
    remove: bool = False,
    dry_run: bool = False,
) -> SummaryResult:
    """``add-job-to-summary``: `add_job_to_summary` with the summary issues and browse URL of ``settings``."""
    if reset and remove:
        raise UsageError(RESET_AND_REMOVE)
    return add_job_to_summary(
        tracker,
        production_issue,
        drp_issue,
        summary_issues=settings["summary_issues"],
        browse=browse_prefix(tracker, settings["jira_url"]),
        project=settings.project,
        reset=reset,
        remove=remove,
        dry_run=dry_run,
    )
