"""Summary issues of ``add-job-to-summary``: the state (one entry per workflow) and the original's tables.

The original tool kept the state as a JSON object in an issue's description (its DRP-54)::

    {"PREOPS-973#20220127T205042Z": ["PREOPS-973", "DRP-486", [3, 212, 3, 0, 0], "<panda link>", "step1(1472,1502)"]}

prodstat keeps the same object in an attachment (`STATE_FILENAME`), so Jira's description
limit is never reached, and renders from it the original's two tables (its DRP-53 and
DRP-55): every workflow, and step1 only. Pure functions, no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import InputError
from .bps import parse_data_range, parse_summary
from .maps import status_colour, status_counts

__all__ = [
    "ALL_HEADER",
    "ALL_LABEL",
    "HINT_NOT_WORKFLOW",
    "HINT_STATE_DAMAGED",
    "MSG_ENTRY_COUNTS",
    "MSG_ENTRY_SHAPE",
    "MSG_NOT_WORKFLOW",
    "MSG_STATE_DAMAGED",
    "MSG_STATE_NOT_OBJECT",
    "STATE_FILENAME",
    "STEP1_LABEL",
    "SUMMARY_SECTION",
    "SummaryEntry",
    "entry_from_issue",
    "load_state",
    "merge_entry",
    "panda_link_of",
    "summary_colour",
    "summary_table",
]

STATE_FILENAME = "prodstat-summary.json"
"""Attachment of the all-workflows summary issue that holds the state (the original's JSON object)."""

SUMMARY_SECTION = "summary"
"""Managed section of a summary issue holding its table."""

ALL_LABEL = "prodstat_summary_all"
"""Identity label of the all-workflows summary issue (the original's DRP-53)."""

STEP1_LABEL = "prodstat_summary_step1"
"""Identity label of the step1-only summary issue (the original's DRP-55)."""

ALL_HEADER = "||Date||PREOPS||STATS||(T,Q,D,Fa,Sf)||PANDA||DESCRIP||"
"""Header of both summary tables, the original's (STATS holds the workflow issue key, as in the original)."""

_LINK_RE = re.compile(r"PanDA.*link:(.*)")

# User-facing messages (tests import them).
MSG_ENTRY_SHAPE = "entry {entry_id!r} is not [production, key, [T,Q,D,Fa,Sf], link, what]"
MSG_ENTRY_COUNTS = "entry {entry_id!r} has {count} counts, not 5"
MSG_STATE_NOT_OBJECT = "not a JSON object"
MSG_STATE_DAMAGED = "the summary state {where} is damaged: {error}"
"""``error``: `MSG_ENTRY_SHAPE`, `MSG_ENTRY_COUNTS`, `MSG_STATE_NOT_OBJECT` or the JSON parser's text."""
HINT_STATE_DAMAGED = "fix or delete that attachment, or rebuild the summary with --reset"
MSG_NOT_WORKFLOW = (
    "{key} is not a workflow issue: its summary {summary!r} has no <step>#<campaign>/<TIMESTAMP>"
)
HINT_NOT_WORKFLOW = "give the key update-issue printed for the workflow"


@dataclass(frozen=True)
class SummaryEntry:
    """One workflow in the summary: the original's list ``[production, key, counts, link, what]``."""

    production: str
    key: str
    counts: tuple[int, int, int, int, int]
    panda_link: str
    what: str
    timestamp: str

    @property
    def entry_id(self) -> str:
        """The original's dictionary key ``<production>#<timestamp>``."""
        return f"{self.production}#{self.timestamp}"

    def to_json(self) -> list[object]:
        """The original's JSON list ``[production, key, [T,Q,D,Fa,Sf], link, what]``."""
        return [self.production, self.key, list(self.counts), self.panda_link, self.what]

    @classmethod
    def from_json(cls, entry_id: str, value: object) -> SummaryEntry:
        """Read one entry back; `ValueError` when it is not ``[production, key, [5 counts], link, what]``."""
        if not isinstance(value, list) or len(value) != 5 or not isinstance(value[2], list):
            raise ValueError(MSG_ENTRY_SHAPE.format(entry_id=entry_id))
        counts = tuple(int(n) for n in value[2])
        if len(counts) != 5:
            raise ValueError(MSG_ENTRY_COUNTS.format(entry_id=entry_id, count=len(counts)))
        timestamp = entry_id.rpartition("#")[2]
        return cls(str(value[0]), str(value[1]), counts, str(value[3]), str(value[4]), timestamp)


def panda_link_of(description: str) -> str:
    """The PanDA link of a workflow description (the last ``PanDA…link:`` line), or ``""``."""
    link = ""
    for line in description.splitlines():
        if match := _LINK_RE.search(line):
            link = match.group(1).strip()
    return link


def entry_from_issue(production: str, key: str, summary: str, description: str) -> SummaryEntry:
    """The summary entry of workflow issue ``key`` (its summary and description, read as the original's parser did).

    Raises
    ------
    InputError
        The summary is not a workflow summary ``<step>#<campaign>/<TIMESTAMP>``.
    """
    parsed = parse_summary(summary)
    if parsed is None:
        raise InputError(MSG_NOT_WORKFLOW.format(key=key, summary=summary), HINT_NOT_WORKFLOW)
    step, _campaign, timestamp = parsed
    return SummaryEntry(
        production,
        key,
        status_counts(description),
        panda_link_of(description),
        step + parse_data_range(description),
        timestamp,
    )


def load_state(data: bytes | None, where: str) -> dict[str, SummaryEntry]:
    """Read the state attachment (`None`: no state yet, an empty summary).

    Raises
    ------
    InputError
        The attachment is not the JSON object shown above (the message says how to start afresh).
    """
    if data is None or not data.strip():
        return {}
    try:
        raw = json.loads(data.decode("utf-8"))
        if not isinstance(raw, dict):
            raise ValueError(MSG_STATE_NOT_OBJECT)
        return {str(k): SummaryEntry.from_json(str(k), v) for k, v in raw.items()}
    except (UnicodeDecodeError, ValueError, TypeError) as exc:
        raise InputError(MSG_STATE_DAMAGED.format(where=where, error=exc), HINT_STATE_DAMAGED) from exc


def dump_state(state: Mapping[str, SummaryEntry]) -> bytes:
    """The state attachment's bytes (entries in key order, so a re-run writes the same bytes)."""
    return (
        json.dumps({k: state[k].to_json() for k in sorted(state)}, indent=1, ensure_ascii=False) + "\n"
    ).encode("utf-8")


def merge_entry(
    state: Mapping[str, SummaryEntry], entry: SummaryEntry, *, remove: bool = False
) -> dict[str, SummaryEntry]:
    """Return ``state`` with ``entry`` added or replaced, or (``remove``) without the workflow.

    An entry is replaced per workflow: the same ``<production>#<timestamp>``, or the same
    workflow issue recorded under another production key. ``remove`` drops every entry of
    this workflow issue under this production key (the original dropped only the first).
    """
    merged = {
        k: v
        for k, v in state.items()
        if not (v.key == entry.key and (remove is False or v.production == entry.production))
    }
    if remove:
        return merged
    merged[entry.entry_id] = entry
    return merged


def summary_colour(counts: Iterable[int], step1_only: bool = False) -> str:
    """The colour of a status (`~lsst.prodstatus.core.maps.status_colour`); the step1 table omits the last rule."""
    return status_colour(tuple(counts), step1_only)


def _date(timestamp: str) -> str:
    return f"{timestamp[0:4]}-{timestamp[4:6]}-{timestamp[6:8]}"


def _sort_key(entry: SummaryEntry) -> tuple[str, int, str]:
    # The original sorted "PREOPS-NNN#TS" strings descending (PREOPS-99 after PREOPS-100):
    # here the production key's number counts as a number; newest first within it.
    head, _, number = entry.production.rpartition("-")
    return (head, int(number) if number.isdigit() else -1, entry.timestamp)


def summary_table(state: Mapping[str, SummaryEntry], browse_url: str, *, step1_only: bool = False) -> str:
    """The summary table of every workflow, or of the step1 workflows only, as the original wrote them.

    ``browse_url`` is the tracker's browse prefix (``https://…/browse/``) of the production
    issues' links. Rows are newest production first, newest run first.
    """
    rows = [ALL_HEADER]
    entries = sorted(state.values(), key=_sort_key, reverse=True)
    for e in entries:
        if step1_only and not e.what.startswith("step1"):
            continue
        counts = ",".join(str(n) for n in e.counts)
        colour = summary_colour(e.counts, step1_only)
        production = f"[{e.production}|{browse_url}{e.production}]"
        panda = f"[pDa|{e.panda_link}]" if e.panda_link else " "
        if step1_only:
            rows.append(
                f"| {_date(e.timestamp)} | {production} | {e.key}|{{color:{colour}}}{counts}{{color}} | "
                f"{panda} |{e.what[:25]}|"
            )
        else:
            rows.append(
                f"| {_date(e.timestamp)} | {production} | {e.key}|{{color:{colour}}}{counts}{{color}}| "
                f"{panda} |{e.what[:28]}|"
            )
    if len(rows) == 1:
        rows.append(
            "(no workflows yet: add them with 'prodstat add-job-to-summary PRODUCTION_ISSUE DRP_ISSUE')"
        )
    return "\n".join(rows)
