"""Identity: bps timestamps, workflow identity, issue keys, labels and issue kinds.

This module is the one place that knows how a workflow, a step and a campaign are
recognised in a tracker. Every other module asks it; none writes the timestamp pattern
or builds a label itself. Pure functions, no I/O, nothing imported from services.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import InputError

__all__ = [
    "BPS_TIMESTAMP_RE",
    "CAMPAIGN_LABEL_PREFIX",
    "DUPLICATE_LABEL",
    "HINT_MALFORMED_KEY",
    "ISSUE_KEY_RE",
    "ISSUE_KINDS",
    "MSG_MALFORMED_KEY",
    "MSG_MALFORMED_TIMESTAMP",
    "PRODUCTION_LABEL_PREFIX",
    "STEP_LABEL_PREFIX",
    "SUMMARY_RE",
    "TIMESTAMP_PATTERN",
    "WORKFLOW_LABEL_PREFIX",
    "WorkflowId",
    "check_issue_key",
    "check_timestamp",
    "find_timestamp",
    "is_bps_timestamp",
    "is_issue_key",
    "issue_kind",
    "issue_number",
    "kind_phrase",
    "production_label",
    "uniq_label",
    "workflow_label",
    "workflow_labels_of",
    "workflow_summary",
]

_TS = r"20\d{6}[Tt]\d{6}[Zz]"

BPS_TIMESTAMP_RE = re.compile(r"^\d{8}T\d{6}Z$")
"""A bps timestamp as bps writes it (``%Y%m%dT%H%M%SZ``, upper case): ``20220127T205042Z``."""

TIMESTAMP_PATTERN = r"\d{8}T\d{6}Z"
"""The bps timestamp as a regular-expression fragment, for patterns that embed it."""

_TS_ANYWHERE_RE = re.compile(f"({TIMESTAMP_PATTERN})", re.IGNORECASE)

SUMMARY_RE = re.compile(r"(.*)#(.*)(" + _TS + ")")
"""The workflow summary regex of the original tool, matched from the start: ``<step>#<campaign>/<TS>``."""

ISSUE_KEY_RE = re.compile(r"^[A-Z][A-Z0-9_]*-[1-9][0-9]*$")
"""A Jira issue key: project key, dash, positive number (``DRP-486``)."""

WORKFLOW_LABEL_PREFIX = "prodstat_"
"""Prefix of the two workflow labels: ``prodstat_<TS>`` and ``prodstat_<uniqProcName>``."""
CAMPAIGN_LABEL_PREFIX = "prodstat_campaign_"
STEP_LABEL_PREFIX = "prodstat_step_"
PRODUCTION_LABEL_PREFIX = "prodstat_production_"
"""Prefix of the label naming the production issue a workflow issue records."""
DUPLICATE_LABEL = "prodstat_duplicate"
"""Given to an issue a concurrent run created twice when the tracker refuses its deletion."""

_WORKFLOW_TS_LABEL_RE = re.compile(r"^prodstat_" + _TS + "$")
_UNSAFE_LABEL_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")

ISSUE_KINDS = ("campaign", "step", "workflow", "other")

# User-facing messages (tests import them).
MSG_MALFORMED_TIMESTAMP = (
    "malformed {what} {text!r}: expected a bps timestamp YYYYMMDDTHHMMSSZ, e.g. 20220127T205042Z"
)
MSG_MALFORMED_KEY = "malformed {what} {key!r}"
HINT_MALFORMED_KEY = "an issue key looks like PROJECT-NUMBER, e.g. DRP-486"


def is_bps_timestamp(text: str) -> bool:
    """Return whether ``text`` is a bps timestamp such as ``20220127T205042Z``."""
    return BPS_TIMESTAMP_RE.match(text) is not None


def check_timestamp(text: str, what: str = "--ts") -> str:
    """Return ``text`` upper-cased if it is a bps timestamp.

    Raises
    ------
    InputError
        For anything else (exit code 1).
    """
    value = (text or "").strip().upper()
    if not is_bps_timestamp(value):
        raise InputError(MSG_MALFORMED_TIMESTAMP.format(what=what, text=text))
    return value


def find_timestamp(text: str, *, at_end: bool = False) -> str | None:
    """Return the first bps timestamp inside ``text`` (upper-cased), or `None`.

    ``at_end`` only accepts one that ends the text (a RUN collection ``<output>/<TS>``).
    """
    if at_end:
        match = re.search(f"({TIMESTAMP_PATTERN})$", text, re.IGNORECASE)
    else:
        match = _TS_ANYWHERE_RE.search(text)
    return match.group(1).upper() if match else None


def is_issue_key(text: str) -> bool:
    """Whether ``text`` (stripped, upper-cased) is a well-formed issue key."""
    return ISSUE_KEY_RE.match((text or "").strip().upper()) is not None


def check_issue_key(key: str, what: str = "issue key") -> str:
    """Return ``key`` upper-cased if it is a well-formed issue key.

    Raises
    ------
    InputError
        For a malformed key such as ``DRP486`` (exit code 1).
    """
    text = (key or "").strip().upper()
    if not ISSUE_KEY_RE.match(text):
        raise InputError(MSG_MALFORMED_KEY.format(what=what, key=key), HINT_MALFORMED_KEY)
    return text


def issue_number(key: str) -> int:
    """The number of an issue key (``DRP-486`` → 486): keys of a project sort by it."""
    return int(key.rsplit("-", 1)[1])


def workflow_summary(step: str, campaign: str, timestamp: str) -> str:
    """Return a workflow issue's summary ``<step>#<campaign>/<TS>`` (as the original tool wrote it)."""
    return f"{step}#{campaign}/{timestamp.upper()}"


def workflow_label(timestamp: str) -> str:
    """Return the issue label of a workflow, ``prodstat_<TS>`` (labels take no spaces)."""
    return f"{WORKFLOW_LABEL_PREFIX}{timestamp.upper()}"


_MAX_LABEL_NAME = 240


def uniq_label(uniq_proc_name: str) -> str:
    """Return the label that identifies a workflow by its bps ``uniqProcName``.

    Jira labels hold at most 255 characters. A longer name keeps its end (the timestamp
    that tells runs apart) and gets the first 8 hex digits of its SHA-1, so two long
    names never share a label.
    """
    safe = _UNSAFE_LABEL_CHARS.sub("_", uniq_proc_name)
    if len(safe) <= _MAX_LABEL_NAME:
        return WORKFLOW_LABEL_PREFIX + safe
    digest = hashlib.sha1(uniq_proc_name.encode("utf-8")).hexdigest()[:8]
    return f"{WORKFLOW_LABEL_PREFIX}{digest}_{safe[-(_MAX_LABEL_NAME - 9) :]}"


def production_label(key: str) -> str:
    """The label of the workflow issues recorded under production issue ``key``.

    ``prodstat_production_<KEY>``: the production issue often lives in another Jira
    project (or another Jira), so its workflows are found by this label, not by links.
    """
    return PRODUCTION_LABEL_PREFIX + _UNSAFE_LABEL_CHARS.sub("_", key.strip().upper())[:230]


def workflow_labels_of(labels: Iterable[str]) -> list[str]:
    """The labels among ``labels`` that name a workflow (``prodstat_<TS>``, ``prodstat_<uniq>``).

    Campaign, step and duplicate labels are not workflow labels.
    """
    return [
        label
        for label in labels
        if label.startswith(WORKFLOW_LABEL_PREFIX)
        and not label.startswith((CAMPAIGN_LABEL_PREFIX, STEP_LABEL_PREFIX, PRODUCTION_LABEL_PREFIX))
        and label != DUPLICATE_LABEL
    ]


def issue_kind(summary: str, labels: Iterable[str]) -> str:
    """Return ``campaign``, ``step``, ``workflow`` or ``other``: the one rule of every command.

    The labels prodstat gives decide first: ``prodstat_campaign_…`` (campaign),
    ``prodstat_step_…`` (step), ``prodstat_<TIMESTAMP>`` (workflow, from update-issue).
    Issues without them (the original tool's, or labels removed by hand) are known by
    their summaries: the workflow summary ``<step>#<campaign>/<TIMESTAMP>``, then
    ``Campaign <name>`` and ``Step <name>``. Anything else is ``other``.
    """
    labels = list(labels)
    if DUPLICATE_LABEL in labels:
        return "other"  # a retired duplicate no longer records anything
    if any(label.startswith(CAMPAIGN_LABEL_PREFIX) for label in labels):
        return "campaign"
    if any(label.startswith(STEP_LABEL_PREFIX) for label in labels):
        return "step"
    if any(_WORKFLOW_TS_LABEL_RE.match(label) for label in labels):
        return "workflow"
    text = summary.strip()
    if SUMMARY_RE.match(text):
        return "workflow"
    for prefix, kind in (("Campaign ", "campaign"), ("Step ", "step")):
        if text.startswith(prefix) and text[len(prefix) :].strip():
            return kind
    return "other"


def kind_phrase(kind: str) -> str:
    """``a workflow issue``, ``a step issue``, … for messages; ``other``: ``an issue of unknown kind``."""
    if kind in ("campaign", "step", "workflow"):
        return f"a {kind} issue"
    return "an issue of unknown kind"


@dataclass(frozen=True)
class WorkflowId:
    """What identifies one bps workflow, and every name derived from it.

    bps sets the timestamp once per submission; the RUN collection is
    ``<output>/<timestamp>`` and the default ``uniqProcName`` is ``<output>_<timestamp>``
    with ``/`` → ``_`` (ctrl_bps ``bps_defaults.yaml``). A site config may set its own
    ``uniqProcName``, so it is kept as given.
    """

    output: str
    timestamp: str
    uniq_proc_name: str
    step: str = ""
    campaign: str = ""

    @classmethod
    def default_uniq_proc_name(cls, output: str, timestamp: str) -> str:
        """bps's default ``uniqProcName``: ``<output>_<timestamp>`` with "/" → "_"."""
        return f"{output}_{timestamp}".replace("/", "_")

    @property
    def output_run(self) -> str:
        """The RUN collection bps wrote to: ``<output>/<timestamp>``."""
        return f"{self.output}/{self.timestamp}"

    @property
    def summary(self) -> str:
        """The issue summary ``<step>#<campaign>/<TS>`` (as the original tool wrote it)."""
        return workflow_summary(self.step, self.campaign, self.timestamp)

    @property
    def identity_label(self) -> str:
        """The label that tells this workflow's issue from every other: ``prodstat_<uniqProcName>``."""
        return uniq_label(self.uniq_proc_name)

    @property
    def labels(self) -> list[str]:
        """The labels of this workflow's issue: ``prodstat_<TS>`` and ``prodstat_<uniqProcName>``."""
        return [workflow_label(self.timestamp), self.identity_label]

    def records(self, summary: str, labels: Iterable[str]) -> bool | None:
        """Whether an issue with ``summary`` and ``labels`` records this workflow.

        `True` or `False` when its labels (or, for label-less issues of the original tool,
        its summary's timestamp) tell; `None` when nothing tells (not a workflow issue).
        """
        mine = workflow_labels_of(labels)
        if mine:
            # An issue with only the timestamp label predates the uniqProcName label.
            return self.identity_label in mine or (
                mine == [workflow_label(self.timestamp)] and summary.strip() == self.summary
            )
        match = SUMMARY_RE.match(summary.strip())
        if match is None:
            return None
        return match.group(3).upper() == self.timestamp.upper()
