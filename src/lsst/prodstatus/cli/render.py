"""Text for the result objects of the script functions: one function per command.

Each function prints what a person reads (stdout lines, ``prodstat: …`` notes on
stderr) or, with ``--json``, the result's JSON form, through `App.emit`. Nothing here
computes a figure or talks to a service: the numbers come from the results.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

import click

from .utils import App, plural

if TYPE_CHECKING:
    from ..script.campaign_yaml import YamlFileResult
    from ..script.config_view import ConfigView
    from ..script.hierarchy import IssueResult
    from ..script.make_prod_groups import MakeProdGroupsResult
    from ..script.maps import MapResult
    from ..script.param_stats import ParamStatResult
    from ..script.report import ReportResult
    from ..script.report_to_jira import ReportResult as CommentsResult
    from ..script.summary import SummaryResult
    from ..script.timing import TimingResult
    from ..script.tree import TreeNode, TreeResult
    from ..script.update_campaign import UpdateCampaignResult
    from ..script.update_issue import UpdateIssueResult
    from ..script.update_stat import UpdateStatResult
    from ..script.update_step import UpdateStepResult
    from ..script.watch import CycleReport, WatchResult
    from ..services.tracker.base import Issue

__all__ = [
    "add_job_to_summary",
    "config",
    "create_yaml",
    "cycle_lines",
    "make_prod_groups",
    "map_drp_steps",
    "param_stat",
    "plot_data",
    "prep_timing_data",
    "report",
    "report_to_jira",
    "show",
    "tree",
    "tree_lines",
    "update_campaign",
    "update_issue",
    "update_stat",
    "update_step",
    "watch",
]

_log = logging.getLogger("lsst.prodstatus")

DUPLICATE_FOUND_NOTE = (
    "{key} already records this workflow (found by {found_by}); updating it instead of creating a duplicate"
)
DUPLICATE_REMOVED_NOTE = "{key} was a duplicate made by a concurrent run for this workflow: removed"
MERGED_AGAIN_NOTE = "merged again {count} time(s) after concurrent runs' writes"
UNREADABLE_WARNING = (
    "warning: {count} metadata datasets of {run} could not be read and are not counted in the means "
    "(e.g. {examples})"
)
NO_STARTED_JOB_NOTE = "no started job of {name} in the selected workflows (its file has no rows)"
NEVER_STARTED_NOTE = "{jobs} never started: not counted"
NOT_DRAWN_NOTE = "no timing data with jobs for {name}: not drawn"
DRY_RUN_NOTHING_WRITTEN = "dry run: nothing written"


def _wrote(dry_run: bool) -> str:
    """The verb of a file line: ``wrote``, or ``would write`` in a dry run."""
    return "would write" if dry_run else "wrote"


def _nothing_written(dry_run: bool) -> list[str]:
    """The last line of a dry run's output (none otherwise)."""
    return [DRY_RUN_NOTHING_WRITTEN] if dry_run else []


def _dry_run_plan(plan: list[str]) -> list[str]:
    """The plan in words, then that nothing was written."""
    return ["plan:", *("  " + line for line in plan), DRY_RUN_NOTHING_WRITTEN]


# Workflow issues.


def update_issue(app: App, result: UpdateIssueResult) -> None:
    """``created DRP-486: step1#…`` (or the dry-run plan), then ``issue:DRP-486``."""
    app.notes(result.notes)
    for fact in result.info:
        _log.info(fact)
    if result.found_by is not None:
        app.notes([DUPLICATE_FOUND_NOTE.format(key=result.key, found_by=result.found_by)])
    run = result.run
    lines = [f"run {run.timestamp} of {run.given_path}: {run.run_dir}"]
    if app.dry_run:
        target = result.key or f"a new {app.settings.project} issue"
        lines += [
            f"dry run: would {result.action.split()[-1]} {target}: {result.summary}",
            "plan:",
            *("  " + line for line in result.plan),
            "description:",
            *("    " + line for line in result.description.splitlines()),
        ]
    else:
        lines.append(f"{result.action} {result.key}: {result.summary}")
        if result.linked_now:
            lines.append(f"linked from {result.linked_from}")
        if result.repointed:
            lines.append(f"removed labels {', '.join(result.removed_labels)} and the former statistics")
        app.notes(DUPLICATE_REMOVED_NOTE.format(key=key) for key in result.duplicates_removed)
    app.emit(lines, result.to_dict(), issue_key=result.key)


def update_stat(app: App, result: UpdateStatResult) -> None:
    """One line per source (PanDA, failures, Butler), then what was written."""
    lines = [f"workflow {result.ref.uniq_proc_name} (RUN {result.ref.output_run})"]
    if result.panda is not None:
        app.notes(f"warning: {warning}" for warning in result.panda.warnings())
        wf, total = result.panda.workflow, result.panda.total
        lines.append(
            f"PanDA request {wf.request_id}: {wf.status}, {total.tasks} tasks, {total.jobs} jobs "
            f"({total.finished} finished, {total.failed} failed, {total.retried} retried), "
            f"{total.core_hours:.2f} core h"
        )
    failures = result.failures_dict()
    if failures is not None and failures["failed_attempts"]:
        lines.append(
            f"failures: {failures['failed_jobs']} failed jobs, {failures['failed_attempts']} failed attempts "
            f"in {len(failures['groups'])} label/error groups, {failures['unexplained_share']:.0%} unexplained"
        )
    if result.butler is not None:
        unreadable = sum(label.n_unreadable for label in result.butler.labels)
        if unreadable:
            examples = "; ".join(result.butler.unreadable[:3])
            app.notes([UNREADABLE_WARNING.format(count=unreadable, run=result.butler.run, examples=examples)])
        est = " (est.)" if result.butler.estimated else ""
        lines.append(f"Butler: {result.butler.n_quanta} quanta, {result.butler.cpu_hours:.2f} CPU h{est}")
    if app.dry_run:
        lines.append("dry run: plan:")
        lines.extend("  " + line for line in result.plan)
        lines.append("dry run: the issue would get these sections:")
        for name, text in result.sections.items():
            lines.append(f"  [{name}]")
            lines.extend("    " + line for line in text.splitlines())
    else:
        lines.extend(f"saved {path}" for path in result.files if path.suffix == ".csv")
        lines.extend(f"attached {name}" for name in result.attached)
        lines.append(f"{result.action} {result.ref.key}: statistics")
    app.emit(lines, result.to_dict(), issue_key=result.ref.key)


def add_job_to_summary(app: App, result: SummaryResult) -> None:
    """``added DRP-486 (…): 3 workflows in the summary`` and the summary issues."""
    entry, keys = result.entry, result.keys
    verb = "removed" if result.removed else ("reset the summary to" if result.reset else "added")
    issues = f"{keys['all'] or 'a new issue'} (all workflows), {keys['step1'] or 'a new issue'} (step1)"
    if app.dry_run:
        lines = [f"dry run: would have {verb} {entry.key} ({entry.entry_id}) in {issues}", "plan:"]
        lines += ["  " + line for line in result.plan]
    else:
        lines = [
            f"{verb} {entry.key} ({entry.entry_id}, {entry.what}, "
            f"{','.join(map(str, entry.counts))}): {plural(result.entries, 'workflow')} in the summary",
            f"summary issues: {issues}",
        ]
        if result.merges > 1:
            app.notes([MERGED_AGAIN_NOTE.format(count=result.merges - 1)])
    app.emit(lines, result.to_dict(), issue_key=keys["all"])


# Campaigns and steps.


def create_yaml(app: App, result: YamlFileResult, issue_key: str | None) -> None:
    """``wrote step12test.yaml: campaign step12test, steps step1, step2``."""
    app.notes(result.notes)
    what = f"{result.kind} {result.name}"
    if result.kind == "campaign":
        steps = [str(s.get("name")) for s in result.data.get("steps") or [] if isinstance(s, dict)]
        what += f", steps {', '.join(steps)}" if steps else ""
    else:
        workflows = result.data.get("workflows") or {}
        names = [
            f"{name} ({wf.get('issue_name') or 'no issue'})" if isinstance(wf, dict) else str(name)
            for name, wf in (workflows.items() if isinstance(workflows, dict) else [])
        ]
        what += f", {plural(len(names), 'workflow')}" + (f": {', '.join(names)}" if names else "")
    source = "" if result.source == "template" else f" from the {result.kind}.yaml of {result.source}"
    app.emit([f"{result.action} {result.path}{source}: {what}"], result.to_dict(), issue_key=issue_key)


def _workflows_text(step: IssueResult) -> str:
    names = [w.issue or f"{w.bps_yaml.rsplit('/', 1)[-1]} (no issue)" for w in step.workflows]
    return plural(len(names), "workflow") + (f": {', '.join(names)}" if names else "")


def _issue_lines(kind: str, result: IssueResult, project: str, detail: str, dry_run: bool) -> list[str]:
    """``step step1: DRP-489 (created), 2 workflows: DRP-486, DRP-487`` and what was attached/linked."""
    key = result.key or f"a new {project} issue"
    lines = [f"{kind} {result.name}: {key} ({result.action}), {detail}"]
    if result.attached:
        lines.append(f"  {'would attach' if dry_run else 'attached'}: {', '.join(result.attached)}")
    if result.linked:
        lines.append(f"  {'would link' if dry_run else 'linked'} to: {', '.join(result.linked)}")
    return lines


def _yaml_saved(action: Any, path: str) -> list[str]:
    from ..script.files import FileAction

    return [f"{action} {path}"] if action in (FileAction.SAVED, FileAction.WOULD_SAVE) else []


def update_campaign(app: App, result: UpdateCampaignResult) -> None:
    """One line per step issue, then the campaign issue and the saved yaml."""
    app.notes(result.notes)
    project = app.settings.project
    lines: list[str] = []
    for step in result.steps:
        lines += _issue_lines("step", step, project, _workflows_text(step), app.dry_run)
    steps = [s.key or f"{s.name} (new)" for s in result.steps]
    detail = f"{plural(len(steps), 'step')}: {', '.join(steps)}"
    lines += _issue_lines("campaign", result.campaign, project, detail, app.dry_run)
    lines += _yaml_saved(result.yaml_action, result.campaign_yaml)
    if app.dry_run:
        lines += _dry_run_plan(result.plan)
    app.emit(lines, result.to_dict(), issue_key=result.campaign.key)


def update_step(app: App, result: UpdateStepResult) -> None:
    """The step issue, its campaign, and the saved yaml."""
    app.notes(result.notes)
    lines = _issue_lines("step", result.step, app.settings.project, _workflows_text(result.step), app.dry_run)
    if result.campaign_key:
        lines.append(f"campaign {result.campaign_name or ''}: {result.campaign_key} ({result.campaign_link})")
    lines += _yaml_saved(result.yaml_action, result.step_yaml)
    if app.dry_run:
        lines += _dry_run_plan(result.plan)
    app.emit(lines, result.to_dict(), issue_key=result.step.key)


def map_drp_steps(app: App, result: MapResult) -> None:
    """The table written, then what was (or would be) updated, attached and linked."""
    from ..core.plan import Action
    from ..script.maps import AttachmentAction

    app.notes(result.notes)
    what = f"{result.kind} map " + ("(auto)" if result.source == "auto" else result.source)
    lines = [f"{what} -> {result.issue} ({plural(len(result.rows), 'row')}):", *result.table.splitlines()]
    if app.dry_run:
        lines.append(
            f"dry run: would update {result.issue} section {result.section}"
            if result.action == Action.WOULD_UPDATE
            else f"dry run: {result.issue} section {result.section} unchanged"
        )
        if result.attachment_action == AttachmentAction.WOULD_ATTACH:
            lines.append(f"would attach {result.attachment}")
        lines.extend(f"would link {result.issue} -> {key}" for key in result.linked)
        lines += ["plan:", *("  " + line for line in result.plan)]
    else:
        lines.append(f"{result.action} {result.issue}: section {result.section}")
        if result.attachment_action == AttachmentAction.ATTACHED:
            lines.append(f"attached {result.attachment}")
        elif result.attachment_action == AttachmentAction.UNCHANGED:
            lines.append(f"attachment {result.attachment} unchanged")
        lines.extend(f"linked {result.issue} -> {key}" for key in result.linked)
    app.emit(lines, result.to_dict(), issue_key=result.issue)


def _node_text(node: TreeNode) -> str:
    parts = [node.key, node.summary, f"[{node.kind}]"]
    if node.status:
        parts.append(node.status)
    if node.counts is not None:
        parts.append("T,Q,D,Fa,Sf=" + ",".join(str(c) for c in node.counts))
    if node.core_hours is not None:
        parts.append(f"{node.core_hours:.2f} core-h")
    if node.start or node.end:
        parts.append(f"{node.start or '?'} -> {node.end or '?'}")
    if node.kind == "production" and node.url:
        parts.append(node.url)
    return "  ".join(p for p in parts if p)


def tree_lines(root: TreeNode) -> list[str]:
    """Draw the tree with box characters, one issue per line."""
    lines = [_node_text(root)]

    def walk(node: TreeNode, prefix: str) -> None:
        for i, child in enumerate(node.children):
            last = i == len(node.children) - 1
            lines.append(prefix + ("└── " if last else "├── ") + _node_text(child))
            walk(child, prefix + ("    " if last else "│   "))

    walk(root, "")
    return lines


def tree(app: App, result: TreeResult) -> None:
    """The tree, one issue per line."""
    app.notes(result.notes)
    app.emit(tree_lines(result.root), result.to_dict())


# Read-only views.


def show(app: App, issue: Issue, raw: bool) -> None:
    """The issue rendered for the terminal (or as stored with ``raw``, or as JSON)."""
    from . import show_render

    if app.json:
        app.emit([], issue.to_dict())
        return
    if raw:
        lines = [f"{issue.key}  {issue.summary}", ""]
        lines.extend(issue.description.rstrip("\n").splitlines() or ["(no description)"])
    else:
        lines = show_render.render_issue(issue, color=sys.stdout.isatty())
    app.emit(lines, None)


def report(app: App, result: ReportResult) -> None:
    """``wrote campaign-491.html: campaign DRP-491, 12 issues``."""
    verb = _wrote(result.dry_run)
    lines = [f"{verb} {result.path}: {result.kind} {result.key}, {plural(result.issues, 'issue')}"]
    lines += _nothing_written(result.dry_run)
    app.emit(lines, result.to_dict())


def config(app: App, result: ConfigView) -> None:
    """Every setting, its value (secrets masked) and where it came from."""
    width = max(len(row.name) for row in result.rows)
    lines = [f"config file: {result.config_path}" + ("" if result.config_exists else " (absent)")]
    lines += [f"{row.name:<{width}}  {row.shown or '(unset)'}   [{row.source}]" for row in result.rows]
    app.emit(lines, result.to_dict())


# Parameter-file commands.


def param_stat(app: App, result: ParamStatResult, noun: str) -> None:
    """get-panda-stat/get-butler-stat: what was selected and the tables written."""
    verb = _wrote(result.dry_run)
    lines = [f"selected {plural(len(result.workflows), noun)}: {', '.join(result.workflows)}"]
    lines += [f"{verb} {t.csv} (+ .html, .txt): {plural(t.rows, 'row')}" for t in result.tables]
    lines += _nothing_written(result.dry_run)
    data = {
        **result.summary,
        "selected": result.workflows,
        "files": [str(p) for t in result.tables for p in (t.csv, t.html, t.txt)],
        **({"dry_run": True} if result.dry_run else {}),
    }
    app.emit(lines, data)


def report_to_jira(app: App, result: CommentsResult) -> None:
    """The attachments and comments written (or the plan)."""
    if app.dry_run:
        lines = ["dry run: plan:", *("  " + line for line in result.plan)]
    else:
        lines = [f"attached {name}" for name in result.attached] + result.comments
        if not lines:
            lines = [f"{result.key} already holds these comments and attachments (unchanged)"]
    app.emit(lines, result.to_dict(), issue_key=result.key)


def prep_timing_data(app: App, result: TimingResult) -> None:
    """One CSV file per job name, with its job count."""
    lines = [f"selected {plural(len(result.workflows), 'workflow')}: {', '.join(result.workflows)}"]
    verb = _wrote(result.dry_run)
    for name, path in zip(result.jobs, result.files, strict=True):
        lines.append(f"{verb} {path}: {plural(result.jobs[name], 'job')}")
        if not result.jobs[name]:
            app.notes([NO_STARTED_JOB_NOTE.format(name=name)])
    if result.not_started:
        app.notes([NEVER_STARTED_NOTE.format(jobs=plural(result.not_started, "job"))])
    lines += _nothing_written(result.dry_run)
    app.emit(lines, result.to_dict())


def plot_data(app: App, result: TimingResult) -> None:
    """One PNG per job name, with its peak of running jobs."""
    app.notes(NOT_DRAWN_NOTE.format(name=name) for name, count in result.jobs.items() if count == 0)
    verb = _wrote(result.dry_run)
    drawn = zip(result.peaks, result.files, strict=True)
    lines = [f"{verb} {path} (peak: {result.peaks[name]} running)" for name, path in drawn]
    lines += _nothing_written(result.dry_run)
    app.emit(lines, result.to_dict())


# make-prod-groups and watch.


def make_prod_groups(app: App, result: MakeProdGroupsResult) -> None:
    """One line per file written (or that would be), then the summary line."""
    verb = _wrote(result.dry_run)
    lines = [f"{verb} {f.path}  group {f.group}: {f.count} ids, {f.low} … {f.high}" for f in result.files]
    first, last = result.files[0].group, result.files[-1].group
    groups = f"group {first}" if first == last else f"groups {first}-{last}"
    summary = (
        f"{verb} {plural(len(result.files), 'file')}: {groups} of {result.groups_total} "
        f"(band {result.band}, {result.ids} ids, group size {result.groupsize})"
    )
    lines.append(summary + ("; dry run, nothing written" if result.dry_run else ""))
    app.emit(lines, result.to_dict())


def cycle_lines(report: CycleReport) -> list[str]:
    """What one watch cycle did, a line each."""
    states = ", ".join(f"{k} {v}" for k, v in report.states.items())
    lines = [f"cycle {report.cycle}: {states}"]
    if report.updated:
        lines.append(f"  updated {', '.join(report.updated)}: statistics")
    lines += [f"  commented on {key}: {text}" for key, text in report.comments]
    lines += [f"  moved {key}: {name}" for key, name in report.transitions]
    if report.rollups:
        lines.append(f"  roll-ups refreshed: {', '.join(report.rollups)}")
    if report.report:
        lines.append(f"  wrote {report.report}")
    if report.error:
        lines.append(f"  failed: {report.error}")
    if report.all_final:
        lines.append("  every workflow is final: watch ends")
    return lines


def watch_cycle(app: App, report: CycleReport) -> None:
    """Print a cycle's lines as soon as it ends (with ``--json``, only the final document)."""
    if not app.json:
        for line in cycle_lines(report):
            click.echo(line)


def watch(app: App, result: WatchResult) -> None:
    """The final JSON document (text mode printed each cycle already)."""
    app.emit([], result.to_dict(), issue_key=result.key)
