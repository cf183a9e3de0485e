"""bps naming rules and the ``BPS Submit Keywords:`` block of the original tool, written and read back.

Pure functions, no I/O: placeholder expansion of bps values such as
``{payloadName}/{campaign}``, the names bps derives from a run (``uniqProcName``),
the workflow issue's summary and label, the ``{code}`` block of BPS keywords (one
``key:value`` line per keyword, at the top of a workflow issue), and the parsers that
read those back from issues written by prodstat or by the original tool: step,
campaign and timestamp from the summary, the keywords and the data range (e.g.
``(1472,1502)``) from the description.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from .ids import BPS_TIMESTAMP_RE, SUMMARY_RE, is_bps_timestamp, workflow_label, workflow_summary

__all__ = [
    "BLOCK_HEADER",
    "BPS_TIMESTAMP_RE",
    "CODE_FENCE",
    "MSG_EXPANSION_OVERFLOW",
    "MSG_PLACEHOLDER_UNRESOLVED",
    "PLACEHOLDER_RE",
    "SUMMARY_RE",
    "UnresolvedPlaceholderError",
    "expand_placeholders",
    "is_bps_timestamp",
    "keyword_line",
    "parse_bps_block",
    "parse_data_range",
    "parse_summary",
    "render_bps_block",
    "split_pipeline_yaml",
    "uniq_proc_name",
    "workflow_label",
    "workflow_summary",
]


# bps writes environment variables as ``${VAR}``; only a brace not preceded by "$"
# opens a bps placeholder.
PLACEHOLDER_RE = re.compile(r"(?<!\$)\{([^{}\s]+)\}")
"""A bps ``{key}`` placeholder (``${VAR}`` environment references excluded)."""


BLOCK_HEADER = "BPS Submit Keywords:"
CODE_FENCE = "{code}"

Lookup = Mapping[str, object] | Callable[[str], object | None]


MAX_EXPANDED_LENGTH = 4096
"""Longest text a ``{key}`` expansion may produce (a RUN collection name is far shorter)."""


MAX_SUBSTITUTIONS = 10_000
"""Most ``{key}`` substitutions one expansion may make."""

# User-facing messages (tests import them).
MSG_EXPANSION_OVERFLOW = "expanding {template!r} gives more than {limit} characters"
MSG_PLACEHOLDER_UNRESOLVED = "cannot expand placeholder {{{name}}} in {template!r}"


class ExpansionTooLongError(ValueError):
    """A ``{key}`` expansion that grows beyond `MAX_EXPANDED_LENGTH` (keys that double each other)."""

    def __init__(self, template: str) -> None:
        self.template = template
        super().__init__(MSG_EXPANSION_OVERFLOW.format(template=template, limit=MAX_EXPANDED_LENGTH))


class UnresolvedPlaceholderError(ValueError):
    """A ``{key}`` placeholder with no value (or one that refers back to itself).

    Parameters
    ----------
    name : `str`
        The placeholder name, without braces.
    template : `str`
        The text being expanded.
    """

    def __init__(self, name: str, template: str) -> None:
        self.name = name
        self.template = template
        super().__init__(MSG_PLACEHOLDER_UNRESOLVED.format(name=name, template=template))


def _lookup_value(lookup: Lookup, name: str) -> object | None:
    if callable(lookup):
        return lookup(name)
    return lookup.get(name)


def expand_placeholders(template: str, lookup: Lookup) -> str:
    """Replace every ``{key}`` in ``template`` by its value, recursively (bps rules).

    Parameters
    ----------
    template : `str`
        Text such as ``"{payloadName}/{campaign}"``.
    lookup : `~collections.abc.Mapping` or callable
        Value of a key, or `None` when it is not defined. Values are converted with
        `str` and expanded in turn, so ``output: "{payloadName}"`` with
        ``payloadName: "{project}/x"`` works as in bps.

    Returns
    -------
    text : `str`
        The expanded text; ``${VAR}`` references are left alone.

    Raises
    ------
    UnresolvedPlaceholderError
        A key has no value, or its expansion refers back to itself.
    ExpansionTooLongError
        The expansion grows beyond `MAX_EXPANDED_LENGTH` characters (``a: "{b}{b}"``,
        ``b: "{c}{c}"``, … doubles at every level without ever looping).
    """

    substitutions = 0

    def expand(text: str, active: tuple[str, ...]) -> str:
        def replace(match: re.Match[str]) -> str:
            nonlocal substitutions
            substitutions += 1
            if substitutions > MAX_SUBSTITUTIONS:
                # Keys that double each other down to empty values never grow the text.
                raise ExpansionTooLongError(template)
            name = match.group(1)
            # A key met again while it is being expanded would loop forever.
            if name in active:
                raise UnresolvedPlaceholderError(name, template)
            value = _lookup_value(lookup, name)
            if value is None:
                raise UnresolvedPlaceholderError(name, template)
            return expand(str(value), (*active, name))

        expanded = PLACEHOLDER_RE.sub(replace, text)
        if len(expanded) > MAX_EXPANDED_LENGTH:
            raise ExpansionTooLongError(template)
        return expanded

    return expand(template, ())


def uniq_proc_name(output: str, timestamp: str) -> str:
    """Return bps's default ``uniqProcName``: ``<output>_<timestamp>`` with "/" → "_"."""
    return f"{output}_{timestamp}".replace("/", "_")


def split_pipeline_yaml(pipeline_yaml: str) -> tuple[str, str]:
    """Split ``pipelineYaml`` at its last ``#`` into (pipeline path, step cut).

    No ``#`` gives the whole text as path and an empty step cut.
    """
    path, sep, step = pipeline_yaml.rpartition("#")
    return (path, step) if sep else (pipeline_yaml, "")


def keyword_line(key: str, value: object, sep: str = ":") -> str:
    """Return one ``key<sep>value`` line of the BPS block, always on one line.

    The original tool's separator, kept: ``": "`` for top-level submit keys and ``":"``
    for payload keys, expanded-config sub-keys and metrics.
    """
    text = str(value)
    # A line break inside a value (a yaml block scalar) would split the key:value line.
    if "\n" in text or "\r" in text:
        text = " ".join(part.strip() for part in text.splitlines() if part.strip())
    return f"{key}{sep}{escape_code_fence(text)}".rstrip()


_FENCE_IN_TEXT_RE = re.compile(r"\{code", re.IGNORECASE)
_ESCAPED_FENCE_RE = re.compile(r"\\(\{code)", re.IGNORECASE)
_CLOSING_FENCE_RE = re.compile(r"^\{code\}[ \t]*\r?$", re.MULTILINE | re.IGNORECASE)


def escape_code_fence(text: str) -> str:
    """Return ``text`` with every ``{code`` written ``\\{code``, so it cannot end the block.

    `unescape_code_fence` undoes it exactly (one backslash is added before each
    ``{code`` and removed again), so a value reads back as it was given.
    """
    return _FENCE_IN_TEXT_RE.sub(lambda m: "\\" + m.group(0), text)


def unescape_code_fence(text: str) -> str:
    """Undo `escape_code_fence`."""
    return _ESCAPED_FENCE_RE.sub(r"\1", text)


def find_closing_fence(text: str, start: int) -> re.Match[str] | None:
    """Return the line ``{code}`` that closes a block whose body starts at ``start``.

    Only a line holding nothing but the fence closes it: every keyword line starts with
    its key, so a ``{code}`` inside a value (escaped or not) never ends the block.
    """
    return _CLOSING_FENCE_RE.search(text, start)


def render_bps_block(lines: Iterable[str]) -> str:
    """Return the ``BPS Submit Keywords:`` ``{code}`` block (the original's layout), every line ending "\\n"."""
    body = "".join(f"{line}\n" for line in lines)
    return f"{BLOCK_HEADER}\n{CODE_FENCE}\n{body}{CODE_FENCE}\n"


def parse_summary(summary: str) -> tuple[str, str, str] | None:
    """Read (step, campaign, timestamp) back from a workflow summary.

    Uses the original tool's regex ``(.*)#(.*)(20\\d{6}[Tt]\\d{6}[Zz])`` from the start of
    the summary, so issues of the original tool parse too. The campaign loses the "/"
    before the timestamp and the timestamp is upper-cased.

    Returns
    -------
    parts : `tuple` [`str`, `str`, `str`] or `None`
        `None` when the summary is not a workflow summary.
    """
    match = SUMMARY_RE.match(summary.strip())
    if match is None:
        return None
    step, campaign, timestamp = match.groups()
    campaign = campaign.removesuffix("/")
    return step, campaign, timestamp.upper()


def parse_bps_block(description: str) -> dict[str, str]:
    """Read the keywords of the first ``{code}`` block after ``BPS Submit Keywords:``.

    Each line is split at its first ":" and one space after it is dropped, which
    reads both separators of the original tool (``"key: value"`` and ``"key:value"``). Lines without
    ":" are ignored; a later duplicate key overrides an earlier one. An unclosed
    block runs to the end of the text.

    Returns
    -------
    keywords : `dict` [`str`, `str`]
        Key → value in block order; empty when there is no block.
    """
    start = description.find(BLOCK_HEADER)
    if start < 0:
        return {}
    fence = description.find(CODE_FENCE, start + len(BLOCK_HEADER))
    if fence < 0:
        return {}
    body_start = fence + len(CODE_FENCE)
    closing = find_closing_fence(description, body_start)
    body = description[body_start:] if closing is None else description[body_start : closing.start()]
    keywords: dict[str, str] = {}
    for raw in body.splitlines():
        key, sep, value = raw.rstrip("\r").partition(":")
        if not sep or not key.strip():
            continue
        keywords[key.strip()] = unescape_code_fence(value.removeprefix(" "))
    return keywords


# The original tool's data-range patterns (tract in, tract =, tract/exposure/visit
# ranges, detector with an exposure range), tried in this order on every line (a later
# match overrides an earlier one), made tolerant of spacing: the original's int() on
# " *[0-9]*" groups broke on spacing it did not expect.
_I = re.IGNORECASE
_TRACT_IN_RE = re.compile(r"\btract\s+in\s*(.*)$", _I)
_TRACT_EQ_RE = re.compile(r"\btract\s*==?\s*(\d+)", _I)
_TRACT_RANGE_RE = re.compile(r"\btract\s*>=\s*(\d+)\s+and\s+tract\s*<=\s*(\d+)", _I)
_EXPOSURE_RANGE_RE = re.compile(r"\bexposure\s*>=\s*(\d+)\s+and\s+exposure\s*<=\s*(\d+)", _I)
_VISIT_RANGE_RE = re.compile(r"\bvisit\s*>=\s*(\d+)\s+and\s+visit\s*<=\s*(\d+)", _I)
_DETECTOR_EXPOSURE_RE = re.compile(
    r"\bdetector\s*>=\s*(\d+).*\bexposure\s*>=\s*(\d+)\s+and\s+exposure\s*<=\s*(\d+)", _I
)


def parse_data_range(description: str) -> str:
    """Return the "hilow" data range of a description, as the original tool read it, e.g. ``(1472,1502)``.

    As the original's parser: ``tract in <rest>`` gives the rest of
    the line, ``tract = n`` gives ``(n)``, tract/exposure/visit ranges give
    ``(lo,hi)``, and a detector lower bound with an exposure range gives
    ``(lo,hi)d<detector>``. Later lines and later patterns override earlier ones.

    Returns
    -------
    hilow : `str`
        ``"()"`` when no data query pattern is found.
    """
    hilow = "()"
    for line in description.splitlines():
        if match := _TRACT_IN_RE.search(line):
            hilow = match.group(1).strip()
        if match := _TRACT_EQ_RE.search(line):
            hilow = f"({int(match.group(1))})"
        if match := _TRACT_RANGE_RE.search(line):
            hilow = f"({int(match.group(1))},{int(match.group(2))})"
        if match := _EXPOSURE_RANGE_RE.search(line):
            hilow = f"({int(match.group(1))},{int(match.group(2))})"
        if match := _VISIT_RANGE_RE.search(line):
            hilow = f"({int(match.group(1))},{int(match.group(2))})"
        if match := _DETECTOR_EXPOSURE_RE.search(line):
            lo, hi, det = int(match.group(2)), int(match.group(3)), int(match.group(1))
            hilow = f"({lo},{hi})d{det}"
    return hilow
