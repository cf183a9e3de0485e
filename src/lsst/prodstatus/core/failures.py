"""Failure triage: PanDA failures per label and error, and the rules that classify them.

`FailureSummary` is a `~lsst.prodstatus.core.stats.JobAccumulator`: it is fed the failed
job records of each task (all attempts) and keeps, per (label, error source, code), the
number of failed attempts and of failed jobs (attempts PanDA will not retry: the last
attempt of their quantum), the diagnostic of the lowest pandaid and the three lowest
pandaids as examples. That is a few numbers per group, never a list of jobs, and it is
the same whatever order the replies arrive in.

A job's error is the first non-zero code in `ERROR_SOURCES` order (the pilot's own
diagnosis before the payload's, the payload's before the infrastructure's, the
transformation exit code last), so each failed attempt is counted once.

`ErrorRule` objects (from yaml) give a group its flavour (``infrastructure``,
``configuration``, ``pipelines``), a short name, an action hint and an optional ticket.
Pure functions and plain data; reading rule files is the caller's business.

`QuantumFailures` are the other view, from the Butler: where the RUN has
``run_provenance``, the failed quanta per label and exception type
(`~lsst.prodstatus.services.butler.ButlerStats.failed_quanta`), shown under the PanDA
table.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from .markup import wiki_cell, wiki_table

__all__ = [
    "ERROR_SOURCES",
    "FAILURE_JOB_FIELDS",
    "FINAL_KEY",
    "FLAVOURS",
    "HINT_RULES",
    "HINT_RULE_SOURCE",
    "MSG_RULES_NOT_LIST",
    "MSG_RULE_BAD_DIAG",
    "MSG_RULE_BAD_FLAVOUR",
    "MSG_RULE_BAD_SOURCE",
    "MSG_RULE_MATCHES_NOTHING",
    "MSG_RULE_NOT_MAPPING",
    "MSG_RULE_NO_NAME",
    "MSG_RULE_UNKNOWN_KEYS",
    "MSG_RULE_ZERO_CODE",
    "ErrorGroup",
    "ErrorRule",
    "FailureSummary",
    "QuantumFailures",
    "classify",
    "escape_diag",
    "failures_section",
    "job_error",
    "parse_rules",
    "quantum_failures",
    "trim_diag",
]

ERROR_SOURCES: tuple[tuple[str, str, str | None], ...] = (
    ("pilot", "piloterrorcode", "piloterrordiag"),
    ("exe", "exeerrorcode", "exeerrordiag"),
    ("sup", "superrorcode", "superrordiag"),
    ("ddm", "ddmerrorcode", "ddmerrordiag"),
    ("taskbuffer", "taskbuffererrorcode", "taskbuffererrordiag"),
    ("brokerage", "brokerageerrorcode", "brokerageerrordiag"),
    ("jobdispatcher", "jobdispatchererrorcode", "jobdispatchererrordiag"),
    ("trans", "transexitcode", None),
)
"""(source, code field, diagnostic field) of the PanDA job error fields, in the order a
job's error is looked for."""

FAILURE_JOB_FIELDS: tuple[str, ...] = (
    "pandaid",
    "jeditaskid",
    "jobstatus",
    "attemptnr",
    *(f for _, code, diag in ERROR_SOURCES for f in (code, diag) if f),
)
"""The job fields `FailureSummary` reads."""

FINAL_KEY = "prodstat_final"
"""Key the PanDA client sets on a failed record: `False` when a retry superseded it."""

FLAVOURS = ("infrastructure", "configuration", "pipelines")
"""What a rule can say a failure is: the site's fault, the submission's, or the science code's."""

DIAG_LIMIT = 150
"""Characters of a diagnostic kept in the issue."""

MAX_EXAMPLES = 3
_UNKNOWN = "unknown"

# User-facing messages (tests import them). ``where`` is ``rule <n>`` or ``rule <n> (<name>)``.
HINT_RULES = "fix {origin} (see 'prodstat update-stat --help' and the default error_rules.yaml)"
MSG_RULES_NOT_LIST = "error rules {origin} must hold a list 'rules:' of rules"
MSG_RULE_NOT_MAPPING = "error rules {origin}: {where} is not a mapping"
MSG_RULE_UNKNOWN_KEYS = "error rules {origin}: {where} has unknown key(s) {keys}"
MSG_RULE_NO_NAME = "error rules {origin}: {where} has no name"
MSG_RULE_BAD_FLAVOUR = "error rules {origin}: {where} has flavour {flavour!r}, not one of {flavours}"
MSG_RULE_BAD_SOURCE = "error rules {origin}: {where} has unknown source {source!r}"
HINT_RULE_SOURCE = "use one of {sources}"
MSG_RULE_ZERO_CODE = "error rules {origin}: {where} has an empty or zero code {code!r}"
MSG_RULE_BAD_DIAG = "error rules {origin}: {where} has an invalid diag regex {diag!r} ({error})"
MSG_RULE_MATCHES_NOTHING = "error rules {origin}: {where} matches nothing (no source, code or diag)"


def _code(value: Any) -> int | str | None:
    """A non-zero error code as an int (or its text), `None` for no error."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        number = int(text)
    except ValueError:
        return text or None
    return number or None


def job_error(job: Mapping[str, Any]) -> tuple[str, int | str, str]:
    """Return (source, code, diagnostic) of a failed job: its first non-zero error code.

    A failed job with no code at all is ``("unknown", 0, "")``.
    """
    for source, code_field, diag_field in ERROR_SOURCES:
        code = _code(job.get(code_field))
        if code is not None:
            diag = str(job.get(diag_field) or "") if diag_field else ""
            return source, code, diag
    return _UNKNOWN, 0, ""


def trim_diag(text: str, limit: int = DIAG_LIMIT) -> str:
    """One line of at most ``limit`` characters (an ellipsis marks a cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


_MARKUP_RE = re.compile(r"([{}\[\]*_!^~+?#])")


def escape_diag(text: str) -> str:
    """A diagnostic as inert wiki text for a table cell.

    Characters that open Jira markup (``{code}``, links, bold, images, ...) are escaped
    with a backslash; a backslash of the text itself would escape what follows, so it
    becomes the look-alike ``⧵``; ``|`` and line breaks are handled by `wiki_cell`.
    """
    return wiki_cell(_MARKUP_RE.sub(r"\\\1", text.replace("\\", "⧵")))


# -- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorRule:
    """One classification rule: what it matches and what it says."""

    name: str
    flavour: str
    action: str = ""
    ticket: str = ""
    source: str | None = None
    codes: tuple[int | str, ...] = ()
    diag: re.Pattern[str] | None = None
    origin: str = ""

    def matches(self, source: str, code: int | str, diag: str) -> bool:
        """Whether an error (source, code, diagnostic) is this rule's."""
        if self.source is not None and self.source != source:
            return False
        if self.codes and code not in self.codes:
            return False
        return self.diag is None or self.diag.search(diag) is not None


_SOURCE_NAMES = {s: s for s, _, _ in ERROR_SOURCES} | {code: s for s, code, _ in ERROR_SOURCES}
_RULE_KEYS = {"name", "flavour", "action", "ticket", "source", "code", "diag"}


def parse_rules(data: Any, origin: str) -> list[ErrorRule]:
    """Rules from the loaded yaml of a rules file (``rules:`` list, or a bare list).

    Raises
    ------
    InputError
        A rule is malformed: the message names the file (``origin``) and the rule.
    """
    fix = HINT_RULES.format(origin=origin)
    items = data.get("rules") if isinstance(data, Mapping) else data
    if data is None:
        return []
    if not isinstance(items, list):
        raise InputError(MSG_RULES_NOT_LIST.format(origin=origin), fix)
    rules: list[ErrorRule] = []
    for number, item in enumerate(items, start=1):
        where = f"rule {number}"
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            where += f" ({item['name']})"
        if not isinstance(item, Mapping):
            raise InputError(MSG_RULE_NOT_MAPPING.format(origin=origin, where=where), fix)
        unknown = sorted(set(map(str, item)) - _RULE_KEYS)
        if unknown:
            raise InputError(
                MSG_RULE_UNKNOWN_KEYS.format(origin=origin, where=where, keys=", ".join(unknown)), fix
            )
        name = str(item.get("name") or "").strip()
        if not name:
            raise InputError(MSG_RULE_NO_NAME.format(origin=origin, where=where), fix)
        flavour = str(item.get("flavour") or "").strip().lower()
        if flavour not in FLAVOURS:
            raise InputError(
                MSG_RULE_BAD_FLAVOUR.format(
                    origin=origin, where=where, flavour=item.get("flavour"), flavours=", ".join(FLAVOURS)
                ),
                fix,
            )
        source = item.get("source")
        if source is not None:
            source = _SOURCE_NAMES.get(str(source).strip().lower())
            if source is None:
                raise InputError(
                    MSG_RULE_BAD_SOURCE.format(origin=origin, where=where, source=item.get("source")),
                    HINT_RULE_SOURCE.format(sources=", ".join(s for s, _, _ in ERROR_SOURCES)),
                )
        raw_codes = item.get("code")
        code_list = raw_codes if isinstance(raw_codes, list) else [] if raw_codes is None else [raw_codes]
        codes: list[int | str] = []
        for raw in code_list:
            code = _code(raw)
            if code is None:
                raise InputError(MSG_RULE_ZERO_CODE.format(origin=origin, where=where, code=raw), fix)
            codes.append(code)
        pattern: re.Pattern[str] | None = None
        if item.get("diag") is not None:
            try:
                pattern = re.compile(str(item["diag"]))
            except re.error as exc:
                raise InputError(
                    MSG_RULE_BAD_DIAG.format(origin=origin, where=where, diag=item["diag"], error=exc), fix
                ) from None
        if source is None and not codes and pattern is None:
            raise InputError(MSG_RULE_MATCHES_NOTHING.format(origin=origin, where=where), fix)
        rules.append(
            ErrorRule(
                name=name,
                flavour=flavour,
                action=str(item.get("action") or "").strip(),
                ticket=str(item.get("ticket") or "").strip(),
                source=source,
                codes=tuple(codes),
                diag=pattern,
                origin=origin,
            )
        )
    return rules


def classify(source: str, code: int | str, diag: str, rules: Iterable[ErrorRule]) -> ErrorRule | None:
    """The first rule that matches an error, or `None`."""
    return next((rule for rule in rules if rule.matches(source, code, diag)), None)


# -- the accumulator --------------------------------------------------------------------------


@dataclass
class ErrorGroup:
    """The failures of one label with one error (source and code)."""

    label: str
    source: str
    code: int | str
    attempts: int = 0
    jobs: int = 0
    diag: str = ""
    examples: list[int] = field(default_factory=list)
    rule: ErrorRule | None = None
    _first: int | None = field(default=None, repr=False)
    _heap: list[int] = field(default_factory=list, repr=False)

    def add(self, pandaid: int | None, final: bool, diag: str) -> None:
        """Count one failed attempt."""
        self.attempts += 1
        if final:
            self.jobs += 1
        if pandaid is None:
            return
        # The lowest pandaids, whatever order the replies came in: the section is then the
        # same on every run over the same jobs.
        if self._first is None or pandaid < self._first:
            self._first = pandaid
            self.diag = trim_diag(diag)
        if len(self._heap) < MAX_EXAMPLES:
            heapq.heappush(self._heap, -pandaid)
        elif -self._heap[0] > pandaid:
            heapq.heapreplace(self._heap, -pandaid)
        self.examples = sorted(-p for p in self._heap)

    @property
    def error(self) -> str:
        """``source:code`` (``exe:1``, ``pilot:1305``)."""
        return f"{self.source}:{self.code}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "label": self.label,
            "source": self.source,
            "code": self.code,
            "jobs": self.jobs,
            "attempts": self.attempts,
            "diag": self.diag,
            "examples": list(self.examples),
            "flavour": self.rule.flavour if self.rule else None,
            "rule": self.rule.name if self.rule else None,
            "action": self.rule.action if self.rule else None,
            "ticket": (self.rule.ticket or None) if self.rule else None,
        }


class FailureSummary:
    """Failed attempts and jobs per label and error, folded in one task reply at a time.

    A job record counts when its ``jobstatus`` is ``failed``; it counts as a failed *job*
    unless `FINAL_KEY` says a retry superseded it (records without the key are final).
    """

    fields: Sequence[str] = FAILURE_JOB_FIELDS

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str, int | str], ErrorGroup] = {}

    def add_task(self, task_id: int, label: str, jobs: Sequence[Mapping[str, Any]]) -> None:
        """Fold the failed records of one task in."""
        groups = self._groups
        for job in jobs:
            if job.get("jobstatus") != "failed":
                continue
            source, code, diag = job_error(job)
            key = (label, source, code)
            group = groups.get(key)
            if group is None:
                group = groups[key] = ErrorGroup(label, source, code)
            pandaid = job.get("pandaid")
            group.add(int(pandaid) if pandaid is not None else None, bool(job.get(FINAL_KEY, True)), diag)

    def groups(self, rules: Sequence[ErrorRule] = (), label_order: Sequence[str] = ()) -> list[ErrorGroup]:
        """The groups, classified by ``rules``: labels in ``label_order``, then most jobs first."""
        rank = {label: i for i, label in enumerate(label_order)}
        out = sorted(
            self._groups.values(),
            key=lambda g: (
                rank.get(g.label, len(rank)),
                g.label,
                -g.jobs,
                -g.attempts,
                g.source,
                str(g.code),
            ),
        )
        for group in out:
            group.rule = classify(group.source, group.code, group.diag, rules)
        return out


# -- rendering --------------------------------------------------------------------------------

FAILURE_HEADERS = [
    "Label",
    "Error",
    "Failed jobs",
    "Failed attempts",
    "Class",
    "Action",
    "First diagnostic",
    "Examples",
]


def failure_rows(groups: Sequence[ErrorGroup], pandamon_url: str) -> list[list[str]]:
    """Table rows (already wiki markup): one per label and error."""
    base = pandamon_url if pandamon_url.endswith("/") else pandamon_url + "/"
    rows = []
    for g in groups:
        rule = g.rule
        klass = f"{rule.flavour} ({wiki_cell(rule.name)})" if rule else "unexplained"
        action = wiki_cell(rule.action) if rule and rule.action else " "
        if rule and rule.ticket:
            action = (action.strip() + " " if action.strip() else "") + wiki_cell(rule.ticket)
        examples = " ".join(f"[{p}|{base}job?pandaid={p}]" for p in g.examples) or " "
        rows.append(
            [
                wiki_cell(g.label),
                wiki_cell(g.error),
                str(g.jobs),
                str(g.attempts),
                klass,
                action,
                escape_diag(g.diag) if g.diag else " ",
                examples,
            ]
        )
    return rows


@dataclass(frozen=True)
class QuantumFailures:
    """Failed quanta of one label with one exception type (Butler ``run_provenance``)."""

    label: str
    exception: str
    """Exception type name as pipe_base records it (``RuntimeError``, ``lsst.x.YError``)."""
    quanta: int
    message: str = ""
    """First message (data ID order), already trimmed by the Butler side."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "label": self.label,
            "exception": self.exception,
            "quanta": self.quanta,
            "message": self.message,
        }


def quantum_failures(
    counts: Mapping[str, Mapping[str, int]],
    messages: Mapping[str, Mapping[str, str]] | None = None,
    label_order: Sequence[str] = (),
) -> list[QuantumFailures]:
    """Rows of failed quanta: labels in ``label_order`` (then by name), most quanta first."""
    messages = messages or {}
    rank = {label: i for i, label in enumerate(label_order)}
    out = [
        QuantumFailures(label, exception, n, messages.get(label, {}).get(exception, ""))
        for label, per_type in counts.items()
        for exception, n in per_type.items()
        if n
    ]
    out.sort(key=lambda q: (rank.get(q.label, len(rank)), q.label, -q.quanta, q.exception))
    return out


QUANTA_HEADERS = ["Label", "Exception", "Failed quanta", "First message"]


def quantum_failure_rows(quanta: Sequence[QuantumFailures]) -> list[list[str]]:
    """Table rows (already wiki markup): one per label and exception type."""
    return [
        [
            wiki_cell(q.label),
            escape_diag(q.exception),
            str(q.quanta),
            escape_diag(q.message) if q.message else " ",
        ]
        for q in quanta
    ]


def _quanta_lines(quanta: Sequence[QuantumFailures], max_rows: int | None) -> list[str]:
    rows = quantum_failure_rows(quanta)
    shown = rows if max_rows is None or len(rows) <= max_rows else rows[:max_rows]
    lines = ["h3. Failed quanta (Butler provenance)"]
    if shown:
        lines.append(wiki_table(QUANTA_HEADERS, shown, raw=True))
    if len(shown) < len(rows):
        lines.append(f"({len(rows) - len(shown)} rows not shown: all are in failures.json of the statistics)")
    total = sum(q.quanta for q in quanta)
    lines.append(
        f"{total} failed quanta in run_provenance of the RUN (quanta blocked by them are not counted)."
    )
    return lines


def unexplained_share(groups: Sequence[ErrorGroup]) -> float | None:
    """Share of failed attempts that no rule explains (`None` without failures)."""
    total = sum(g.attempts for g in groups)
    if not total:
        return None
    return sum(g.attempts for g in groups if g.rule is None) / total


def failures_section(
    groups: Sequence[ErrorGroup],
    pandamon_url: str,
    max_rows: int | None = None,
    attachment: str = "failures.csv",
    quanta: Sequence[QuantumFailures] = (),
) -> str:
    """The ``failures`` managed section: the table (at most ``max_rows`` rows), the share no rule explains.

    ``quanta`` (failed quanta from the RUN's ``run_provenance``, see `quantum_failures`)
    adds a "Failed quanta (Butler provenance)" table; without any the section is as before.
    """
    lines = ["h3. PanDA failures"]
    if not groups:
        lines.append("No failed jobs.")
        if quanta:
            lines += _quanta_lines(quanta, max_rows)
        return "\n".join(lines)
    rows = failure_rows(groups, pandamon_url)
    shown = rows if max_rows is None or len(rows) <= max_rows else rows[:max_rows]
    if shown:
        lines.append(wiki_table(FAILURE_HEADERS, shown, raw=True))
    if len(shown) < len(rows):
        lines.append(f"({len(rows) - len(shown)} rows not shown: the full table is attached as {attachment})")
    jobs = sum(g.jobs for g in groups)
    attempts = sum(g.attempts for g in groups)
    share = unexplained_share(groups) or 0.0
    by_flavour: dict[str, int] = {}
    for g in groups:
        by_flavour[g.rule.flavour if g.rule else "unexplained"] = (
            by_flavour.get(g.rule.flavour if g.rule else "unexplained", 0) + g.attempts
        )
    split = ", ".join(f"{name} {n}" for name, n in sorted(by_flavour.items()))
    lines.append(
        f"{jobs} failed jobs, {attempts} failed attempts ({split}); "
        f"no rule explains {share:.0%} of the failed attempts."
    )
    lines.append(
        "Failed jobs: failed attempts no retry superseded. Error: the first non-zero of pilot, exe, sup, "
        "ddm, taskbuffer, brokerage, jobdispatcher error codes and transexitcode."
    )
    if quanta:
        lines += _quanta_lines(quanta, max_rows)
    return "\n".join(lines)
