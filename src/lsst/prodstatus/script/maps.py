"""``map-drp-steps`` (hand-written map or ``--auto``) and ``tree``: tracker and file work.

Tracker round trips (Jira), hand-written step map of W workflows: one search for the
issue and all W workflows, one write of the ``step-map`` section, one upload of the map
yaml (plus reading the old one back when one of that name and size exists), and one
request per new link (Jira has no bulk link call). A re-run that changes nothing reads
the search and the attachment and writes nothing. Nothing is written before every key
has been found and every value checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..core.bps import parse_data_range, parse_summary
from ..core.maps import (
    CAMPAIGN_HEADER,
    CAMPAIGN_SECTION,
    STEP_HEADER,
    STEP_SECTION,
    Rollup,
    WorkflowFacts,
    campaign_row,
    format_core_hours,
    is_workflow_issue,
    issue_kind,
    map_table,
    panda_totals_from_json,
    parse_campaign_map,
    parse_panda_totals,
    parse_status,
    parse_step_map,
    roll_up,
    status_colour,
    status_counts,
    step_row,
)
from ..core.markup import replace_sections
from ..errors import InputError
from ..services.tracker.base import Issue, Tracker, check_issue_key
from .discovery import find_workflow_issues, scan_workflow_base
from .update_stat import DESCRIPTION_LIMIT

__all__ = [
    "MapResult",
    "TreeNode",
    "build_tree",
    "map_auto",
    "map_from_yaml",
    "workflow_facts",
]


@dataclass
class MapResult:
    """What ``map-drp-steps`` wrote (or, with ``dry_run``, would write)."""

    kind: str
    """``step`` or ``campaign``."""
    issue: str
    section: str
    table: str
    rows: list[dict[str, Any]]
    action: str = "unchanged"
    """``updated``, ``unchanged`` or ``would update``."""
    source: str = ""
    """The map yaml's path, or ``auto``."""
    attachment: str | None = None
    attachment_action: str | None = None
    """``attached``, ``unchanged`` or ``would attach``."""
    linked: list[str] = field(default_factory=list)
    """Issues newly linked from ``issue`` (or that would be)."""
    table_attachment: str | None = None
    """Attachment holding the full table when it is too long for the description."""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``--json``)."""
        return {
            "action": self.action,
            "issue": self.issue,
            "kind": self.kind,
            "source": self.source,
            "section": self.section,
            "table": self.table,
            "rows": self.rows,
            "attachment": self.attachment,
            "attachment_action": self.attachment_action,
            "linked": self.linked,
            "table_attachment": self.table_attachment,
            "notes": self.notes,
        }


# -- reading ----------------------------------------------------------------------------------


def _read_map(path: Path) -> tuple[bytes, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read map yaml {path}: {exc.strerror or exc}", "give the path of the map yaml"
        ) from exc
    try:
        return data, yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise InputError(f"map yaml {path} is not valid YAML: {exc}", "fix the file") from exc


def _yaml_attachment(tracker: Tracker, issue: Issue, filename: str, fix: str) -> dict[str, Any]:
    data = tracker.read_attachment(issue.key, filename, current=issue)
    try:
        loaded = yaml.safe_load(data or b"")
    except yaml.YAMLError as exc:
        raise InputError(f"attachment {filename} of {issue.key} is not valid YAML: {exc}", fix) from exc
    if not isinstance(loaded, dict):
        raise InputError(f"attachment {filename} of {issue.key} is not a yaml mapping", fix)
    return loaded


def _fetch(tracker: Tracker, keys: Iterable[str], what: dict[str, str]) -> dict[str, Issue]:
    """One search for ``keys``; every missing key is named (``what``: key → where it came from)."""
    wanted = list(dict.fromkeys(keys))
    found = {i.key: i for i in tracker.search(keys=wanted)} if wanted else {}
    missing = [k for k in wanted if k not in found]
    if missing:
        listed = ", ".join(f"{k} ({what[k]})" if what.get(k) else k for k in missing)
        raise InputError(
            f"{'issue does' if len(missing) == 1 else 'issues do'} not exist in the {tracker.name} tracker: "
            f"{listed}; nothing was written",
            "check the keys (e.g. with 'prodstat show KEY') and the --tracker in use",
        )
    return found


def _check_target(issue: Issue) -> None:
    if is_workflow_issue(issue.summary, issue.labels):
        raise InputError(
            f"{issue.key} is a workflow issue ({issue.summary}), not a step or campaign issue",
            "give the step issue (CAMPAIGN_FLAG 0) or the campaign issue (1) that update-campaign created",
        )


def workflow_facts(issue: Issue, home: Path | None = None) -> WorkflowFacts:
    """Status line and PanDA totals of a workflow issue.

    The issue's ``status`` line and ``panda`` table come first (they are what everyone
    sees); update-stat's ``<home>/stats/<KEY>/panda.json`` fills in what the issue lacks.
    """
    status = parse_status(issue.description)
    totals = parse_panda_totals(issue.description)
    if home is not None and (status is None or totals is None):
        path = home / "stats" / issue.key / "panda.json"
        try:
            data = json.loads(path.read_text()) if path.is_file() else None
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict):
            totals = totals or panda_totals_from_json(data)
            if status is None and isinstance(data.get("status_line"), str):
                status = parse_status(data["status_line"])
    return WorkflowFacts(issue.key, status, totals)


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


def _fit(description: str, section: str, table: str) -> tuple[str, bytes | None]:
    """Return the section text that keeps the description within Jira's limit.

    A table too long keeps its first rows and a note; the full table is then returned
    as the bytes of an attachment (SPEC §6).
    """
    if len(replace_sections(description, {section: table})) <= DESCRIPTION_LIMIT:
        return table, None
    header, *rows = table.splitlines()
    room = DESCRIPTION_LIMIT - len(replace_sections(description, {section: header})) - 200
    kept: list[str] = []
    for row in rows:
        room -= len(row) + 1
        if room < 0:
            break
        kept.append(row)
    note = (
        f"({len(rows) - len(kept)} of {len(rows)} rows not shown: "
        f"the full table is attached as {section}.txt)"
    )
    return "\n".join([header, *kept, note]), (table + "\n").encode()


def _write(
    tracker: Tracker,
    result: MapResult,
    target: Issue,
    link_to: Sequence[str],
    attachment: tuple[str, bytes] | None,
    dry_run: bool,
) -> MapResult:
    """Write the section, the attachments and the links; each only when it changes something."""
    text, full = _fit(target.description, result.section, result.table)
    sections = {result.section: text}
    changed = replace_sections(target.description, sections) != target.description
    linked_now = {link.other_key for link in target.links}
    targets = [k for k in dict.fromkeys(link_to) if k != target.key]
    uploads: list[tuple[str, bytes]] = []
    if full is not None:
        result.table_attachment = f"{result.section}.txt"
        result.notes.append(
            f"the table is too long for the description: its first rows are shown, "
            f"the full table is attached as {result.table_attachment}"
        )
        uploads.append((result.table_attachment, full))
    if attachment is not None:
        result.attachment = attachment[0]
        uploads.append(attachment)
    unchanged: set[str] = set()
    for name, data in uploads:
        old = target.attachment(name)
        # Read the old file back only when it could be identical (saves a request otherwise).
        if (
            old is not None
            and old.size == len(data)
            and tracker.read_attachment(target.key, name, current=target) == data
        ):
            unchanged.add(name)
    if dry_run:
        result.action = "would update" if changed else "unchanged"
        if attachment is not None:
            result.attachment_action = "unchanged" if attachment[0] in unchanged else "would attach"
        result.linked = [k for k in targets if k not in linked_now]
        return result
    if changed:
        tracker.update_sections(target.key, sections, current=target)
    result.action = "updated" if changed else "unchanged"
    for name, data in uploads:
        if name not in unchanged:
            tracker.attach(target.key, name, data, current=target)
    if attachment is not None:
        result.attachment_action = "unchanged" if attachment[0] in unchanged else "attached"
    for key in targets:
        if key in linked_now:
            continue
        if tracker.link(target.key, key, current=target):
            result.linked.append(key)
    return result


# -- map-drp-steps MAP_YAML ISSUE CAMPAIGN_FLAG -------------------------------------------------


def map_from_yaml(
    tracker: Tracker, map_yaml: str | Path, issue: str, campaign: bool, *, dry_run: bool = False
) -> MapResult:
    """Write the step (``campaign`` false) or campaign table of a hand-written map into ``issue``.

    Raises
    ------
    InputError
        Unreadable or malformed map, unknown keys (all listed), ``issue`` a workflow
        issue or mapped to itself; nothing is written then.
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
    found = _fetch(tracker, [key, *mapped], where)
    target = found[key]
    _check_target(target)
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

    A step issue (``step.yaml``): its workflows are the bps yamls in its
    ``workflow_base`` and the issues recording their runs. A campaign issue
    (``campaign.yaml``): per step, start, end, core-hours and status rolled up from the
    statistics of its workflow issues (see `roll_up`).

    Raises
    ------
    InputError
        ``key`` is neither a step nor a campaign issue, or its yaml is unusable.
    """
    key = check_issue_key(key, "issue key (--auto KEY)")
    issue = tracker.get_issue(key)
    if issue.attachment("step.yaml") is not None:
        return _auto_step(tracker, issue, project, dry_run)
    if issue.attachment("campaign.yaml") is not None:
        return _auto_campaign(tracker, issue, project, home, dry_run)
    raise InputError(
        f"{key} is not a step or campaign issue: it has no step.yaml/campaign.yaml attachment",
        "run update-campaign first",
    )


def _auto_step(tracker: Tracker, issue: Issue, project: str | None, dry_run: bool) -> MapResult:
    fix = "run update-step (or update-campaign) again to rewrite it"
    spec = _yaml_attachment(tracker, issue, "step.yaml", fix)
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"step.yaml of {issue.key} has no step name", fix)
    yamls = scan_workflow_base(str(spec.get("workflow_base") or ""), name)
    workflows = find_workflow_issues(tracker, yamls, project=project)
    lines: list[str] = []
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    mapped: list[str] = []
    for workflow in workflows:
        if workflow.issue is None:
            why = workflow.problem or "no issue records its run yet (run update-issue for it)"
            notes.append(f"{workflow.name}: left out of the table: {why}")
            continue
        line, row = _step_row(tracker, workflow.name, workflow.issue)
        lines.append(line)
        rows.append(row)
        mapped.append(workflow.issue.key)
    if not yamls:
        notes.append(f"no {name}*.yaml in workflow_base {spec.get('workflow_base')}: the table is empty")
    result = MapResult(
        "step", issue.key, STEP_SECTION, map_table(STEP_HEADER, lines), rows, source="auto", notes=notes
    )
    return _write(tracker, result, issue, mapped, None, dry_run)


def _step_workflow_issues(
    tracker: Tracker, step: Issue, linked: dict[str, Issue], project: str | None, notes: list[str]
) -> list[Issue]:
    """The workflow issues of a step: its links; else its step.yaml's issue_name values; else discovery."""
    from_links = [
        linked[k]
        for k in step.linked_keys("outward")
        if k in linked and is_workflow_issue(linked[k].summary, linked[k].labels)
    ]
    if from_links or step.attachment("step.yaml") is None:
        return from_links
    try:
        spec = _yaml_attachment(tracker, step, "step.yaml", "")
    except InputError as exc:
        notes.append(f"step {step.key}: {exc.message}")
        return []
    workflows = spec.get("workflows") if isinstance(spec.get("workflows"), dict) else {}
    keys = [
        str(w["issue_name"]).upper()
        for w in (workflows or {}).values()
        if isinstance(w, dict) and isinstance(w.get("issue_name"), str) and w["issue_name"].strip()
    ]
    if keys:
        return [i for i in tracker.search(keys=keys) if is_workflow_issue(i.summary, i.labels)]
    try:
        yamls = scan_workflow_base(str(spec.get("workflow_base") or ""), str(spec.get("name") or ""))
    except InputError as exc:
        notes.append(f"step {step.key}: no workflow issues linked, and {exc.message}")
        return []
    return [w.issue for w in find_workflow_issues(tracker, yamls, project=project) if w.issue is not None]


def _auto_campaign(
    tracker: Tracker, issue: Issue, project: str | None, home: Path | None, dry_run: bool
) -> MapResult:
    fix = "run update-campaign again to rewrite it"
    spec = _yaml_attachment(tracker, issue, "campaign.yaml", fix)
    steps = spec.get("steps")
    if not isinstance(steps, list):
        raise InputError(f"campaign.yaml of {issue.key} has no list of steps", fix)
    notes: list[str] = []
    named: list[tuple[str, str]] = []
    for step in steps:
        if not isinstance(step, dict):
            continue
        name = str(step.get("name") or "")
        step_key = step.get("issue_name")
        if not isinstance(step_key, str) or not step_key.strip():
            notes.append(f"step {name} has no issue yet (run update-campaign): left out of the table")
            continue
        named.append((name, check_issue_key(step_key, f"issue_name of step {name} in campaign.yaml")))
    found = _fetch(tracker, [k for _, k in named], {k: f"step {n} in campaign.yaml" for n, k in named})
    # One search for every issue the steps link to; the workflow issues among them count.
    outward = [k for _, step_key in named for k in found[step_key].linked_keys("outward")]
    linked = {i.key: i for i in tracker.search(keys=list(dict.fromkeys(outward)))} if outward else {}
    lines: list[str] = []
    rows: list[dict[str, Any]] = []
    for name, step_key in named:
        workflows = _step_workflow_issues(tracker, found[step_key], linked, project, notes)
        rollup = roll_up(workflow_facts(w, home) for w in workflows)
        values = (
            rollup.start.isoformat() if rollup.start else "",
            rollup.end.isoformat() if rollup.end else "",
            format_core_hours(rollup.core_hours),
            rollup.status,
        )
        line, row = _campaign_row(tracker, name, step_key, values, rollup)
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
    return _write(tracker, result, issue, [k for _, k in named], None, dry_run)


# -- tree ---------------------------------------------------------------------------------------


@dataclass
class TreeNode:
    """One issue of the campaign → step → workflow hierarchy."""

    key: str
    summary: str
    kind: str
    url: str
    status: str | None = None
    """Workflow: the state of its status line; others: the roll-up state."""
    counts: tuple[int, ...] | None = None
    core_hours: float | None = None
    start: str | None = None
    end: str | None = None
    children: list[TreeNode] = field(default_factory=list)
    facts: WorkflowFacts | None = field(default=None, repr=False)

    def workflows(self) -> list[WorkflowFacts]:
        """Facts of every workflow at or under this node."""
        own = [self.facts] if self.facts is not None else []
        return own + [f for child in self.children for f in child.workflows()]

    def to_dict(self) -> dict[str, Any]:
        """JSON form: nested ``{key, summary, kind, status, core_hours, children, …}``."""
        return {
            "key": self.key,
            "summary": self.summary,
            "kind": self.kind,
            "status": self.status,
            "counts": list(self.counts) if self.counts is not None else None,
            "core_hours": None if self.core_hours is None else round(self.core_hours, 4),
            "start": self.start,
            "end": self.end,
            "url": self.url,
            "children": [c.to_dict() for c in self.children],
        }


def _node(issue: Issue, home: Path | None) -> TreeNode:
    kind = issue_kind(issue.summary, issue.labels, (a.filename for a in issue.attachments))
    node = TreeNode(issue.key, issue.summary, kind, issue.url)
    if kind == "workflow":
        facts = workflow_facts(issue, home)
        node.facts = facts
        if facts.status is not None:
            node.status, node.counts = facts.status.state, facts.status.counts
        if facts.totals is not None:
            node.core_hours = facts.totals.core_hours
            node.start = facts.totals.first_start.date().isoformat() if facts.totals.first_start else None
            node.end = facts.totals.last_end.date().isoformat() if facts.totals.last_end else None
    return node


def _fill_rollups(node: TreeNode) -> None:
    for child in node.children:
        _fill_rollups(child)
    if node.kind == "workflow":
        return
    facts = node.workflows()
    if not facts:
        return
    rollup = roll_up(facts)
    node.status, node.counts, node.core_hours = rollup.status, rollup.counts, rollup.core_hours
    node.start = rollup.start.isoformat() if rollup.start else None
    node.end = rollup.end.isoformat() if rollup.end else None


def build_tree(tracker: Tracker, key: str, *, home: Path | None = None, max_depth: int = 4) -> TreeNode:
    """Follow outward links from ``key`` (campaign → steps → workflows), one search per level.

    Each issue appears once (the first place it is met), so link cycles end.
    """
    key = check_issue_key(key)
    root_issue = tracker.get_issue(key)
    root = _node(root_issue, home)
    seen = {root.key}
    level: list[tuple[TreeNode, Issue]] = [(root, root_issue)]
    for _ in range(max_depth):
        wanted: list[str] = []
        for _parent, issue in level:
            wanted.extend(k for k in issue.linked_keys("outward") if k not in seen and k not in wanted)
        if not wanted:
            break
        found = {i.key: i for i in tracker.search(keys=wanted)}
        next_level: list[tuple[TreeNode, Issue]] = []
        for parent, issue in level:
            for child_key in issue.linked_keys("outward"):
                child_issue = found.get(child_key)
                if child_issue is None or child_key in seen:
                    continue
                seen.add(child_key)
                child = _node(child_issue, home)
                parent.children.append(child)
                next_level.append((child, child_issue))
        level = next_level
    _fill_rollups(root)
    return root
