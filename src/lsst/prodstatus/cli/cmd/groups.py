"""``make-prod-groups``: split an exposure or tract list into bps submit files."""

from __future__ import annotations

from typing import Any

from .. import render
from ..opt import (
    band_argument,
    dry_run_option,
    explist_argument,
    force_option,
    group_window_arguments,
    json_option,
    output_dir_option,
    template_argument,
)
from ..utils import App, pass_app, prodstat_command

__all__ = ["COMMANDS"]


@prodstat_command(
    "make-prod-groups",
    [
        "prodstat make-prod-groups step1_detectors0_62.yaml all 1500 0 14 explist",
        "prodstat make-prod-groups step1_detectors0_62.yaml z 500 2 3 explist --output-dir submit-yamls",
    ],
    # Lets "-1" reach GROUPSIZE/SKIPGROUPS/NGROUPS (and their range check, exit 1) instead
    # of being taken for an unknown option; a mistyped option still fails (extra argument).
    context_settings={"ignore_unknown_options": True},
)
@template_argument
@band_argument
@group_window_arguments
@explist_argument
@output_dir_option
@force_option(help="Overwrite generated files that already exist.")
@dry_run_option(help="Print the files that would be written; write nothing (same as the global --dry-run).")
@json_option
@pass_app
def make_prod_groups(app: App, **kwargs: Any) -> None:
    """Write bps submit yamls for groups of GROUPSIZE exposures (or tracts) from EXPLIST.

    EXPLIST has one '<band> <id>' per line (blank lines and # comments are ignored).
    BAND is all, f (full: same as all) or one of ugrizy. The selected ids, sorted, are
    cut into groups of GROUPSIZE; groups SKIPGROUPS+1 … SKIPGROUPS+NGROUPS are written
    as <template>_<BAND>_<n>.yaml, with the words GNUM, BAND, LOWEXP, HIGHEXP and
    IDLIST (the group's ids, comma separated) replaced in the template. Existing files
    are only overwritten with --force. With one band, a warning says when the LOWEXP …
    HIGHEXP ranges also cover other bands' exposures.
    """
    from ...script.make_prod_groups import run_make_prod_groups

    result = run_make_prod_groups(dry_run=app.dry_run, note=app.tell, **kwargs)
    render.make_prod_groups(app, result)


COMMANDS = [make_prod_groups]
