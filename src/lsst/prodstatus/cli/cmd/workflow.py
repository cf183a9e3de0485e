"""Workflow issue commands: ``update-issue``, ``update-stat``, ``add-job-to-summary``."""

from __future__ import annotations

from typing import Any

from .. import render
from ..opt import (
    bps_submit_fname_argument,
    butler_repo_option,
    drp_issue_argument,
    force_option,
    no_butler_option,
    no_panda_option,
    output_options,
    plots_option,
    production_issue_argument,
    remove_option,
    reset_option,
    sample_option,
    stat_issues_argument,
    timestamp_option,
    workflow_issue_type,
)
from ..utils import App, pass_app, prodstat_command, progress_factory

__all__ = ["COMMANDS"]


@prodstat_command(
    "update-issue",
    [
        "prodstat update-issue step1_1248.yaml PREOPS-1248 DRP0",
        "prodstat update-issue step1_1248.yaml PREOPS-1248 DRP0 --ts 20220728T192631Z",
        "prodstat update-issue step1_1248.yaml PREOPS-1248 DRP-486 --dry-run",
        "KEY=$(prodstat update-issue step1_1248.yaml PREOPS-1248 | sed -n 's/^issue://p')",
    ],
)
@bps_submit_fname_argument
@production_issue_argument
# DRP0 (the default) creates an issue, or finds this workflow's: no issue key, its own type.
@drp_issue_argument(type=workflow_issue_type, metavar="[DRP_ISSUE]", default="DRP0", required=False)
@timestamp_option
@force_option(
    help="Re-point an explicit DRP_ISSUE that records another workflow at this one "
    "(its old labels and statistics are removed)."
)
@output_options
@pass_app
def update_issue(app: App, **kwargs: Any) -> None:
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
    from ...script.update_issue import run_update_issue

    result = run_update_issue(app.tracker, app.settings, dry_run=app.dry_run, warn=app.tell, **kwargs)
    render.update_issue(app, result)


@prodstat_command(
    "update-stat",
    [
        "prodstat update-stat PREOPS-1248 DRP-486",
        "prodstat update-stat DRP-486 --no-butler",
        "prodstat update-stat DRP-486 --plots",
        "prodstat update-stat PREOPS-1248 DRP-486 --butler /repo/main --sample 200 --dry-run",
    ],
)
@stat_issues_argument
@butler_repo_option
@no_butler_option
@no_panda_option
@plots_option
@sample_option
@output_options
@pass_app
def update_stat(app: App, **kwargs: Any) -> None:
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
    from ...script.update_stat import run_update_stat

    result = run_update_stat(
        app.tracker, app.settings, dry_run=app.dry_run, progress=progress_factory(), **kwargs
    )
    render.update_stat(app, result)


@prodstat_command(
    "add-job-to-summary",
    [
        "prodstat add-job-to-summary PREOPS-1248 DRP-486",
        "prodstat add-job-to-summary PREOPS-1248 DRP-486 --remove",
        "PRODSTAT_SUMMARY_ISSUES=DRP-53,DRP-55 prodstat add-job-to-summary PREOPS-973 DRP-486 --reset",
    ],
)
@production_issue_argument
@drp_issue_argument
@reset_option
@remove_option
@output_options
@pass_app
def add_job_to_summary(app: App, **kwargs: Any) -> None:
    """Add workflow DRP_ISSUE (of production PRODUCTION_ISSUE) to the summary issues' tables.

    Two summary issues hold the original tool's tables: every workflow, and the step1 workflows only
    (date, production issue, workflow issue, (T,Q,D,Fa,Sf) coloured by status, PanDA
    link, step and data range). They are named by the summary_issues setting
    (ALL,STEP1 keys; config file or PRODSTAT_SUMMARY_ISSUES); on the local tracker they
    are created on first use. The state is a JSON attachment of the all-workflows
    issue. Re-adding a workflow replaces its row; --remove drops it; --reset starts the
    summary afresh with this workflow.
    """
    from ...script.summary import run_add_job_to_summary

    result = run_add_job_to_summary(app.tracker, app.settings, dry_run=app.dry_run, **kwargs)
    render.add_job_to_summary(app, result)


COMMANDS = [update_issue, update_stat, add_job_to_summary]
