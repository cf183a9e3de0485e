"""``update-step``: a step issue from its step yaml, linked to its campaign.

The step yaml and its ``workflow_base`` are read and checked first (`read_step_file`);
one search finds the workflows, one the step, the campaign and the yaml's workflow
issues; every issue is checked. Then the step issue's plan is computed without writing
and applied with one call of the executor (`lsst.prodstatus.script.apply`): a new step
issue is created with its summary, label and whole description, gets its bps yamls,
its links (to its workflows, from its campaign), and then ``step.yaml``, which names
its key. On the local tracker that is one transaction; on Jira a failure names what is
missing and a re-run finds the issue by its label and completes it. The step yaml is
saved last, with the keys.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

from ..config import Settings
from ..core.campaign import (
    STEP_ATTACHMENT,
    STEP_SECTION,
    StepDocument,
    WorkflowEntry,
    campaign_label,
    campaign_name_from_summary,
    dump_yaml,
    parse_step,
    step_label,
    step_section_text,
    step_summary,
    updated_step_yaml,
)
from ..core.plan import SELF, IssuePlan, PlannedAttachment, PlannedLink
from ..errors import InputError, IssueNotFoundError
from ..services.tracker.base import Issue, Tracker
from .batch import Batch, run_batch
from .discovery import StepWorkflow, find_workflow_issues, scan_workflow_base
from .files import FileAction, load_yaml_file, optional_key, resolve_path, write_text_atomically
from .hierarchy import (
    IssueResult,
    StoredStep,
    WorkflowResult,
    browse_urls,
    check_kind,
    find_campaign_by_label,
    find_step_by_label,
    issue_result,
    missing_issue_notes,
    read_bytes,
    read_stored_step,
    sha256,
    step_rename_hint,
)

__all__ = [
    "HINT_CAMPAIGN_KIND",
    "HINT_CAMPAIGN_NOT_FOUND",
    "HINT_CAMPAIGN_RENAMED",
    "HINT_NO_CAMPAIGN_ISSUE",
    "HINT_NO_STEP_YAML",
    "HINT_STEP_IS_CAMPAIGN",
    "HINT_STEP_KIND",
    "HINT_STEP_NOT_FOUND_OPTION",
    "HINT_STEP_NOT_FOUND_YAML",
    "HINT_WORKFLOW_KIND",
    "HINT_WORKFLOW_NOT_FOUND",
    "MSG_NO_CAMPAIGN_ISSUE",
    "MSG_STEP_IS_CAMPAIGN",
    "NOTE_BPS_YAML_MISSING",
    "NOTE_NO_CAMPAIGN",
    "LinkAction",
    "StepFile",
    "UpdateStepResult",
    "read_step_file",
    "run_update_step",
    "update_step",
]

STEP_TAG = "step"


class LinkAction(StrEnum):
    """What happened to the link from the campaign issue to the step issue."""

    LINKED = "linked"
    ALREADY_LINKED = "already linked"
    WOULD_LINK = "would link"


def _text(value: StrEnum | None) -> str | None:
    return None if value is None else str(value)


@dataclass
class UpdateStepResult:
    """What ``update-step`` did (or, with ``dry_run``, would do)."""

    step: IssueResult
    campaign_key: str | None
    campaign_name: str | None
    campaign_link: LinkAction | None
    """``linked``, ``already linked`` or ``would link``; `None` without a campaign."""
    step_yaml: str
    yaml_action: FileAction
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    """The writes, in words (``--dry-run``)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (``--json``)."""
        return {
            "step": self.step.to_dict(),
            "campaign": {
                "issue": self.campaign_key,
                "name": self.campaign_name,
                "link": _text(self.campaign_link),
            },
            "step_yaml": self.step_yaml,
            "step_yaml_action": str(self.yaml_action),
            "dry_run": self.dry_run,
            "notes": list(self.notes),
            "plan": list(self.plan),
        }


@dataclass
class StepFile:
    """A step yaml, read and checked, with the bps yamls found in its ``workflow_base``."""

    given: str
    path: Path
    raw: dict[str, Any]
    doc: StepDocument
    """As written, except the name (``--step_name``) and upper-cased issue keys."""
    base: Path
    """``workflow_base``, absolute (a relative one starts at the yaml's directory)."""
    yamls: list[Path]
    """``<workflow_base>/<step>*.yaml``."""


HINT_NO_STEP_YAML = "write one with 'prodstat create-step-yaml {path} STEP_NAME WORKFLOW_DIR'"


def read_step_file(step_yaml: str, *, step_name: str | None = None, cwd: Path | None = None) -> StepFile:
    """Read and check a step yaml and its ``workflow_base``.

    Raises
    ------
    InputError
        Missing or malformed file (see `~lsst.prodstatus.core.campaign.parse_step`), a
        malformed issue key, or a ``workflow_base`` that is no directory.
    """
    path, data = load_yaml_file(
        step_yaml,
        "step yaml",
        HINT_NO_STEP_YAML.format(path=step_yaml),
        cwd,
    )
    doc = parse_step(data, f"step yaml {step_yaml}", name=step_name)
    doc.issue_name = optional_key(doc.issue_name, f"issue_name in step yaml {step_yaml}")
    doc.campaign_issue = optional_key(doc.campaign_issue, f"campaign_issue in step yaml {step_yaml}")
    for wf in doc.workflows:
        wf.issue_name = optional_key(
            wf.issue_name, f"issue_name of workflow {wf.name} in step yaml {step_yaml}"
        )
    base = resolve_path(doc.workflow_base, path.parent)
    return StepFile(
        step_yaml, path, cast(dict[str, Any], data), doc, base, scan_workflow_base(base, doc.name)
    )


HINT_CAMPAIGN_RENAMED = (
    "a renamed issue keeps its old label: give --campaign_name {recorded}, or set campaign_issue in "
    "{given} to {key}"
)
MSG_NO_CAMPAIGN_ISSUE = "no campaign issue for campaign {name} in the {tracker} tracker (label {label})"
HINT_NO_CAMPAIGN_ISSUE = "create it with 'prodstat update-campaign CAMPAIGN_YAML', or check the name"
HINT_CAMPAIGN_NOT_FOUND = (
    "set campaign_issue in {given} to the campaign's issue (or null), or give --campaign_name"
)
HINT_CAMPAIGN_KIND = "give the campaign's own issue, or null"
HINT_STEP_NOT_FOUND_OPTION = "give an existing step issue, or leave off --step_issue to create one"
HINT_STEP_NOT_FOUND_YAML = "set issue_name in {given} to the step's issue, or null to create one"
HINT_STEP_KIND = "give the step's own issue, or none to create one"
MSG_STEP_IS_CAMPAIGN = "{key} is both the step issue and the campaign issue of {given}"
HINT_STEP_IS_CAMPAIGN = "give the step its own issue"
HINT_WORKFLOW_NOT_FOUND = "fix issue_name of workflow {name} in {given}, or set it to null"
HINT_WORKFLOW_KIND = "give the workflow's issue"
NOTE_BPS_YAML_MISSING = "bps yaml {path} not found"
NOTE_NO_CAMPAIGN = (
    "step {step} belongs to no campaign; give --campaign_name or campaign_issue in {given} to link it"
)


def update_step(
    tracker: Tracker,
    sfile: StepFile,
    *,
    step_issue: str | None = None,
    campaign_name: str | None = None,
    project: str,
    dry_run: bool = False,
) -> UpdateStepResult:
    """Create or update a step issue from its step yaml and link it to its campaign.

    The workflows are those of the yaml plus every new ``<step>*.yaml`` of
    ``workflow_base``; each gets the issue of its newest run when one is found (else
    the yaml's ``issue_name``), and the step links to them.

    Parameters
    ----------
    tracker : `Tracker`
        Where the issues live.
    sfile : `StepFile`
        The step yaml, from `read_step_file`.
    step_issue : `str`, optional
        Step issue to update (``--step_issue``); default: the yaml's ``issue_name``, else
        the issue labelled ``prodstat_step_<campaign>_<step>``, else a new one.
    campaign_name : `str`, optional
        Campaign of the step (``--campaign_name``), found by its label; default: the
        yaml's ``campaign_issue``.
    project : `str`
        Project of new issues and of label searches.
    dry_run : `bool`
        Compute and compare everything; write nothing (tracker or file).

    Raises
    ------
    InputError
        Unknown or wrong-kind issue keys; a ``--campaign_name`` without a campaign issue.
    DamagedSectionError
        A managed section of the step issue has damaged markers; nothing is written.
    ServiceError
        The tracker failed; on Jira the message names what is missing, and a re-run
        completes it.
    """
    given = sfile.given
    doc = copy.deepcopy(sfile.doc)
    notes: list[str] = []
    entries = list(doc.workflows)
    names = {e.name for e in entries}
    for path in sfile.yamls:
        name = path.name[: -len(".yaml")]
        if name not in names:
            entries.append(WorkflowEntry(name, path.name, str(path.parent)))
            names.add(name)
    for entry in entries:
        entry.bps_dir = str(resolve_path(entry.bps_dir, sfile.path.parent))
        # Digests belong to the step.yaml attached to the issue (computed below), not to
        # the user's file (a copy fetched from an issue may hold stale ones).
        entry.bps_sha256 = None
    paths = [Path(e.bps_dir) / e.bps_name for e in entries]
    present = [p for p in paths if p.is_file()]
    discovered = {w.bps_yaml: w for w in find_workflow_issues(tracker, present, project=project)}

    explicit_step = optional_key(step_issue, "--step_issue") or doc.issue_name
    campaign_key = None if campaign_name else doc.campaign_issue
    known_campaign = campaign_name or doc.campaign_name
    yaml_wf_keys = [
        e.issue_name
        for e, p in zip(entries, paths, strict=True)
        if e.issue_name and not _issue_of(discovered, p)
    ]
    labels = [campaign_label(campaign_name)] if campaign_name else []
    if known_campaign and not explicit_step:
        labels.append(step_label(known_campaign, doc.name))
    keys = [k for k in [explicit_step, campaign_key, *yaml_wf_keys] if k]
    found = tracker.search(keys=list(dict.fromkeys(keys)), labels=labels, project=project)
    by_key = {i.key: i for i in found}

    campaign: Issue | None = None
    if campaign_name:
        label = campaign_label(campaign_name)
        campaign = find_campaign_by_label(
            tracker,
            found,
            campaign_name,
            label,
            lambda key, recorded: HINT_CAMPAIGN_RENAMED.format(recorded=recorded, given=given, key=key),
        )
        if campaign is None:
            raise InputError(
                MSG_NO_CAMPAIGN_ISSUE.format(name=campaign_name, tracker=tracker.name, label=label),
                HINT_NO_CAMPAIGN_ISSUE,
            )
    elif campaign_key:
        campaign = by_key.get(campaign_key)
        if campaign is None:
            raise IssueNotFoundError(
                campaign_key,
                tracker.name,
                HINT_CAMPAIGN_NOT_FOUND.format(given=given),
            )
        check_kind(campaign, "campaign", f"campaign_issue in {given}", HINT_CAMPAIGN_KIND)
    if campaign is not None:
        known_campaign = campaign_name or campaign_name_from_summary(campaign.summary) or doc.campaign_name

    issue: Issue | None
    found_by: str | None = None
    if explicit_step:
        issue = by_key.get(explicit_step)
        what = "--step_issue" if step_issue else f"issue_name in {given}"
        if issue is None:
            hint = HINT_STEP_NOT_FOUND_OPTION if step_issue else HINT_STEP_NOT_FOUND_YAML.format(given=given)
            raise IssueNotFoundError(explicit_step, tracker.name, hint)
        check_kind(issue, "step", what, HINT_STEP_KIND)
        found_by = "--step_issue" if step_issue else "yaml"
    elif known_campaign:
        label = step_label(known_campaign, doc.name)
        if label not in labels:
            # The campaign's name came from its issue: look the step up under it now.
            found = tracker.search(labels=[label], project=project)
        issue = find_step_by_label(
            tracker,
            (i for i in found if label in i.labels),
            doc.name,
            known_campaign,
            campaign.key if campaign else None,
            label,
            functools.partial(step_rename_hint, "give --step_issue"),
        )
        found_by = "label" if issue else None
    else:
        issue = None
    if issue is not None and campaign is not None and issue.key == campaign.key:
        raise InputError(
            MSG_STEP_IS_CAMPAIGN.format(key=issue.key, given=given),
            HINT_STEP_IS_CAMPAIGN,
        )

    for entry, path in zip(entries, paths, strict=True):
        wf_issue = _issue_of(discovered, path)
        if wf_issue is not None:
            entry.issue_name = wf_issue
            continue
        if entry.issue_name:
            other = by_key.get(entry.issue_name)
            if other is None:
                raise IssueNotFoundError(
                    entry.issue_name,
                    tracker.name,
                    HINT_WORKFLOW_NOT_FOUND.format(name=entry.name, given=given),
                )
            check_kind(
                other,
                "workflow",
                f"issue_name of workflow {entry.name} in {given}",
                HINT_WORKFLOW_KIND,
            )

    # Nothing is written before this point: every check above has passed.
    doc.workflows = entries
    doc.workflow_base = str(sfile.base)
    doc.campaign_issue = campaign.key if campaign else None
    doc.campaign_name = known_campaign
    # A step of no campaign is still known by a label: of its name and workflow_base.
    label = step_label(
        known_campaign or "", doc.name if known_campaign else f"{doc.name}@{doc.workflow_base}"
    )
    results = [
        WorkflowResult(
            e.name,
            str(p),
            e.issue_name,
            (discovered[p].problem if p in discovered else NOTE_BPS_YAML_MISSING.format(path=p)),
        )
        for e, p in zip(entries, paths, strict=True)
    ]
    for res in results:
        if res.issue is not None:
            res.problem = None
    notes.extend(missing_issue_notes(doc.name, results))
    if campaign is None:
        notes.append(NOTE_NO_CAMPAIGN.format(step=doc.name, given=given))
    bps = [PlannedAttachment(p.name, read_bytes(p)) for p in paths if p.is_file()]
    # One read of the issue's step.yaml: its digests prove the attached bps yamls unchanged.
    stored = read_stored_step(tracker, issue) if issue is not None else None
    batch = _plan_step(tracker, doc, issue, campaign, label, bps, project, stored)
    outcome = run_batch(tracker, batch, dry_run=dry_run)
    writes = outcome.writes[STEP_TAG]
    campaign_link: LinkAction | None = None
    if campaign is not None:
        made = campaign.key in writes.linked
        campaign_link = (
            LinkAction.ALREADY_LINKED
            if not made
            else (LinkAction.WOULD_LINK if dry_run else LinkAction.LINKED)
        )
    step_result = issue_result(
        doc.name,
        writes,
        summary=step_summary(doc.name),
        labels=[label],
        found_by=found_by,
        attachment_order=[STEP_ATTACHMENT, *(a.filename for a in bps)],
        linked=[k for k in writes.linked if campaign is None or k != campaign.key],
    )
    step_result.workflow_base = doc.workflow_base
    step_result.workflows = results
    doc.issue_name = writes.key

    new_raw = updated_step_yaml(sfile.raw, doc)
    if dry_run:
        changed = new_raw != sfile.raw or writes.key is None
        yaml_action = FileAction.WOULD_SAVE if changed else FileAction.UNCHANGED
    elif new_raw == sfile.raw:
        yaml_action = FileAction.UNCHANGED
    else:
        write_text_atomically(sfile.path, dump_yaml(new_raw))
        yaml_action = FileAction.SAVED
    return UpdateStepResult(
        step_result,
        doc.campaign_issue,
        doc.campaign_name,
        campaign_link,
        given,
        yaml_action,
        dry_run,
        notes,
        plan=outcome.lines,
    )


def _plan_step(
    tracker: Tracker,
    doc: StepDocument,
    issue: Issue | None,
    campaign: Issue | None,
    label: str,
    bps: list[PlannedAttachment],
    project: str,
    stored: StoredStep | None = None,
) -> Batch:
    """The step issue's plan; a new issue's ``step.yaml`` (naming its key) follows its creation.

    ``step.yaml`` records each bps yaml's digest and is attached after them; ``stored``
    (the issue's ``step.yaml`` as read) leaves out what is attached already.
    """
    workflow_keys = list(dict.fromkeys(e.issue_name for e in doc.workflows if e.issue_name))
    links = [PlannedLink(SELF, key) for key in workflow_keys]
    if campaign is not None:
        links.append(PlannedLink(campaign.key, SELF))
    urls = browse_urls(tracker, [doc.campaign_issue, *workflow_keys])

    def plan(keys: Mapping[str, str], attachments: list[PlannedAttachment], with_links: bool) -> IssuePlan:
        return IssuePlan(
            f"step issue of step {doc.name}",
            keys.get(STEP_TAG),
            summary=step_summary(doc.name),
            sections={STEP_SECTION: step_section_text(doc, urls)},
            add_labels=[label],
            identity_label=label,
            project=project,
            attachments=attachments,
            links=links if with_links else [],
            name=STEP_TAG,
        )

    digests = {a.filename: sha256(a.data) for a in bps}

    def step_yaml(keys: Mapping[str, str]) -> PlannedAttachment:
        attached = replace(
            doc,
            issue_name=keys.get(STEP_TAG),
            workflows=[replace(e, bps_sha256=digests.get(e.bps_name)) for e in doc.workflows],
        )
        return PlannedAttachment(STEP_ATTACHMENT, dump_yaml(attached.to_dict()).encode())

    def changed(planned: list[PlannedAttachment]) -> list[PlannedAttachment]:
        return planned if stored is None else stored.keep(planned)

    batch = Batch(known=[i for i in (issue, campaign) if i is not None])
    if issue is None:
        batch.add(STEP_TAG, lambda keys: plan(keys, bps, True))
        batch.add(STEP_TAG, lambda keys: plan(keys, [step_yaml(keys)], False))
    else:
        batch.existing[STEP_TAG] = issue.key
        batch.add(STEP_TAG, lambda keys: plan(keys, changed([*bps, step_yaml(keys)]), True))
    return batch


def _issue_of(discovered: Mapping[Path, StepWorkflow], path: Path) -> str | None:
    workflow = discovered.get(path)
    return workflow.issue.key if workflow is not None and workflow.issue is not None else None


def run_update_step(
    tracker: Tracker,
    settings: Settings,
    *,
    step_yaml: str,
    step_issue: str | None = None,
    campaign_name: str | None = None,
    step_name: str | None = None,
    dry_run: bool = False,
) -> UpdateStepResult:
    """``update-step``: read and check ``step_yaml`` and its bps yamls, then `update_step`."""
    sfile = read_step_file(step_yaml, step_name=step_name)
    return update_step(
        tracker,
        sfile,
        step_issue=step_issue,
        campaign_name=campaign_name,
        project=settings.project,
        dry_run=dry_run,
    )
