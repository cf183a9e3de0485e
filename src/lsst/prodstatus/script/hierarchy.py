"""What the campaign and step commands share: finding and checking campaign and step issues,
and the results they return.

An issue found by its label must record the campaign or step being written (a renamed
issue keeps its old label); an issue given by key must be of the right kind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..core.campaign import (
    CAMPAIGN_ATTACHMENT,
    STEP_ATTACHMENT,
    campaign_name_from_summary,
    issue_kind,
    parse_step,
    step_summary,
)
from ..core.ids import issue_number
from ..core.plan import Action, PlannedAttachment
from ..errors import InputError
from ..services.tracker.base import Issue, Tracker
from .batch import IssueWrites
from .discovery import StepWorkflow, load_yaml

__all__ = [
    "HINT_CANNOT_READ_BPS_YAML",
    "HINT_RENAMED",
    "MSG_CANNOT_READ_BPS_YAML",
    "MSG_LABEL_OTHER_CAMPAIGN",
    "MSG_LABEL_OTHER_STEP",
    "MSG_NOT_EXPECTED_KIND",
    "NOTE_NO_BPS_YAMLS",
    "NOTE_NO_ISSUE_RECORDS_RUN",
    "NOTE_NO_WORKFLOW_ISSUE",
    "RECORDED_STEP",
    "IssueResult",
    "StoredStep",
    "WorkflowResult",
    "browse_urls",
    "check_kind",
    "find_campaign_by_label",
    "find_step_by_label",
    "issue_result",
    "missing_issue_notes",
    "read_bytes",
    "read_stored_step",
    "sha256",
    "step_rename_hint",
    "workflow_results",
]


@dataclass
class WorkflowResult:
    """A workflow of a step: its bps yaml and the issue recording its newest run."""

    name: str
    bps_yaml: str
    issue: str | None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"name": self.name, "bps_yaml": self.bps_yaml, "issue": self.issue, "problem": self.problem}


@dataclass
class IssueResult:
    """What happened to one campaign or step issue."""

    name: str
    key: str | None
    action: Action
    """``created``, ``updated``, ``unchanged``; with ``--dry-run`` ``would create``,
    ``would update`` or ``unchanged``."""
    summary: str
    labels: list[str]
    found_by: str | None = None
    """``--campaign_issue``/``--step_issue``, ``yaml``, ``label`` or ``campaign.yaml``;
    `None` for a new issue."""
    workflow_base: str | None = None
    workflows: list[WorkflowResult] = field(default_factory=list)
    attached: list[str] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)
    """Issues newly linked from this one (steps of a campaign, workflows of a step)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        data: dict[str, Any] = {
            "name": self.name,
            "issue": self.key,
            "action": str(self.action),
            "summary": self.summary,
            "labels": list(self.labels),
            "found_by": self.found_by,
        }
        if self.workflow_base is not None:
            data["workflow_base"] = self.workflow_base
            data["workflows"] = [w.to_dict() for w in self.workflows]
        data["attached"] = list(self.attached)
        data["linked"] = list(self.linked)
        return data


def sha256(data: bytes) -> str:
    """The hex SHA-256 of ``data`` (what ``step.yaml`` records of each bps yaml)."""
    return hashlib.sha256(data).hexdigest()


@dataclass
class StoredStep:
    """The ``step.yaml`` attached to a step issue, and the bps yaml digests it records.

    Jira stores no checksum of an attachment, so proving an attached bps yaml unchanged
    would cost one download per workflow; the digests ``update-campaign`` and
    ``update-step`` record in ``step.yaml`` make it one download per step.
    """

    issue: Issue
    data: bytes | None = None
    """``step.yaml`` as attached; `None` when the issue has none."""
    digests: dict[str, str] = field(default_factory=dict)
    """bps yaml file name → SHA-256 recorded (empty for an older ``step.yaml``)."""

    def unchanged(self, att: PlannedAttachment) -> bool:
        """Whether the issue holds ``att`` as recorded: one copy, same size, recorded digest.

        The bps yamls are uploaded before the ``step.yaml`` recording them, so a failure
        half-way leaves the old digests: a yaml uploaded before it is compared by its bytes
        on the next run, never trusted to a digest it does not have.
        """
        held = [a for a in self.issue.attachments if a.filename == att.filename]
        return (
            len(held) == 1
            and held[0].size == len(att.data)
            and self.digests.get(att.filename) == sha256(att.data)
        )

    def keep(self, planned: Sequence[PlannedAttachment]) -> list[PlannedAttachment]:
        """The attachments of ``planned`` that may differ from what the issue holds.

        A ``step.yaml`` equal to the one read is dropped too (it was read already: the
        executor would read it again to compare).
        """
        return [
            att
            for att in planned
            if not (att.filename == STEP_ATTACHMENT and att.data == self.data) and not self.unchanged(att)
        ]


def read_stored_step(tracker: Tracker, issue: Issue) -> StoredStep:
    """Read the ``step.yaml`` of step issue ``issue`` (one request when it has one)."""
    if issue.attachment(STEP_ATTACHMENT) is None:
        return StoredStep(issue)
    data = tracker.read_attachment(issue.key, STEP_ATTACHMENT, current=issue)
    try:
        doc = parse_step(load_yaml(data or b""), f"step.yaml of {issue.key}")
    except (yaml.YAMLError, InputError):
        return StoredStep(issue, data)
    return StoredStep(issue, data, {wf.bps_name: wf.bps_sha256 for wf in doc.workflows if wf.bps_sha256})


MSG_NOT_EXPECTED_KIND = "{key} ({what}) is a {kind} issue ({summary}), not a {expected} issue"


def check_kind(issue: Issue, expected: str, what: str, hint: str) -> None:
    """Refuse an issue that prodstat knows to be of another kind (a workflow as a step...)."""
    kind = issue_kind(issue.summary, issue.labels)
    if kind != "other" and kind != expected:
        raise InputError(
            MSG_NOT_EXPECTED_KIND.format(
                key=issue.key, what=what, kind=kind, summary=issue.summary, expected=expected
            ),
            hint,
        )


def _stored_document(tracker: Tracker, issue: Issue, filename: str) -> Any:
    """Return the loaded yaml of attachment ``filename`` of ``issue``; `None` if absent or bad."""
    if issue.attachment(filename) is None:
        return None
    try:
        return yaml.safe_load(tracker.read_attachment(issue.key, filename, current=issue) or b"")
    except yaml.YAMLError:
        return None


def _recorded_campaign(tracker: Tracker, issue: Issue, name: str) -> str | None:
    """Return the name campaign issue ``issue`` records if it is not ``name``; `None` if it is.

    The summary (``Campaign <name>``) is checked first; only when it differs is the
    issue's ``campaign.yaml`` read.
    """
    from_summary = campaign_name_from_summary(issue.summary)
    if from_summary == name:
        return None
    data = _stored_document(tracker, issue, CAMPAIGN_ATTACHMENT)
    stored = data.get("name") if isinstance(data, dict) else None
    if stored is not None and str(stored).strip() == name:
        return None
    return str(stored).strip() if stored is not None else (from_summary or repr(issue.summary))


MSG_LABEL_OTHER_CAMPAIGN = "{key}, found by its label {label}, is campaign {recorded}, not campaign {name}"


def find_campaign_by_label(
    tracker: Tracker, found: Iterable[Issue], name: str, label: str, hint: Callable[[str, str], str]
) -> Issue | None:
    """Return the lowest issue labelled ``label`` that is campaign ``name``.

    Raises
    ------
    InputError
        Issues carry the label but none is this campaign (renamed: a label is never
        removed); ``hint(key, recorded_name)`` tells what to do.
    """
    match, other = _lowest_recording(
        (i for i in found if label in i.labels), lambda i: _recorded_campaign(tracker, i, name)
    )
    if match is not None or other is None:
        return match
    issue, recorded = other
    raise InputError(
        MSG_LABEL_OTHER_CAMPAIGN.format(key=issue.key, label=label, recorded=recorded, name=name),
        hint(issue.key, recorded),
    )


RECORDED_STEP = "step {name} of campaign {campaign}"


def _recorded_step(
    tracker: Tracker, issue: Issue, step: str, campaign: str, campaign_key: str | None
) -> str | None:
    """Return what step issue ``issue`` records if it is not ``step`` of ``campaign``; else `None`.

    Its ``step.yaml`` tells (``name``, and ``campaign_name`` or ``campaign_issue``); a step
    issue without one (a first run cut short before attaching it) by its summary.
    """
    data = _stored_document(tracker, issue, STEP_ATTACHMENT)
    if not isinstance(data, dict):
        return None if issue.summary.strip() == step_summary(step) else repr(issue.summary)
    name = str(data.get("name") or "").strip()
    of = str(data.get("campaign_name") or "").strip()
    same_campaign = of == campaign or (
        campaign_key is not None and data.get("campaign_issue") == campaign_key
    )
    if name == step and same_campaign:
        return None
    return RECORDED_STEP.format(name=name or "(no name)", campaign=of or "(none)")


HINT_RENAMED = "a renamed issue keeps its old label: {how} {key} to rename it, or use the names it has now"


def step_rename_hint(how: str, key: str) -> str:
    return HINT_RENAMED.format(how=how, key=key)


MSG_LABEL_OTHER_STEP = (
    "{key}, found by its label {label}, is {recorded}, not step {step} of campaign {campaign}"
)


def find_step_by_label(
    tracker: Tracker,
    candidates: Iterable[Issue],
    step: str,
    campaign: str,
    campaign_key: str | None,
    label: str,
    hint: Callable[[str], str],
) -> Issue | None:
    """Return the lowest of ``candidates`` (issues labelled ``label``) that is this step.

    Raises
    ------
    InputError
        Issues carry the label but none is this step; ``hint(key)`` tells what to do.
    """
    match, other = _lowest_recording(
        candidates, lambda i: _recorded_step(tracker, i, step, campaign, campaign_key)
    )
    if match is not None or other is None:
        return match
    issue, recorded = other
    raise InputError(
        MSG_LABEL_OTHER_STEP.format(
            key=issue.key, label=label, recorded=recorded, step=step, campaign=campaign
        ),
        hint(issue.key),
    )


def _lowest_recording(
    candidates: Iterable[Issue], recorded_of: Callable[[Issue], str | None]
) -> tuple[Issue | None, tuple[Issue, str] | None]:
    """The lowest candidate that is the one looked for (``recorded_of`` gives `None`), else the
    lowest other candidate with what it records instead (for the message)."""
    other: tuple[Issue, str] | None = None
    for issue in sorted(candidates, key=_number):
        recorded = recorded_of(issue)
        if recorded is None:
            return issue, None
        other = other or (issue, recorded)
    return None, other


MSG_CANNOT_READ_BPS_YAML = "cannot read bps yaml {path}: {reason}"
HINT_CANNOT_READ_BPS_YAML = "check the file"


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(
            MSG_CANNOT_READ_BPS_YAML.format(path=path, reason=exc.strerror or exc), HINT_CANNOT_READ_BPS_YAML
        ) from exc


def workflow_results(workflows: Sequence[StepWorkflow]) -> list[WorkflowResult]:
    return [
        WorkflowResult(w.name, str(w.bps_yaml), w.issue.key if w.issue else None, w.problem)
        for w in workflows
    ]


NOTE_NO_ISSUE_RECORDS_RUN = (
    "no issue records its newest run; run 'prodstat update-issue {name} PRODUCTION_ISSUE DRP0' in its "
    "directory"
)
NOTE_NO_WORKFLOW_ISSUE = "step {step}: {name} has no workflow issue: {why}"
NOTE_NO_BPS_YAMLS = "step {step}: no bps submit yamls {step}*.yaml in {base}"
"""Note of a step whose workflow_base holds no bps submit yaml of it."""


def missing_issue_notes(step: str, workflows: Sequence[WorkflowResult]) -> list[str]:
    notes = []
    for wf in workflows:
        if wf.issue is not None:
            continue
        name = Path(wf.bps_yaml).name
        why = wf.problem or (NOTE_NO_ISSUE_RECORDS_RUN.format(name=name))
        notes.append(NOTE_NO_WORKFLOW_ISSUE.format(step=step, name=name, why=why))
    return notes


def browse_urls(tracker: Tracker, keys: Iterable[str | None]) -> dict[str, str]:
    return {key: tracker.browse_url(key) for key in keys if key}


def _number(issue: Issue) -> int:
    return issue_number(issue.key)


def issue_result(
    name: str,
    writes: IssueWrites,
    *,
    summary: str,
    labels: list[str],
    found_by: str | None,
    attachment_order: Sequence[str],
    linked: Iterable[str] | None = None,
) -> IssueResult:
    """The result of one issue from its writes; attachments named in ``attachment_order``.

    Links to issues a dry run would create are left out (they have no key yet).
    """
    wanted = set(writes.attached)
    return IssueResult(
        name=name,
        key=writes.key,
        action=writes.action,
        summary=summary,
        labels=labels,
        found_by=found_by if found_by is not None else ("label" if writes.adopted else None),
        attached=[a for a in dict.fromkeys(attachment_order) if a in wanted],
        linked=[k for k in (writes.linked if linked is None else linked) if not k.startswith("@")],
    )
