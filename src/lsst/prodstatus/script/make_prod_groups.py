"""``make-prod-groups``: split an exposure or tract list into bps submit files.

Every file is checked before any is written, and all are written to temporary files
first and then renamed: a refusal or a failure leaves no partial set behind.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import groups as core
from ..errors import InputError

__all__ = [
    "CANNOT_READ",
    "CANNOT_WRITE",
    "EXPLIST_HINT",
    "EXPLIST_MISSING",
    "FILE_EXISTS",
    "FILE_EXISTS_HINT",
    "MERGED_NOTE",
    "NOT_TEXT",
    "NOT_WRITTEN_NOTE",
    "NO_PLACEHOLDER_WARNING",
    "OTHER_BANDS_WARNING",
    "TEMPLATE_HINT",
    "TEMPLATE_MISSING",
    "GroupFile",
    "MakeProdGroupsResult",
    "run_make_prod_groups",
]

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
    "warning: template {path} contains none of GNUM, BAND, LOWEXP, HIGHEXP; "
    "every file written is a copy of it"
)
NOT_WRITTEN_NOTE = (
    "{count} of the {requested} requested groups not written: "
    "the list ends with group {total} ({ids} ids of band {band})"
)
MERGED_NOTE = "{count} ids listed under more than one band are counted once"
OTHER_BANDS_WARNING = (
    "warning: with band {band}, the LOWEXP…HIGHEXP ranges of {groups} group(s) also cover "
    "exposures of other bands (group {number}: {count} {band} exposures, but {low}–{high} holds {extra} "
    "more); add \"and band='{band}'\" to the template's dataQuery, or select exactly with "
    "'exposure IN (IDLIST)'"
)


@dataclass(frozen=True)
class GroupFile:
    """One bps submit file of a group."""

    path: Path
    group: int
    """The group's number, counted from 1 over the whole list."""
    count: int
    low: int
    high: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``--json``)."""
        return {
            "path": str(self.path),
            "group": self.group,
            "count": self.count,
            "low": self.low,
            "high": self.high,
        }


@dataclass
class MakeProdGroupsResult:
    """What ``make-prod-groups`` wrote (or, with ``dry_run``, would write)."""

    files: list[GroupFile]
    groups_total: int
    """Groups the whole selection makes."""
    not_written: int
    """Requested groups beyond the end of the list."""
    band: str
    ids: int
    """Ids selected for ``band``."""
    groupsize: int
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``--json``)."""
        return {
            "files": [f.to_dict() for f in self.files],
            "written": 0 if self.dry_run else len(self.files),
            "not_written": self.not_written,
            "groups_total": self.groups_total,
            "band": self.band,
            "ids": self.ids,
            "dry_run": self.dry_run,
        }


def _read(path: str, what: str, missing: str, hint: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(missing.format(path=path), hint) from None
    except OSError as exc:  # a directory, no permission, ...
        raise InputError(CANNOT_READ.format(what=what, path=path, reason=exc.strerror or exc), hint) from None


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


def _other_bands_warning(band: str, template: bytes, groups: list[core.Group], entries: Any) -> str | None:
    """With one band, whether the LOWEXP…HIGHEXP ranges also hold other bands' exposures."""
    placeholders = set(core.find_placeholders(template))
    narrowed = re.search(rb"\bband\s*(==?|in\b)", template, re.IGNORECASE) is not None
    if band in core.ALL_BANDS or not {"LOWEXP", "HIGHEXP"} & placeholders or "IDLIST" in placeholders:
        return None
    others = {} if narrowed else core.other_bands_in_ranges(groups, entries)
    if not others:
        return None
    worst = max(others, key=lambda n: others[n])
    group = next(g for g in groups if g.number == worst)
    return OTHER_BANDS_WARNING.format(
        band=band,
        groups=len(others),
        number=worst,
        count=group.count,
        extra=others[worst],
        low=group.low,
        high=group.high,
    )


def run_make_prod_groups(
    *,
    template: str,
    band: str,
    groupsize: int,
    skipgroups: int,
    ngroups: int,
    explist: str,
    output_dir: str = ".",
    force: bool = False,
    dry_run: bool = False,
    note: Callable[[str], None] = lambda text: None,
) -> MakeProdGroupsResult:
    """Write bps submit yamls for groups SKIPGROUPS+1 … SKIPGROUPS+NGROUPS of ``explist``.

    The selected ids of ``band``, sorted, are cut into groups of ``groupsize``; each
    group's file is ``<template>_<band>_<n>.yaml`` in ``output_dir``, the template with
    GNUM, BAND, LOWEXP, HIGHEXP and IDLIST replaced. Warnings go to ``note`` as they are
    found (before a refusal, too).

    Raises
    ------
    InputError
        A bad window, a missing or unreadable file, a file that exists without
        ``force``, a write that failed (exit 1): then no file was written.
    """
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
    warning = _other_bands_warning(band, template_bytes, plan.groups, entries)
    if warning:
        note(warning)
    out_dir = Path(output_dir)
    template_name = Path(template).name
    targets = [
        (
            out_dir / core.output_name(template_name, band, group.number),
            core.fill_template(template_bytes, core.placeholder_values(group, band)),
        )
        for group in plan.groups
    ]
    if not core.find_placeholders(template_bytes):
        # The original wrote such files too; they may still be wanted (e.g. a test copy).
        note(NO_PLACEHOLDER_WARNING.format(path=template))
    if selection.merged:
        note(MERGED_NOTE.format(count=selection.merged))
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
    if plan.not_written:
        note(
            NOT_WRITTEN_NOTE.format(
                count=plan.not_written,
                requested=plan.requested,
                total=plan.total,
                ids=len(selection.ids),
                band=band,
            )
        )
    files = [
        GroupFile(path, group.number, group.count, group.low, group.high)
        for (path, _), group in zip(targets, plan.groups, strict=True)
    ]
    return MakeProdGroupsResult(
        files=files,
        groups_total=plan.total,
        not_written=plan.not_written,
        band=band,
        ids=len(selection.ids),
        groupsize=groupsize,
        dry_run=dry_run,
    )
