"""Split an exposure (or tract) list into groups and fill bps submit templates.

Pure logic behind ``prodstat make-prod-groups``: text and numbers in, values out, no I/O.
Bad input raises `~lsst.prodstatus.errors.InputError` with the messages defined here as
module-level constants, so the command and its tests share the exact wording.

Grouping follows the original tool: the ids of the selected band, sorted, are cut into
consecutive chunks of ``groupsize`` (row ``i`` goes to group ``i // groupsize``); groups
are numbered from 1 by absolute position, so skipping groups keeps the numbering.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import InputError

__all__ = [
    "ALL_BANDS",
    "DUPLICATE_HINT",
    "DUPLICATE_ID",
    "EXPLIST_HINT",
    "GROUPSIZE_TOO_SMALL",
    "LINE_BAD_ID",
    "LINE_COLUMNS",
    "LIST_EMPTY",
    "NGROUPS_TOO_SMALL",
    "NOTHING_TO_WRITE",
    "NOTHING_TO_WRITE_HINT",
    "NO_IDS_FOR_BAND",
    "NO_IDS_HINT",
    "PLACEHOLDERS",
    "PLACEHOLDER_RE",
    "SKIPGROUPS_NEGATIVE",
    "Entry",
    "Group",
    "GroupPlan",
    "Selection",
    "check_window",
    "fill_template",
    "find_placeholders",
    "output_name",
    "parse_explist",
    "placeholder_values",
    "plan_groups",
    "select_ids",
]

PLACEHOLDERS = ("GNUM", "BAND", "LOWEXP", "HIGHEXP", "IDLIST")
"""Template placeholders, replaced as whole tokens. ``IDLIST`` is the group's ids, comma
separated (for ``exposure IN (IDLIST)``: exact, whatever other bands lie in between)."""

ALL_BANDS = frozenset({"all", "f"})
"""BAND values that keep every line ("f" = full, as in the original)."""

# A placeholder is a whole token when no letter or digit touches it: "exposure >=LOWEXP" and
# "grp_GNUM" (operators join names with "_") are replaced; "BANDWIDTH", "MYBAND" and "GNUMBER"
# are not (the original replaced all three).
PLACEHOLDER_RE = re.compile(rb"(?<![A-Za-z0-9])(GNUM|BAND|LOWEXP|HIGHEXP|IDLIST)(?![A-Za-z0-9])")

# ASCII digits only: int() alone would also take "1_000", "+5", " ٣" or "-1".
_ID_RE = re.compile(r"[0-9]+", re.ASCII)

EXPLIST_HINT = "each line must be '<band> <id>', e.g. 'z 1472'; blank lines and # comments are ignored"
LINE_COLUMNS = "{source}:{line}: expected 2 columns '<band> <id>', got {count}: {text!r}"
LINE_BAD_ID = "{source}:{line}: id {token!r} is not a non-negative integer: {text!r}"
DUPLICATE_ID = "{source}:{line}: id {id} with band {band} is already listed on line {first}"
DUPLICATE_HINT = "remove one of the two lines (a duplicate would make its group smaller than GROUPSIZE)"
LIST_EMPTY = "{source} lists no ids"
NO_IDS_FOR_BAND = "band {band} selects no ids in {source} ({count} ids listed, bands: {bands})"
NO_IDS_HINT = "choose a band present in the list, or 'all'"
GROUPSIZE_TOO_SMALL = "GROUPSIZE must be at least 1, got {value}"
SKIPGROUPS_NEGATIVE = "SKIPGROUPS must be 0 or more, got {value}"
NGROUPS_TOO_SMALL = "NGROUPS must be at least 1, got {value}"
NOTHING_TO_WRITE = (
    "SKIPGROUPS {skip} skips every group: band {band} has {ids} ids, {total} groups of at most {size}"
)
NOTHING_TO_WRITE_HINT = "use a SKIPGROUPS below {total}"


@dataclass(frozen=True)
class Entry:
    """One explist line: its band word, its id and its 1-based line number."""

    band: str
    id: int
    line: int


@dataclass(frozen=True)
class Selection:
    """The ids a BAND selects from an explist.

    Attributes
    ----------
    ids : `tuple` [`int`, ...]
        Selected ids, sorted ascending, each once.
    listed : `int`
        Number of entries in the whole list.
    merged : `int`
        Entries dropped because their id was already selected under another band
        (only with ``all``/``f``).
    """

    ids: tuple[int, ...]
    listed: int
    merged: int = 0


@dataclass(frozen=True)
class Group:
    """A group of consecutive sorted ids; ``number`` counts from 1 over the whole list."""

    number: int
    ids: tuple[int, ...]

    @property
    def count(self) -> int:
        """Number of ids in the group."""
        return len(self.ids)

    @property
    def low(self) -> int:
        """Smallest id (the ids are sorted)."""
        return self.ids[0]

    @property
    def high(self) -> int:
        """Largest id."""
        return self.ids[-1]


@dataclass(frozen=True)
class GroupPlan:
    """The groups to write for a SKIPGROUPS/NGROUPS window.

    Attributes
    ----------
    groups : `list` [`Group`]
        Groups inside the window that exist, in order.
    total : `int`
        Number of groups the whole selection makes.
    requested : `int`
        NGROUPS.
    """

    groups: list[Group]
    total: int
    requested: int

    @property
    def not_written(self) -> int:
        """Requested groups that do not exist because the list ended."""
        return self.requested - len(self.groups)


def parse_explist(text: str, source: str = "EXPLIST") -> list[Entry]:
    """Parse ``<band> <id>`` lines (whitespace-separated; blank lines and ``#`` comments skipped).

    Parameters
    ----------
    text : `str`
        Contents of the list.
    source : `str`
        Name used in error messages (the file path).

    Returns
    -------
    entries : `list` [`Entry`]
        Entries in file order.

    Raises
    ------
    InputError
        A malformed line, or the same id listed twice with the same band.
    """
    entries: list[Entry] = []
    seen: dict[tuple[str, int], int] = {}
    # split("\n"), not splitlines(): the latter also breaks on \f, \x1c, ... and would
    # make the reported line numbers disagree with an editor's.
    for number, raw in enumerate(text.split("\n"), start=1):
        content = raw.partition("#")[0]
        fields = content.split()
        if not fields:
            continue
        shown = raw.rstrip("\r")
        if len(fields) != 2:
            raise InputError(
                LINE_COLUMNS.format(source=source, line=number, count=len(fields), text=shown), EXPLIST_HINT
            )
        band, token = fields
        if not _ID_RE.fullmatch(token):
            raise InputError(
                LINE_BAD_ID.format(source=source, line=number, token=token, text=shown), EXPLIST_HINT
            )
        entry = Entry(band, int(token), number)
        first = seen.setdefault((band, entry.id), number)
        if first != number:
            raise InputError(
                DUPLICATE_ID.format(source=source, line=number, id=entry.id, band=band, first=first),
                DUPLICATE_HINT,
            )
        entries.append(entry)
    return entries


def select_ids(entries: Sequence[Entry], band: str, source: str = "EXPLIST") -> Selection:
    """Return the sorted ids that ``band`` selects.

    Parameters
    ----------
    entries : `~collections.abc.Sequence` [`Entry`]
        Parsed explist.
    band : `str`
        ``all`` or ``f`` keep every entry; any other value (one of ``ugrizy`` from the
        CLI) keeps entries whose band column equals it. The band column itself may be
        any word (tract lists use e.g. ``all``).
    source : `str`
        Name used in error messages.

    Raises
    ------
    InputError
        The selection is empty.
    """
    if not entries:
        raise InputError(LIST_EMPTY.format(source=source), EXPLIST_HINT)
    keep_all = band in ALL_BANDS
    chosen = [e.id for e in entries if keep_all or e.band == band]
    if not chosen:
        bands = " ".join(sorted({e.band for e in entries}))
        raise InputError(
            NO_IDS_FOR_BAND.format(band=band, source=source, count=len(entries), bands=bands), NO_IDS_HINT
        )
    # The same id under two bands (possible with "all") is one exposure/tract to process;
    # keeping it twice could put it in two groups with overlapping ranges.
    unique = sorted(set(chosen))
    return Selection(tuple(unique), len(entries), len(chosen) - len(unique))


def check_window(groupsize: int, skipgroups: int, ngroups: int) -> None:
    """Reject a GROUPSIZE below 1, a negative SKIPGROUPS or an NGROUPS below 1."""
    if groupsize < 1:
        raise InputError(GROUPSIZE_TOO_SMALL.format(value=groupsize))
    if skipgroups < 0:
        raise InputError(SKIPGROUPS_NEGATIVE.format(value=skipgroups))
    if ngroups < 1:
        raise InputError(NGROUPS_TOO_SMALL.format(value=ngroups))


def plan_groups(
    ids: Sequence[int], groupsize: int, skipgroups: int, ngroups: int, band: str = "all"
) -> GroupPlan:
    """Cut sorted ``ids`` into groups and keep those of the window.

    Parameters
    ----------
    ids : `~collections.abc.Sequence` [`int`]
        Sorted, distinct ids (a `Selection`'s ``ids``).
    groupsize, skipgroups, ngroups : `int`
        Group size, groups skipped at the start, groups wanted.
    band : `str`
        Only used in the error message.

    Returns
    -------
    plan : `GroupPlan`
        Groups ``skipgroups + 1`` … ``skipgroups + ngroups`` that exist.

    Raises
    ------
    InputError
        Invalid numbers, or the window starts past the last group.
    """
    check_window(groupsize, skipgroups, ngroups)
    total = -(-len(ids) // groupsize)
    if skipgroups >= total:
        raise InputError(
            NOTHING_TO_WRITE.format(skip=skipgroups, band=band, ids=len(ids), total=total, size=groupsize),
            NOTHING_TO_WRITE_HINT.format(total=total),
        )
    stop = min(skipgroups + ngroups, total)
    groups = [
        Group(index + 1, tuple(ids[index * groupsize : (index + 1) * groupsize]))
        for index in range(skipgroups, stop)
    ]
    return GroupPlan(groups, total, ngroups)


def placeholder_values(group: Group, band: str) -> dict[str, str]:
    """Return the replacement text of each placeholder for ``group``."""
    return {
        "GNUM": str(group.number),
        "BAND": band,
        "LOWEXP": str(group.low),
        "HIGHEXP": str(group.high),
        "IDLIST": ", ".join(map(str, group.ids)),
    }


def other_bands_in_ranges(groups: Sequence[Group], entries: Sequence[Entry]) -> dict[int, int]:
    """Per group number, how many ids of *other* bands lie inside its LOWEXP…HIGHEXP range.

    With one band, the ranges ``exposure >= LOWEXP and exposure <= HIGHEXP`` also cover the
    other bands' exposures taken in between; this tells how many (only groups with any).
    """
    import bisect

    every = sorted({e.id for e in entries})
    out: dict[int, int] = {}
    for group in groups:
        inside = bisect.bisect_right(every, group.high) - bisect.bisect_left(every, group.low)
        extra = inside - group.count
        if extra > 0:
            out[group.number] = extra
    return out


def find_placeholders(template: bytes) -> list[str]:
    """Return the placeholders present in ``template`` as whole tokens, in `PLACEHOLDERS` order."""
    found = {m.group(1).decode("ascii") for m in PLACEHOLDER_RE.finditer(template)}
    return [name for name in PLACEHOLDERS if name in found]


def fill_template(template: bytes, values: Mapping[str, str]) -> bytes:
    """Replace whole-token placeholders in ``template``; every other byte is kept.

    Parameters
    ----------
    template : `bytes`
        Template contents exactly as read (line endings and encoding untouched).
    values : `~collections.abc.Mapping` [`str`, `str`]
        Replacement for each placeholder name (see `placeholder_values`).

    Returns
    -------
    text : `bytes`
        The filled template.
    """
    # One pass, so a substituted value is never itself scanned for placeholders.
    return PLACEHOLDER_RE.sub(lambda m: values[m.group(1).decode("ascii")].encode("utf-8"), template)


def output_name(template_name: str, band: str, number: int) -> str:
    """Return ``<template base>_<band>_<number>.yaml`` (base: name without a trailing ``.yaml``)."""
    base = template_name.removesuffix(".yaml")
    return f"{base}_{band}_{number}.yaml"
