"""Step and campaign maps: the original tool's tables of ``map-drp-steps`` and campaign roll-ups.

Pure functions, no I/O: validation of the hand-written map yaml (already loaded), the
original's step table ``||BPS_yaml||Issue||(T,Q,D,Fa,Sf)||DESCRIP||timestamp||`` and
campaign table ``||Step||Issue||Start||End||Core-hr||Status||`` (row text kept exactly
as the original wrote it, trailing space included), its colour rule, a parser of its
``Status:<state> nTasks:… nFiles:… nRemain:… nProc: nFinish:… nFail:… nSubFinish:…``
line, the ``*workflow*`` row of update-stat's ``panda`` section, and the roll-up of
workflows into step/campaign figures.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ..errors import InputError
from .ids import issue_kind, kind_phrase
from .markup import read_section, split_wiki_row

__all__ = [
    "CAMPAIGN_HEADER",
    "CAMPAIGN_MAP_SHAPE",
    "CAMPAIGN_SECTION",
    "COMPLETE",
    "FAILED",
    "HINT_CAMPAIGN_MAP_EXAMPLE",
    "HINT_MAP_ISSUE_TWICE",
    "HINT_STEP_MAP_EXAMPLE",
    "MSG_MAP_BAD_ENTRIES",
    "MSG_MAP_EMPTY",
    "MSG_MAP_ISSUE_TWICE",
    "MSG_MAP_NAME_TWICE",
    "MSG_MAP_NOT_MAPPING",
    "PENDING",
    "RUNNING",
    "STEP_HEADER",
    "STEP_MAP_SHAPE",
    "STEP_SECTION",
    "CampaignEntry",
    "PandaTotals",
    "Rollup",
    "StepEntry",
    "WorkflowFacts",
    "WorkflowStatus",
    "campaign_row",
    "format_core_hours",
    "is_workflow_issue",
    "issue_kind",
    "kind_phrase",
    "map_table",
    "panda_totals_from_json",
    "parse_campaign_map",
    "parse_panda_totals",
    "parse_status",
    "parse_step_map",
    "roll_up",
    "status_colour",
    "status_counts",
    "step_row",
]

STEP_SECTION = "step-map"
"""Managed section of a step issue holding its table of workflows."""

CAMPAIGN_SECTION = "campaign-map"
"""Managed section of a campaign issue holding its table of steps."""

STEP_HEADER = "||BPS_yaml||Issue||(T,Q,D,Fa,Sf)||DESCRIP||timestamp||"
"""Header of the step table, the original's."""

CAMPAIGN_HEADER = "||Step||Issue||Start||End||Core-hr||Status||"
"""Header of the campaign table, the original's."""

DESCRIP_WIDTH = 28
"""The original tool cut the DESCRIP cell (the data range) to 28 characters."""

PENDING, RUNNING, COMPLETE, FAILED = "Pending", "Running", "Complete", "Failed"
"""Roll-up states of a step or campaign."""

# iDDS request states after which nothing of the workflow runs any more.
_ENDED = frozenset(
    {"finished", "subfinished", "failed", "cancelled", "expired", "suspended", "broken", "aborted", "closed"}
)

_ISSUE_KEY_RE = re.compile(r"^[A-Z][A-Z0-9_]*-[1-9][0-9]*$")

# The original's regex ``(.*)Status:.*nTasks:(.*)nFiles:(.*)nRemain.*nProc: nFinish:(.*)
# nFail:(.*) nSubFinish:(.*)`` with its fragility removed: any spacing, and empty counts
# (a status line written before PanDA knew the numbers) read as 0 instead of raising.
_STATUS_RE = re.compile(
    r"Status:\s*(?P<state>[A-Za-z_]*).*?nTasks:\s*(?P<t>\d*).*?nFiles:\s*(?P<q>\d*).*?nRemain"
    r".*?nFinish:\s*(?P<d>\d*).*?nFail:\s*(?P<fa>\d*).*?nSubFinish:\s*(?P<sf>\d*)"
)

Counts = tuple[int, int, int, int, int]
"""(T, Q, D, Fa, Sf): tasks, files, finished tasks, failed tasks, sub-finished tasks."""


# -- workflow facts -------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkflowStatus:
    """The ``Status:`` line of a workflow issue (the original tool's line, which update-stat still writes)."""

    state: str
    counts: Counts

    @property
    def running(self) -> bool:
        """Whether the workflow may still run (its state is not a final iDDS state)."""
        return self.state.lower() not in _ENDED

    @property
    def complete(self) -> bool:
        """Finished with every task done (D == T)."""
        return self.state.lower() == "finished" and self.counts[2] == self.counts[0]


def parse_status(description: str) -> WorkflowStatus | None:
    """Return the last ``Status:… nTasks:… nFiles:…`` line of a description, or `None`.

    Later lines override earlier ones, as in the original's parser; both update-stat's
    ``status`` section and the free-text line of the original tool are found.
    """
    found: WorkflowStatus | None = None
    for line in description.splitlines():
        match = _STATUS_RE.search(line)
        if match is None:
            continue
        counts = tuple(int(match.group(g) or 0) for g in ("t", "q", "d", "fa", "sf"))
        found = WorkflowStatus(match.group("state"), counts)  # type: ignore[arg-type]
    return found


def status_counts(description: str) -> Counts:
    """Return (T,Q,D,Fa,Sf) of a description; ``(0,0,0,0,0)`` without a status line (as the original)."""
    status = parse_status(description)
    return status.counts if status is not None else (0, 0, 0, 0, 0)


def status_colour(counts: Sequence[int], step1_only: bool = False) -> str:
    """Return the original tool's colour of a status: the rules are applied in order, the last match wins.

    black; red if Fa > 0; black if T == D+Sf; green if T == D; blue if Fa == 0 and
    Q == 0; blue if T > D+Fa+Sf (``step1_only``: the summary's step1 table omits this rule).
    """
    t, q, d, fa, sf = counts
    colour = "black"
    if fa > 0:
        colour = "red"
    if t == d + sf:
        colour = "black"
    if t == d:
        colour = "green"
    if fa == 0 and q == 0:
        colour = "blue"
    if not step1_only and t > d + fa + sf:
        colour = "blue"
    return colour


@dataclass(frozen=True)
class PandaTotals:
    """The workflow totals of update-stat's PanDA table (its ``*workflow*`` row)."""

    first_start: datetime | None
    last_end: datetime | None
    core_hours: float | None


def _parse_time(text: object) -> datetime | None:
    if not text or not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    # update-stat writes UTC without a zone in its tables.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse_float(text: object) -> float | None:
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    if not isinstance(text, str):
        return None
    try:
        return float(text.split()[0]) if text.strip() else None
    except ValueError:
        return None


def parse_panda_totals(description: str) -> PandaTotals | None:
    """Read ``First start (UTC)``, ``Last end (UTC)`` and ``Core h`` of the ``*workflow*`` row.

    Returns `None` when the description has no ``panda`` section or no such row.
    """
    section = read_section(description, "panda")
    if not section:
        return None
    header: list[str] | None = None
    for line in section.splitlines():
        if not line.lstrip().startswith("|"):
            continue
        is_header, cells = split_wiki_row(line)
        if is_header:
            header = cells
            continue
        if header is None or not cells or cells[0] != "*workflow*":
            continue

        def cell(name: str, cells: list[str] = cells, header: list[str] = header) -> str:
            # split_wiki_row drops a trailing empty cell, so look up by position with care.
            index = header.index(name) if name in header else -1
            return cells[index] if 0 <= index < len(cells) else ""

        return PandaTotals(
            _parse_time(cell("First start (UTC)")),
            _parse_time(cell("Last end (UTC)")),
            _parse_float(cell("Core h")),
        )
    return None


def panda_totals_from_json(data: Mapping[str, Any]) -> PandaTotals | None:
    """Read the totals from update-stat's ``stats/<KEY>/panda.json`` (its ``workflow`` entry)."""
    workflow = data.get("workflow") if isinstance(data, Mapping) else None
    if not isinstance(workflow, Mapping):
        return None
    return PandaTotals(
        _parse_time(workflow.get("first_start")),
        _parse_time(workflow.get("last_end")),
        _parse_float(workflow.get("core_hours")),
    )


@dataclass(frozen=True)
class WorkflowFacts:
    """What a roll-up needs of one workflow issue."""

    key: str
    status: WorkflowStatus | None
    totals: PandaTotals | None


@dataclass(frozen=True)
class Rollup:
    """Start, end, core-hours and state of a set of workflows (a step or a campaign)."""

    workflows: int
    with_status: int
    start: date | None
    end: date | None
    core_hours: float | None
    status: str
    counts: Counts | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "workflows": self.workflows,
            "with_status": self.with_status,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "core_hours": None if self.core_hours is None else round(self.core_hours, 4),
            "status": self.status,
            "counts": list(self.counts) if self.counts else None,
        }


def roll_up(workflows: Iterable[WorkflowFacts]) -> Rollup:
    """Roll workflows up into step/campaign figures.

    Start = earliest first start, End = latest last end (UTC dates), Core-hr = Σ core
    hours, over the workflows that have PanDA totals (`None` when none has). Status:
    ``Pending`` when no workflow has a status line yet; ``Complete`` when every workflow's
    status line says ``finished`` with D == T; ``Failed`` when nothing is running any more
    and some workflow has failed tasks (Fa > 0) or ended in another final state
    (subfinished, failed, cancelled, ...); ``Running`` otherwise.
    """
    facts = list({w.key: w for w in workflows}.values())
    statuses = [w.status for w in facts if w.status is not None]
    totals = [w.totals for w in facts if w.totals is not None]
    starts = [t.first_start for t in totals if t.first_start is not None]
    ends = [t.last_end for t in totals if t.last_end is not None]
    hours = [t.core_hours for t in totals if t.core_hours is not None]
    if not statuses:
        status = PENDING
    elif len(statuses) == len(facts) and all(s.complete for s in statuses):
        status = COMPLETE
    elif not any(s.running for s in statuses) and any(s.counts[3] > 0 or not s.complete for s in statuses):
        status = FAILED
    else:
        status = RUNNING
    counts: Counts | None = None
    if statuses:
        counts = tuple(sum(s.counts[i] for s in statuses) for i in range(5))  # type: ignore[assignment]
    return Rollup(
        workflows=len(facts),
        with_status=len(statuses),
        start=min(starts).date() if starts else None,
        end=max(ends).date() if ends else None,
        core_hours=sum(hours) if hours else None,
        status=status,
        counts=counts,
    )


def format_core_hours(value: float | None) -> str:
    """Core-hours as the campaign table shows them: one decimal (``12.3``), empty for `None`."""
    return "" if value is None else f"{value:.1f}"


# -- issue kinds ----------------------------------------------------------------------------


def is_workflow_issue(summary: str, labels: Iterable[str]) -> bool:
    """Whether `issue_kind` says ``workflow``."""
    return issue_kind(summary, labels) == "workflow"


# -- map yaml -------------------------------------------------------------------------------

_SHORT = reprlib.Repr()  # keyword arguments only from Python 3.12
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict = 3, 8, 8, 8
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 60, 60, 40
_MAX_LISTED = 10


def _bad_entry(name: object, value: object) -> str:
    """``name: value`` for an error line, each cut short: a map may hold megabytes."""
    shown = name if isinstance(name, str) and len(name) <= 60 else _SHORT.repr(name)
    return f"{shown}: {_SHORT.repr(value)}"


def _listed(bad: Sequence[str]) -> str:
    more = len(bad) - _MAX_LISTED
    return "; ".join(bad[:_MAX_LISTED]) + (f"; and {more} more" if more > 0 else "")


# User-facing messages (tests import them). The two examples are hints without fields.
STEP_MAP_SHAPE = "<bps yaml name>: <workflow issue key>"
CAMPAIGN_MAP_SHAPE = "<step>: [<step issue>, <start>, <end>, <core-hr>, <status>]"
HINT_STEP_MAP_EXAMPLE = "e.g. {step1_1248: DRP-486, step1_1248_b: DRP-487}"
HINT_CAMPAIGN_MAP_EXAMPLE = "e.g. {step1: [DRP-489, '2022-07-27', '2022-07-28', 100, Complete]}"
MSG_MAP_NOT_MAPPING = "{source} is not a {what}: expected a mapping {shape}, got {kind}"
MSG_MAP_EMPTY = "{source} is an empty {what}: it maps nothing"
MSG_MAP_ISSUE_TWICE = "{source} maps the same issue under two names: {issues}; nothing was written"
HINT_MAP_ISSUE_TWICE = "give each {what} one name in the map"
MSG_MAP_NAME_TWICE = "{source} names the same {what} twice: {names}; nothing was written"
MSG_MAP_BAD_ENTRIES = "{source}: entries that are not {shape}: {entries}"


@dataclass(frozen=True)
class StepEntry:
    """One line of a step map: bps yaml name → workflow issue."""

    bps_yaml: str
    key: str


@dataclass(frozen=True)
class CampaignEntry:
    """One line of a campaign map: step → [issue, start, end, core-hr, status]."""

    step: str
    key: str
    start: str
    end: str
    core_hr: str
    status: str


def _as_key(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    return text if _ISSUE_KEY_RE.match(text) else None


def _verbatim(value: object) -> str:
    """A campaign-map value as the original tool copied it (``str``), dates as ``YYYY-MM-DD``."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _check_mapping(data: object, source: str, what: str, shape: str, example: str) -> Mapping[Any, Any]:
    if not isinstance(data, Mapping):
        kind = "nothing" if data is None else f"a {type(data).__name__}"
        raise InputError(
            MSG_MAP_NOT_MAPPING.format(source=source, what=what, shape=shape, kind=kind), example
        )
    if not data:
        raise InputError(MSG_MAP_EMPTY.format(source=source, what=what), example)
    return data


def _check_unique(pairs: Sequence[tuple[str, str]], source: str, what: str, example: str) -> None:
    """Reject an issue mapped under two names, or one name given twice (``x`` and ``x.yaml``).

    ``pairs`` is (name, key) in file order. The table, the links and the roll-ups count
    an issue once: two rows for it would show the same workflow (or step) twice.
    """
    names: dict[str, list[str]] = {}
    keys: dict[str, list[str]] = {}
    for name, key in pairs:
        names.setdefault(key, []).append(name)
        keys.setdefault(name, []).append(key)
    twice = [f"{key} ({', '.join(n)})" for key, n in names.items() if len(n) > 1]
    if twice:
        raise InputError(
            MSG_MAP_ISSUE_TWICE.format(source=source, issues=_listed(twice)),
            HINT_MAP_ISSUE_TWICE.format(what=what),
        )
    again = [name for name, k in keys.items() if len(k) > 1]
    if again:
        named = "bps yaml" if what == "workflow issue" else "step"
        raise InputError(
            MSG_MAP_NAME_TWICE.format(source=source, what=named, names=", ".join(again)), example
        )


def parse_step_map(data: object, source: str) -> list[StepEntry]:
    """Validate a loaded step map ``{<bps yaml name>: <workflow issue key>}``, in file order.

    Raises
    ------
    InputError
        Not a mapping, empty, values that are not issue keys (all listed), an issue under
        two names, or a name given twice (``x`` and ``x.yaml``).
    """
    mapping = _check_mapping(data, source, "step map", STEP_MAP_SHAPE, HINT_STEP_MAP_EXAMPLE)
    entries: list[StepEntry] = []
    bad: list[str] = []
    for name, value in mapping.items():
        key = _as_key(value)
        if key is None or name is None or str(name).strip() == "":
            bad.append(_bad_entry(name, value))
            continue
        entries.append(StepEntry(str(name).strip().removesuffix(".yaml"), key))
    if bad:
        raise InputError(
            MSG_MAP_BAD_ENTRIES.format(source=source, shape=STEP_MAP_SHAPE, entries=_listed(bad)),
            HINT_STEP_MAP_EXAMPLE,
        )
    _check_unique([(e.bps_yaml, e.key) for e in entries], source, "workflow issue", HINT_STEP_MAP_EXAMPLE)
    return entries


def parse_campaign_map(data: object, source: str) -> list[CampaignEntry]:
    """Validate a loaded campaign map ``{<step>: [<issue>, <start>, <end>, <core-hr>, <status>]}``.

    Values after the issue are kept verbatim (as text).

    Raises
    ------
    InputError
        Not a mapping, empty, values that are not 5-lists starting with an issue key,
        or a step issue under two names.
    """
    mapping = _check_mapping(data, source, "campaign map", CAMPAIGN_MAP_SHAPE, HINT_CAMPAIGN_MAP_EXAMPLE)
    entries: list[CampaignEntry] = []
    bad: list[str] = []
    for name, value in mapping.items():
        if not isinstance(value, list | tuple) or len(value) != 5 or _as_key(value[0]) is None:
            bad.append(_bad_entry(name, value))
            continue
        key = _as_key(value[0])
        assert key is not None
        entries.append(CampaignEntry(str(name).strip(), key, *(_verbatim(v) for v in value[1:])))
    if bad:
        raise InputError(
            MSG_MAP_BAD_ENTRIES.format(source=source, shape=CAMPAIGN_MAP_SHAPE, entries=_listed(bad)),
            HINT_CAMPAIGN_MAP_EXAMPLE,
        )
    _check_unique([(e.step, e.key) for e in entries], source, "step issue", HINT_CAMPAIGN_MAP_EXAMPLE)
    return entries


# -- the original tool's tables -------------------------------------------------------------


def _text(value: object) -> str:
    """Text for one cell: on one line, a literal ``|`` escaped (it would split the cell)."""
    text = " ".join(str(value).split()) if value is not None else ""
    return text.replace("\\|", "|").replace("|", "\\|")


def step_row(bps_yaml: str, key: str, url: str, counts: Sequence[int], hilow: str, timestamp: str) -> str:
    """Return one step-table row as the original wrote it (with its trailing space).

    ``| step1_1248| [DRP-486|<url>] | {color:green}3,212,3,0,0{color} | (1472,1502)|20220728T192631Z| ``
    """
    colour = status_colour(counts)
    status = ",".join(str(int(c)) for c in counts)
    return (
        f"| {_text(bps_yaml)}| [{key}|{url}] | {{color:{colour}}}{status}{{color}} | "
        f"{_text(hilow)[:DESCRIP_WIDTH] or ' '}|{_text(timestamp) or ' '}| "
    )


def campaign_row(step: str, key: str, url: str, start: str, end: str, core_hr: str, status: str) -> str:
    """Return one campaign-table row as the original wrote it (with its trailing space).

    ``| step1| [DRP-489|<url>] | 2022-07-27|2022-07-28|100|Complete| ``
    """
    cells = "|".join(_text(v) or " " for v in (start, end, core_hr, status))
    return f"| {_text(step)}| [{key}|{url}] | {cells}| "


def map_table(header: str, rows: Iterable[str]) -> str:
    """Return the table text: the header and one row per line."""
    return "\n".join([header, *rows])
