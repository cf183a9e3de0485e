"""Workflow issue commands: ``update-issue``, ``update-stat``, ``add-job-to-summary``."""

from __future__ import annotations

import logging

import click

from ..options import (
    App,
    ProdstatCommand,
    format_examples,
    issue_key_type,
    output_options,
    pass_app,
    timestamp_type,
)

__all__ = ["COMMANDS"]

_log = logging.getLogger("lsst.prodstatus")


@click.command(
    cls=ProdstatCommand,
    epilog=format_examples(
        [
            "prodstat update-issue step1_1248.yaml PREOPS-1248 DRP0",
            "prodstat update-issue step1_1248.yaml PREOPS-1248 DRP0 --ts 20220728T192631Z",
            "prodstat update-issue step1_1248.yaml PREOPS-1248 DRP-486 --dry-run",
            "KEY=$(prodstat update-issue step1_1248.yaml PREOPS-1248 | sed -n 's/^issue://p')",
        ]
    ),
)
@click.argument("bps_submit_fname", metavar="BPS_SUBMIT_FNAME")
@click.argument("production_issue", metavar="PRODUCTION_ISSUE")
@click.argument("drp_issue", metavar="[DRP_ISSUE]", default="DRP0", required=False)
@click.option(
    "--ts",
    "timestamp",
    type=timestamp_type,
    metavar="TIMESTAMP",
    help="bps run timestamp (e.g. 20220728T192631Z); default: the newest run of this yaml under submit/.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Re-point an explicit DRP_ISSUE that records another workflow at this one "
    "(its old labels and statistics are removed).",
)
@output_options
@pass_app
def update_issue(
    app: App, bps_submit_fname: str, production_issue: str, drp_issue: str, timestamp: str | None, force: bool
) -> None:
    """Record the bps workflow of BPS_SUBMIT_FNAME as an issue (DRP0: create, or find the existing one).

    Run it in the directory where `bps submit` ran (or give the yaml's path): the run
    is found under submit/<output>/<timestamp>/: the newest one holding a copy of this
    yaml, unless --ts is given. PRODUCTION_ISSUE is the campaign request (e.g.
    PREOPS-1248); it is recorded in the description and linked when it is an issue
    that exists in the tracker. DRP_ISSUE DRP0 (the default) creates an issue unless
    this workflow already has one, which is then updated; an explicit key updates that
    issue, replacing only prodstat's parts. A step or campaign issue is refused, and so
    is an issue that records another workflow unless --force is given.
    """
    from ...script.update_issue import update_workflow_issue
    from ...services.submit import find_run

    run = find_run(bps_submit_fname, timestamp)
    for warning in run.warnings:
        app.note(f"prodstat: warning: {warning}")
    result = update_workflow_issue(
        app.tracker,
        run,
        production_issue,
        drp_issue,
        project=app.settings.project,
        pandamon_url=app.settings["pandamon_url"],
        dry_run=app.dry_run,
        force=force,
    )
    for note in result.notes:
        app.note(f"prodstat: {note}")
    for fact in result.info:
        _log.info(fact)
    if result.found_by is not None:
        app.note(
            f"prodstat: {result.key} already records this workflow (found by {result.found_by}); "
            "updating it instead of creating a duplicate"
        )
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
        for key in result.duplicates_removed:
            app.note(f"prodstat: {key} was a duplicate made by a concurrent run for this workflow: removed")
    app.emit(lines, result.to_dict(), issue_key=result.key)


@click.command(
    cls=ProdstatCommand,
    epilog=format_examples(
        [
            "prodstat update-stat PREOPS-1248 DRP-486",
            "prodstat update-stat DRP-486 --no-butler",
            "prodstat update-stat DRP-486 --plots",
            "prodstat update-stat PREOPS-1248 DRP-486 --butler /repo/main --sample 200 --dry-run",
        ]
    ),
)
@click.argument("issues", nargs=-1, required=True, metavar="[PRODUCTION_ISSUE] DRP_ISSUE")
@click.option(
    "--butler", "butler_repo", metavar="REPO", help="Butler repo (default: the issue's butlerConfig)."
)
@click.option("--no-butler", is_flag=True, help="Skip the Butler statistics.")
@click.option("--no-panda", is_flag=True, help="Skip the PanDA statistics.")
@click.option(
    "--plots",
    is_flag=True,
    help="Also attach a running-jobs timeline and per-label distributions of wall time, CPU and memory (PNG).",
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    metavar="N",
    help="Read the metadata of at most N quanta per task label (CPU hours then marked est.).",
)
@output_options
@pass_app
def update_stat(
    app: App,
    issues: tuple[str, ...],
    butler_repo: str | None,
    no_butler: bool,
    no_panda: bool,
    plots: bool,
    sample: int | None,
) -> None:
    """Fill workflow issue DRP_ISSUE with its PanDA and Butler statistics.

    The workflow is identified from the issue (summary timestamp, BPS block): PanDA's
    request is found by uniqProcName, the Butler RUN is <output>/<timestamp> in the
    issue's butlerConfig repo. The butler, panda, status and failures sections of the
    issue are replaced in place; text outside them is kept, and an issue whose section
    markers were damaged by hand is refused untouched. The failures section groups the
    failed jobs per label and PanDA error, classified by the rules of the error_rules
    setting's yaml file, then the shipped ones. PRODUCTION_ISSUE is optional and not
    used (the original's command line passed it; any text is accepted).
    """
    from ...script.update_stat import update_workflow_stats
    from ..options import progress_factory

    if len(issues) > 2:
        raise click.UsageError(f"got {len(issues)} issue arguments; give [PRODUCTION_ISSUE] DRP_ISSUE")
    drp_issue = issue_key_type.convert(issues[-1], None, click.get_current_context())
    if no_panda and no_butler:
        raise click.UsageError("--no-panda and --no-butler together leave nothing to do; drop one of them")
    result = update_workflow_stats(
        app.tracker,
        drp_issue,
        home=app.settings.home,
        pandamon_url=app.settings["pandamon_url"],
        panda_token=app.settings["panda_token"],
        butler_repo=butler_repo,
        use_panda=not no_panda,
        use_butler=not no_butler,
        sample=sample,
        dry_run=app.dry_run,
        progress=progress_factory(),
        panda_timeout=app.settings["panda_timeout"],
        panda_retries=app.settings["panda_retries"],
        error_rules=app.settings["error_rules"],
        plots=plots,
    )
    lines = [f"workflow {result.ref.uniq_proc_name} (RUN {result.ref.output_run})"]
    if result.panda is not None:
        for warning in result.panda.warnings():
            app.note(f"prodstat: warning: {warning}")
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
            app.note(
                f"prodstat: warning: {unreadable} metadata datasets of {result.butler.run} could not be read "
                f"and are not counted in the means (e.g. {examples})"
            )
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


@click.command(
    cls=ProdstatCommand,
    epilog=format_examples(
        [
            "prodstat add-job-to-summary PREOPS-1248 DRP-486",
            "prodstat add-job-to-summary PREOPS-1248 DRP-486 --remove",
            "PRODSTAT_SUMMARY_ISSUES=DRP-53,DRP-55 prodstat add-job-to-summary PREOPS-973 DRP-486 --reset",
        ]
    ),
)
@click.argument("production_issue", metavar="PRODUCTION_ISSUE")
@click.argument("drp_issue", type=issue_key_type, metavar="DRP_ISSUE")
@click.option(
    "--reset", is_flag=True, help="Rebuild the summary with this workflow only (also accepts --reset True)."
)
@click.option("--remove", is_flag=True, help="Remove this workflow from the summary (also --remove True).")
@output_options
@pass_app
def add_job_to_summary(app: App, production_issue: str, drp_issue: str, reset: bool, remove: bool) -> None:
    """Add workflow DRP_ISSUE (of production PRODUCTION_ISSUE) to the summary issues' tables.

    Two summary issues hold REF tables: every workflow, and the step1 workflows only
    (date, production issue, workflow issue, (T,Q,D,Fa,Sf) coloured by status, PanDA
    link, step and data range). They are named by the summary_issues setting
    (ALL,STEP1 keys; config file or PRODSTAT_SUMMARY_ISSUES); on the local tracker they
    are created on first use. The state is a JSON attachment of the all-workflows
    issue. Re-adding a workflow replaces its row; --remove drops it; --reset starts the
    summary afresh with this workflow.
    """
    from ...script.summary import RESET_AND_REMOVE, browse_prefix
    from ...script.summary import add_job_to_summary as add_to_summary

    if reset and remove:
        raise click.UsageError(RESET_AND_REMOVE)
    tracker = app.tracker
    result = add_to_summary(
        tracker,
        production_issue,
        drp_issue,
        summary_issues=app.settings["summary_issues"],
        browse=browse_prefix(tracker, app.settings["jira_url"]),
        project=app.settings.project,
        reset=reset,
        remove=remove,
        dry_run=app.dry_run,
    )
    entry = result.entry
    verb = "removed" if remove else ("reset the summary to" if reset else "added")
    keys = result.keys
    issues = f"{keys['all'] or 'a new issue'} (all workflows), {keys['step1'] or 'a new issue'} (step1)"
    noun = "workflow" if result.entries == 1 else "workflows"
    if app.dry_run:
        lines = [f"dry run: would have {verb} {entry.key} ({entry.entry_id}) in {issues}", "plan:"]
        lines += ["  " + line for line in result.plan]
    else:
        lines = [
            f"{verb} {entry.key} ({entry.entry_id}, {entry.what}, "
            f"{','.join(map(str, entry.counts))}): {result.entries} {noun} in the summary",
            f"summary issues: {issues}",
        ]
        if result.merges > 1:
            app.note(f"prodstat: merged again {result.merges - 1} time(s) after concurrent runs' writes")
    app.emit(lines, result.to_dict(), issue_key=keys["all"])


update_issue.name = "update-issue"
update_stat.name = "update-stat"
add_job_to_summary.name = "add-job-to-summary"
COMMANDS = [update_issue, update_stat, add_job_to_summary]
