"""Parameter-file commands of the original: statistics tables, reports and timing plots."""

from __future__ import annotations

import click

from ..options import App, ProdstatCommand, format_examples, legacy_option, output_options, pass_app
from ._pending import not_implemented_yet

__all__ = ["COMMANDS"]


def _param_file_command(name: str, summary: str, clean_history: bool) -> click.Command:
    def callback(app: App, param_file: str, clean_history: bool = False) -> None:
        not_implemented_yet(name)

    callback.__doc__ = summary
    decorated = pass_app(callback)
    decorated = output_options(decorated)
    if clean_history:
        decorated = legacy_option(
            "--clean_history", is_flag=True, help="Forget earlier results first (also --clean_history True)."
        )(decorated)
    decorated = click.argument("param_file", metavar="PARAM_FILE")(decorated)
    return click.command(
        name, cls=ProdstatCommand, help=summary, epilog=format_examples([f"prodstat {name} params.yaml"])
    )(decorated)


COMMANDS = [
    _param_file_command(
        "get-panda-stat", "Build PanDA statistics tables for the workflows of PARAM_FILE.", True
    ),
    _param_file_command(
        "get-butler-stat", "Build Butler statistics tables for the RUNs of PARAM_FILE.", True
    ),
    _param_file_command("report-to-jira", "Post the comments and attachments listed in PARAM_FILE.", False),
    _param_file_command("prep-timing-data", "Collect PanDA job timing series for PARAM_FILE.", False),
    _param_file_command(
        "plot-data", "Plot running jobs over time from the timing data of PARAM_FILE.", False
    ),
]
