"""Workflow issue commands: ``update-issue``, ``update-stat``, ``add-job-to-summary``."""

from __future__ import annotations

import click

from ..options import App, ProdstatCommand, format_examples, issue_key_type, output_options, pass_app
from ._pending import not_implemented_yet

__all__ = ["COMMANDS"]


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
    metavar="TIMESTAMP",
    help="bps run timestamp (e.g. 20220728T192631Z); default: the newest run of this yaml under submit/.",
)
@output_options
@pass_app
def update_issue(
    app: App, bps_submit_fname: str, production_issue: str, drp_issue: str, timestamp: str | None
) -> None:
    """Record the bps workflow of BPS_SUBMIT_FNAME as an issue (DRP0: create, or find the existing one).

    Run it in the directory where `bps submit` ran (or give the yaml's path): the run
    is found under submit/<output>/<timestamp>/, the newest one unless --ts is given.
    PRODUCTION_ISSUE is the campaign request (e.g. PREOPS-1248); it is recorded in
    the description and linked when it exists in the tracker. DRP_ISSUE DRP0 (the
    default) creates an issue unless this workflow already has one, which is then
    updated; an explicit key updates that issue, replacing only prodstat's parts.
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
    )
    for note in result.notes:
        app.note(f"prodstat: {note}")
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
            f"labels: {', '.join(result.labels)}",
            "description:",
            *("    " + line for line in result.description.splitlines()),
            f"would attach {result.attached}",
        ]
        if result.linked_from:
            lines.append(f"would link {result.linked_from} -> {result.key or 'the new issue'}")
    else:
        lines.append(f"{result.action} {result.key}: {result.summary}")
        if result.linked_from:
            lines.append(f"linked from {result.linked_from}")
    app.emit(lines, result.to_dict(), issue_key=result.key)


@click.command(
    cls=ProdstatCommand,
    epilog=format_examples(
        [
            "prodstat update-stat PREOPS-1248 DRP-486",
            "prodstat update-stat PREOPS-1248 DRP-486 --no-butler",
            "prodstat update-stat PREOPS-1248 DRP-486 --butler /repo/main --sample 200 --dry-run",
        ]
    ),
)
@click.argument("production_issue", metavar="PRODUCTION_ISSUE")
@click.argument("drp_issue", type=issue_key_type, metavar="DRP_ISSUE")
@click.option(
    "--butler", "butler_repo", metavar="REPO", help="Butler repo (default: the issue's butlerConfig)."
)
@click.option("--no-butler", is_flag=True, help="Skip the Butler statistics.")
@click.option("--no-panda", is_flag=True, help="Skip the PanDA statistics.")
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
    production_issue: str,
    drp_issue: str,
    butler_repo: str | None,
    no_butler: bool,
    no_panda: bool,
    sample: int | None,
) -> None:
    """Fill workflow issue DRP_ISSUE with its PanDA and Butler statistics."""
    not_implemented_yet("update-stat")


@click.command(
    cls=ProdstatCommand,
    epilog=format_examples(
        [
            "prodstat add-job-to-summary PREOPS-1248 DRP-486",
            "prodstat add-job-to-summary PREOPS-1248 DRP-486 --remove",
        ]
    ),
)
@click.argument("production_issue", metavar="PRODUCTION_ISSUE")
@click.argument("drp_issue", type=issue_key_type, metavar="DRP_ISSUE")
@click.option("--reset", is_flag=True, help="Start the summary from empty (also accepts --reset True).")
@click.option("--remove", is_flag=True, help="Remove this workflow from the summary (also --remove True).")
@output_options
@pass_app
def add_job_to_summary(app: App, production_issue: str, drp_issue: str, reset: bool, remove: bool) -> None:
    """Add (or remove) workflow DRP_ISSUE to the summary issues' tables."""
    not_implemented_yet("add-job-to-summary")


update_issue.name = "update-issue"
update_stat.name = "update-stat"
add_job_to_summary.name = "add-job-to-summary"
COMMANDS = [update_issue, update_stat, add_job_to_summary]
