"""``update-issue``: record one bps workflow as an issue (create, or update the one it has).

Tracker round trips (Jira): one search finds the production issue, the explicit or
earlier issue of this workflow, and their links and attachments; then at most one write
for the issue, one upload (plus the removal of the replaced file) and one link, made by
the executor of `lsst.prodstatus.script.apply` (plus one search after a create, which
finds an issue a concurrent run made for the same workflow). A re-run that changes
nothing reads the search and the attached yaml and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..config import Settings
from ..core.bps import parse_bps_block
from ..core.ids import (
    DUPLICATE_LABEL,
    PRODUCTION_LABEL_PREFIX,
    WorkflowId,
    check_issue_key,
    is_issue_key,
    issue_kind,
    kind_phrase,
    production_label,
    workflow_labels_of,
)
from ..core.markup import split_head
from ..core.plan import SELF, Action, IssuePlan, PlannedAttachment, PlannedLink
from ..core.workflow import (
    PRODUCTION_SECTION,
    STATISTICS_SECTIONS,
    choose_existing_issue,
    panda_tasks_link,
    production_section_text,
    replace_bps_block,
)
from ..errors import InputError, IssueNotFoundError
from ..services.submit import SubmitRun
from ..services.tracker.base import Issue, Tracker
from .apply import apply_plan

__all__ = [
    "HINT_ALREADY_RECORDED",
    "HINT_NOT_EMPTY",
    "HINT_OTHER_WORKFLOW",
    "HINT_OTHER_YAML",
    "HINT_PRODUCTION_EMPTY",
    "HINT_WORKFLOW_IS_PRODUCTION",
    "HINT_WORKFLOW_NOT_FOUND",
    "HINT_WRONG_KIND",
    "INFO_PRODUCTION_ELSEWHERE",
    "MSG_ALREADY_RECORDED",
    "MSG_NOT_EMPTY",
    "MSG_OTHER_WORKFLOW",
    "MSG_OTHER_YAML",
    "MSG_PRODUCTION_EMPTY",
    "MSG_WORKFLOW_IS_PRODUCTION",
    "MSG_WRONG_KIND",
    "NEW_ISSUE_KEYS",
    "NOTE_PRODUCTION_NOT_KEY",
    "UpdateIssueResult",
    "explicit_key",
    "run_update_issue",
    "update_workflow_issue",
]

NEW_ISSUE_KEYS = ("DRP0", "0", "")
"""DRP_ISSUE values that mean "create a new issue (or find this workflow's)"; ``DRP0`` is the original's."""


@dataclass
class UpdateIssueResult:
    """What ``update-issue`` did (or, with ``dry_run``, would do)."""

    action: Action
    """``created``, ``updated``, ``unchanged``, ``would create`` or ``would update``."""
    key: str | None
    summary: str
    description: str
    labels: list[str]
    run: SubmitRun
    found_by: str | None = None
    """How an existing issue was found (``label``/``summary``), when DRP0 found one."""
    attached: str | None = None
    linked_from: str | None = None
    """The production issue, when it is linked to the workflow issue (now or before)."""
    linked_now: bool = False
    """Whether this run made that link."""
    production_in_tracker: bool = False
    notes: list[str] = field(default_factory=list)
    """Things to tell the operator (stderr)."""
    info: list[str] = field(default_factory=list)
    """Facts for ``--json`` and ``--log-level INFO``, not worth a line on stderr."""
    removed_labels: list[str] = field(default_factory=list)
    """Labels of the workflow an explicit DRP_ISSUE recorded before ``--force`` re-pointed it."""
    repointed: bool = False
    """An explicit DRP_ISSUE of another workflow was re-pointed at this one (``--force``)."""
    plan: list[str] = field(default_factory=list)
    """The writes, in words (``--dry-run``)."""
    duplicates_removed: list[str] = field(default_factory=list)
    """Issues a concurrent run created for the same workflow, removed by this run."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (``--json``)."""
        return {
            "action": self.action,
            "issue": self.key,
            "summary": self.summary,
            "labels": self.labels,
            "timestamp": self.run.timestamp,
            "uniqProcName": self.run.uniq_proc_name,
            "run_dir": str(self.run.run_dir),
            "bps_submit_yaml": self.run.given_path,
            "found_by": self.found_by,
            "attached": self.attached,
            "linked_from": self.linked_from,
            "linked_now": self.linked_now,
            "production_in_tracker": self.production_in_tracker,
            "notes": [*self.notes, *self.info],
            "removed_labels": self.removed_labels,
            "repointed": self.repointed,
            "duplicates_removed": self.duplicates_removed,
            "plan": self.plan,
            "description": self.description,
        }


def explicit_key(drp_issue: str | None) -> str | None:
    """The issue key DRP_ISSUE names, upper-cased, or `None` for a new issue (``DRP0``, ``0``, empty).

    Raises
    ------
    InputError
        A malformed key (exit 1).
    """
    if drp_issue is None or drp_issue.strip().upper() in NEW_ISSUE_KEYS:
        return None
    return check_issue_key(drp_issue, "workflow issue key (DRP_ISSUE; DRP0 creates a new issue)")


MSG_PRODUCTION_EMPTY = "PRODUCTION_ISSUE is empty"
HINT_PRODUCTION_EMPTY = "give the campaign request issue, e.g. PREOPS-1248 (any text is recorded)"


def _production(production_issue: str) -> tuple[str, str | None]:
    """Return (the production issue as recorded, its key when it looks like one)."""
    text = " ".join((production_issue or "").split())
    if not text:
        raise InputError(
            MSG_PRODUCTION_EMPTY,
            HINT_PRODUCTION_EMPTY,
        )
    return (text.upper(), text.upper()) if is_issue_key(text) else (text, None)


def _check_explicit_target(target: Issue, wid: WorkflowId, force: bool) -> list[str]:
    """Refuse an explicit DRP_ISSUE of the wrong kind; return the stale labels to remove.

    Raises
    ------
    InputError
        ``target`` is a step or campaign issue, records another workflow, or is another
        kind of issue with text of its own (the last two without ``force``).
    """
    kind = issue_kind(target.summary, target.labels)
    if kind in ("campaign", "step"):
        raise InputError(
            MSG_WRONG_KIND.format(key=target.key, kind=kind_phrase(kind), summary=target.summary),
            HINT_WRONG_KIND,
        )
    if kind == "other" and target.description.strip() and not force:
        # Only a new, empty issue becomes a workflow issue unasked: this one is about something.
        raise InputError(MSG_NOT_EMPTY.format(key=target.key, summary=target.summary), HINT_NOT_EMPTY)
    if wid.records(target.summary, target.labels) is False:
        if not force:
            raise InputError(
                MSG_OTHER_WORKFLOW.format(key=target.key, summary=target.summary, mine=wid.summary),
                HINT_OTHER_WORKFLOW.format(key=target.key),
            )
        return [label for label in workflow_labels_of(target.labels) if label not in wid.labels]
    return []


def _check_same_yaml(target: Issue, yaml_name: str, force: bool) -> None:
    """Refuse an issue recording the run of another submit yaml (same output and timestamp)."""
    recorded = parse_bps_block(target.description).get("bps_submit_yaml_file", "").strip()
    # The original tool stored the path as typed: compare file names.
    name = recorded.replace("\\", "/").rsplit("/", 1)[-1]
    if name and name != yaml_name and not force:
        raise InputError(
            MSG_OTHER_YAML.format(key=target.key, other=name, yaml=yaml_name),
            HINT_OTHER_YAML.format(key=target.key, yaml=yaml_name),
        )


MSG_OTHER_YAML = "{key} records {other}, not {yaml} (the run found belongs to {other})"
HINT_OTHER_YAML = (
    "check --ts: a run holding a copy of another yaml is that yaml's run; to make {key} record {yaml} "
    "anyway add --force"
)
MSG_NOT_EMPTY = "{key} ({summary}) is not a workflow issue and has a description of its own"
HINT_NOT_EMPTY = "give DRP0 to create this workflow's issue, or add --force to make it this workflow's issue"
MSG_ALREADY_RECORDED = "this workflow is recorded in {other} already; {key} would be a second issue for it"
HINT_ALREADY_RECORDED = "give {other} (or DRP0) instead"
MSG_WRONG_KIND = "{key} is {kind} ({summary}), not a workflow issue"
HINT_WRONG_KIND = "give DRP0 to create this workflow's issue (or find it), or the key of its workflow issue"
MSG_OTHER_WORKFLOW = "{key} records another workflow ({summary}), not {mine}"
HINT_OTHER_WORKFLOW = (
    "give DRP0 to create or find this workflow's own issue; to re-point {key} at this workflow (its "
    "statistics and the other workflow's labels are then removed) add --force"
)


MSG_WORKFLOW_IS_PRODUCTION = "the workflow issue {key} cannot be the production issue itself"
HINT_WORKFLOW_IS_PRODUCTION = "give DRP0 to create a workflow issue, or the workflow's own key"
HINT_WORKFLOW_NOT_FOUND = "give an existing workflow issue, or DRP0 to create one"
NOTE_PRODUCTION_NOT_KEY = (
    "production issue {text!r} is not an issue key: recorded in the description, not linked"
)
INFO_PRODUCTION_ELSEWHERE = (
    "production issue {key} is not in the {tracker} tracker: recorded in the description and as label "
    "{label}, not linked"
)


def plan_workflow_issue(
    tracker: Tracker,
    run: SubmitRun,
    production_issue: str,
    drp_issue: str | None,
    *,
    project: str,
    pandamon_url: str,
    force: bool = False,
) -> tuple[IssuePlan, UpdateIssueResult, Issue | None, Issue | None]:
    """Compute what ``update-issue`` writes (no writes).

    Returns the plan, the result, the workflow issue and the production issue as read.

    Tracker round trips: one search finds the production issue, the explicit or earlier
    issue of this workflow, and their links and attachments.
    """
    production_text, production_key = _production(production_issue)
    explicit = explicit_key(drp_issue)
    if explicit is not None and explicit == production_key:
        raise InputError(
            MSG_WORKFLOW_IS_PRODUCTION.format(key=explicit),
            HINT_WORKFLOW_IS_PRODUCTION,
        )
    wid = run.workflow_id
    found = tracker.search(
        keys=([production_key] if production_key else []) + ([explicit] if explicit else []),
        labels=wid.labels,
        summaries=[] if explicit else [wid.summary],
        project=project,
    )
    by_key = {issue.key: issue for issue in found}
    production = by_key.get(production_key) if production_key else None
    found_by: str | None = None
    stale_labels: list[str] = []
    duplicates: list[str] = []
    if explicit:
        target = by_key.get(explicit)
        if target is None:
            raise IssueNotFoundError(explicit, tracker.name, HINT_WORKFLOW_NOT_FOUND)
        stale_labels = _check_explicit_target(target, wid, force)
        others = [
            i.key
            for i in found
            if i.key != explicit and wid.identity_label in i.labels and DUPLICATE_LABEL not in i.labels
        ]
        if others:
            raise InputError(
                MSG_ALREADY_RECORDED.format(other=others[0], key=explicit),
                HINT_ALREADY_RECORDED.format(other=others[0]),
            )
    else:
        candidates = [
            i
            for i in found
            if i.key != production_key
            and DUPLICATE_LABEL not in i.labels
            and issue_kind(i.summary, i.labels) == "workflow"
            and wid.records(i.summary, i.labels)
        ]
        target = choose_existing_issue(
            candidates, uniq_label_name=wid.identity_label, ts_label_name=wid.labels[0], summary=wid.summary
        )
        if target is not None:
            found_by = "label" if set(wid.labels) & set(target.labels) else "summary"
            # Issues a lost or concurrent create left behind (Jira has no transactions).
            duplicates = [i.key for i in candidates if i.key != target.key and wid.identity_label in i.labels]
    if target is not None:
        _check_same_yaml(target, run.yaml_path.name, force)

    block = run.bps_block
    sections: dict[str, str | None] = {
        PRODUCTION_SECTION: production_section_text(
            production_text,
            panda_tasks_link(pandamon_url, run.timestamp),
            tracker.browse_url(production.key) if production is not None else None,
        )
    }
    repointed = bool(stale_labels)
    if repointed:
        # Statistics of the issue's former workflow describe another run.
        sections.update(dict.fromkeys(STATISTICS_SECTIONS))
    labels = list(wid.labels)
    if production_key is not None:
        labels.append(production_label(production_key))
    # A workflow recorded under another production issue before: that label is stale.
    stale_labels += [
        label
        for label in (target.labels if target is not None else [])
        if label.startswith(PRODUCTION_LABEL_PREFIX) and label not in labels
    ]
    head = block if target is None else replace_bps_block(split_head(target.description)[0], block)
    plan = IssuePlan(
        what=f"workflow issue of {run.yaml_path.name}",
        key=None if target is None else target.key,
        summary=wid.summary,
        sections=sections,
        head=head,
        add_labels=labels,
        remove_labels=stale_labels,
        identity_label=wid.identity_label,
        project=project,
        attachments=[PlannedAttachment(run.yaml_path.name, run.yaml_path.read_bytes())],
        links=[PlannedLink(production.key, SELF)] if production is not None else [],
        retire=duplicates,
    )
    if repointed and target is not None:
        # The former workflow's yaml, statistics tables and production link go with it.
        own_tables = tuple(f"{name}-{target.key}.csv" for name in STATISTICS_SECTIONS)
        plan.remove_attachments = sorted(
            {
                a.filename
                for a in target.attachments
                if a.filename != run.yaml_path.name
                and (a.filename.endswith((".yaml", ".yml")) or a.filename in own_tables)
            }
        )
        plan.remove_links = [
            li.link_id
            for li in target.links
            if li.direction == "inward"
            and li.other_key != (production.key if production else None)
            and production_label(li.other_key) in target.labels
        ]
    description = plan.new_description("" if target is None else target.description)
    result = UpdateIssueResult(
        action=Action.WOULD_CREATE if target is None else Action.WOULD_UPDATE,
        key=None if target is None else target.key,
        summary=wid.summary,
        description=description,
        labels=wid.labels,
        run=run,
        found_by=found_by,
        attached=run.yaml_path.name,
        linked_from=production.key if production is not None else None,
        production_in_tracker=production is not None,
        removed_labels=stale_labels,
        repointed=repointed,
        plan=plan.lines(),
    )
    if production is None:
        if production_key is None:
            result.notes.append(NOTE_PRODUCTION_NOT_KEY.format(text=production_text))
        else:
            # The usual case (the request lives in another project): no warning, the label
            # makes the production issue findable (tree/report PREOPS-…).
            result.info.append(
                INFO_PRODUCTION_ELSEWHERE.format(
                    key=production_key, tracker=tracker.name, label=production_label(production_key)
                )
            )
    return plan, result, target, production


def update_workflow_issue(
    tracker: Tracker,
    run: SubmitRun,
    production_issue: str,
    drp_issue: str | None,
    *,
    project: str,
    pandamon_url: str,
    dry_run: bool = False,
    force: bool = False,
) -> UpdateIssueResult:
    """Create or update the issue of the workflow ``run``.

    Parameters
    ----------
    tracker : `Tracker`
        Where the issue lives.
    run : `SubmitRun`
        The bps run, from `lsst.prodstatus.services.submit.find_run`.
    production_issue : `str`
        The campaign request issue (e.g. ``PREOPS-1248``): recorded, and linked to the
        workflow issue when it is an issue key that exists in the tracker. Any text is
        accepted (the original's scripts pass placeholders such as ``PREOPS-XXX``).
    drp_issue : `str` or `None`
        ``DRP0`` (or `None`): create an issue unless this workflow already has one
        (found by label or summary); a key: update that issue.
    project : `str`
        Project of new issues (and of the label/summary search).
    pandamon_url : `str`
        PanDA monitor base URL, for the workflow's PanDA link.
    dry_run : `bool`
        Compute everything, write nothing.
    force : `bool`
        Allow an explicit DRP_ISSUE that records another workflow to be re-pointed at
        this one (its labels replaced, its statistics sections removed).

    Returns
    -------
    result : `UpdateIssueResult`
        What was (or would be) written.

    Raises
    ------
    InputError
        A malformed key, an explicit DRP_ISSUE that does not exist, is a step or
        campaign issue, or records another workflow (without ``force``); damaged
        managed sections.
    ServiceError
        The tracker failed; `~lsst.prodstatus.errors.IncompleteWriteError` names an
        issue that a re-run completes.
    """
    plan, result, target, production = plan_workflow_issue(
        tracker, run, production_issue, drp_issue, project=project, pandamon_url=pandamon_url, force=force
    )
    if dry_run:
        return result
    applied = apply_plan(tracker, plan, current=target, known=[production] if production else [])
    result.key = applied.key
    result.action = applied.action
    result.description = applied.issue.description or result.description
    result.linked_now = bool(applied.linked)
    if applied.adopted and result.found_by is None:
        result.found_by = "label"
    result.duplicates_removed = applied.duplicates_removed
    return result


def run_update_issue(
    tracker: Tracker,
    settings: Settings,
    *,
    bps_submit_fname: str,
    production_issue: str,
    drp_issue: str | None,
    timestamp: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    warn: Callable[[str], None] = lambda text: None,
) -> UpdateIssueResult:
    """``update-issue``: find the bps run of ``bps_submit_fname``, then create or update its issue.

    The run is ``submit/<output>/<timestamp>/`` beside the yaml: the newest one holding a
    copy of it, or ``timestamp``'s. Its warnings (e.g. a run without a copy of the yaml
    skipped) go to ``warn`` before the tracker is used. The rest is
    `update_workflow_issue`.
    """
    from ..services.submit import find_run

    run = find_run(bps_submit_fname, timestamp)
    for warning in run.warnings:
        warn(f"warning: {warning}")
    return update_workflow_issue(
        tracker,
        run,
        production_issue,
        drp_issue,
        project=settings.project,
        pandamon_url=settings["pandamon_url"],
        dry_run=dry_run,
        force=force,
    )
