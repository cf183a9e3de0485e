"""``make-prod-groups``: split an exposure or tract list into bps submit files."""

from __future__ import annotations

import click

from ..options import App, ProdstatCommand, format_examples, json_option, pass_app
from ._pending import not_implemented_yet

__all__ = ["BANDS", "COMMANDS"]

BANDS = ("all", "f", "u", "g", "r", "i", "z", "y")


@click.command(
    "make-prod-groups",
    cls=ProdstatCommand,
    epilog=format_examples(
        [
            "prodstat make-prod-groups step1_detectors0_62.yaml all 1500 0 14 explist",
            "prodstat make-prod-groups step1_detectors0_62.yaml z 500 2 3 explist --output-dir submit-yamls",
        ]
    ),
)
@click.argument("template", metavar="TEMPLATE")
@click.argument("band", type=click.Choice(BANDS), metavar="BAND")
@click.argument("groupsize", type=int, metavar="GROUPSIZE")
@click.argument("skipgroups", type=int, metavar="SKIPGROUPS")
@click.argument("ngroups", type=int, metavar="NGROUPS")
@click.argument("explist", metavar="EXPLIST")
@click.option("--output-dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Directory for the generated bps submit yamls.")
@click.option("--force", is_flag=True, help="Overwrite generated files that already exist.")
@json_option
@pass_app
def make_prod_groups(app: App, template: str, band: str, groupsize: int, skipgroups: int, ngroups: int,
                     explist: str, output_dir: str, force: bool) -> None:
    """Write bps submit yamls for groups of GROUPSIZE exposures (or tracts) from EXPLIST.

    BAND is all, f (full: same as all) or one of ugrizy. Groups SKIPGROUPS+1 …
    SKIPGROUPS+NGROUPS are written as <template>_<BAND>_<n>.yaml, with GNUM, BAND,
    LOWEXP and HIGHEXP replaced in the template.
    """
    not_implemented_yet("make-prod-groups")


COMMANDS = [make_prod_groups]
