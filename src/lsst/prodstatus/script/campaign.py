"""Campaign and step issues: ``create-campaign-yaml``, ``update-campaign``, ``create-step-yaml``,
``update-step``.

Each command first reads and validates every file it needs (`read_campaign_file`,
`read_step_file`: yaml shape, step names, ``workflow_base`` directories), then finds the
issues with one tracker search for the workflows (`find_workflow_issues`) and one for the
campaign and step issues, checks them (an issue found by its label must record this
campaign or step), and only then writes. So bad input writes nothing, and a re-run that
has nothing new writes nothing: descriptions are compared before updating, attachments
are compared by size and then, only when the size is equal, read back, and re-uploaded
only when their bytes changed; links are made only when missing.

No issue is left half-written (SPEC §2): a new issue is created with its summary,
labels and whole description; an existing one gets its attachments and links before
its description.

Functions return plain result dataclasses; the command modules print them.
"""

from __future__ import annotations

import copy
import functools
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import yaml

from ..core.campaign import (
    CAMPAIGN_ATTACHMENT,
    CAMPAIGN_SECTION,
    STEP_ATTACHMENT,
    STEP_SECTION,
    CampaignSpec,
    StepDocument,
    WorkflowEntry,
    campaign_document,
    campaign_label,
    campaign_name_from_summary,
    campaign_section_text,
    campaign_summary,
    campaign_template,
    dump_yaml,
    issue_kind,
    parse_campaign,
    parse_step,
    step_label,
    step_section_text,
    step_summary,
    updated_campaign_yaml,
    updated_step_yaml,
)
from ..core.markup import replace_sections
from ..errors import InputError, IssueNotFoundError
from ..services.tracker.base import Issue, Tracker, check_issue_key
from .discovery import StepWorkflow, find_workflow_issues, scan_workflow_base

__all__ = [
    "CampaignFile",
    "IssueResult",
    "StepFile",
    "UpdateCampaignResult",
    "UpdateStepResult",
    "WorkflowResult",
    "YamlFileResult",
    "create_campaign_template",
    "create_step_template",
    "fetch_campaign_yaml",
    "fetch_step_yaml",
    "lazy_tracker",
    "load_yaml_file",
    "read_campaign_file",
    "read_step_file",
    "update_campaign",
    "update_step",
    "write_text_atomically",
]

_FORCE_HINT = "give another file name, or --force to overwrite it"


# -- files ---------------------------------------------------------------------------------


def _resolve(path_text: str | Path, start: Path | None = None) -> Path:
    """Return ``path_text`` (``~`` expanded) as an absolute path, relative ones from ``start``."""
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = (start or Path.cwd()) / path
    return Path(os.path.normpath(path))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc)
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} (line {mark.line + 1})" if mark is not None else str(problem)


def load_yaml_file(given: str, what: str, hint: str, cwd: Path | None = None) -> tuple[Path, Any]:
    """Read a yaml file with the safe loader.

    Parameters
    ----------
    given : `str`
        The path as the user gave it (named in messages).
    what : `str`
        What the file is (``campaign yaml``), for messages.
    hint : `str`
        What to do when the file does not exist.
    cwd : `~pathlib.Path`, optional
        Directory relative paths start from (default: the current directory).

    Returns
    -------
    path, data : `~pathlib.Path`, `object`
        The absolute path and the loaded yaml.

    Raises
    ------
    InputError
        Missing, unreadable or not valid yaml.
    """
    path = _resolve(given, cwd)
    if not path.exists():
        raise InputError(f"{what} {given} not found (looked for {path})", hint)
    if not path.is_file():
        raise InputError(f"{what} {given} is not a file ({path})", hint)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {what} {given}: {exc}", "check the file and its permissions") from exc
    try:
        return path, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{what} {given} is not valid yaml: {_yaml_problem(exc)}", "fix the yaml") from exc


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    A reader (or a crash) sees either the old file or the complete new one; the file
    keeps its permissions.

    Raises
    ------
    InputError
        The directory does not exist or is not writable.
    """
    try:
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(
            f"cannot write {path}: {exc.strerror or exc}", "check that its directory exists and is writable"
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(
                f"cannot write {path}: {exc.strerror or exc}", "check the disk and permissions"
            ) from exc
        raise


def _check_key(key: str | None, what: str) -> str | None:
    return None if key is None else check_issue_key(key, what)


def lazy_tracker(factory: Callable[[], Tracker]) -> Tracker:
    """Return a tracker that is opened (for Jira: logged in) only when first used.

    ``create-step-yaml`` needs the tracker only when a workflow was submitted or a
    campaign issue is given; a template of unsubmitted yamls works offline.
    """

    class _Lazy:
        def __getattr__(self, name: str) -> Any:
            return getattr(factory(), name)

    return cast(Tracker, _Lazy())


# -- results -------------------------------------------------------------------------------


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
    action: str
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
            "action": self.action,
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


@dataclass
class UpdateCampaignResult:
    """What ``update-campaign`` did (or, with ``dry_run``, would do)."""

    campaign: IssueResult
    steps: list[IssueResult]
    campaign_yaml: str
    yaml_action: str
    """``saved``, ``unchanged`` or ``would save``."""
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (``--json``)."""
        return {
            "campaign": self.campaign.to_dict(),
            "steps": [s.to_dict() for s in self.steps],
            "campaign_yaml": self.campaign_yaml,
            "campaign_yaml_action": self.yaml_action,
            "dry_run": self.dry_run,
            "notes": list(self.notes),
        }


@dataclass
class UpdateStepResult:
    """What ``update-step`` did (or, with ``dry_run``, would do)."""

    step: IssueResult
    campaign_key: str | None
    campaign_name: str | None
    campaign_link: str | None
    """``linked``, ``already linked`` or ``would link``; `None` without a campaign."""
    step_yaml: str
    yaml_action: str
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (``--json``)."""
        return {
            "step": self.step.to_dict(),
            "campaign": {"issue": self.campaign_key, "name": self.campaign_name, "link": self.campaign_link},
            "step_yaml": self.step_yaml,
            "step_yaml_action": self.yaml_action,
            "dry_run": self.dry_run,
            "notes": list(self.notes),
        }


@dataclass
class YamlFileResult:
    """What ``create-campaign-yaml``/``create-step-yaml`` wrote."""

    kind: str
    """``campaign`` or ``step``."""
    action: str
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
            "action": self.action,
            "path": self.path,
            "name": self.name,
            "source": self.source,
            "content": self.data,
        }


# -- shared issue plumbing -----------------------------------------------------------------


def _key_number(issue: Issue) -> int:
    return int(issue.key.rsplit("-", 1)[1])


def _lowest(issues: Iterable[Issue]) -> Issue | None:
    ordered = sorted(issues, key=_key_number)
    return ordered[0] if ordered else None


def _check_kind(issue: Issue, expected: str, what: str, hint: str) -> None:
    """Refuse an issue that prodstat knows to be of another kind (a workflow as a step...)."""
    kind = issue_kind(issue.summary, issue.labels)
    if kind != "other" and kind != expected:
        raise InputError(
            f"{issue.key} ({what}) is a {kind} issue ({issue.summary}), not a {expected} issue", hint
        )


@dataclass
class _Applied:
    changed: bool = False
    attached: list[str] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)


def _same_attachment(tracker: Tracker, issue: Issue, name: str, data: bytes) -> bool:
    """Whether ``issue`` has attachment ``name`` holding ``data``.

    The size (from the search) is compared first; the bytes are read back only when it
    is equal, so an unchanged re-run reads no attachment of another size.
    """
    old = issue.attachment(name)
    return (
        old is not None
        and old.size == len(data)
        and tracker.read_attachment(issue.key, name, current=issue) == data
    )


def _attach_and_link(
    tracker: Tracker,
    issue: Issue | None,
    attachments: Sequence[tuple[str, bytes]],
    links: Sequence[str],
    applied: _Applied,
    dry_run: bool,
) -> None:
    """Upload the attachments that differ, then make the missing links (``issue`` → each key).

    An issue that does not exist yet (`None`, dry run only) would get everything.
    """
    if issue is None:
        applied.attached += [name for name, _ in attachments]
        applied.linked += [k for k in dict.fromkeys(links) if k not in applied.linked]
        applied.changed = True
        return
    for name, data in attachments:
        if _same_attachment(tracker, issue, name, data):
            continue
        applied.attached.append(name)
        applied.changed = True
        if not dry_run:
            tracker.attach(issue.key, name, data, current=issue)
    present = set(issue.linked_keys())
    for key in dict.fromkeys(links):
        if dry_run:
            made = key not in present
        else:
            made = tracker.link(issue.key, key, current=issue)
        if made:
            applied.linked.append(key)
            applied.changed = True


def _describe(
    tracker: Tracker,
    issue: Issue | None,
    *,
    summary: str,
    labels: Sequence[str],
    sections: Mapping[str, str],
    dry_run: bool,
) -> bool:
    """Bring the summary, labels and managed sections of ``issue`` up to date, in one write.

    Done last for an existing issue, after its attachments and links: a failure before
    leaves its description as it was. Returns whether anything differed.
    """
    if issue is None:
        return True
    description = replace_sections(issue.description, sections)
    if description == issue.description and summary == issue.summary and set(labels) <= set(issue.labels):
        return False
    if not dry_run:
        tracker.update_sections(issue.key, sections, summary=summary, add_labels=labels, current=issue)
    return True


def _in_order(names: Iterable[str], order: Sequence[tuple[str, bytes]]) -> list[str]:
    wanted = set(names)
    return [name for name, _ in order if name in wanted]


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


def _find_campaign_by_label(
    tracker: Tracker, found: Iterable[Issue], name: str, label: str, hint: Callable[[str, str], str]
) -> Issue | None:
    """Return the lowest issue labelled ``label`` that is campaign ``name``.

    Raises
    ------
    InputError
        Issues carry the label but none is this campaign (renamed: a label is never
        removed); ``hint(key, recorded_name)`` tells what to do.
    """
    candidates = sorted((i for i in found if label in i.labels), key=_key_number)
    first: tuple[Issue, str] | None = None
    for issue in candidates:
        recorded = _recorded_campaign(tracker, issue, name)
        if recorded is None:
            return issue
        first = first or (issue, recorded)
    if first is None:
        return None
    issue, recorded = first
    raise InputError(
        f"{issue.key}, found by its label {label}, is campaign {recorded}, not campaign {name}",
        hint(issue.key, recorded),
    )


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
    return f"step {name or '(no name)'} of campaign {of or '(none)'}"


def _step_rename_hint(how: str, key: str) -> str:
    return f"a renamed issue keeps its old label: {how} {key} to rename it, or use the names it has now"


def _find_step_by_label(
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
    first: tuple[Issue, str] | None = None
    for issue in sorted(candidates, key=_key_number):
        recorded = _recorded_step(tracker, issue, step, campaign, campaign_key)
        if recorded is None:
            return issue
        first = first or (issue, recorded)
    if first is None:
        return None
    issue, recorded = first
    raise InputError(
        f"{issue.key}, found by its label {label}, is {recorded}, not step {step} of campaign {campaign}",
        hint(issue.key),
    )


def _action(exists: bool, created: bool, changed: bool, dry_run: bool) -> str:
    if dry_run:
        return "would create" if not exists else ("would update" if changed else "unchanged")
    return "created" if created else ("updated" if changed else "unchanged")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read bps yaml {path}: {exc.strerror or exc}", "check the file") from exc


def _workflow_results(workflows: Sequence[StepWorkflow]) -> list[WorkflowResult]:
    return [
        WorkflowResult(w.name, str(w.bps_yaml), w.issue.key if w.issue else None, w.problem)
        for w in workflows
    ]


def _missing_issue_notes(step: str, workflows: Sequence[WorkflowResult]) -> list[str]:
    notes = []
    for wf in workflows:
        if wf.issue is not None:
            continue
        name = Path(wf.bps_yaml).name
        why = wf.problem or (
            f"no issue records its newest run; run 'prodstat update-issue {name} PRODUCTION_ISSUE DRP0' "
            "in its directory"
        )
        notes.append(f"step {step}: {name} has no workflow issue: {why}")
    return notes


def _urls(tracker: Tracker, keys: Iterable[str | None]) -> dict[str, str]:
    return {key: tracker.browse_url(key) for key in keys if key}


# -- update-campaign -----------------------------------------------------------------------


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
        f"write one with 'prodstat create-campaign-yaml NAME {campaign_yaml}' and edit it",
        cwd,
    )
    spec = parse_campaign(data, f"campaign yaml {campaign_yaml}", name=campaign_name)
    spec.issue = _check_key(spec.issue, f"issue in campaign yaml {campaign_yaml}")
    bases: list[Path] = []
    yamls: list[list[Path]] = []
    for step in spec.steps:
        step.issue_name = _check_key(step.issue_name, f"issue_name of step {step.name} in {campaign_yaml}")
        # campaign_issue is prodstat's to fill in; a stale or odd value is simply replaced.
        if not step.workflow_base:
            scan_workflow_base("", step.name)
        base = _resolve(step.workflow_base, path.parent)
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
    ServiceError
        The tracker failed.
    """
    spec = cfile.spec
    given = cfile.given
    notes: list[str] = []
    explicit = _check_key(campaign_issue, "--campaign_issue") or spec.issue
    if campaign_issue and spec.issue and explicit != spec.issue:
        notes.append(f"using --campaign_issue {explicit} instead of the issue {spec.issue} in {given}")

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
                "give an existing campaign issue, or leave off --campaign_issue to find or create it"
                if campaign_issue
                else f"set issue in {given} to the campaign's issue, or null to create one"
            )
            raise IssueNotFoundError(explicit, tracker.name, hint)
        _check_kind(
            campaign,
            "campaign",
            "--campaign_issue" if campaign_issue else f"issue in {given}",
            "give the campaign's own issue, or none to find or create it",
        )
        campaign_found_by = "--campaign_issue" if campaign_issue else "yaml"
    else:
        campaign = _find_campaign_by_label(
            tracker,
            found,
            spec.name,
            c_label,
            lambda key, recorded: (
                f"a renamed issue keeps its old label: set name in {given} to {recorded}, or give "
                f"--campaign_issue {key} to rename it to {spec.name}"
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
                    f"set issue_name of step {step.name} in {given} to the step's issue, or '' to create one",
                )
            _check_kind(issue, "step", what, "set it to the step's own issue, or '' to create one")
            if issue.key in owners:
                raise InputError(
                    f"{issue.key} ({what}) is already {owners[issue.key]}", "give each step its own issue"
                )
            step_found_by.append("yaml")
        else:
            issue = _find_step_by_label(
                tracker,
                (i for i in found if label in i.labels and i.key not in owners),
                step.name,
                spec.name,
                campaign.key if campaign else None,
                label,
                functools.partial(_step_rename_hint, f"set issue_name of step {step.name} in {given} to"),
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

    # Writes start here: every check above has passed. Each issue either keeps its
    # content or gets all of it: a new issue is created with its summary, labels and
    # description, then gets its attachments and links; an existing one gets its
    # attachments and links first and its description last. Steps come before the
    # campaign (as the original numbered them: steps DRP-489/490, campaign DRP-491).
    # A new campaign's key is known only once it exists: its steps are created without
    # it, and their step.yaml and description follow the campaign.
    created = [False] * len(spec.steps)
    campaign_created = False
    campaign_key = campaign.key if campaign else None
    defer = campaign is None and not dry_run
    step_keys = [i.key if i else None for i in step_issues]
    all_keys = [*step_keys, campaign_key, *(w.issue.key for ws in per_step for w in ws if w.issue)]
    urls = _urls(tracker, all_keys)

    def step_doc(n: int) -> StepDocument:
        step = spec.steps[n]
        return StepDocument(
            name=step.name,
            workflow_base=str(cfile.bases[n]),
            issue_name=step_keys[n],
            campaign_issue=campaign_key,
            campaign_name=spec.name,
            split_bands=step.split_bands,
            workflows=[
                WorkflowEntry(
                    w.name, w.bps_yaml.name, str(w.bps_yaml.parent), w.issue.key if w.issue else None
                )
                for w in per_step[n]
            ],
            extra=copy.deepcopy(step.extra),
        )

    def step_yaml(n: int) -> tuple[str, bytes]:
        return (STEP_ATTACHMENT, dump_yaml(step_doc(n).to_dict()).encode())

    step_applied = [_Applied() for _ in spec.steps]
    step_files: list[list[tuple[str, bytes]]] = []
    for n, step in enumerate(spec.steps):
        bps = [(w.bps_yaml.name, _read_bytes(w.bps_yaml)) for w in per_step[n]]
        step_files.append(bps)
        sections = {STEP_SECTION: step_section_text(step_doc(n), urls)}
        issue = step_issues[n]
        if issue is None and not dry_run:
            issue = step_issues[n] = tracker.create_issue(
                step_summary(step.name),
                replace_sections("", sections),
                labels=[s_labels[n]],
                project=project,
            )
            created[n] = True
            step_keys[n] = issue.key
            urls.update(_urls(tracker, [issue.key]))
        applied = step_applied[n]
        _attach_and_link(
            tracker,
            issue,
            bps if defer else [step_yaml(n), *bps],
            [w.issue.key for w in per_step[n] if w.issue],
            applied,
            dry_run,
        )
        if not defer and _describe(
            tracker,
            issue,
            summary=step_summary(step.name),
            labels=[s_labels[n]],
            sections=sections,
            dry_run=dry_run,
        ):
            applied.changed = True

    resolved = CampaignSpec(
        name=spec.name,
        issue=campaign_key,
        steps=[
            replace(
                step,
                workflow_base=str(base),
                issue_name=key,
                campaign_issue=campaign_key,
                extra=copy.deepcopy(step.extra),
            )
            for step, base, key in zip(spec.steps, cfile.bases, step_keys, strict=True)
        ],
    )
    campaign_sections = {CAMPAIGN_SECTION: campaign_section_text(resolved, urls)}
    if campaign is None and not dry_run:
        campaign = tracker.create_issue(
            campaign_summary(spec.name),
            replace_sections("", campaign_sections),
            labels=[c_label],
            project=project,
        )
        campaign_created = True
        campaign_key = campaign.key
        resolved.issue = campaign_key
        for step_spec in resolved.steps:
            step_spec.campaign_issue = campaign_key
        urls.update(_urls(tracker, [campaign_key]))
    campaign_files = [(CAMPAIGN_ATTACHMENT, dump_yaml(campaign_document(resolved)).encode())]
    campaign_applied = _Applied()
    _attach_and_link(
        tracker, campaign, campaign_files, [k for k in step_keys if k], campaign_applied, dry_run
    )
    if _describe(
        tracker,
        campaign,
        summary=campaign_summary(spec.name),
        labels=[c_label],
        sections=campaign_sections,
        dry_run=dry_run,
    ):
        campaign_applied.changed = True

    step_results: list[IssueResult] = []
    for n, step in enumerate(spec.steps):
        applied = step_applied[n]
        if defer:
            # The campaign exists now: the steps' step.yaml and description name it.
            _attach_and_link(tracker, step_issues[n], [step_yaml(n)], [], applied, dry_run)
            if _describe(
                tracker,
                step_issues[n],
                summary=step_summary(step.name),
                labels=[s_labels[n]],
                sections={STEP_SECTION: step_section_text(step_doc(n), urls)},
                dry_run=dry_run,
            ):
                applied.changed = True
        workflows = per_step[n]
        results = _workflow_results(workflows)
        notes.extend(_missing_issue_notes(step.name, results))
        if not workflows:
            notes.append(f"step {step.name}: no bps submit yamls {step.name}*.yaml in {cfile.bases[n]}")
        step_results.append(
            IssueResult(
                name=step.name,
                key=step_keys[n],
                action=_action(step_issues[n] is not None, created[n], applied.changed, dry_run),
                summary=step_summary(step.name),
                labels=[s_labels[n]],
                found_by=step_found_by[n],
                workflow_base=str(cfile.bases[n]),
                workflows=results,
                attached=_in_order(applied.attached, [step_yaml(n), *step_files[n]]),
                linked=applied.linked,
            )
        )

    campaign_result = IssueResult(
        name=spec.name,
        key=campaign_key,
        action=_action(campaign is not None, campaign_created, campaign_applied.changed, dry_run),
        summary=campaign_summary(spec.name),
        labels=[c_label],
        found_by=campaign_found_by,
        attached=campaign_applied.attached,
        linked=campaign_applied.linked,
    )

    # The user's file last: it records keys that now exist.
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
        would = new_raw != cfile.raw or campaign is None or None in step_keys
        yaml_action = "would save" if would else "unchanged"
    elif new_raw == cfile.raw:
        yaml_action = "unchanged"
    else:
        write_text_atomically(cfile.path, dump_yaml(new_raw))
        yaml_action = "saved"
    return UpdateCampaignResult(campaign_result, step_results, given, yaml_action, dry_run, notes)


# -- update-step ---------------------------------------------------------------------------


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
        f"write one with 'prodstat create-step-yaml {step_yaml} STEP_NAME WORKFLOW_DIR'",
        cwd,
    )
    doc = parse_step(data, f"step yaml {step_yaml}", name=step_name)
    doc.issue_name = _check_key(doc.issue_name, f"issue_name in step yaml {step_yaml}")
    doc.campaign_issue = _check_key(doc.campaign_issue, f"campaign_issue in step yaml {step_yaml}")
    for wf in doc.workflows:
        wf.issue_name = _check_key(
            wf.issue_name, f"issue_name of workflow {wf.name} in step yaml {step_yaml}"
        )
    base = _resolve(doc.workflow_base, path.parent)
    return StepFile(
        step_yaml, path, cast(dict[str, Any], data), doc, base, scan_workflow_base(base, doc.name)
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
    ServiceError
        The tracker failed.
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
        entry.bps_dir = str(_resolve(entry.bps_dir, sfile.path.parent))
    paths = [Path(e.bps_dir) / e.bps_name for e in entries]
    present = [p for p in paths if p.is_file()]
    discovered = {w.bps_yaml: w for w in find_workflow_issues(tracker, present, project=project)}

    explicit_step = _check_key(step_issue, "--step_issue") or doc.issue_name
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
        campaign = _find_campaign_by_label(
            tracker,
            found,
            campaign_name,
            label,
            lambda key, recorded: (
                f"a renamed issue keeps its old label: give --campaign_name {recorded}, or set "
                f"campaign_issue in {given} to {key}"
            ),
        )
        if campaign is None:
            raise InputError(
                f"no campaign issue for campaign {campaign_name} in the {tracker.name} tracker (label {label})",
                "create it with 'prodstat update-campaign CAMPAIGN_YAML', or check the name",
            )
    elif campaign_key:
        campaign = by_key.get(campaign_key)
        if campaign is None:
            raise IssueNotFoundError(
                campaign_key,
                tracker.name,
                f"set campaign_issue in {given} to the campaign's issue (or null), or give --campaign_name",
            )
        _check_kind(
            campaign, "campaign", f"campaign_issue in {given}", "give the campaign's own issue, or null"
        )
    if campaign is not None:
        known_campaign = campaign_name or campaign_name_from_summary(campaign.summary) or doc.campaign_name

    issue: Issue | None
    found_by: str | None = None
    if explicit_step:
        issue = by_key.get(explicit_step)
        what = "--step_issue" if step_issue else f"issue_name in {given}"
        if issue is None:
            hint = (
                "give an existing step issue, or leave off --step_issue to create one"
                if step_issue
                else f"set issue_name in {given} to the step's issue, or null to create one"
            )
            raise IssueNotFoundError(explicit_step, tracker.name, hint)
        _check_kind(issue, "step", what, "give the step's own issue, or none to create one")
        found_by = "--step_issue" if step_issue else "yaml"
    elif known_campaign:
        label = step_label(known_campaign, doc.name)
        if label not in labels:
            # The campaign's name came from its issue: look the step up under it now.
            found = tracker.search(labels=[label], project=project)
        issue = _find_step_by_label(
            tracker,
            (i for i in found if label in i.labels),
            doc.name,
            known_campaign,
            campaign.key if campaign else None,
            label,
            functools.partial(_step_rename_hint, "give --step_issue"),
        )
        found_by = "label" if issue else None
    else:
        issue = None
    if issue is not None and campaign is not None and issue.key == campaign.key:
        raise InputError(
            f"{issue.key} is both the step issue and the campaign issue of {given}",
            "give the step its own issue",
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
                    f"fix issue_name of workflow {entry.name} in {given}, or set it to null",
                )
            _check_kind(
                other,
                "workflow",
                f"issue_name of workflow {entry.name} in {given}",
                "give the workflow's issue",
            )

    # Writes start here.
    step_labels = [step_label(known_campaign, doc.name)] if known_campaign else []
    doc.workflows = entries
    doc.workflow_base = str(sfile.base)
    doc.campaign_issue = campaign.key if campaign else None
    doc.campaign_name = known_campaign
    urls = _urls(tracker, [doc.campaign_issue, *(e.issue_name for e in entries)])
    sections = {STEP_SECTION: step_section_text(doc, urls)}
    results = [
        WorkflowResult(
            e.name,
            str(p),
            e.issue_name,
            (discovered[p].problem if p in discovered else f"bps yaml {p} not found"),
        )
        for e, p in zip(entries, paths, strict=True)
    ]
    for res in results:
        if res.issue is not None:
            res.problem = None
    notes.extend(_missing_issue_notes(doc.name, results))

    # A new issue is created with its summary, labels and description, then gets its
    # attachments and links; an existing one gets those first and its description last.
    created = False
    if issue is None and not dry_run:
        issue = tracker.create_issue(
            step_summary(doc.name), replace_sections("", sections), labels=step_labels, project=project
        )
        created = True
    doc.issue_name = issue.key if issue else None
    attachments = [(STEP_ATTACHMENT, dump_yaml(doc.to_dict()).encode())]
    attachments += [(p.name, _read_bytes(p)) for p in paths if p.is_file()]
    applied = _Applied()
    _attach_and_link(
        tracker, issue, attachments, [e.issue_name for e in entries if e.issue_name], applied, dry_run
    )
    campaign_link: str | None = None
    if campaign is not None:
        if dry_run:
            linked = issue is not None and campaign.key in issue.linked_keys()
            campaign_link = "already linked" if linked else "would link"
        else:
            assert issue is not None
            made = tracker.link(campaign.key, issue.key, current=campaign)
            campaign_link = "linked" if made else "already linked"
    else:
        notes.append(
            f"step {doc.name} belongs to no campaign; give --campaign_name or campaign_issue in {given} to link it"
        )
    if _describe(
        tracker, issue, summary=step_summary(doc.name), labels=step_labels, sections=sections, dry_run=dry_run
    ):
        applied.changed = True
    changed = applied.changed or campaign_link in ("linked", "would link")
    step_result = IssueResult(
        name=doc.name,
        key=doc.issue_name,
        action=_action(issue is not None, created, changed, dry_run),
        summary=step_summary(doc.name),
        labels=step_labels,
        found_by=found_by,
        workflow_base=doc.workflow_base,
        workflows=results,
        attached=applied.attached,
        linked=applied.linked,
    )

    new_raw = updated_step_yaml(sfile.raw, doc)
    if dry_run:
        yaml_action = "would save" if new_raw != sfile.raw or issue is None else "unchanged"
    elif new_raw == sfile.raw:
        yaml_action = "unchanged"
    else:
        write_text_atomically(sfile.path, dump_yaml(new_raw))
        yaml_action = "saved"
    return UpdateStepResult(
        step_result,
        doc.campaign_issue,
        doc.campaign_name,
        campaign_link,
        given,
        yaml_action,
        dry_run,
        notes,
    )


def _issue_of(discovered: Mapping[Path, StepWorkflow], path: Path) -> str | None:
    workflow = discovered.get(path)
    return workflow.issue.key if workflow is not None and workflow.issue is not None else None


# -- create-campaign-yaml / create-step-yaml -------------------------------------------------


def _write_result(
    kind: str, path: Path, given: str, name: str, source: str, text: str, data: dict[str, Any], dry_run: bool
) -> YamlFileResult:
    if dry_run:
        return YamlFileResult(kind, "would write", given, name, source, data)
    write_text_atomically(path, text)
    return YamlFileResult(kind, "wrote", given, name, source, data)


def _load_existing(path: Path) -> tuple[bool, Any]:
    """Return (readable, data) of an existing file; unreadable or not yaml → (False, None)."""
    try:
        return True, yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False, None


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
        raise InputError("CAMPAIGN_NAME is empty", "give the campaign's name, e.g. step12test")
    path = _resolve(campaign_yaml, cwd)
    template = campaign_template(name)
    if path.is_dir():
        raise InputError(f"{campaign_yaml} is a directory", "give a file name for the campaign yaml")
    if path.exists() and not force:
        readable, data = _load_existing(path)
        try:
            spec = parse_campaign(data, f"campaign yaml {campaign_yaml}") if readable else None
        except InputError:
            spec = None
        if spec is None:
            raise InputError(f"{campaign_yaml} exists and is not a campaign yaml", _FORCE_HINT)
        if spec.name != name:
            raise InputError(f"{campaign_yaml} already holds campaign {spec.name}, not {name}", _FORCE_HINT)
        result = YamlFileResult(
            "campaign", "kept", campaign_yaml, name, "template", cast(dict[str, Any], data)
        )
        result.notes.append(
            f"{campaign_yaml} already holds campaign {name} "
            f"({len(spec.steps)} step{'' if len(spec.steps) == 1 else 's'}); kept it as it is "
            "(--force writes a new template over it)"
        )
        return result
    result = _write_result(
        "campaign", path, campaign_yaml, name, "template", dump_yaml(template), template, dry_run
    )
    result.notes.append(
        "next: set workflow_base of each step to the directory holding its bps submit yamls, remove the "
        f"steps you do not run, then run 'prodstat update-campaign {campaign_yaml}'"
    )
    return result


def _stored_yaml(tracker: Tracker, key: str, filename: str, kind: str) -> tuple[str, dict[str, Any]]:
    data = tracker.read_attachment(key, filename)
    if data is None:
        raise InputError(
            f"issue {key} has no {filename} attachment",
            f"give a {kind} issue written by 'prodstat update-campaign'"
            + ("" if kind == "campaign" else " or 'prodstat update-step'"),
        )
    try:
        text = data.decode("utf-8")
        loaded = yaml.safe_load(text)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(
            f"the {filename} attachment of {key} is not valid yaml", "re-run 'prodstat update-campaign'"
        ) from exc
    return text, loaded


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
        raise InputError(f"{given} is a directory", f"give a file name for the {kind} yaml")
    if path.exists():
        readable, existing = _load_existing(path)
        if readable and existing == data:
            return YamlFileResult(kind, "unchanged", given, name, key, data)
        if not force:
            raise InputError(f"{given} exists and differs from the {kind}.yaml of {key}", _FORCE_HINT)
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
            f"{key} is the issue of {kind} {stored}, not of {kind} {name}",
            f"give {kind.upper()}_NAME {stored}, or the issue of {kind} {name}",
        )
    return _fetch(kind, _resolve(target, cwd), target, key, text, data, stored, force, dry_run)


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
    campaign issue (pass a `lazy_tracker` to avoid logging in when neither is needed).
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
        raise InputError("STEP_NAME is empty", "give the step's name, e.g. step1")
    path = _resolve(step_yaml, cwd)
    if path.is_dir():
        raise InputError(f"{step_yaml} is a directory", "give a file name for the step yaml")
    if path.exists() and not force:
        readable, data = _load_existing(path)
        try:
            doc = parse_step(data, f"step yaml {step_yaml}") if readable else None
        except InputError:
            doc = None
        if doc is None:
            raise InputError(f"{step_yaml} exists and is not a step yaml", _FORCE_HINT)
        if doc.name != name:
            raise InputError(f"{step_yaml} already holds step {doc.name}, not {name}", _FORCE_HINT)
        result = YamlFileResult("step", "kept", step_yaml, name, "template", cast(dict[str, Any], data))
        result.notes.append(
            f"{step_yaml} already holds step {name}; kept it as it is (--force writes a new one over it; "
            "'prodstat update-step' adds new bps yamls by itself)"
        )
        return result
    base = _resolve(workflow_dir, cwd)
    yamls = scan_workflow_base(base, name)
    key = _check_key(campaign_issue, "--campaign_issue")
    campaign_name = None
    if key:
        campaign = next(iter(tracker.search(keys=[key])), None)
        if campaign is None:
            raise IssueNotFoundError(
                key, tracker.name, "give the campaign's issue, or leave off --campaign_issue"
            )
        _check_kind(campaign, "campaign", "--campaign_issue", "give the campaign's own issue")
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
    result.notes.extend(_missing_issue_notes(name, _workflow_results(workflows)))
    if not workflows:
        result.notes.append(f"step {name}: no bps submit yamls {name}*.yaml in {base}")
    return result
