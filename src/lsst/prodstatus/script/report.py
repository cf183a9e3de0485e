"""``report KEY --html FILE``: a self-contained HTML report of a campaign, step, workflow or production.

The hierarchy is the one ``tree`` shows (`~lsst.prodstatus.script.tree.build_tree`); a
production issue (``PREOPS-…``, usually in another Jira project than the workflows, or
not in the local tracker at all) lists the workflow issues that record it as their
production issue. Each issue brings its statistics tables (the ``panda``, ``butler``,
``step-map`` and ``campaign-map`` sections), its PNG attachments, and links to the
tracker and to PanDA; the overview adds a sortable table of every workflow and a chart
of their core-hours. Reads only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import Settings
from ..core.ids import issue_kind, kind_phrase
from ..core.markup import read_section
from ..core.report_html import Report, ReportImage, ReportNode, ReportTable, cells_of_section, render_report
from ..core.summary import panda_link_of, summary_colour
from ..errors import InputError, IssueNotFoundError
from ..services.tracker.base import Issue, Tracker, check_issue_key

__all__ = [
    "HINT_CANNOT_WRITE_REPORT",
    "HINT_NO_PRODUCTION_WORKFLOWS",
    "MSG_CANNOT_WRITE_REPORT",
    "MSG_NO_PRODUCTION_WORKFLOWS",
    "NOTE_NOT_IN_TRACKER",
    "NOT_A_REPORT_KEY",
    "WHERE_NOT_IN_TRACKER",
    "WHERE_OTHER_ISSUE",
    "ReportResult",
    "run_report",
    "write_report",
]

NOT_A_REPORT_KEY = "is none of campaign, step, workflow or production issue"
"""Part of the error for a key the report cannot be made of."""

TABLE_SECTIONS = (
    ("panda", "PanDA statistics"),
    ("butler", "Butler statistics"),
    ("step-map", "Workflows of the step"),
    ("campaign-map", "Steps of the campaign"),
    ("summary", "Summary"),
)
"""Managed sections whose wiki tables the report shows, with their titles."""

_LINK_RE = re.compile(r"\[(wfprogress|tasks)\|([^\]]+)\]")
_MAX_IMAGES = 12


@dataclass
class ReportResult:
    """What was written."""

    path: Path
    key: str
    kind: str
    issues: int
    workflows: int
    images: int
    dry_run: bool = False
    """The page was built and not written."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``--json``)."""
        return {
            "path": str(self.path),
            "key": self.key,
            "kind": self.kind,
            "issues": self.issues,
            "workflows": self.workflows,
            "images": self.images,
            **({"dry_run": True} if self.dry_run else {}),
        }


def _browse(tracker: Tracker, jira_url: str | None, key: str) -> str:
    if jira_url:
        return f"{jira_url.rstrip('/')}/browse/{key}"
    return tracker.browse_url(key)


def _tables(issue: Issue) -> list[ReportTable]:
    tables = []
    for section, title in TABLE_SECTIONS:
        text = read_section(issue.description, section)
        if not text:
            continue
        headers, rows = cells_of_section(text)
        if headers:
            tables.append(ReportTable(title, headers, rows))
    return tables


def _images(tracker: Tracker, issue: Issue) -> list[ReportImage]:
    images = []
    for att in issue.attachments[:_MAX_IMAGES]:
        if not att.filename.lower().endswith(".png") or att.size > 5_000_000:
            continue
        data = tracker.read_attachment(issue.key, att.filename, current=issue)
        if data and data.startswith(b"\x89PNG"):
            images.append(ReportImage(att.filename, data))
    return images


def _workflow_links(issue: Issue) -> list[tuple[str, str]]:
    links = []
    panda = read_section(issue.description, "panda") or ""
    links += [(f"PanDA {m.group(1)}", m.group(2)) for m in _LINK_RE.finditer(panda)]
    tasks = panda_link_of(issue.description)
    if tasks:
        links.append(("PanDA tasks (by timestamp)", tasks))
    return links


def _node(tree_node: Any, issue: Issue, depth: int, url: str) -> ReportNode:
    node = ReportNode(
        key=issue.key,
        summary=issue.summary,
        kind=tree_node.kind,
        url=url,
        depth=depth,
        status=tree_node.status,
        counts=tuple(tree_node.counts) if tree_node.counts is not None else None,
        core_hours=tree_node.core_hours,
        start=tree_node.start,
        end=tree_node.end,
    )
    if node.counts is not None and len(node.counts) == 5:
        node.colour = summary_colour(node.counts)
    if node.kind == "workflow":
        node.links = _workflow_links(issue)
    node.tables = _tables(issue)
    return node


def _flatten(root: Any, depth: int = 0) -> list[tuple[Any, int]]:
    out = [(root, depth)]
    for child in root.children:
        out.extend(_flatten(child, depth + 1))
    return out


_WORKFLOW_HEADERS = ["Issue", "Summary", "Status", "(T,Q,D,Fa,Sf)", "Core h", "Start", "End"]


def _overview_table(nodes: list[ReportNode]) -> ReportTable | None:
    rows = []
    for n in nodes:
        if n.kind != "workflow":
            continue
        counts = ",".join(map(str, n.counts)) if n.counts else ""
        rows.append(
            [
                f"[{n.key}|{n.url}]",
                n.summary,
                n.status or "",
                f"{{color:{n.colour}}}{counts}{{color}}" if counts and n.colour else counts,
                f"{n.core_hours:.2f}" if n.core_hours is not None else "",
                n.start or "",
                n.end or "",
            ]
        )
    return ReportTable("Workflows", _WORKFLOW_HEADERS, rows) if rows else None


def _core_hours_chart(nodes: list[ReportNode], title: str) -> ReportImage | None:
    from ..services.plots import bars_png

    workflows = [n for n in nodes if n.kind == "workflow" and n.core_hours is not None]
    if not workflows:
        return None
    png = bars_png(
        [f"{n.key} {n.summary.partition('#')[0]}" for n in workflows],
        [float(n.core_hours or 0.0) for n in workflows],
        [n.colour or "black" for n in workflows],
        title=title,
        xlabel="Core hours (PanDA: wall × cores)",
    )
    return ReportImage(title, png)


def _label_chart(node: ReportNode) -> ReportImage | None:
    from ..services.plots import bars_png

    panda = next((t for t in node.tables if t.title == "PanDA statistics"), None)
    if panda is None or "Core h" not in panda.headers:
        return None
    col = panda.headers.index("Core h")
    rows = [r for r in panda.rows if r and not r[0].startswith("*") and col < len(r)]
    values = []
    for r in rows:
        try:
            values.append(float(r[col].split()[0]))
        except (ValueError, IndexError):
            values.append(0.0)
    if not rows:
        return None
    title = f"Core hours per label of {node.key}"
    png = bars_png([r[0] for r in rows], values, ["blue"] * len(rows), title=title, xlabel="Core hours")
    return ReportImage(title, png)


WHERE_NOT_IN_TRACKER = "{key} is not in the {tracker} tracker"
WHERE_OTHER_ISSUE = "{key} is {kind} ({summary})"
MSG_NO_PRODUCTION_WORKFLOWS = (
    "{where} and " + NOT_A_REPORT_KEY + ": no workflow issue records it as its production issue"
)
"""``where``: `WHERE_NOT_IN_TRACKER` or `WHERE_OTHER_ISSUE`."""
HINT_NO_PRODUCTION_WORKFLOWS = (
    "give the key of a campaign, step or workflow issue, or a production issue (PREOPS-…) that "
    "update-issue recorded"
)
NOTE_NOT_IN_TRACKER = "{key} is not in the {tracker} tracker: set jira_url to link it to your Jira."
MSG_CANNOT_WRITE_REPORT = "cannot write the report {path}: {reason}"
HINT_CANNOT_WRITE_REPORT = "choose another --html file"


def write_report(
    tracker: Tracker,
    key: str,
    html_file: Path,
    *,
    home: Path | None = None,
    jira_url: str | None = None,
    project: str | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> ReportResult:
    """Build the report of ``key`` and write it to ``html_file`` (with ``dry_run``: build it only).

    Raises
    ------
    InputError
        ``key`` is none of campaign/step/workflow/production, or the file cannot be
        written (exit 1; nothing is written).
    """
    from .tree import TreeNode, build_tree, production_workflows, workflow_facts

    key = check_issue_key(key)
    notes: list[str] = []
    try:
        issue: Issue | None = tracker.get_issue(key)
    except IssueNotFoundError:
        issue = None
    kind = issue_kind(issue.summary, issue.labels) if issue is not None else "production"
    if kind == "other":
        kind = "production"
    if kind == "production":
        workflows = production_workflows(tracker, key)
        if not workflows:
            where = (
                WHERE_NOT_IN_TRACKER.format(key=key, tracker=tracker.name)
                if issue is None
                else WHERE_OTHER_ISSUE.format(key=key, kind=kind_phrase("other"), summary=issue.summary)
            )
            raise InputError(
                MSG_NO_PRODUCTION_WORKFLOWS.format(where=where),
                HINT_NO_PRODUCTION_WORKFLOWS,
            )
        root = TreeNode(
            key, issue.summary if issue else "production issue", "production", _browse(tracker, jira_url, key)
        )
        for wf in workflows:
            facts = workflow_facts(wf, home)
            child = TreeNode(wf.key, wf.summary, "workflow", wf.url, facts=facts)
            if facts.status is not None:
                child.status, child.counts = facts.status.state, facts.status.counts
            if facts.totals is not None:
                child.core_hours = facts.totals.core_hours
                child.start = (
                    facts.totals.first_start.date().isoformat() if facts.totals.first_start else None
                )
                child.end = facts.totals.last_end.date().isoformat() if facts.totals.last_end else None
            root.children.append(child)
        from ..core.maps import roll_up

        rollup = roll_up(root.workflows())
        root.status, root.counts, root.core_hours = rollup.status, rollup.counts, rollup.core_hours
        root.start = rollup.start.isoformat() if rollup.start else None
        root.end = rollup.end.isoformat() if rollup.end else None
        issues = {wf.key: wf for wf in workflows}
        if issue is not None:
            issues[key] = issue
        if not jira_url and issue is None:
            notes.append(NOTE_NOT_IN_TRACKER.format(key=key, tracker=tracker.name))
    else:
        # The tree's issues as it read them: one search per level, not another of every key.
        issues = {}
        root = build_tree(
            tracker, key, home=home, project=project, notes=notes, root_issue=issue, read=issues
        )

    nodes: list[ReportNode] = []
    for tree_node, depth in _flatten(root):
        found = issues.get(tree_node.key)
        if found is None:
            placeholder = Issue(tree_node.key, tree_node.summary)
            node = _node(tree_node, placeholder, depth, tree_node.url)
        else:
            node = _node(tree_node, found, depth, _browse(tracker, jira_url, found.key))
            node.images = _images(tracker, found)
        if node.kind == "workflow" and (chart := _label_chart(node)) is not None:
            node.images.insert(0, chart)
        nodes.append(node)

    title_kind = kind if kind != "production" else "production"
    report = Report(
        title=f"prodstat report: {title_kind} {key} — {root.summary}",
        generated=(now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M"),
        tracker=tracker.name,
        nodes=nodes,
        notes=notes,
    )
    overview = _overview_table(nodes)
    if overview is not None and kind != "workflow":
        nodes[0].tables.insert(0, overview)
    if kind != "workflow" and (chart := _core_hours_chart(nodes, f"Core hours per workflow of {key}")):
        report.images.append(chart)
    text = render_report(report)
    path = Path(html_file).expanduser()
    if not dry_run:
        _write_page(path, text)
    return ReportResult(
        dry_run=dry_run,
        path=path,
        key=key,
        kind=kind,
        issues=len(nodes),
        workflows=sum(1 for n in nodes if n.kind == "workflow"),
        images=sum(len(n.images) for n in nodes) + len(report.images),
    )


def _write_page(path: Path, text: str) -> None:
    """Write the page whole to a sibling, then rename it: a reader never sees half a page."""
    try:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise InputError(
            MSG_CANNOT_WRITE_REPORT.format(path=path, reason=exc.strerror or exc), HINT_CANNOT_WRITE_REPORT
        ) from exc


def run_report(
    tracker: Tracker, settings: Settings, *, key: str, html_file: str, dry_run: bool = False
) -> ReportResult:
    """``report``: `write_report` of ``key`` to ``html_file`` (``dry_run``: build it, write nothing)."""
    return write_report(
        tracker,
        key,
        Path(html_file),
        home=settings.home,
        jira_url=settings["jira_url"],
        project=settings.project,
        dry_run=dry_run,
    )
