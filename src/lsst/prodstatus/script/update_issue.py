"""``update-issue``: record one bps workflow as an issue (create, or update the one it has).

Tracker round trips (Jira): one search finds the production issue, the explicit or
earlier issue of this workflow, and their links and attachments; then at most one write
for the issue, one upload (plus the removal of the replaced file) and one link. A re-run
that changes nothing reads the search and the attached yaml and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.bps import render_bps_block, workflow_label, workflow_summary
from ..core.markup import replace_sections, split_head
from ..core.workflow import (
    PRODUCTION_SECTION,
    choose_existing_issue,
    panda_tasks_link,
    production_section_text,
    replace_bps_block,
    uniq_label,
)
from ..errors import InputError, IssueNotFoundError
from ..services.submit import SubmitRun
from ..services.tracker.base import Tracker, check_issue_key

__all__ = ["NEW_ISSUE_KEYS", "UpdateIssueResult", "update_workflow_issue"]

NEW_ISSUE_KEYS = ("DRP0", "0", "")
"""DRP_ISSUE values that mean "create a new issue (or find this workflow's)": REF ``DRP0``."""


@dataclass
class UpdateIssueResult:
    """What ``update-issue`` did (or, with ``dry_run``, would do)."""

    action: str
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
            "description": self.description,
        }


def _explicit_key(drp_issue: str | None) -> str | None:
    if drp_issue is None or drp_issue.strip().upper() in NEW_ISSUE_KEYS:
        return None
    return check_issue_key(drp_issue, "workflow issue key (DRP_ISSUE; DRP0 creates a new issue)")


def update_workflow_issue(
    tracker: Tracker,
    run: SubmitRun,
    production_issue: str,
    drp_issue: str | None,
    *,
    project: str,
    pandamon_url: str,
    dry_run: bool = False,
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
        workflow issue when it exists in the tracker.
    drp_issue : `str` or `None`
        ``DRP0`` (or `None`): create an issue unless this workflow already has one
        (found by label or summary); a key: update that issue.
    project : `str`
        Project of new issues (and of the label/summary search).
    pandamon_url : `str`
        PanDA monitor base URL, for the workflow's PanDA link.
    dry_run : `bool`
        Compute everything, write nothing.

    Returns
    -------
    result : `UpdateIssueResult`
        What was (or would be) written.

    Raises
    ------
    InputError
        A malformed key, or an explicit DRP_ISSUE that does not exist.
    ServiceError
        The tracker failed.
    """
    production_key = check_issue_key(production_issue, "production issue key (PRODUCTION_ISSUE)")
    explicit = _explicit_key(drp_issue)
    if explicit == production_key:
        raise InputError(
            f"the workflow issue {explicit} cannot be the production issue itself",
            "give DRP0 to create a workflow issue, or the workflow's own key",
        )
    summary = workflow_summary(run.step, run.campaign, run.timestamp)
    labels = [workflow_label(run.timestamp), uniq_label(run.uniq_proc_name)]

    found = tracker.search(
        keys=[production_key] + ([explicit] if explicit else []),
        labels=[] if explicit else labels,
        summaries=[] if explicit else [summary],
        project=project,
    )
    by_key = {issue.key: issue for issue in found}
    production = by_key.get(production_key)
    found_by: str | None = None
    if explicit:
        target = by_key.get(explicit)
        if target is None:
            raise IssueNotFoundError(
                explicit, tracker.name, "give an existing workflow issue, or DRP0 to create one"
            )
    else:
        candidates = [i for i in found if i.key != production_key]
        target = choose_existing_issue(
            candidates, uniq_label_name=labels[1], ts_label_name=labels[0], summary=summary
        )
        if target is not None:
            found_by = "label" if set(labels) & set(target.labels) else "summary"

    block = render_bps_block(line for _name, line in run.keywords)
    sections = {
        PRODUCTION_SECTION: production_section_text(
            production_key,
            panda_tasks_link(pandamon_url, run.timestamp),
            tracker.browse_url(production_key) if production is not None else None,
        )
    }
    head = block if target is None else replace_bps_block(split_head(target.description)[0], block)
    description = replace_sections("" if target is None else target.description, sections, head=head)
    yaml_bytes = run.yaml_path.read_bytes()
    filename = run.yaml_path.name

    result = UpdateIssueResult(
        action="would create" if target is None else "would update",
        key=None if target is None else target.key,
        summary=summary,
        description=description,
        labels=labels,
        run=run,
        found_by=found_by,
        attached=filename,
        linked_from=production_key if production is not None else None,
        production_in_tracker=production is not None,
    )
    if production is None:
        result.notes.append(
            f"production issue {production_key} is not in the {tracker.name} tracker: recorded in the "
            "description, not linked"
        )
    if dry_run:
        return result

    changed = False
    if target is None:
        issue = tracker.create_issue(summary, description, labels=labels, project=project)
        result.action = "created"
        changed = True
    else:
        unchanged = (
            target.summary == summary
            and target.description == description
            and set(labels) <= set(target.labels)
        )
        issue = tracker.update_sections(
            target.key, sections, summary=summary, head=head, add_labels=labels, current=target
        )
        issue.attachments = target.attachments
        changed = not unchanged
    result.key = issue.key

    existing_yaml = (
        tracker.read_attachment(issue.key, filename, current=issue)
        if issue.attachment(filename) is not None
        else None
    )
    if existing_yaml != yaml_bytes:
        tracker.attach(issue.key, filename, yaml_bytes, current=issue)
        changed = True
    if production is not None and tracker.link(production_key, issue.key, current=production):
        result.linked_now = True
        changed = True
    if target is not None:
        result.action = "updated" if changed else "unchanged"
    return result
