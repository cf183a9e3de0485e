"""``make-prod-groups``: split an exposure or tract list into bps submit files."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ...errors import InputError
from ..options import App, ProdstatCommand, format_examples, json_option, pass_app

if TYPE_CHECKING:
    from ...core.groups import Group

__all__ = [
    "BANDS",
    "CANNOT_READ",
    "CANNOT_WRITE",
    "COMMANDS",
    "EXPLIST_HINT",
    "EXPLIST_MISSING",
    "FILE_EXISTS",
    "FILE_EXISTS_HINT",
    "MERGED_NOTE",
    "NOT_TEXT",
    "NOT_WRITTEN_NOTE",
    "NO_PLACEHOLDER_WARNING",
    "TEMPLATE_HINT",
    "TEMPLATE_MISSING",
]

BANDS = ("all", "f", "u", "g", "r", "i", "z", "y")

TEMPLATE_MISSING = "template {path} does not exist"
TEMPLATE_HINT = "give the bps submit yaml to copy, e.g. step1_detectors0_62.yaml"
EXPLIST_MISSING = "exposure list {path} does not exist"
EXPLIST_HINT = "give a file of '<band> <id>' lines, e.g. 'z 1472'"
CANNOT_READ = "cannot read {what} {path}: {reason}"
NOT_TEXT = "exposure list {path} is not UTF-8 text"
FILE_EXISTS = "{path} already exists"
FILE_EXISTS_HINT = "use --force to overwrite it, or --output-dir to write elsewhere"
CANNOT_WRITE = "cannot write {path}: {reason}"
NO_PLACEHOLDER_WARNING = (
    "prodstat: warning: template {path} contains none of GNUM, BAND, LOWEXP, HIGHEXP; "
    "every file written is a copy of it"
)
NOT_WRITTEN_NOTE = (
    "prodstat: {count} of the {requested} requested groups not written: "
    "the list ends with group {total} ({ids} ids of band {band})"
)
MERGED_NOTE = "prodstat: {count} ids listed under more than one band are counted once"


def _read(path: str, what: str, missing: str, hint: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(missing.format(path=path), hint) from None
    except OSError as exc:  # a directory, no permission, ...
        raise InputError(CANNOT_READ.format(what=what, path=path, reason=exc.strerror or exc), hint) from None


def _describe(group: Group) -> str:
    return f"group {group.number}: {group.count} ids, {group.low} … {group.high}"


def _write_all(targets: list[tuple[Path, bytes]]) -> None:
    """Write every file, or none: all go to temporary files first, then are renamed."""
    staged: list[tuple[Path, Path]] = []
    try:
        for target, content in targets:
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            staged.append((tmp, target))
            # "xb" honours the umask (mkstemp would make the submit file private).
            with open(tmp, "xb") as handle:
                handle.write(content)
        for tmp, target in staged:
            os.replace(tmp, target)
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise InputError(
            CANNOT_WRITE.format(path=exc.filename or "output", reason=exc.strerror or exc)
        ) from None


OTHER_BANDS_WARNING = (
    "prodstat: warning: with band {band}, the LOWEXP…HIGHEXP ranges of {groups} group(s) also cover "
    "exposures of other bands (group {number}: {count} {band} exposures, but {low}–{high} holds {extra} "
    "more); add \"and band='{band}'\" to the template's dataQuery, or select exactly with "
    "'exposure IN (IDLIST)'"
)


@click.command(
    "make-prod-groups",
    cls=ProdstatCommand,
    # Lets "-1" reach GROUPSIZE/SKIPGROUPS/NGROUPS (and their range check, exit 1) instead
    # of being taken for an unknown option; a mistyped option still fails (extra argument).
    context_settings={"ignore_unknown_options": True},
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
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Directory for the generated bps submit yamls (created if missing).",
)
@click.option("--force", is_flag=True, help="Overwrite generated files that already exist.")
@click.option(
    "--dry-run",
    "dry_run_here",
    is_flag=True,
    help="Print the files that would be written; write nothing (same as the global --dry-run).",
)
@json_option
@pass_app
def make_prod_groups(
    app: App,
    template: str,
    band: str,
    groupsize: int,
    skipgroups: int,
    ngroups: int,
    explist: str,
    output_dir: str,
    force: bool,
    dry_run_here: bool,
) -> None:
    """Write bps submit yamls for groups of GROUPSIZE exposures (or tracts) from EXPLIST.

    EXPLIST has one '<band> <id>' per line (blank lines and # comments are ignored).
    BAND is all, f (full: same as all) or one of ugrizy. The selected ids, sorted, are
    cut into groups of GROUPSIZE; groups SKIPGROUPS+1 … SKIPGROUPS+NGROUPS are written
    as <template>_<BAND>_<n>.yaml, with the words GNUM, BAND, LOWEXP, HIGHEXP and
    IDLIST (the group's ids, comma separated) replaced in the template. Existing files
    are only overwritten with --force. With one band, a warning says when the LOWEXP …
    HIGHEXP ranges also cover other bands' exposures.
    """
    # Imported here so that loading the CLI (prodstat --help) stays minimal.
    from ...core import groups as core

    dry_run = dry_run_here or app.dry_run
    # Cheap argument checks first, before any file is opened.
    core.check_window(groupsize, skipgroups, ngroups)
    template_bytes = _read(template, "template", TEMPLATE_MISSING, TEMPLATE_HINT)
    explist_bytes = _read(explist, "exposure list", EXPLIST_MISSING, EXPLIST_HINT)
    try:
        # utf-8-sig: a list saved by a Windows editor starts with a BOM.
        explist_text = explist_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(NOT_TEXT.format(path=explist), EXPLIST_HINT) from None

    entries = core.parse_explist(explist_text, source=explist)
    selection = core.select_ids(entries, band, source=explist)
    plan = core.plan_groups(selection.ids, groupsize, skipgroups, ngroups, band=band)
    uses_range = {"LOWEXP", "HIGHEXP"} & set(core.find_placeholders(template_bytes))
    narrowed = re.search(rb"\bband\s*(==?|in\b)", template_bytes, re.IGNORECASE) is not None
    exact = "IDLIST" in core.find_placeholders(template_bytes)
    if band not in core.ALL_BANDS and uses_range and not exact and not narrowed:
        others = core.other_bands_in_ranges(plan.groups, entries)
        if others:
            worst = max(others, key=lambda n: others[n])
            group = next(g for g in plan.groups if g.number == worst)
            app.note(
                OTHER_BANDS_WARNING.format(
                    band=band,
                    groups=len(others),
                    number=worst,
                    count=group.count,
                    extra=others[worst],
                    low=group.low,
                    high=group.high,
                )
            )

    out_dir = Path(output_dir)
    template_name = Path(template).name
    targets: list[tuple[Path, bytes]] = []
    for group in plan.groups:
        path = out_dir / core.output_name(template_name, band, group.number)
        targets.append((path, core.fill_template(template_bytes, core.placeholder_values(group, band))))

    if not core.find_placeholders(template_bytes):
        # The original wrote such files too; they may still be wanted (e.g. a test copy).
        app.note(NO_PLACEHOLDER_WARNING.format(path=template))
    if selection.merged:
        app.note(MERGED_NOTE.format(count=selection.merged))
    if not force:
        # Check every target before writing any, so a refusal leaves nothing half-done.
        for path, _ in targets:
            if path.exists():
                raise InputError(FILE_EXISTS.format(path=path), FILE_EXISTS_HINT)
    if not dry_run:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(CANNOT_WRITE.format(path=out_dir, reason=exc.strerror or exc)) from None
        _write_all(targets)

    verb = "would write" if dry_run else "wrote"
    files: list[dict[str, Any]] = []
    lines: list[str] = []
    for (path, _), group in zip(targets, plan.groups, strict=True):
        files.append(
            {
                "path": str(path),
                "group": group.number,
                "count": group.count,
                "low": group.low,
                "high": group.high,
            }
        )
        lines.append(f"{verb} {path}  {_describe(group)}")
    first, last = plan.groups[0].number, plan.groups[-1].number
    summary = (
        f"{verb} {len(targets)} {'file' if len(targets) == 1 else 'files'}: "
        f"{'group ' + str(first) if first == last else f'groups {first}-{last}'} of {plan.total} "
        f"(band {band}, {len(selection.ids)} ids, group size {groupsize})"
    )
    if dry_run:
        summary += "; dry run, nothing written"
    lines.append(summary)
    if plan.not_written:
        app.note(
            NOT_WRITTEN_NOTE.format(
                count=plan.not_written,
                requested=plan.requested,
                total=plan.total,
                ids=len(selection.ids),
                band=band,
            )
        )
    app.emit(
        lines,
        {
            "files": files,
            "written": 0 if dry_run else len(targets),
            "not_written": plan.not_written,
            "groups_total": plan.total,
            "band": band,
            "ids": len(selection.ids),
            "dry_run": dry_run,
        },
    )


COMMANDS = [make_prod_groups]
