"""``update-campaign``: the campaign issue and one step issue per step of a campaign yaml.

Every file is read and checked first (`read_campaign_file`); then one tracker search
finds the workflows of every step and one the campaign and step issues, and each is
checked (an issue found by its label must record this campaign or step). Then everything
to write is planned (one `StepPlan` per step) without writing, and applied with one call
of the executor (`lsst.prodstatus.script.apply`), in this order:

1. each step: a new step issue is created with its summary, label and whole description;
   its bps yamls are attached and it is linked to its workflow issues;
2. the campaign issue: created (its description names the steps) or updated, linked to
   its steps, with ``campaign.yaml`` attached (for a new campaign, once its key exists);
3. each step whose issue or campaign is new: ``step.yaml`` and the description naming
   the campaign, which exist only now.

Steps come before the campaign, as the original numbered them (steps DRP-489/490,
campaign DRP-491). On the local tracker the whole batch is one transaction; on Jira a
failure names what is missing and a re-run finds the issues by their labels and
completes them. The campaign yaml is saved last, with the keys that now exist. A re-run
that has nothing new writes nothing.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import yaml

from ..config import Settings
from ..core.campaign import (
    CAMPAIGN_ATTACHMENT,
    CAMPAIGN_SECTION,
    STEP_ATTACHMENT,
    STEP_SECTION,
    CampaignSpec,
    StepDocument,
    StepSpec,
    WorkflowEntry,
    campaign_document,
    campaign_label,
    campaign_section_text,
    campaign_summary,
    dump_yaml,
    issue_kind,
    parse_campaign,
    step_label,
    step_section_text,
    step_summary,
    updated_campaign_yaml,
)
from ..core.plan import SELF, IssuePlan, PlannedAttachment, PlannedLink, plan_ref
from ..errors import InputError, IssueNotFoundError
from ..services.tracker.base import Issue, Tracker, check_issue_key
from .batch import Batch, run_batch
from .discovery import StepWorkflow, find_workflow_issues, scan_workflow_base
from .files import FileAction, load_yaml_file, optional_key, resolve_path, write_text_atomically
from .hierarchy import (
    NOTE_NO_BPS_YAMLS,
    IssueResult,
    StoredStep,
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
    workflow_results,
)

__all__ = [
    "HINT_CAMPAIGN_KIND",
    "HINT_CAMPAIGN_NOT_FOUND_OPTION",
    "HINT_CAMPAIGN_NOT_FOUND_YAML",
    "HINT_CAMPAIGN_RENAMED",
    "HINT_ISSUE_TWICE",
    "HINT_NO_CAMPAIGN_YAML",
    "HINT_STEP_KIND",
    "HINT_STEP_NOT_FOUND",
    "MSG_ISSUE_TWICE",
    "NOTE_CAMPAIGN_ISSUE_OVERRIDES",
    "CampaignFile",
    "StepPlan",
    "UpdateCampaignResult",
    "read_campaign_file",
    "run_update_campaign",
    "update_campaign",
]

CAMPAIGN_TAG = "campaign"


@dataclass
class CampaignFile:
    """A campaign yaml, read and checked, with each step's bps yamls."""

    given: str
    path: Path
    raw: dict[str, Any]
    spec: CampaignSpec
    """As written, except the name (``--campaign_name``) and upper-cased issue keys."""
    bases: list[Path]
    """Each step's ``workflow_base``, absolute (relative ones start at the yaml's directory)."""
    yamls: list[list[Path]]
    """Each step's bps submit yamls (``<workflow_base>/<step>*.yaml``)."""


HINT_NO_CAMPAIGN_YAML = "write one with 'prodstat create-campaign-yaml NAME {path}' and edit it"


def read_campaign_file(
    campaign_yaml: str, *, campaign_name: str | None = None, cwd: Path | None = None
) -> CampaignFile:
    """Read and check a campaign yaml and every step's ``workflow_base``.

    Raises
    ------
    InputError
        Missing or malformed file (see `~lsst.prodstatus.core.campaign.parse_campaign`),
        a malformed issue key, or a ``workflow_base`` that is empty or no directory.
    """
    path, data = load_yaml_file(
        campaign_yaml,
        "campaign yaml",
        HINT_NO_CAMPAIGN_YAML.format(path=campaign_yaml),
        cwd,
    )
    spec = parse_campaign(data, f"campaign yaml {campaign_yaml}", name=campaign_name)
    spec.issue = optional_key(spec.issue, f"issue in campaign yaml {campaign_yaml}")
    bases: list[Path] = []
    yamls: list[list[Path]] = []
    for step in spec.steps:
        step.issue_name = optional_key(step.issue_name, f"issue_name of step {step.name} in {campaign_yaml}")
        # campaign_issue is prodstat's to fill in; a stale or odd value is simply replaced.
        if not step.workflow_base:
            scan_workflow_base("", step.name)
        base = resolve_path(step.workflow_base, path.parent)
        yamls.append(scan_workflow_base(base, step.name))
        bases.append(base)
    return CampaignFile(campaign_yaml, path, cast(dict[str, Any], data), spec, bases, yamls)


def _stored_step_keys(tracker: Tracker, campaign: Issue) -> dict[str, str]:
    """Return step name → issue key from the campaign issue's ``campaign.yaml``, if any."""
    if campaign.attachment(CAMPAIGN_ATTACHMENT) is None:
        return {}
    data = tracker.read_attachment(campaign.key, CAMPAIGN_ATTACHMENT, current=campaign)
    try:
        stored = parse_campaign(yaml.safe_load(data or b""), "stored campaign.yaml")
    except (yaml.YAMLError, InputError):
        return {}
    keys: dict[str, str] = {}
    for step in stored.steps:
        try:
            if step.issue_name:
                keys[step.name] = check_issue_key(step.issue_name)
        except InputError:
            continue
    return keys


@dataclass
class UpdateCampaignResult:
    """What ``update-campaign`` did (or, with ``dry_run``, would do)."""

    campaign: IssueResult
    steps: list[IssueResult]
    campaign_yaml: str
    yaml_action: FileAction
    """``saved``, ``unchanged`` or ``would save``."""
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    """The writes, in words (``--dry-run``)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (``--json``)."""
        return {
            "campaign": self.campaign.to_dict(),
            "steps": [s.to_dict() for s in self.steps],
            "campaign_yaml": self.campaign_yaml,
            "campaign_yaml_action": str(self.yaml_action),
            "dry_run": self.dry_run,
            "notes": list(self.notes),
            "plan": list(self.plan),
        }


@dataclass
class StepPlan:
    """One step of the campaign: its issue as found, its workflows, and how its issue is written.

    The step's ``step.yaml`` names the step's and the campaign's issues, and its
    description the campaign's: when either issue is new, they are written by a second
    plan (`final_plan`) once the batch has created it.
    """

    index: int
    spec: StepSpec
    base: Path
    """``workflow_base``, absolute."""
    label: str
    workflows: list[StepWorkflow]
    campaign_name: str
    issue: Issue | None = None
    found_by: str | None = None
    """``yaml``, ``label`` or ``campaign.yaml``; `None` for a new issue."""
    bps: list[PlannedAttachment] = field(default_factory=list)
    """The step's bps submit yamls, as attachments."""
    stored: StoredStep | None = None
    """The ``step.yaml`` of the step's issue as read (its bps yaml digests)."""

    @property
    def tag(self) -> str:
        """The name of its plans in the batch."""
        return f"step {self.spec.name}"

    @property
    def what(self) -> str:
        """The issue, for messages."""
        return f"step issue of step {self.spec.name}"

    def workflow_keys(self) -> list[str]:
        """Keys of the issues of its workflows' newest runs."""
        return [w.issue.key for w in self.workflows if w.issue is not None]

    def document(self, keys: Mapping[str, str]) -> StepDocument:
        """Its ``step.yaml``, with the keys known (``keys``: tag → key) and the bps yaml digests."""
        digests = {a.filename: sha256(a.data) for a in self.bps}
        return StepDocument(
            name=self.spec.name,
            workflow_base=str(self.base),
            issue_name=keys.get(self.tag),
            campaign_issue=keys.get(CAMPAIGN_TAG),
            campaign_name=self.campaign_name,
            split_bands=self.spec.split_bands,
            workflows=[
                WorkflowEntry(
                    w.name,
                    w.bps_yaml.name,
                    str(w.bps_yaml.parent),
                    w.issue.key if w.issue else None,
                    bps_sha256=digests.get(w.bps_yaml.name),
                )
                for w in self.workflows
            ],
            extra=copy.deepcopy(self.spec.extra),
        )

    def waits_for_keys(self, campaign_is_new: bool) -> bool:
        """Whether ``step.yaml`` and the description need keys that the batch creates."""
        return self.issue is None or campaign_is_new

    def first_plan(
        self, tracker: Tracker, keys: Mapping[str, str], project: str, complete: bool
    ) -> IssuePlan:
        """Its whole plan (``complete``), or what needs no new key: bps yamls and workflow links.

        A new issue is created with its summary, label and description all the same.
        """
        links = [PlannedLink(SELF, key) for key in self.workflow_keys()]
        if complete:
            # step.yaml after the bps yamls: the digests it records are then never ahead of
            # what is attached, even when an upload fails half-way.
            return self._plan(
                tracker, keys, project, self._changed([*self.bps, self._step_yaml(keys)]), links
            )
        if self.issue is None:
            return self._plan(tracker, keys, project, list(self.bps), links)
        return IssuePlan(
            self.what, self.issue.key, attachments=self._changed(self.bps), links=links, name=self.tag
        )

    def final_plan(self, tracker: Tracker, keys: Mapping[str, str], project: str) -> IssuePlan:
        """``step.yaml`` and the description, once the batch has created the issues they name."""
        return self._plan(tracker, keys, project, self._changed([self._step_yaml(keys)]), [])

    def _changed(self, planned: list[PlannedAttachment]) -> list[PlannedAttachment]:
        """What of ``planned`` may differ from the issue's attachments (by ``step.yaml``'s digests)."""
        return planned if self.stored is None else self.stored.keep(planned)

    def _step_yaml(self, keys: Mapping[str, str]) -> PlannedAttachment:
        return PlannedAttachment(STEP_ATTACHMENT, dump_yaml(self.document(keys).to_dict()).encode())

    def _plan(
        self,
        tracker: Tracker,
        keys: Mapping[str, str],
        project: str,
        attachments: list[PlannedAttachment],
        links: list[PlannedLink],
    ) -> IssuePlan:
        doc = self.document(keys)
        urls = browse_urls(tracker, [doc.campaign_issue, *self.workflow_keys()])
        return IssuePlan(
            self.what,
            keys.get(self.tag),
            summary=step_summary(self.spec.name),
            sections={STEP_SECTION: step_section_text(doc, urls)},
            add_labels=[self.label],
            identity_label=self.label,
            project=project,
            attachments=attachments,
            links=links,
            name=self.tag,
        )


def _campaign_plan(
    tracker: Tracker,
    spec: CampaignSpec,
    steps: list[StepPlan],
    keys: Mapping[str, str],
    *,
    project: str,
    with_yaml: bool,
    final: bool = False,
) -> IssuePlan:
    """The campaign issue's plan; ``campaign.yaml`` (which names the campaign's key) only ``with_yaml``.

    A ``final`` plan completes a campaign issue created earlier in the batch: its links exist.
    """
    campaign_key = keys.get(CAMPAIGN_TAG)
    resolved = CampaignSpec(
        name=spec.name,
        issue=campaign_key,
        steps=[
            replace(
                s.spec,
                workflow_base=str(s.base),
                issue_name=keys.get(s.tag),
                campaign_issue=campaign_key,
                extra=copy.deepcopy(s.spec.extra),
            )
            for s in steps
        ],
    )
    label = campaign_label(spec.name)
    data = dump_yaml(campaign_document(resolved)).encode()
    return IssuePlan(
        f"campaign issue of campaign {spec.name}",
        campaign_key,
        summary=campaign_summary(spec.name),
        sections={
            CAMPAIGN_SECTION: campaign_section_text(
                resolved, browse_urls(tracker, [keys.get(s.tag) for s in steps])
            )
        },
        add_labels=[label],
        identity_label=label,
        project=project,
        attachments=[PlannedAttachment(CAMPAIGN_ATTACHMENT, data)] if with_yaml else [],
        links=[] if final else [PlannedLink(SELF, keys.get(s.tag) or plan_ref(s.tag)) for s in steps],
        name=CAMPAIGN_TAG,
    )


def plan_campaign(
    tracker: Tracker, spec: CampaignSpec, campaign: Issue | None, steps: list[StepPlan], project: str
) -> Batch:
    """Every write of update-campaign, in the executor's order (no writes).

    Steps first, then the campaign, then what of each step names an issue the batch creates.
    """
    batch = Batch(known=[i for i in [campaign, *(s.issue for s in steps)] if i is not None])
    if campaign is not None:
        batch.existing[CAMPAIGN_TAG] = campaign.key
    for step in steps:
        if step.issue is not None:
            batch.existing[step.tag] = step.issue.key
    campaign_is_new = campaign is None
    for step in steps:
        complete = not step.waits_for_keys(campaign_is_new)
        batch.add(step.tag, functools.partial(_first, tracker, step, project, complete))
    batch.add(
        CAMPAIGN_TAG,
        functools.partial(
            _campaign_plan, tracker, spec, steps, project=project, with_yaml=not campaign_is_new
        ),
    )
    if campaign_is_new:
        batch.add(
            CAMPAIGN_TAG,
            functools.partial(
                _campaign_plan, tracker, spec, steps, project=project, with_yaml=True, final=True
            ),
        )
    for step in steps:
        if step.waits_for_keys(campaign_is_new):
            batch.add(step.tag, functools.partial(_final, tracker, step, project))
    return batch


def _first(
    tracker: Tracker, step: StepPlan, project: str, complete: bool, keys: Mapping[str, str]
) -> IssuePlan:
    return step.first_plan(tracker, keys, project, complete)


def _final(tracker: Tracker, step: StepPlan, project: str, keys: Mapping[str, str]) -> IssuePlan:
    return step.final_plan(tracker, keys, project)


NOTE_CAMPAIGN_ISSUE_OVERRIDES = "using --campaign_issue {explicit} instead of the issue {in_yaml} in {given}"
HINT_CAMPAIGN_NOT_FOUND_OPTION = (
    "give an existing campaign issue, or leave off --campaign_issue to find or create it"
)
HINT_CAMPAIGN_NOT_FOUND_YAML = "set issue in {given} to the campaign's issue, or null to create one"
HINT_CAMPAIGN_KIND = "give the campaign's own issue, or none to find or create it"
HINT_CAMPAIGN_RENAMED = (
    "a renamed issue keeps its old label: set name in {given} to {recorded}, or give --campaign_issue "
    "{key} to rename it to {name}"
)
HINT_STEP_NOT_FOUND = "set issue_name of step {step} in {given} to the step's issue, or '' to create one"
HINT_STEP_KIND = "set it to the step's own issue, or '' to create one"
MSG_ISSUE_TWICE = "{key} ({what}) is already {owner}"
HINT_ISSUE_TWICE = "give each step its own issue"


def update_campaign(
    tracker: Tracker,
    cfile: CampaignFile,
    *,
    campaign_issue: str | None = None,
    project: str,
    dry_run: bool = False,
) -> UpdateCampaignResult:
    """Create or update the campaign issue, its step issues, their links and attachments.

    Parameters
    ----------
    tracker : `Tracker`
        Where the issues live.
    cfile : `CampaignFile`
        The campaign yaml, from `read_campaign_file`.
    campaign_issue : `str`, optional
        Campaign issue to update (``--campaign_issue``); default: the yaml's ``issue``,
        else the issue labelled ``prodstat_campaign_<name>``, else a new one.
    project : `str`
        Project of new issues and of label searches.
    dry_run : `bool`
        Compute and compare everything; write nothing (tracker or file).

    Returns
    -------
    result : `UpdateCampaignResult`
        One entry per step (yaml order) and the campaign.

    Raises
    ------
    InputError
        An issue key that does not exist, or is of the wrong kind (a workflow issue as a
        step, ...), or is used twice.
    DamagedSectionError
        A managed section of an existing issue has damaged markers; nothing is written.
    ServiceError
        The tracker failed; on Jira the message names what is missing, and a re-run
        completes it.
    """
    spec = cfile.spec
    given = cfile.given
    notes: list[str] = []
    explicit = optional_key(campaign_issue, "--campaign_issue") or spec.issue
    if campaign_issue and spec.issue and explicit != spec.issue:
        notes.append(NOTE_CAMPAIGN_ISSUE_OVERRIDES.format(explicit=explicit, in_yaml=spec.issue, given=given))

    # One search for the workflows of every step, then one for the campaign and steps.
    flat = [path for paths in cfile.yamls for path in paths]
    discovered = find_workflow_issues(tracker, flat, project=project)
    per_step: list[list[StepWorkflow]] = []
    start = 0
    for paths in cfile.yamls:
        per_step.append(discovered[start : start + len(paths)])
        start += len(paths)

    c_label = campaign_label(spec.name)
    s_labels = [step_label(spec.name, step.name) for step in spec.steps]
    keys = [k for k in [explicit, *(s.issue_name for s in spec.steps)] if k]
    found = tracker.search(keys=list(dict.fromkeys(keys)), labels=[c_label, *s_labels], project=project)
    by_key = {issue.key: issue for issue in found}

    campaign: Issue | None
    campaign_found_by: str | None = None
    if explicit:
        campaign = by_key.get(explicit)
        if campaign is None:
            hint = (
                HINT_CAMPAIGN_NOT_FOUND_OPTION
                if campaign_issue
                else HINT_CAMPAIGN_NOT_FOUND_YAML.format(given=given)
            )
            raise IssueNotFoundError(explicit, tracker.name, hint)
        check_kind(
            campaign,
            "campaign",
            "--campaign_issue" if campaign_issue else f"issue in {given}",
            HINT_CAMPAIGN_KIND,
        )
        campaign_found_by = "--campaign_issue" if campaign_issue else "yaml"
    else:
        campaign = find_campaign_by_label(
            tracker,
            found,
            spec.name,
            c_label,
            lambda key, recorded: HINT_CAMPAIGN_RENAMED.format(
                given=given, recorded=recorded, key=key, name=spec.name
            ),
        )
        campaign_found_by = "label" if campaign else None

    owners: dict[str, str] = {campaign.key: "the campaign issue"} if campaign else {}
    step_issues: list[Issue | None] = []
    step_found_by: list[str | None] = []
    for step, label in zip(spec.steps, s_labels, strict=True):
        issue: Issue | None
        if step.issue_name:
            what = f"issue_name of step {step.name} in {given}"
            issue = by_key.get(step.issue_name)
            if issue is None:
                raise IssueNotFoundError(
                    step.issue_name,
                    tracker.name,
                    HINT_STEP_NOT_FOUND.format(step=step.name, given=given),
                )
            check_kind(issue, "step", what, HINT_STEP_KIND)
            if issue.key in owners:
                raise InputError(
                    MSG_ISSUE_TWICE.format(key=issue.key, what=what, owner=owners[issue.key]),
                    HINT_ISSUE_TWICE,
                )
            step_found_by.append("yaml")
        else:
            issue = find_step_by_label(
                tracker,
                (i for i in found if label in i.labels and i.key not in owners),
                step.name,
                spec.name,
                campaign.key if campaign else None,
                label,
                functools.partial(step_rename_hint, f"set issue_name of step {step.name} in {given} to"),
            )
            step_found_by.append("label" if issue else None)
        if issue is not None:
            owners[issue.key] = f"the issue of step {step.name}"
        step_issues.append(issue)

    if campaign is not None and any(i is None for i in step_issues):
        # Steps whose yaml lost its issue_name (a fresh template, a renamed campaign):
        # the campaign's own campaign.yaml still knows them.
        stored = _stored_step_keys(tracker, campaign)
        wanted = {
            stored[s.name]: n
            for n, (s, i) in enumerate(zip(spec.steps, step_issues, strict=True))
            if i is None and s.name in stored and stored[s.name] not in owners
        }
        if wanted:
            more = {i.key: i for i in tracker.search(keys=list(wanted))}
            for key, n in wanted.items():
                issue = more.get(key)
                if issue is not None and issue_kind(issue.summary, issue.labels) == "step":
                    step_issues[n] = issue
                    step_found_by[n] = "campaign.yaml"
                    owners[key] = f"the issue of step {spec.steps[n].name}"

    # Nothing is written before this point: every check above has passed.
    # One read of each step issue's step.yaml: its digests prove the attached bps yamls
    # unchanged without reading each back.
    stored_steps = [read_stored_step(tracker, issue) if issue is not None else None for issue in step_issues]
    steps = [
        StepPlan(
            n,
            step,
            cfile.bases[n],
            s_labels[n],
            per_step[n],
            spec.name,
            step_issues[n],
            step_found_by[n],
            [PlannedAttachment(w.bps_yaml.name, read_bytes(w.bps_yaml)) for w in per_step[n]],
            stored_steps[n],
        )
        for n, step in enumerate(spec.steps)
    ]
    outcome = run_batch(tracker, plan_campaign(tracker, spec, campaign, steps, project), dry_run=dry_run)

    step_results: list[IssueResult] = []
    for planned in steps:
        result = issue_result(
            planned.spec.name,
            outcome.writes[planned.tag],
            summary=step_summary(planned.spec.name),
            labels=[planned.label],
            found_by=planned.found_by,
            attachment_order=[STEP_ATTACHMENT, *(a.filename for a in planned.bps)],
        )
        result.workflow_base = str(planned.base)
        result.workflows = workflow_results(planned.workflows)
        notes.extend(missing_issue_notes(planned.spec.name, result.workflows))
        if not planned.workflows:
            notes.append(NOTE_NO_BPS_YAMLS.format(step=planned.spec.name, base=planned.base))
        step_results.append(result)
    campaign_result = issue_result(
        spec.name,
        outcome.writes[CAMPAIGN_TAG],
        summary=campaign_summary(spec.name),
        labels=[c_label],
        found_by=campaign_found_by,
        attachment_order=[CAMPAIGN_ATTACHMENT],
    )

    # The user's file last: it records keys that now exist.
    campaign_key = campaign_result.key
    step_keys = [s.key for s in step_results]
    user = CampaignSpec(
        name=spec.name,
        issue=campaign_key,
        steps=[
            replace(s, issue_name=k, campaign_issue=campaign_key)
            for s, k in zip(spec.steps, step_keys, strict=True)
        ],
    )
    new_raw = updated_campaign_yaml(cfile.raw, user)
    if dry_run:
        # New issues would put their keys into the file even where the dry run has none.
        would = new_raw != cfile.raw or campaign_key is None or None in step_keys
        yaml_action = FileAction.WOULD_SAVE if would else FileAction.UNCHANGED
    elif new_raw == cfile.raw:
        yaml_action = FileAction.UNCHANGED
    else:
        write_text_atomically(cfile.path, dump_yaml(new_raw))
        yaml_action = FileAction.SAVED
    return UpdateCampaignResult(
        campaign_result, step_results, given, yaml_action, dry_run, notes, plan=outcome.lines
    )


def run_update_campaign(
    tracker: Tracker,
    settings: Settings,
    *,
    campaign_yaml: str,
    campaign_issue: str | None = None,
    campaign_name: str | None = None,
    dry_run: bool = False,
) -> UpdateCampaignResult:
    """``update-campaign``: read and check every file of ``campaign_yaml``, then `update_campaign`.

    The files are checked before ``tracker`` is first used, so bad input never logs in.
    """
    cfile = read_campaign_file(campaign_yaml, campaign_name=campaign_name)
    return update_campaign(
        tracker, cfile, campaign_issue=campaign_issue, project=settings.project, dry_run=dry_run
    )
