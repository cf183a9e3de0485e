"""``create-campaign-yaml`` and ``create-step-yaml``: campaign and step yaml files.

A template, or the yaml stored on a campaign or step issue (``--campaign_issue``,
``--step_issue``). Nothing is written to the tracker. An existing file is kept when it
already holds this campaign or step, and refused otherwise unless ``force``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from ..config import Settings
from ..core import yamlsafe
from ..core.campaign import (
    CAMPAIGN_ATTACHMENT,
    STEP_ATTACHMENT,
    StepDocument,
    WorkflowEntry,
    campaign_name_from_summary,
    campaign_template,
    dump_yaml,
    parse_campaign,
    parse_step,
)
from ..errors import InputError, IssueNotFoundError
from ..services.tracker.base import Tracker, check_issue_key
from .discovery import find_workflow_issues, scan_workflow_base
from .files import FileAction, optional_key, resolve_path, write_text_atomically
from .hierarchy import NOTE_NO_BPS_YAMLS, check_kind, missing_issue_notes, workflow_results

__all__ = [
    "HINT_ATTACHMENT_NOT_YAML",
    "HINT_CAMPAIGN_KIND",
    "HINT_CAMPAIGN_NAME_EMPTY",
    "HINT_FORCE",
    "HINT_ISSUE_OF_OTHER",
    "HINT_IS_DIRECTORY",
    "HINT_NO_ATTACHMENT",
    "HINT_NO_CAMPAIGN_ISSUE",
    "HINT_STEP_NAME_EMPTY",
    "MSG_ATTACHMENT_NOT_YAML",
    "MSG_CAMPAIGN_NAME_EMPTY",
    "MSG_DIFFERS_FROM_STORED",
    "MSG_HOLDS_OTHER_CAMPAIGN",
    "MSG_HOLDS_OTHER_STEP",
    "MSG_ISSUE_OF_OTHER",
    "MSG_IS_DIRECTORY",
    "MSG_NOT_CAMPAIGN_YAML",
    "MSG_NOT_STEP_YAML",
    "MSG_NO_ATTACHMENT",
    "MSG_STEP_NAME_EMPTY",
    "NOTE_KEPT_CAMPAIGN_YAML",
    "NOTE_KEPT_STEP_YAML",
    "NOTE_NEXT_UPDATE_CAMPAIGN",
    "YamlFileResult",
    "create_campaign_template",
    "create_step_template",
    "fetch_campaign_yaml",
    "fetch_step_yaml",
    "run_create_campaign_yaml",
    "run_create_step_yaml",
]

HINT_FORCE = "give another file name, or --force to overwrite it"


@dataclass
class YamlFileResult:
    """What ``create-campaign-yaml``/``create-step-yaml`` wrote."""

    kind: str
    """``campaign`` or ``step``."""
    action: FileAction
    """``wrote``, ``kept``, ``unchanged`` or ``would write``."""
    path: str
    name: str
    source: str
    """``template``, or the issue key the yaml came from."""
    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (``--json``)."""
        return {
            "kind": self.kind,
            "action": str(self.action),
            "path": self.path,
            "name": self.name,
            "source": self.source,
            "content": self.data,
        }


def _write_result(
    kind: str, path: Path, given: str, name: str, source: str, text: str, data: dict[str, Any], dry_run: bool
) -> YamlFileResult:
    if dry_run:
        return YamlFileResult(kind, FileAction.WOULD_WRITE, given, name, source, data)
    write_text_atomically(path, text)
    return YamlFileResult(kind, FileAction.WROTE, given, name, source, data)


def _load_existing(path: Path) -> tuple[bool, Any]:
    """Return (readable, data) of an existing file; unreadable or not yaml → (False, None)."""
    try:
        return True, yamlsafe.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False, None


MSG_CAMPAIGN_NAME_EMPTY = "CAMPAIGN_NAME is empty"
HINT_CAMPAIGN_NAME_EMPTY = "give the campaign's name, e.g. step12test"
MSG_IS_DIRECTORY = "{path} is a directory"
HINT_IS_DIRECTORY = "give a file name for the {kind} yaml"
MSG_NOT_CAMPAIGN_YAML = "{path} exists and is not a campaign yaml"
MSG_HOLDS_OTHER_CAMPAIGN = "{path} already holds campaign {found}, not {wanted}"
NOTE_KEPT_CAMPAIGN_YAML = (
    "{path} already holds campaign {name} ({steps} step{plural}); kept it as it is (--force writes a "
    "new template over it)"
)
NOTE_NEXT_UPDATE_CAMPAIGN = (
    "next: set workflow_base of each step to the directory holding its bps submit yamls, remove the "
    "steps you do not run, then run 'prodstat update-campaign {path}'"
)


def create_campaign_template(
    campaign_name: str,
    campaign_yaml: str,
    *,
    force: bool = False,
    dry_run: bool = False,
    cwd: Path | None = None,
) -> YamlFileResult:
    """Write the campaign yaml template (steps step1 … step7) to ``campaign_yaml``.

    An existing file that already is a valid campaign yaml of this campaign is kept (the
    seed writes its yaml by hand, then runs this command); any other existing file is
    refused, unless ``force``.

    Raises
    ------
    InputError
        An empty name; an existing file that is not this campaign's yaml (without ``force``).
    """
    name = campaign_name.strip()
    if not name:
        raise InputError(MSG_CAMPAIGN_NAME_EMPTY, HINT_CAMPAIGN_NAME_EMPTY)
    path = resolve_path(campaign_yaml, cwd)
    template = campaign_template(name)
    if path.is_dir():
        raise InputError(
            MSG_IS_DIRECTORY.format(path=campaign_yaml), HINT_IS_DIRECTORY.format(kind="campaign")
        )
    if path.exists() and not force:
        readable, data = _load_existing(path)
        try:
            spec = parse_campaign(data, f"campaign yaml {campaign_yaml}") if readable else None
        except InputError:
            spec = None
        if spec is None:
            raise InputError(MSG_NOT_CAMPAIGN_YAML.format(path=campaign_yaml), HINT_FORCE)
        if spec.name != name:
            raise InputError(
                MSG_HOLDS_OTHER_CAMPAIGN.format(path=campaign_yaml, found=spec.name, wanted=name), HINT_FORCE
            )
        result = YamlFileResult(
            "campaign", FileAction.KEPT, campaign_yaml, name, "template", cast(dict[str, Any], data)
        )
        result.notes.append(
            NOTE_KEPT_CAMPAIGN_YAML.format(
                path=campaign_yaml,
                name=name,
                steps=len(spec.steps),
                plural="" if len(spec.steps) == 1 else "s",
            )
        )
        return result
    result = _write_result(
        "campaign", path, campaign_yaml, name, "template", dump_yaml(template), template, dry_run
    )
    result.notes.append(NOTE_NEXT_UPDATE_CAMPAIGN.format(path=campaign_yaml))
    return result


MSG_NO_ATTACHMENT = "issue {key} has no {filename} attachment"
HINT_NO_ATTACHMENT = "give a {kind} issue written by 'prodstat update-campaign'{or_update_step}"
MSG_ATTACHMENT_NOT_YAML = "the {filename} attachment of {key} is not valid yaml"
HINT_ATTACHMENT_NOT_YAML = "re-run 'prodstat update-campaign'"


def _stored_yaml(tracker: Tracker, key: str, filename: str, kind: str) -> tuple[str, dict[str, Any]]:
    data = tracker.read_attachment(key, filename)
    if data is None:
        raise InputError(
            MSG_NO_ATTACHMENT.format(key=key, filename=filename),
            HINT_NO_ATTACHMENT.format(
                kind=kind, or_update_step="" if kind == "campaign" else " or 'prodstat update-step'"
            ),
        )
    try:
        text = data.decode("utf-8")
        loaded = yamlsafe.load(text)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(
            MSG_ATTACHMENT_NOT_YAML.format(filename=filename, key=key), HINT_ATTACHMENT_NOT_YAML
        ) from exc
    return text, loaded


MSG_DIFFERS_FROM_STORED = "{path} exists and differs from the {kind}.yaml of {key}"


def _fetch(
    kind: str,
    path: Path,
    given: str,
    key: str,
    text: str,
    data: dict[str, Any],
    name: str,
    force: bool,
    dry_run: bool,
) -> YamlFileResult:
    if path.is_dir():
        raise InputError(MSG_IS_DIRECTORY.format(path=given), HINT_IS_DIRECTORY.format(kind=kind))
    if path.exists():
        readable, existing = _load_existing(path)
        if readable and existing == data:
            return YamlFileResult(kind, FileAction.UNCHANGED, given, name, key, data)
        if not force:
            raise InputError(MSG_DIFFERS_FROM_STORED.format(path=given, kind=kind, key=key), HINT_FORCE)
    return _write_result(kind, path, given, name, key, text, data, dry_run)


def fetch_campaign_yaml(
    tracker: Tracker,
    campaign_issue: str,
    campaign_yaml: str,
    *,
    campaign_name: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    cwd: Path | None = None,
) -> YamlFileResult:
    """Write the ``campaign.yaml`` attached to ``campaign_issue`` to ``campaign_yaml``.

    ``campaign_name``, when given, must be the name of the stored campaign.

    Raises
    ------
    InputError
        Unknown issue, no (valid) ``campaign.yaml`` attachment, another campaign than
        ``campaign_name``, or an existing different file (without ``force``).
    """
    return _fetch_stored(
        tracker,
        campaign_issue,
        "--campaign_issue",
        "campaign",
        CAMPAIGN_ATTACHMENT,
        parse_campaign,
        campaign_name,
        campaign_yaml,
        force=force,
        dry_run=dry_run,
        cwd=cwd,
    )


def fetch_step_yaml(
    tracker: Tracker,
    step_issue: str,
    step_yaml: str,
    *,
    step_name: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    cwd: Path | None = None,
) -> YamlFileResult:
    """Write the ``step.yaml`` attached to ``step_issue`` to ``step_yaml``.

    ``step_name``, when given, must be the name of the stored step.

    Raises
    ------
    InputError
        Unknown issue, no (valid) ``step.yaml`` attachment, another step than
        ``step_name``, or an existing different file (without ``force``).
    """
    return _fetch_stored(
        tracker,
        step_issue,
        "--step_issue",
        "step",
        STEP_ATTACHMENT,
        parse_step,
        step_name,
        step_yaml,
        force=force,
        dry_run=dry_run,
        cwd=cwd,
    )


MSG_ISSUE_OF_OTHER = "{key} is the issue of {kind} {stored}, not of {kind} {name}"
HINT_ISSUE_OF_OTHER = "give {kind_upper}_NAME {stored}, or the issue of {kind} {name}"


def _fetch_stored(
    tracker: Tracker,
    issue: str,
    option: str,
    kind: str,
    attachment: str,
    parse: Callable[[Any, str], Any],
    wanted_name: str | None,
    target: str,
    *,
    force: bool,
    dry_run: bool,
    cwd: Path | None,
) -> YamlFileResult:
    """The body of `fetch_campaign_yaml` and `fetch_step_yaml`: read, check the name, write."""
    key = check_issue_key(issue, option)
    text, data = _stored_yaml(tracker, key, attachment, kind)
    stored = parse(data, f"the {attachment} of {key}").name
    name = (wanted_name or "").strip()
    if name and name != stored:
        raise InputError(
            MSG_ISSUE_OF_OTHER.format(key=key, kind=kind, stored=stored, name=name),
            HINT_ISSUE_OF_OTHER.format(kind_upper=kind.upper(), stored=stored, kind=kind, name=name),
        )
    return _fetch(kind, resolve_path(target, cwd), target, key, text, data, stored, force, dry_run)


MSG_STEP_NAME_EMPTY = "STEP_NAME is empty"
HINT_STEP_NAME_EMPTY = "give the step's name, e.g. step1"
MSG_NOT_STEP_YAML = "{path} exists and is not a step yaml"
MSG_HOLDS_OTHER_STEP = "{path} already holds step {found}, not {wanted}"
NOTE_KEPT_STEP_YAML = (
    "{path} already holds step {name}; kept it as it is (--force writes a new one over it; 'prodstat "
    "update-step' adds new bps yamls by itself)"
)
HINT_NO_CAMPAIGN_ISSUE = "give the campaign's issue, or leave off --campaign_issue"
HINT_CAMPAIGN_KIND = "give the campaign's own issue"


def create_step_template(
    tracker: Tracker,
    step_yaml: str,
    step_name: str,
    workflow_dir: str,
    *,
    campaign_issue: str | None = None,
    project: str,
    force: bool = False,
    dry_run: bool = False,
    cwd: Path | None = None,
) -> YamlFileResult:
    """Write a step yaml listing ``<workflow_dir>/<step_name>*.yaml`` and their issues.

    The tracker is used only to find the issues of submitted workflows and the
    campaign issue (pass a tracker that opens on first use, as the command line does, to
    avoid logging in when neither is needed).
    An existing file that already is a step yaml of this step is kept; any other
    existing file is refused, unless ``force``.

    Raises
    ------
    InputError
        Empty step name, ``workflow_dir`` not a directory, an existing other file, an
        unknown or wrong-kind campaign issue.
    """
    name = step_name.strip()
    if not name:
        raise InputError(MSG_STEP_NAME_EMPTY, HINT_STEP_NAME_EMPTY)
    path = resolve_path(step_yaml, cwd)
    if path.is_dir():
        raise InputError(MSG_IS_DIRECTORY.format(path=step_yaml), HINT_IS_DIRECTORY.format(kind="step"))
    if path.exists() and not force:
        readable, data = _load_existing(path)
        try:
            doc = parse_step(data, f"step yaml {step_yaml}") if readable else None
        except InputError:
            doc = None
        if doc is None:
            raise InputError(MSG_NOT_STEP_YAML.format(path=step_yaml), HINT_FORCE)
        if doc.name != name:
            raise InputError(
                MSG_HOLDS_OTHER_STEP.format(path=step_yaml, found=doc.name, wanted=name), HINT_FORCE
            )
        result = YamlFileResult(
            "step", FileAction.KEPT, step_yaml, name, "template", cast(dict[str, Any], data)
        )
        result.notes.append(NOTE_KEPT_STEP_YAML.format(path=step_yaml, name=name))
        return result
    base = resolve_path(workflow_dir, cwd)
    yamls = scan_workflow_base(base, name)
    key = optional_key(campaign_issue, "--campaign_issue")
    campaign_name = None
    if key:
        campaign = next(iter(tracker.search(keys=[key])), None)
        if campaign is None:
            raise IssueNotFoundError(key, tracker.name, HINT_NO_CAMPAIGN_ISSUE)
        check_kind(campaign, "campaign", "--campaign_issue", HINT_CAMPAIGN_KIND)
        campaign_name = campaign_name_from_summary(campaign.summary)
    workflows = find_workflow_issues(tracker, yamls, project=project)
    doc = StepDocument(
        name=name,
        workflow_base=str(base),
        campaign_issue=key,
        campaign_name=campaign_name,
        workflows=[
            WorkflowEntry(w.name, w.bps_yaml.name, str(base), w.issue.key if w.issue else None)
            for w in workflows
        ],
    )
    data = doc.to_dict()
    result = _write_result("step", path, step_yaml, name, "template", dump_yaml(data), data, dry_run)
    result.notes.extend(missing_issue_notes(name, workflow_results(workflows)))
    if not workflows:
        result.notes.append(NOTE_NO_BPS_YAMLS.format(step=name, base=base))
    return result


def run_create_campaign_yaml(
    tracker: Tracker,
    settings: Settings,
    *,
    campaign_name: str,
    campaign_yaml: str,
    campaign_issue: str | None = None,
    force: bool = False,
    dry_run: bool = False,
) -> YamlFileResult:
    """``create-campaign-yaml``: the template, or the campaign.yaml of ``campaign_issue``."""
    if campaign_issue:
        return fetch_campaign_yaml(
            tracker, campaign_issue, campaign_yaml, campaign_name=campaign_name, force=force, dry_run=dry_run
        )
    return create_campaign_template(campaign_name, campaign_yaml, force=force, dry_run=dry_run)


def run_create_step_yaml(
    tracker: Tracker,
    settings: Settings,
    *,
    step_yaml: str,
    step_name: str,
    workflow_dir: str,
    step_issue: str | None = None,
    campaign_issue: str | None = None,
    force: bool = False,
    dry_run: bool = False,
) -> YamlFileResult:
    """``create-step-yaml``: the step's bps yamls and their issues, or the step.yaml of ``step_issue``.

    ``tracker`` is used only when a workflow was submitted or a campaign issue is given
    (pass one that opens on first use: a template of unsubmitted yamls works offline).
    """
    if step_issue:
        return fetch_step_yaml(
            tracker, step_issue, step_yaml, step_name=step_name, force=force, dry_run=dry_run
        )
    return create_step_template(
        tracker,
        step_yaml,
        step_name,
        workflow_dir,
        campaign_issue=campaign_issue,
        project=settings.project,
        force=force,
        dry_run=dry_run,
    )
