"""Membership and the hierarchy view (``tree``): the steps of a campaign, the workflows of
a step, the facts of a workflow, shared with ``map-drp-steps --auto`` so that both always
show the same workflows. Reads only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..config import Settings
from ..core.bps import parse_bps_block
from ..core.ids import production_label
from ..core.maps import (
    WorkflowFacts,
    issue_kind,
    kind_phrase,
    panda_totals_from_json,
    parse_panda_totals,
    parse_status,
    roll_up,
)
from ..errors import InputError, IssueNotFoundError, yaml_reason
from ..services.tracker.base import Issue, Tracker, check_issue_key
from .discovery import StepWorkflow, find_workflow_issues, load_yaml, scan_workflow_base

__all__ = [
    "CAMPAIGN_FIX",
    "HINT_MISSING_ISSUES",
    "MSG_ATTACHMENT_NOT_MAPPING",
    "MSG_ATTACHMENT_NOT_YAML",
    "MSG_MISSING_ISSUE",
    "MSG_MISSING_ISSUES",
    "MSG_NO_STEP_LIST",
    "MSG_NO_STEP_NAME",
    "NOTE_BASE_ELSEWHERE_LINKED",
    "NOTE_BASE_ELSEWHERE_NAMED",
    "NOTE_NAMED_LEFT_OUT",
    "NOTE_NO_STEP_NAME",
    "NOTE_STEP_NO_ISSUE",
    "NOTE_STEP_WRONG_KIND",
    "NOTE_STEP_YAML_UNUSABLE",
    "STEP_FIX",
    "StepMembers",
    "TreeNode",
    "TreeResult",
    "build_tree",
    "campaign_steps",
    "fetch_issues",
    "kind_of",
    "run_tree",
    "step_members",
    "workflow_facts",
]


MSG_ATTACHMENT_NOT_YAML = "attachment {filename} of {key} is not valid YAML: {reason}"
MSG_ATTACHMENT_NOT_MAPPING = "attachment {filename} of {key} is not a yaml mapping"


def _yaml_attachment(tracker: Tracker, issue: Issue, filename: str, fix: str) -> dict[str, Any]:
    data = tracker.read_attachment(issue.key, filename, current=issue)
    try:
        loaded = load_yaml(data or b"")
    except yaml.YAMLError as exc:
        raise InputError(
            MSG_ATTACHMENT_NOT_YAML.format(filename=filename, key=issue.key, reason=yaml_reason(exc)), fix
        ) from exc
    if not isinstance(loaded, dict):
        raise InputError(MSG_ATTACHMENT_NOT_MAPPING.format(filename=filename, key=issue.key), fix)
    return loaded


MSG_MISSING_ISSUE = "issue does not exist in the {tracker} tracker: {listed}; nothing was written"
MSG_MISSING_ISSUES = "issues do not exist in the {tracker} tracker: {listed}; nothing was written"
HINT_MISSING_ISSUES = "check the keys (e.g. with 'prodstat show KEY') and the --tracker in use"


def fetch_issues(tracker: Tracker, keys: Iterable[str], what: dict[str, str]) -> dict[str, Issue]:
    """One search for ``keys``; every missing key is named (``what``: key → where it came from)."""
    wanted = list(dict.fromkeys(keys))
    found = {i.key: i for i in tracker.search(keys=wanted)} if wanted else {}
    missing = [k for k in wanted if k not in found]
    if missing:
        listed = ", ".join(f"{k} ({what[k]})" if what.get(k) else k for k in missing)
        raise InputError(
            (MSG_MISSING_ISSUE if len(missing) == 1 else MSG_MISSING_ISSUES).format(
                tracker=tracker.name, listed=listed
            ),
            HINT_MISSING_ISSUES,
        )
    return found


def kind_of(issue: Issue) -> str:
    """The kind of ``issue`` by the one rule (`~lsst.prodstatus.core.ids.issue_kind`)."""
    return issue_kind(issue.summary, issue.labels)


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


# -- membership: the steps of a campaign, the workflows of a step -------------------------------
#
# Shared by --auto and tree, so that both always show the same workflows. Membership comes
# from the current definition, not from links alone: links are never removed, so a
# resubmitted workflow leaves its superseded issue linked to the step.

STEP_FIX = "run update-step (or update-campaign) again to rewrite it"


@dataclass
class StepMembers:
    """The workflow issues of one step, and how they were found."""

    workflows: list[tuple[str, Issue]] = field(default_factory=list)
    """(bps yaml name, workflow issue), in table order."""
    source: str = "links"
    """``discovery`` (workflow_base on this machine), ``step.yaml`` (issue_name) or ``links``."""
    spec: dict[str, Any] | None = None
    discovered: list[StepWorkflow] = field(default_factory=list)
    """With ``discovery``: every bps yaml found, with or without an issue."""


NOTE_STEP_YAML_UNUSABLE = "step {key}: {error}: its workflows are the workflow issues it links to"
MSG_NO_STEP_NAME = "step.yaml of {key} has no step name"
NOTE_NO_STEP_NAME = "step {key}: step.yaml has no step name"


def _step_spec(tracker: Tracker, step: Issue, strict: bool, notes: list[str]) -> dict[str, Any] | None:
    if step.attachment("step.yaml") is None:
        return None
    try:
        spec = _yaml_attachment(tracker, step, "step.yaml", STEP_FIX)
    except InputError as exc:
        if strict:
            raise
        notes.append(NOTE_STEP_YAML_UNUSABLE.format(key=step.key, error=" ".join(exc.message.split())))
        return None
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        if strict:
            raise InputError(MSG_NO_STEP_NAME.format(key=step.key), STEP_FIX)
        notes.append(NOTE_NO_STEP_NAME.format(key=step.key))
    return spec


def _row_name(issue: Issue) -> str:
    """Name of a workflow found by a link: its bps yaml (BPS block), else its key."""
    name = parse_bps_block(issue.description).get("bps_submit_yaml_file", "").strip()
    return Path(name).name.removesuffix(".yaml") if name else issue.key


NOTE_BASE_ELSEWHERE_NAMED = (
    "step {key}: workflow_base {base} is not a directory on this machine: its workflows "
    "are the issue_name values of its step.yaml"
)
NOTE_BASE_ELSEWHERE_LINKED = (
    "step {key}: workflow_base {base} is not a directory on this machine: its workflows "
    "are the workflow issues it links to"
)
NOTE_NAMED_LEFT_OUT = "step {step}: {key} ({name} in step.yaml) {why}: left out"


def step_members(
    tracker: Tracker, steps: Sequence[Issue], project: str | None, notes: list[str], *, strict: bool = False
) -> dict[str, StepMembers]:
    """The workflow issues of each step, by the first rule that applies to it.

    (a) its ``step.yaml``'s ``workflow_base`` is a directory on this machine: the bps
    yamls there and the issue of each one's newest run (as ``update-step`` finds them);
    (b) else the ``issue_name`` values of its ``step.yaml``'s workflows; (c) else the
    workflow issues it links to. Tracker cost: one read of each ``step.yaml``, one search
    for the issues of (a) of all steps, one search for those of (b) and (c) of all steps.
    """
    members = {step.key: StepMembers(spec=_step_spec(tracker, step, strict, notes)) for step in steps}
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
            note = NOTE_BASE_ELSEWHERE_NAMED if _spec_issue_names(spec) else NOTE_BASE_ELSEWHERE_LINKED
            notes.append(note.format(key=step.key, base=base))
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
            if issue is not None and kind_of(issue) == "workflow":
                member.workflows.append((name or _row_name(issue), issue))
            elif member.source == "step.yaml":
                why = "does not exist" if issue is None else f"is {kind_phrase(kind_of(issue))}"
                notes.append(NOTE_NAMED_LEFT_OUT.format(step=step_key, key=key, name=name, why=why))
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


CAMPAIGN_FIX = "run update-campaign again to rewrite it"
MSG_NO_STEP_LIST = "campaign.yaml of {key} has no list of steps"
NOTE_STEP_NO_ISSUE = "step {name} has no issue yet (run update-campaign): left out of the table"
NOTE_STEP_WRONG_KIND = "step {name}: {key} in campaign.yaml is {kind}: left out of the table"


def campaign_steps(tracker: Tracker, campaign: Issue, notes: list[str]) -> list[tuple[str, Issue]]:
    """(step name, step issue) of a campaign: its ``campaign.yaml``'s steps, else the step issues it links to."""
    if campaign.attachment("campaign.yaml") is None:
        outward = campaign.linked_keys("outward")
        found = {i.key: i for i in tracker.search(keys=outward)} if outward else {}
        steps = [found[k] for k in outward if k in found and kind_of(found[k]) == "step"]
        return [(s.summary.strip().removeprefix("Step ").strip() or s.key, s) for s in steps]
    fix = CAMPAIGN_FIX
    spec = _yaml_attachment(tracker, campaign, "campaign.yaml", fix)
    steps_spec = spec.get("steps")
    if not isinstance(steps_spec, list):
        raise InputError(MSG_NO_STEP_LIST.format(key=campaign.key), fix)
    named: list[tuple[str, str]] = []
    for step in steps_spec:
        if not isinstance(step, dict):
            continue
        name = str(step.get("name") or "")
        step_key = step.get("issue_name")
        if not isinstance(step_key, str) or not step_key.strip():
            notes.append(NOTE_STEP_NO_ISSUE.format(name=name))
            continue
        named.append((name, check_issue_key(step_key, f"issue_name of step {name} in campaign.yaml")))
    found = fetch_issues(tracker, [k for _, k in named], {k: f"step {n} in campaign.yaml" for n, k in named})
    result: list[tuple[str, Issue]] = []
    for name, key in named:
        kind = kind_of(found[key])
        if kind != "step":
            notes.append(NOTE_STEP_WRONG_KIND.format(name=name, key=key, kind=kind_phrase(kind)))
            continue
        result.append((name, found[key]))
    return result


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
    kind = kind_of(issue)
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


_PRODUCTION_LINE = r"PanDA PREOPS:\s*{key}(\s|$)"


def production_workflows(tracker: Tracker, key: str) -> list[Issue]:
    """Workflow issues whose ``production`` section records production issue ``key``.

    Found in one search by the label `~lsst.prodstatus.core.ids.production_label` and by
    the text ``PanDA PREOPS: <key>`` (issues written before the label, or by the original
    tool), then checked line by line. The production issue itself may live in another
    project or another Jira: it is not needed.
    """
    found = tracker.search(labels=[production_label(key)], texts=[f"PanDA PREOPS: {key}"])
    pattern = re.compile(_PRODUCTION_LINE.format(key=re.escape(key)), re.M)
    workflows = [
        i for i in found if issue_kind(i.summary, i.labels) == "workflow" and pattern.search(i.description)
    ]
    return sorted(workflows, key=lambda i: (i.summary.rpartition("/")[2], i.key))


def build_tree(
    tracker: Tracker,
    key: str,
    *,
    home: Path | None = None,
    project: str | None = None,
    max_depth: int = 4,
    notes: list[str] | None = None,
    production_url: str | None = None,
    root_issue: Issue | None = None,
    read: dict[str, Issue] | None = None,
) -> TreeNode:
    """Build the hierarchy under ``key``, level by level, with the membership of ``--auto``.

    A campaign's children are its steps (`campaign_steps`), a step's its workflows
    (`step_members`), so the tree shows what ``map-drp-steps --auto`` rolls up; any
    other issue's children are the issues it links to. Each issue appears once (the
    first place it is met), so link cycles end. ``notes`` collects what was left out.

    ``root_issue`` is ``key``'s issue when the caller has read it already; ``read``, when
    given, receives every issue of the tree as read (``report`` needs them all: reading
    them again would cost a search of every key).
    """
    notes = notes if notes is not None else []
    read = read if read is not None else {}
    key = check_issue_key(key)
    try:
        root_issue = (
            root_issue if root_issue is not None and root_issue.key == key else tracker.get_issue(key)
        )
    except IssueNotFoundError:
        # A production issue (PREOPS-…) usually lives in another project or Jira: its
        # workflows know it by label.
        workflows = production_workflows(tracker, key)
        if not workflows:
            raise
        root = TreeNode(key, f"production issue {key}", "production", production_url or "")
        root.children = [_node(issue, home) for issue in workflows]
        read.update((issue.key, issue) for issue in workflows)
        return root
    root = _node(root_issue, home)
    read[root.key] = root_issue
    seen = {root.key}
    level: list[tuple[TreeNode, Issue]] = [(root, root_issue)]
    for _ in range(max_depth):
        children: dict[str, list[Issue]] = {}
        for node, issue in level:
            if node.kind == "campaign":
                children[issue.key] = [s for _, s in campaign_steps(tracker, issue, notes)]
        steps = [issue for node, issue in level if node.kind == "step"]
        if steps:
            members = step_members(tracker, steps, project, notes)
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
                read[child_issue.key] = child_issue
                child = _node(child_issue, home)
                parent.children.append(child)
                next_level.append((child, child_issue))
        if not next_level:
            break
        level = next_level
    _fill_rollups(root)
    return root


@dataclass
class TreeResult:
    """What ``tree`` found: the hierarchy, and notes for stderr (e.g. a step yaml out of reach)."""

    root: TreeNode
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``--json``): the tree."""
        return self.root.to_dict()


def run_tree(tracker: Tracker, settings: Settings, *, key: str) -> TreeResult:
    """``tree``: `build_tree` of ``key``, with the notes it gathered."""
    notes: list[str] = []
    jira_url = settings["jira_url"]
    root = build_tree(
        tracker,
        key,
        home=settings.home,
        project=settings.project,
        notes=notes,
        production_url=f"{jira_url.rstrip('/')}/browse/{key}" if jira_url else None,
    )
    return TreeResult(root, notes)
