"""``map-drp-steps``: the step or campaign table of a hand-written map, or of ``--auto``.

Nothing is written before every key has been found and every kind checked. The table,
the map yaml (and the full table when it is too long for the description) and the links
to every mapped issue are one plan (`~lsst.prodstatus.core.plan.IssuePlan`), applied by
the executor (`lsst.prodstatus.script.apply`) in this order: the attachments, the links,
then the section, last, since it refers to the attached map. On the local tracker that
is one transaction; on Jira a failure part way never leaves the table ahead of the rest,
and a re-run completes it.

Tracker round trips (Jira), hand-written step map of W workflows: one search for the
issue and all W workflows, one upload of the map yaml (plus reading the old one back
when one of that name and size exists), one request per new link (Jira has no bulk link
call; none when update-campaign linked them already), and one write of the section. A
re-run that changes nothing reads the search and the attachment and writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from ..config import Settings
from ..core import yamlsafe
from ..core.bps import parse_data_range, parse_summary
from ..core.maps import (
    CAMPAIGN_HEADER,
    CAMPAIGN_SECTION,
    STEP_HEADER,
    STEP_SECTION,
    Rollup,
    campaign_row,
    format_core_hours,
    kind_phrase,
    map_table,
    parse_campaign_map,
    parse_step_map,
    roll_up,
    status_colour,
    status_counts,
    step_row,
)
from ..core.markup import DamagedSectionError, fit_table
from ..core.plan import SELF, Action, IssuePlan, PlannedAttachment, PlannedLink
from ..errors import InputError, UsageError, yaml_reason
from ..services.tracker.base import Issue, Tracker, check_issue_key
from .batch import Batch, run_batch
from .tree import campaign_steps, fetch_issues, kind_of, step_members, workflow_facts

__all__ = [
    "AUTO_TAKES_NO_ARGUMENTS",
    "HINT_AUTO_KIND",
    "HINT_CAMPAIGN_MAP_VALUES",
    "HINT_CANNOT_READ_MAP",
    "HINT_MAPS_ITSELF",
    "HINT_MAP_DUPLICATE_KEY",
    "HINT_MAP_NOT_YAML",
    "HINT_STEP_MAP_VALUES",
    "HINT_TARGET_NOT_CAMPAIGN",
    "HINT_TARGET_NOT_STEP",
    "MISSING_MAP_ARGUMENT",
    "MSG_AUTO_KIND",
    "MSG_CANNOT_READ_MAP",
    "MSG_MAPS_ITSELF",
    "MSG_MAP_DUPLICATE_KEY",
    "MSG_MAP_NOT_YAML",
    "MSG_MAP_VALUES_KIND",
    "MSG_TARGET_KIND",
    "NOTE_LEFT_OUT",
    "NOTE_NOT_RECORDED",
    "NOTE_NO_TIMESTAMP",
    "NOTE_NO_YAMLS",
    "NOTE_TABLE_ATTACHED",
    "AttachmentAction",
    "MapResult",
    "map_auto",
    "map_from_yaml",
    "run_map_drp_steps",
]

MAP_TAG = "map"


class AttachmentAction(StrEnum):
    """What happened to the map yaml attachment."""

    ATTACHED = "attached"
    UNCHANGED = "unchanged"
    WOULD_ATTACH = "would attach"


@dataclass
class MapResult:
    """What ``map-drp-steps`` wrote (or, with ``dry_run``, would write)."""

    kind: str
    """``step`` or ``campaign``."""
    issue: str
    section: str
    table: str
    rows: list[dict[str, Any]]
    action: Action = Action.UNCHANGED
    """What happened to the section: ``updated``, ``unchanged`` or ``would update``."""
    source: str = ""
    """The map yaml's path, or ``auto``."""
    attachment: str | None = None
    attachment_action: AttachmentAction | None = None
    """``attached``, ``unchanged`` or ``would attach``."""
    linked: list[str] = field(default_factory=list)
    """Issues newly linked from ``issue`` (or that would be)."""
    table_attachment: str | None = None
    """Attachment holding the full table when it is too long for the description."""
    notes: list[str] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    """The writes, in words (``--dry-run``)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``--json``)."""
        return {
            "action": str(self.action),
            "issue": self.issue,
            "kind": self.kind,
            "source": self.source,
            "section": self.section,
            "table": self.table,
            "rows": self.rows,
            "attachment": self.attachment,
            "attachment_action": None if self.attachment_action is None else str(self.attachment_action),
            "linked": self.linked,
            "table_attachment": self.table_attachment,
            "notes": self.notes,
            "plan": self.plan,
        }


# -- reading ----------------------------------------------------------------------------------


class _DuplicateKeyError(yaml.YAMLError):
    def __init__(self, key: object, line: int) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key, self.line = key, line


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader that refuses a mapping key given twice (PyYAML keeps the last silently).

    libyaml's parser when PyYAML has it: the pure-Python one takes 40 s over a 50 MB file.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: SafeLoader reports it itself
                continue
            if duplicate:
                raise _DuplicateKeyError(key, key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep)


MSG_CANNOT_READ_MAP = "cannot read map yaml {path}: {reason}"
HINT_CANNOT_READ_MAP = "give the path of the map yaml"
MSG_MAP_DUPLICATE_KEY = (
    "map yaml {path} has the key {key} twice (again at line {line}); YAML would keep only the last one"
)
HINT_MAP_DUPLICATE_KEY = "give each key once"
MSG_MAP_NOT_YAML = "map yaml {path} is not valid YAML {reason}"
HINT_MAP_NOT_YAML = "fix the file"


def _read_map(path: Path) -> tuple[bytes, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            MSG_CANNOT_READ_MAP.format(path=path, reason=exc.strerror or exc), HINT_CANNOT_READ_MAP
        ) from exc
    try:
        return data, yamlsafe.load(data, _UniqueKeyLoader)  # a SafeLoader subclass
    except _DuplicateKeyError as exc:
        raise InputError(
            MSG_MAP_DUPLICATE_KEY.format(path=path, key=exc.key, line=exc.line),
            HINT_MAP_DUPLICATE_KEY,
        ) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(
            MSG_MAP_NOT_YAML.format(path=path, reason=yaml_reason(exc)), HINT_MAP_NOT_YAML
        ) from exc


HINT_TARGET_NOT_CAMPAIGN = (
    "CAMPAIGN_FLAG 1 writes a campaign table into the campaign issue update-campaign created (a step "
    "table: CAMPAIGN_FLAG 0 and a step issue)"
)
HINT_TARGET_NOT_STEP = (
    "CAMPAIGN_FLAG 0 writes a step table into a step issue update-campaign created (a campaign table: "
    "CAMPAIGN_FLAG 1 and the campaign issue)"
)
MSG_TARGET_KIND = "{key} is {kind} ({summary}), not a {wanted} issue"


def _check_target(issue: Issue, campaign: bool) -> None:
    """ISSUE must be a step issue (CAMPAIGN_FLAG 0) or a campaign issue (1)."""
    wanted = "campaign" if campaign else "step"
    kind = kind_of(issue)
    if kind == wanted:
        return
    if campaign:
        fix = HINT_TARGET_NOT_CAMPAIGN
    else:
        fix = HINT_TARGET_NOT_STEP
    raise InputError(
        MSG_TARGET_KIND.format(key=issue.key, kind=kind_phrase(kind), summary=issue.summary, wanted=wanted),
        fix,
    )


MSG_MAP_VALUES_KIND = "{source}: issues that are not {wanted} issues: {bad}; nothing was written"
HINT_CAMPAIGN_MAP_VALUES = "a campaign map maps each step to its step issue"
HINT_STEP_MAP_VALUES = "a step map maps each bps yaml to its workflow issue"


def _check_values(
    found: dict[str, Issue], named: Sequence[tuple[str, str]], source: str, campaign: bool
) -> None:
    """Every issue of a step map must be a workflow issue, of a campaign map a step issue (all listed)."""
    wanted = "step" if campaign else "workflow"
    bad = [
        f"{name}: {key} ({kind_phrase(kind_of(found[key]))})"
        for name, key in named
        if kind_of(found[key]) != wanted
    ]
    if bad:
        raise InputError(
            MSG_MAP_VALUES_KIND.format(source=source, wanted=wanted, bad="; ".join(bad)),
            HINT_CAMPAIGN_MAP_VALUES if campaign else HINT_STEP_MAP_VALUES,
        )


# -- rows -------------------------------------------------------------------------------------


def _step_row(tracker: Tracker, bps_yaml: str, issue: Issue) -> tuple[str, dict[str, Any]]:
    counts = status_counts(issue.description)
    hilow = parse_data_range(issue.description)
    parsed = parse_summary(issue.summary)
    timestamp = parsed[2] if parsed else ""
    url = tracker.browse_url(issue.key)
    row = {
        "bps_yaml": bps_yaml,
        "issue": issue.key,
        "url": url,
        "status": list(counts),
        "colour": status_colour(counts),
        "descrip": hilow,
        "timestamp": timestamp,
    }
    return step_row(bps_yaml, issue.key, url, counts, hilow, timestamp), row


def _campaign_row(
    tracker: Tracker,
    step: str,
    key: str,
    values: Sequence[str],
    rollup: Rollup | None = None,
) -> tuple[str, dict[str, Any]]:
    url = tracker.browse_url(key)
    start, end, core_hr, status = values
    row: dict[str, Any] = {
        "step": step,
        "issue": key,
        "url": url,
        "start": start,
        "end": end,
        "core_hr": core_hr,
        "status": status,
    }
    if rollup is not None:
        row["rollup"] = rollup.to_dict()
    return campaign_row(step, key, url, start, end, core_hr, status), row


# -- writing ----------------------------------------------------------------------------------


NOTE_TABLE_ATTACHED = (
    "the table is too long for the description: its first rows are shown, the full table is attached "
    "as {attachment}"
)


def _write(
    tracker: Tracker,
    result: MapResult,
    target: Issue,
    link_to: Sequence[str],
    attachment: tuple[str, bytes] | None,
    dry_run: bool,
) -> MapResult:
    """Plan the section, attachments and links of ``target``, then apply the plan (or preview it)."""
    text, full = fit_table(target.description, result.section, result.table)
    uploads: list[PlannedAttachment] = []
    if full is not None:
        result.table_attachment = f"{result.section}.txt"
        result.notes.append(NOTE_TABLE_ATTACHED.format(attachment=result.table_attachment))
        uploads.append(PlannedAttachment(result.table_attachment, full))
    if attachment is not None:
        result.attachment = attachment[0]
        uploads.append(PlannedAttachment(*attachment))
    plan = IssuePlan(
        f"{result.kind} issue",
        target.key,
        sections={result.section: text},
        attachments=uploads,
        links=[PlannedLink(SELF, key) for key in dict.fromkeys(link_to) if key != target.key],
        # The section names the attached map (and the attached full table).
        description_last=True,
        name=MAP_TAG,
        # Operators map a step from one place and the command takes a second: no read-back
        # for concurrent runs of the same map and no re-read before the description (keeps
        # map-drp-steps within its 5-request budget); the map yaml is replaced by name.
        settle=False,
        reread=False,
    )
    # The action is the section's (the map's attachment and links are reported apart); known
    # before applying, which brings ``target`` up to date.
    try:
        section_changed = plan.new_description(target.description) != target.description
    except DamagedSectionError as exc:
        raise exc.for_issue(target.key) from None
    batch = Batch(known=[target], existing={MAP_TAG: target.key})
    batch.add(MAP_TAG, plan)
    outcome = run_batch(tracker, batch, dry_run=dry_run)
    writes = outcome.writes[MAP_TAG]
    if not section_changed:
        result.action = Action.UNCHANGED
    else:
        result.action = Action.WOULD_UPDATE if dry_run else Action.UPDATED
    result.linked = list(writes.linked)
    result.plan = outcome.lines
    if attachment is not None:
        if attachment[0] not in writes.attached:
            result.attachment_action = AttachmentAction.UNCHANGED
        else:
            result.attachment_action = AttachmentAction.WOULD_ATTACH if dry_run else AttachmentAction.ATTACHED
    return result


# -- map-drp-steps MAP_YAML ISSUE CAMPAIGN_FLAG -------------------------------------------------


MSG_MAPS_ITSELF = "{source} maps {key} to itself"
HINT_MAPS_ITSELF = "{key} is the issue the table is written into"
NOTE_NO_TIMESTAMP = (
    "{key} ({bps_yaml}) has no bps timestamp in its summary {summary!r}: its timestamp cell is empty"
)


def map_from_yaml(
    tracker: Tracker, map_yaml: str | Path, issue: str, campaign: bool, *, dry_run: bool = False
) -> MapResult:
    """Write the step (``campaign`` false) or campaign table of a hand-written map into ``issue``.

    Raises
    ------
    InputError
        Unreadable or malformed map (a key given twice, an issue under two names),
        unknown keys (all listed), ``issue`` not a step issue (``campaign`` false) or not
        a campaign issue, mapped issues not workflow issues (step map) or not step issues
        (campaign map), ``issue`` mapped to itself; nothing is written then.
    ServiceError
        The tracker failed.
    """
    path = Path(map_yaml)
    raw, data = _read_map(path)
    key = check_issue_key(issue, "issue key (ISSUE)")
    source = str(map_yaml)
    if campaign:
        centries = parse_campaign_map(data, source)
        mapped = [e.key for e in centries]
    else:
        sentries = parse_step_map(data, source)
        mapped = [e.key for e in sentries]
    if key in mapped:
        raise InputError(MSG_MAPS_ITSELF.format(source=source, key=key), HINT_MAPS_ITSELF.format(key=key))
    where = {key: "ISSUE", **{k: source for k in mapped if k != key}}
    found = fetch_issues(tracker, [key, *mapped], where)
    target = found[key]
    _check_target(target, campaign)
    if campaign:
        _check_values(found, [(e.step, e.key) for e in centries], source, True)
    else:
        _check_values(found, [(e.bps_yaml, e.key) for e in sentries], source, False)
    lines: list[str] = []
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    if campaign:
        for centry in centries:
            values = (centry.start, centry.end, centry.core_hr, centry.status)
            line, row = _campaign_row(tracker, centry.step, centry.key, values)
            lines.append(line)
            rows.append(row)
        header, section = CAMPAIGN_HEADER, CAMPAIGN_SECTION
    else:
        for sentry in sentries:
            workflow = found[sentry.key]
            line, row = _step_row(tracker, sentry.bps_yaml, workflow)
            if not row["timestamp"]:
                notes.append(
                    NOTE_NO_TIMESTAMP.format(
                        key=workflow.key, bps_yaml=sentry.bps_yaml, summary=workflow.summary
                    )
                )
            lines.append(line)
            rows.append(row)
        header, section = STEP_HEADER, STEP_SECTION
    result = MapResult(
        "campaign" if campaign else "step",
        key,
        section,
        map_table(header, lines),
        rows,
        source=source,
        notes=notes,
    )
    return _write(tracker, result, target, mapped, (path.name, raw), dry_run)


# -- map-drp-steps --auto KEY ---------------------------------------------------------------------


MSG_AUTO_KIND = "{key} is {kind} ({summary}), not a step or campaign issue"
HINT_AUTO_KIND = "--auto KEY takes a step or campaign issue that update-campaign created"


def map_auto(
    tracker: Tracker, key: str, *, project: str | None = None, home: Path | None = None, dry_run: bool = False
) -> MapResult:
    """Build the step or campaign table of ``key`` from what the tracker and disk know.

    A step issue: its workflows by the rules of `~lsst.prodstatus.script.tree.step_members` (the newest run of each
    bps yaml of its ``workflow_base`` when that is on this machine; else its
    ``step.yaml``'s ``issue_name`` values; else its links). A campaign issue: its steps
    (``campaign.yaml``, else its links), and per step start, end, core-hours and status
    rolled up from the statistics of the step's workflows (see `~lsst.prodstatus.core.maps.roll_up`).

    Raises
    ------
    InputError
        ``key`` is neither a step nor a campaign issue, or its yaml is unusable.
    """
    key = check_issue_key(key, "issue key (--auto KEY)")
    issue = tracker.get_issue(key)
    kind = kind_of(issue)
    if kind == "step":
        return _auto_step(tracker, issue, project, dry_run)
    if kind == "campaign":
        return _auto_campaign(tracker, issue, project, home, dry_run)
    raise InputError(
        MSG_AUTO_KIND.format(key=key, kind=kind_phrase(kind), summary=issue.summary),
        HINT_AUTO_KIND,
    )


NOTE_NOT_RECORDED = "no issue records its run yet (run update-issue for it)"
NOTE_LEFT_OUT = "{name}: left out of the table: {why}"
NOTE_NO_YAMLS = "no {step}*.yaml in workflow_base {workflow_base}: the table is empty"


def _auto_step(tracker: Tracker, issue: Issue, project: str | None, dry_run: bool) -> MapResult:
    notes: list[str] = []
    member = step_members(tracker, [issue], project, notes, strict=True)[issue.key]
    for found in member.discovered:
        if found.issue is None:
            why = found.problem or NOTE_NOT_RECORDED
            notes.append(NOTE_LEFT_OUT.format(name=found.name, why=why))
    if member.source == "discovery" and not member.discovered:
        assert member.spec is not None
        notes.append(
            NOTE_NO_YAMLS.format(step=member.spec.get("name"), workflow_base=member.spec.get("workflow_base"))
        )
    lines: list[str] = []
    rows: list[dict[str, Any]] = []
    for name, workflow in member.workflows:
        line, row = _step_row(tracker, name, workflow)
        lines.append(line)
        rows.append(row)
    result = MapResult(
        "step", issue.key, STEP_SECTION, map_table(STEP_HEADER, lines), rows, source="auto", notes=notes
    )
    return _write(tracker, result, issue, [w.key for _, w in member.workflows], None, dry_run)


def _auto_campaign(
    tracker: Tracker, issue: Issue, project: str | None, home: Path | None, dry_run: bool
) -> MapResult:
    notes: list[str] = []
    steps = campaign_steps(tracker, issue, notes)
    members = step_members(tracker, [s for _, s in steps], project, notes)
    lines: list[str] = []
    rows: list[dict[str, Any]] = []
    for name, step in steps:
        workflows = [w for _, w in members[step.key].workflows]
        rollup = roll_up(workflow_facts(w, home) for w in workflows)
        values = (
            rollup.start.isoformat() if rollup.start else "",
            rollup.end.isoformat() if rollup.end else "",
            format_core_hours(rollup.core_hours),
            rollup.status,
        )
        line, row = _campaign_row(tracker, name, step.key, values, rollup)
        row["workflows"] = [w.key for w in workflows]
        lines.append(line)
        rows.append(row)
    result = MapResult(
        "campaign",
        issue.key,
        CAMPAIGN_SECTION,
        map_table(CAMPAIGN_HEADER, lines),
        rows,
        source="auto",
        notes=notes,
    )
    return _write(tracker, result, issue, [s.key for _, s in steps], None, dry_run)


AUTO_TAKES_NO_ARGUMENTS = "--auto KEY takes no {given}"
"""Usage error (exit 2): ``--auto`` with some of MAP_YAML ISSUE CAMPAIGN_FLAG."""
MISSING_MAP_ARGUMENT = "Missing argument '{name}' (or use --auto KEY)."
"""Usage error (exit 2): neither ``--auto`` nor all three arguments."""


def run_map_drp_steps(
    tracker: Tracker,
    settings: Settings,
    *,
    map_yaml: str | None = None,
    issue: str | None = None,
    campaign_flag: int | None = None,
    auto_key: str | None = None,
    dry_run: bool = False,
) -> MapResult:
    """``map-drp-steps``: `map_from_yaml` with MAP_YAML ISSUE CAMPAIGN_FLAG, or `map_auto` with ``--auto``.

    Raises
    ------
    UsageError
        ``--auto`` given with any of the three, or, without it, one of them missing (exit 2).
    """
    named = {"MAP_YAML": map_yaml, "ISSUE": issue, "CAMPAIGN_FLAG": campaign_flag}
    given = [name for name, value in named.items() if value is not None]
    if auto_key is not None:
        if given:
            raise UsageError(AUTO_TAKES_NO_ARGUMENTS.format(given=", ".join(given)))
        return map_auto(tracker, auto_key, project=settings.project, home=settings.home, dry_run=dry_run)
    for name in named:
        if name not in given:
            raise UsageError(MISSING_MAP_ARGUMENT.format(name=name))
    assert map_yaml is not None and issue is not None and campaign_flag is not None
    return map_from_yaml(tracker, map_yaml, issue, campaign_flag == 1, dry_run=dry_run)
