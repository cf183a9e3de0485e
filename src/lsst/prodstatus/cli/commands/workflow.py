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
@click.option("--ts", "timestamp", metavar="TIMESTAMP", help="bps run timestamp (e.g. 20220728T192631Z); "
              "default: the newest run of this yaml under submit/.")
@output_options
@pass_app
def update_issue(app: App, bps_submit_fname: str, production_issue: str, drp_issue: str,
                 timestamp: str | None) -> None:
    """Record the bps workflow of BPS_SUBMIT_FNAME as an issue (DRP0: create, or find the existing one).

    PRODUCTION_ISSUE is the campaign request (e.g. PREOPS-1248); it is recorded in
    the description and linked when it exists in the tracker.
    """
    not_implemented_yet("update-issue")


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
@click.option("--butler", "butler_repo", metavar="REPO", help="Butler repo (default: the issue's butlerConfig).")
@click.option("--no-butler", is_flag=True, help="Skip the Butler statistics.")
@click.option("--no-panda", is_flag=True, help="Skip the PanDA statistics.")
@click.option("--sample", type=click.IntRange(min=1), metavar="N",
              help="Read the metadata of at most N quanta per task label (CPU hours then marked est.).")
@output_options
@pass_app
def update_stat(app: App, production_issue: str, drp_issue: str, butler_repo: str | None, no_butler: bool,
                no_panda: bool, sample: int | None) -> None:
    """Fill workflow issue DRP_ISSUE with its PanDA and Butler statistics."""
    not_implemented_yet("update-stat")


@click.command(
    cls=ProdstatCommand,
    epilog=format_examples(["prodstat add-job-to-summary PREOPS-1248 DRP-486",
                            "prodstat add-job-to-summary PREOPS-1248 DRP-486 --remove"]),
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
