"""``map-drp-steps`` (hand-written map or ``--auto``) and ``tree``: tracker and file work.

Tracker round trips (Jira), hand-written step map of W workflows: one search for the
issue and all W workflows, one request per new link (Jira has no bulk link call; none
when update-campaign linked them already), one upload of the map yaml (plus reading the
old one back when one of that name and size exists), and one write of the ``step-map``
section, in this order, so a failure part way never leaves the section ahead of the
rest. A re-run that changes nothing reads the search and the attachment and writes
nothing. Nothing is written before every key has been found and every kind checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..core.bps import parse_bps_block, parse_data_range, parse_summary
from ..core.maps import (
    CAMPAIGN_HEADER,
    CAMPAIGN_SECTION,
    STEP_HEADER,
    STEP_SECTION,
    Rollup,
    WorkflowFacts,
    campaign_row,
    format_core_hours,
    issue_kind,
    kind_phrase,
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
from .discovery import StepWorkflow, find_workflow_issues, scan_workflow_base
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


class _DuplicateKeyError(yaml.YAMLError):
    def __init__(self, key: object, line: int) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key, self.line = key, line


class _UniqueKeyLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses a mapping key given twice (PyYAML keeps the last silently)."""

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
        return data, yaml.load(data, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except _DuplicateKeyError as exc:
        raise InputError(
            f"map yaml {path} has the key {exc.key} twice (again at line {exc.line}); "
            "YAML would keep only the last one",
            "give each key once",
        ) from exc
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


def _kind(issue: Issue) -> str:
    return issue_kind(issue.summary, issue.labels)


def _check_target(issue: Issue, campaign: bool) -> None:
    """ISSUE must be a step issue (CAMPAIGN_FLAG 0) or a campaign issue (1)."""
    wanted = "campaign" if campaign else "step"
    kind = _kind(issue)
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
        f"{name}: {key} ({kind_phrase(_kind(found[key]))})"
        for name, key in named
        if _kind(found[key]) != wanted
    ]
    if bad:
        what = "campaign map" if campaign else "step map"
        raise InputError(
            f"{source}: issues that are not {wanted} issues: {'; '.join(bad)}; nothing was written",
            f"a {what} maps each {'step to its step issue' if campaign else 'bps yaml to its workflow issue'}",
        )


def workflow_facts(issue: Issue, home: Path | None = None) -> WorkflowFacts:
    """Status line and PanDA totals of a workflow issue.

    The issue's ``status`` line and ``panda`` table come first (they are what everyone
    sees); update-stat's ``<home>/stats/<KEY>/panda.json`` fills in what the issue lacks,
    but only when the file's ``uniqProcName`` is the issue's (its BPS block's): a file
    left by another tracker's issue of the same key, or by an earlier workflow the key
    was reused for, is ignored.
    """
    status = parse_status(issue.description)
    totals = parse_panda_totals(issue.description)
    if home is not None and (status is None or totals is None):
        data = _saved_panda(home / "stats" / issue.key / "panda.json")
        uniq = parse_bps_block(issue.description).get("uniqProcName", "").strip()
        if data is not None and uniq and str(data.get("uniqProcName") or "").strip() == uniq:
            totals = totals or panda_totals_from_json(data)
            if status is None and isinstance(data.get("status_line"), str):
                status = parse_status(data["status_line"])
    return WorkflowFacts(issue.key, status, totals)


def _saved_panda(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


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
    """Write the links, the attachments and the section (in this order); each only when it changes something."""
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
    # Links first (adding one twice is harmless), then the attachments, the description
    # section last: a tracker failure part way never leaves the table ahead of the rest.
    for key in targets:
        if key in linked_now:
            continue
        if tracker.link(target.key, key, current=target):
            result.linked.append(key)
    for name, data in uploads:
        if name not in unchanged:
            tracker.attach(target.key, name, data, current=target)
    if attachment is not None:
        result.attachment_action = "unchanged" if attachment[0] in unchanged else "attached"
    if changed:
        tracker.update_sections(target.key, sections, current=target)
    result.action = "updated" if changed else "unchanged"
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
    found = _fetch(tracker, [key, *mapped], where)
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


# -- membership: the steps of a campaign, the workflows of a step -------------------------------
#
# Shared by --auto and tree, so that both always show the same workflows. Membership comes
# from the current definition, not from links alone: links are never removed, so a
# resubmitted workflow leaves its superseded issue linked to the step.

_STEP_FIX = "run update-step (or update-campaign) again to rewrite it"


@dataclass
class _StepMembers:
    """The workflow issues of one step, and how they were found."""

    workflows: list[tuple[str, Issue]] = field(default_factory=list)
    """(bps yaml name, workflow issue), in table order."""
    source: str = "links"
    """``discovery`` (workflow_base on this machine), ``step.yaml`` (issue_name) or ``links``."""
    spec: dict[str, Any] | None = None
    discovered: list[StepWorkflow] = field(default_factory=list)
    """With ``discovery``: every bps yaml found, with or without an issue."""


def _step_spec(tracker: Tracker, step: Issue, strict: bool, notes: list[str]) -> dict[str, Any] | None:
    if step.attachment("step.yaml") is None:
        return None
    try:
        spec = _yaml_attachment(tracker, step, "step.yaml", _STEP_FIX)
    except InputError as exc:
        if strict:
            raise
        notes.append(f"step {step.key}: {exc.message}: its workflows are the workflow issues it links to")
        return None
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        if strict:
            raise InputError(f"step.yaml of {step.key} has no step name", _STEP_FIX)
        notes.append(f"step {step.key}: step.yaml has no step name")
    return spec


def _row_name(issue: Issue) -> str:
    """Name of a workflow found by a link: its bps yaml (BPS block), else its key."""
    name = parse_bps_block(issue.description).get("bps_submit_yaml_file", "").strip()
    return Path(name).name.removesuffix(".yaml") if name else issue.key


def _step_members(
    tracker: Tracker, steps: Sequence[Issue], project: str | None, notes: list[str], *, strict: bool = False
) -> dict[str, _StepMembers]:
    """The workflow issues of each step, by the first rule that applies to it.

    (a) its ``step.yaml``'s ``workflow_base`` is a directory on this machine: the bps
    yamls there and the issue of each one's newest run (as ``update-step`` finds them);
    (b) else the ``issue_name`` values of its ``step.yaml``'s workflows; (c) else the
    workflow issues it links to. Tracker cost: one read of each ``step.yaml``, one search
    for the issues of (a) of all steps, one search for those of (b) and (c) of all steps.
    """
    members = {step.key: _StepMembers(spec=_step_spec(tracker, step, strict, notes)) for step in steps}
    scans: dict[str, list[Path]] = {}
    for step in steps:
        spec = members[step.key].spec
        if spec is None:
            continue
        base = str(spec.get("workflow_base") or "").strip()
        name = str(spec.get("name") or "").strip()
        if base and name and Path(base).expanduser().is_dir():
            scans[step.key] = scan_workflow_base(base, name)
        elif base:
            notes.append(
                f"step {step.key}: workflow_base {base} is not a directory on this machine: its workflows "
                + (
                    "are the issue_name values of its step.yaml"
                    if _spec_issue_names(spec)
                    else "are the workflow issues it links to"
                )
            )
    paths = list(dict.fromkeys(p for found in scans.values() for p in found))
    discovered = (
        {w.bps_yaml: w for w in find_workflow_issues(tracker, paths, project=project)} if paths else {}
    )
    wanted: dict[str, list[tuple[str, str]]] = {}
    for step in steps:
        member = members[step.key]
        if step.key in scans:
            member.source = "discovery"
            member.discovered = [discovered[p] for p in scans[step.key]]
            member.workflows = [(w.name, w.issue) for w in member.discovered if w.issue is not None]
            continue
        named = _spec_issue_names(member.spec) if member.spec is not None else []
        if named:
            member.source = "step.yaml"
            wanted[step.key] = named
        else:
            wanted[step.key] = [("", k) for k in step.linked_keys("outward")]
    keys = list(dict.fromkeys(k for pairs in wanted.values() for _, k in pairs))
    found = {i.key: i for i in tracker.search(keys=keys)} if keys else {}
    for step_key, pairs in wanted.items():
        member = members[step_key]
        for name, key in pairs:
            issue = found.get(key)
            if issue is not None and _kind(issue) == "workflow":
                member.workflows.append((name or _row_name(issue), issue))
            elif member.source == "step.yaml":
                why = "does not exist" if issue is None else f"is {kind_phrase(_kind(issue))}"
                notes.append(f"step {step_key}: {key} ({name} in step.yaml) {why}: left out")
    return members


def _spec_issue_names(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(workflow name, issue key) of the workflows of a step.yaml that have an ``issue_name``."""
    workflows = spec.get("workflows")
    if not isinstance(workflows, dict):
        return []
    named: list[tuple[str, str]] = []
    for wf_name, wf in workflows.items():
        if isinstance(wf, dict) and isinstance(wf.get("issue_name"), str) and wf["issue_name"].strip():
            named.append((str(wf.get("name") or wf_name), wf["issue_name"].strip().upper()))
    return named


def _campaign_steps(tracker: Tracker, campaign: Issue, notes: list[str]) -> list[tuple[str, Issue]]:
    """(step name, step issue) of a campaign: its ``campaign.yaml``'s steps, else the step issues it links to."""
    if campaign.attachment("campaign.yaml") is None:
        outward = campaign.linked_keys("outward")
        found = {i.key: i for i in tracker.search(keys=outward)} if outward else {}
        steps = [found[k] for k in outward if k in found and _kind(found[k]) == "step"]
        return [(s.summary.strip().removeprefix("Step ").strip() or s.key, s) for s in steps]
    fix = "run update-campaign again to rewrite it"
    spec = _yaml_attachment(tracker, campaign, "campaign.yaml", fix)
    steps_spec = spec.get("steps")
    if not isinstance(steps_spec, list):
        raise InputError(f"campaign.yaml of {campaign.key} has no list of steps", fix)
    named: list[tuple[str, str]] = []
    for step in steps_spec:
        if not isinstance(step, dict):
            continue
        name = str(step.get("name") or "")
        step_key = step.get("issue_name")
        if not isinstance(step_key, str) or not step_key.strip():
            notes.append(f"step {name} has no issue yet (run update-campaign): left out of the table")
            continue
        named.append((name, check_issue_key(step_key, f"issue_name of step {name} in campaign.yaml")))
    found = _fetch(tracker, [k for _, k in named], {k: f"step {n} in campaign.yaml" for n, k in named})
    result: list[tuple[str, Issue]] = []
    for name, key in named:
        kind = _kind(found[key])
        if kind != "step":
            notes.append(f"step {name}: {key} in campaign.yaml is {kind_phrase(kind)}: left out of the table")
            continue
        result.append((name, found[key]))
    return result


# -- map-drp-steps --auto KEY ---------------------------------------------------------------------


def map_auto(
    tracker: Tracker, key: str, *, project: str | None = None, home: Path | None = None, dry_run: bool = False
) -> MapResult:
    """Build the step or campaign table of ``key`` from what the tracker and disk know.

    A step issue: its workflows by the rules of `_step_members` (the newest run of each
    bps yaml of its ``workflow_base`` when that is on this machine; else its
    ``step.yaml``'s ``issue_name`` values; else its links). A campaign issue: its steps
    (``campaign.yaml``, else its links), and per step start, end, core-hours and status
    rolled up from the statistics of the step's workflows (see `roll_up`).

    Raises
    ------
    InputError
        ``key`` is neither a step nor a campaign issue, or its yaml is unusable.
    """
    key = check_issue_key(key, "issue key (--auto KEY)")
    issue = tracker.get_issue(key)
    kind = _kind(issue)
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
    member = _step_members(tracker, [issue], project, notes, strict=True)[issue.key]
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
    steps = _campaign_steps(tracker, issue, notes)
    members = _step_members(tracker, [s for _, s in steps], project, notes)
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
    kind = _kind(issue)
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


def build_tree(
    tracker: Tracker,
    key: str,
    *,
    home: Path | None = None,
    project: str | None = None,
    max_depth: int = 4,
    notes: list[str] | None = None,
) -> TreeNode:
    """Build the hierarchy under ``key``, level by level, with the membership of ``--auto``.

    A campaign's children are its steps (`_campaign_steps`), a step's its workflows
    (`_step_members`), so the tree shows what ``map-drp-steps --auto`` rolls up; any
    other issue's children are the issues it links to. Each issue appears once (the
    first place it is met), so link cycles end. ``notes`` collects what was left out.
    """
    notes = notes if notes is not None else []
    key = check_issue_key(key)
    root_issue = tracker.get_issue(key)
    root = _node(root_issue, home)
    seen = {root.key}
    level: list[tuple[TreeNode, Issue]] = [(root, root_issue)]
    for _ in range(max_depth):
        children: dict[str, list[Issue]] = {}
        for node, issue in level:
            if node.kind == "campaign":
                children[issue.key] = [s for _, s in _campaign_steps(tracker, issue, notes)]
        steps = [issue for node, issue in level if node.kind == "step"]
        if steps:
            members = _step_members(tracker, steps, project, notes)
            for step in steps:
                children[step.key] = [w for _, w in members[step.key].workflows]
        others = [issue for node, issue in level if node.kind == "other"]
        wanted = list(
            dict.fromkeys(k for issue in others for k in issue.linked_keys("outward") if k not in seen)
        )
        found = {i.key: i for i in tracker.search(keys=wanted)} if wanted else {}
        for issue in others:
            children[issue.key] = [found[k] for k in issue.linked_keys("outward") if k in found]
        next_level: list[tuple[TreeNode, Issue]] = []
        for parent, issue in level:
            for child_issue in children.get(issue.key, []):
                if child_issue.key in seen:
                    continue
                seen.add(child_issue.key)
                child = _node(child_issue, home)
                parent.children.append(child)
                next_level.append((child, child_issue))
        if not next_level:
            break
        level = next_level
    _fill_rollups(root)
    return root
