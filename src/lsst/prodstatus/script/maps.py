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
from ..errors import InputError, yaml_reason
from ..services.tracker.base import Issue, Tracker, check_issue_key
from .batch import Batch, run_batch
from .tree import campaign_steps, fetch_issues, kind_of, step_members, workflow_facts

__all__ = ["AttachmentAction", "MapResult", "map_auto", "map_from_yaml"]

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


def _read_map(path: Path) -> tuple[bytes, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read map yaml {path}: {exc.strerror or exc}", "give the path of the map yaml"
        ) from exc
    try:
        return data, yamlsafe.load(data, _UniqueKeyLoader)  # a SafeLoader subclass
    except _DuplicateKeyError as exc:
        raise InputError(
            f"map yaml {path} has the key {exc.key} twice (again at line {exc.line}); "
            "YAML would keep only the last one",
            "give each key once",
        ) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"map yaml {path} is not valid YAML {yaml_reason(exc)}", "fix the file") from exc


def _check_target(issue: Issue, campaign: bool) -> None:
    """ISSUE must be a step issue (CAMPAIGN_FLAG 0) or a campaign issue (1)."""
    wanted = "campaign" if campaign else "step"
    kind = kind_of(issue)
    if kind == wanted:
        return
    if campaign:
        fix = (
            "CAMPAIGN_FLAG 1 writes a campaign table into the campaign issue update-campaign created "
            "(a step table: CAMPAIGN_FLAG 0 and a step issue)"
        )
    else:
        fix = (
            "CAMPAIGN_FLAG 0 writes a step table into a step issue update-campaign created "
            "(a campaign table: CAMPAIGN_FLAG 1 and the campaign issue)"
        )
    raise InputError(f"{issue.key} is {kind_phrase(kind)} ({issue.summary}), not a {wanted} issue", fix)


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
        what = "campaign map" if campaign else "step map"
        raise InputError(
            f"{source}: issues that are not {wanted} issues: {'; '.join(bad)}; nothing was written",
            f"a {what} maps each {'step to its step issue' if campaign else 'bps yaml to its workflow issue'}",
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
        result.notes.append(
            f"the table is too long for the description: its first rows are shown, "
            f"the full table is attached as {result.table_attachment}"
        )
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
        raise InputError(f"{source} maps {key} to itself", f"{key} is the issue the table is written into")
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
                    f"{workflow.key} ({sentry.bps_yaml}) has no bps timestamp in its summary "
                    f"{workflow.summary!r}: its timestamp cell is empty"
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
        f"{key} is {kind_phrase(kind)} ({issue.summary}), not a step or campaign issue",
        "--auto KEY takes a step or campaign issue that update-campaign created",
    )


def _auto_step(tracker: Tracker, issue: Issue, project: str | None, dry_run: bool) -> MapResult:
    notes: list[str] = []
    member = step_members(tracker, [issue], project, notes, strict=True)[issue.key]
    for found in member.discovered:
        if found.issue is None:
            why = found.problem or "no issue records its run yet (run update-issue for it)"
            notes.append(f"{found.name}: left out of the table: {why}")
    if member.source == "discovery" and not member.discovered:
        assert member.spec is not None
        notes.append(
            f"no {member.spec.get('name')}*.yaml in workflow_base {member.spec.get('workflow_base')}: "
            "the table is empty"
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
