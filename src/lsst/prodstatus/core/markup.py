"""Jira wiki markup: managed description sections, tables, and terminal rendering.

Everything prodstat writes after a workflow's BPS block lives in *managed sections*::

    {anchor:prodstat-<name>}
    ...generated text...
    {anchor:prodstat-<name>-end}

``{anchor:...}`` renders as nothing in Jira, so the delimiters are invisible to readers
while letting prodstat find and replace its own text exactly. Text a person writes
outside the sections is never touched. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..errors import InputError

__all__ = [
    "DESCRIPTION_LIMIT",
    "HINT_SECTION_DAMAGED",
    "MSG_SECTION_DAMAGED",
    "PROBLEM_END_MISSING",
    "PROBLEM_START_MISSING",
    "PROBLEM_TWICE",
    "SECTION_NAME_RE",
    "DamagedSectionError",
    "Segment",
    "check_markers",
    "fit_table",
    "parse_sections",
    "read_section",
    "render_for_terminal",
    "replace_sections",
    "section_names",
    "split_head",
    "split_wiki_row",
    "wiki_cell",
    "wiki_table",
]

SECTION_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_START_RE = re.compile(r"^\{anchor:prodstat-([a-z0-9][a-z0-9-]*?)\}\s*$")
_END_RE = re.compile(r"^\{anchor:prodstat-([a-z0-9][a-z0-9-]*?)-end\}\s*$")


# User-facing messages (tests import them). ``where`` is empty or `` of <issue key>``;
# ``start`` and ``end`` are a section's marker lines.
MSG_SECTION_DAMAGED = "managed section '{name}'{where} is damaged: {problem}"
HINT_SECTION_DAMAGED = (
    "edit the description so that {start} and {end} each stand alone on a line around the section's text "
    "(or delete the section with both lines), then re-run; nothing was written"
)
PROBLEM_END_MISSING = "its end marker {marker} is missing"
PROBLEM_START_MISSING = "its start marker {marker} is missing"
PROBLEM_TWICE = "it appears twice"


def _start_line(name: str) -> str:
    return f"{{anchor:prodstat-{name}}}"


def _end_line(name: str) -> str:
    return f"{{anchor:prodstat-{name}-end}}"


@dataclass(frozen=True)
class Segment:
    """A run of description text: free text (``name`` is `None`) or a managed section."""

    name: str | None
    text: str


def _check_name(name: str) -> None:
    if not SECTION_NAME_RE.match(name) or name.endswith("-end"):
        raise ValueError(f"invalid managed section name {name!r}")


def parse_sections(description: str) -> list[Segment]:
    """Split a description into free-text and managed-section segments, in order.

    A start anchor whose end anchor was deleted by hand runs to the next start anchor
    (or the end of the text), so a damaged section is still replaced rather than
    duplicated.
    """
    segments: list[Segment] = []
    free: list[str] = []
    lines = description.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        start = _START_RE.match(lines[i].rstrip("\r\n"))
        if start is None or _END_RE.match(lines[i].rstrip("\r\n")):
            free.append(lines[i])
            i += 1
            continue
        name = start.group(1)
        if free:
            segments.append(Segment(None, "".join(free)))
            free = []
        body: list[str] = []
        i += 1
        while i < len(lines):
            stripped = lines[i].rstrip("\r\n")
            end = _END_RE.match(stripped)
            if end is not None and end.group(1) == name:
                i += 1
                break
            if _START_RE.match(stripped) and not _END_RE.match(stripped):
                break
            body.append(lines[i])
            i += 1
        segments.append(Segment(name, "".join(body).rstrip("\r\n")))
    if free:
        segments.append(Segment(None, "".join(free)))
    return segments


def section_names(description: str) -> list[str]:
    """Return the names of the managed sections in ``description``, in order."""
    return [seg.name for seg in parse_sections(description) if seg.name is not None]


def read_section(description: str, name: str) -> str | None:
    """Return the text of managed section ``name`` (without delimiters), or `None`."""
    for seg in parse_sections(description):
        if seg.name == name:
            return seg.text
    return None


def split_head(description: str) -> tuple[str, str]:
    """Split ``description`` into the text before the first managed section and the rest."""
    segments = parse_sections(description)
    if segments and segments[0].name is None:
        head = segments[0].text
        return head, description[len(head) :]
    return "", description


def _render_segments(segments: Iterable[Segment]) -> str:
    out: list[str] = []
    for seg in segments:
        if seg.name is None:
            out.append(seg.text)
            continue
        if out and not out[-1].endswith("\n"):
            out.append("\n")
        body = seg.text.rstrip("\r\n")
        out.append(_start_line(seg.name) + "\n" + (body + "\n" if body else "") + _end_line(seg.name) + "\n")
    return "".join(out)


class DamagedSectionError(InputError):
    """A managed section's markers are missing, repeated or out of order (exit 1).

    prodstat then refuses to write: replacing a section whose end it cannot see could
    delete a person's text after it, and one whose start it cannot see would be added twice.
    """

    def __init__(self, name: str, problem: str, key: str | None = None) -> None:
        self.name = name
        self.problem = problem
        where = f" of {key}" if key else ""
        super().__init__(
            MSG_SECTION_DAMAGED.format(name=name, where=where, problem=problem),
            HINT_SECTION_DAMAGED.format(start=_start_line(name), end=_end_line(name)),
        )

    def for_issue(self, key: str) -> DamagedSectionError:
        """The same error, naming the issue."""
        return DamagedSectionError(self.name, self.problem, key)


def check_markers(description: str) -> None:
    """Raise `DamagedSectionError` unless every managed section has its two markers, in order, once.

    Raises
    ------
    DamagedSectionError
        A start marker with no end before the next start (or the end of the text), an end
        marker with no start before it, or a section that appears twice.
    """
    open_name: str | None = None
    seen: set[str] = set()
    for line in description.splitlines():
        text = line.rstrip("\r\n")
        end = _END_RE.match(text)
        if end is not None:
            name = end.group(1)
            if open_name != name:
                if open_name is not None:
                    raise DamagedSectionError(
                        open_name, PROBLEM_END_MISSING.format(marker=_end_line(open_name))
                    )
                raise DamagedSectionError(name, PROBLEM_START_MISSING.format(marker=_start_line(name)))
            open_name = None
            continue
        start = _START_RE.match(text)
        if start is None:
            continue
        if open_name is not None:
            raise DamagedSectionError(open_name, PROBLEM_END_MISSING.format(marker=_end_line(open_name)))
        open_name = start.group(1)
        if open_name in seen:
            raise DamagedSectionError(open_name, PROBLEM_TWICE)
        seen.add(open_name)
    if open_name is not None:
        raise DamagedSectionError(open_name, PROBLEM_END_MISSING.format(marker=_end_line(open_name)))


def replace_sections(
    description: str,
    sections: Mapping[str, str | None],
    head: str | None = None,
) -> str:
    """Return ``description`` with managed sections replaced, added or removed.

    Parameters
    ----------
    description : `str`
        The current description.
    sections : `~collections.abc.Mapping` [`str`, `str` or `None`]
        New text per section name; `None` removes the section. Sections not yet present
        are appended, in the mapping's order.
    head : `str`, optional
        New text for the part before the first managed section (`None`: keep it).

    Returns
    -------
    description : `str`
        The new description. Applying the same call twice gives the same text.

    Raises
    ------
    DamagedSectionError
        When any section's markers are damaged (see `check_markers`): nothing is replaced.
    """
    for name in sections:
        _check_name(name)
    check_markers(description)
    segments = parse_sections(description)
    seen: set[str] = set()
    result: list[Segment] = []
    for seg in segments:
        if seg.name is None or seg.name not in sections:
            result.append(seg)
            continue
        if seg.name in seen:
            # A duplicated section (hand copy-paste): keep only the first, replaced.
            continue
        seen.add(seg.name)
        new = sections[seg.name]
        if new is not None:
            result.append(Segment(seg.name, new))
    for name, new in sections.items():
        if name not in seen and new is not None:
            result.append(Segment(name, new))
    if head is not None:
        if result and result[0].name is None:
            result[0] = Segment(None, head)
        else:
            result.insert(0, Segment(None, head))
        if result[0].text and not result[0].text.endswith("\n") and len(result) > 1:
            result[0] = Segment(None, result[0].text + "\n")
    return _render_segments(result)


def wiki_cell(value: object) -> str:
    """Return ``value`` as the text of one wiki-markup table cell.

    A literal ``|`` is escaped, line breaks become spaces, and an empty cell gets a
    space (Jira collapses empty cells).
    """
    if value is None:
        text = ""
    elif isinstance(value, float):
        text = f"{value:g}" if abs(value) >= 1e6 or value == int(value) else f"{value:.2f}".rstrip("0")
    else:
        text = str(value)
    text = " ".join(text.replace("\\|", "|").replace("|", "\\|").split())
    return text or " "


def wiki_table(headers: Sequence[str], rows: Iterable[Sequence[object]], raw: bool = False) -> str:
    """Render a Jira wiki-markup table (``||h||`` header, ``|c|`` rows), one row per line.

    With ``raw`` the cells are taken as already-formatted markup (links, colours).
    """
    lines = ["||" + "||".join(wiki_cell(h) for h in headers) + "||"]
    for row in rows:
        cells = [str(c) if raw and c not in (None, "") else wiki_cell(c) for c in row]
        lines.append("|" + "|".join(cells) + "|")
    return "\n".join(lines)


def split_wiki_row(line: str) -> tuple[bool, list[str]]:
    """Split a wiki table row into (is_header, cells), honouring ``\\|`` and ``[text|url]``."""
    text = line.strip()
    header = text.startswith("||")
    cells: list[str] = []
    current: list[str] = []
    depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] == "|":
            current.append("|")
            i += 2
            continue
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        if ch == "|" and depth == 0:
            cells.append("".join(current))
            current = []
            while i + 1 < len(text) and text[i + 1] == "|":
                i += 1
        else:
            current.append(ch)
        i += 1
    cells.append("".join(current))
    # Leading and trailing pipes leave empty strings at both ends.
    if cells and not cells[0].strip():
        cells = cells[1:]
    if cells and not cells[-1].strip():
        cells = cells[:-1]
    return header, [c.strip() for c in cells]


_COLOR_RE = re.compile(r"\{color:([#a-zA-Z0-9]+)\}(.*?)\{color\}")
_LINK_RE = re.compile(r"\[([^\[\]|]+)\|([^\[\]]+)\]")
_HEADING_RE = re.compile(r"^h([1-6])\.\s+(.*)$")
_KEY_TEXT_RE = re.compile(r"^[A-Z][A-Z0-9_]*-[0-9]+$")
_ANSI = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "black": "0", "orange": "33"}


def _inline(text: str, color: bool) -> str:
    def paint(match: re.Match[str]) -> str:
        code = _ANSI.get(match.group(1).lower())
        return f"\x1b[{code}m{match.group(2)}\x1b[0m" if color and code else match.group(2)

    text = _COLOR_RE.sub(paint, text)
    # [DRP-486|.../browse/DRP-486] reads as the key alone; other links keep their URL.
    text = _LINK_RE.sub(
        lambda m: (
            m.group(1)
            if _KEY_TEXT_RE.match(m.group(1).strip()) and m.group(1).strip() in m.group(2)
            else f"{m.group(1)} <{m.group(2)}>"
        ),
        text,
    )
    return text


def _visible_len(text: str) -> int:
    return len(re.sub(r"\x1b\[[0-9;]*m", "", text))


def _render_table(rows: list[tuple[bool, list[str]]], color: bool) -> list[str]:
    cells = [[_inline(c, color) for c in r] for _, r in rows]
    ncol = max(len(r) for r in cells)
    widths = [max((_visible_len(r[i]) for r in cells if i < len(r)), default=0) for i in range(ncol)]
    out: list[str] = []
    for (is_header, _), row in zip(rows, cells, strict=True):
        padded = [c + " " * (widths[i] - _visible_len(c)) for i, c in enumerate(row)]
        out.append("  ".join(padded).rstrip())
        if is_header:
            out.append("  ".join("-" * w for w in widths[: len(row)]))
    return out


def render_for_terminal(description: str, color: bool = False) -> str:
    """Render wiki markup for a terminal: tables aligned, code indented, anchors hidden."""
    out: list[str] = []
    table: list[tuple[bool, list[str]]] = []
    in_code = False

    def flush() -> None:
        if table:
            out.extend(_render_table(table, color))
            table.clear()

    for raw in description.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if stripped in ("{code}", "{noformat}") or re.match(r"^\{(code|noformat)(:[^}]*)?\}$", stripped):
            flush()
            in_code = not in_code
            continue
        if in_code:
            out.append("    " + line)
            continue
        if _START_RE.match(stripped) or _END_RE.match(stripped):
            flush()
            continue
        if stripped.startswith("|") and len(stripped) > 1:
            table.append(split_wiki_row(stripped))
            continue
        flush()
        heading = _HEADING_RE.match(stripped)
        if heading:
            title = _inline(heading.group(2), color)
            out.append(title)
            out.append("=" * _visible_len(title) if heading.group(1) in "12" else "-" * _visible_len(title))
            continue
        out.append(_inline(line, color))
    flush()
    return "\n".join(out).strip("\n") + "\n"


DESCRIPTION_LIMIT = 32_000
"""Characters Jira keeps in a description (32,767, with room for a person's notes)."""


def fit_table(
    description: str, section: str, table: str, limit: int = DESCRIPTION_LIMIT
) -> tuple[str, bytes | None]:
    """Return the text of ``section`` that keeps ``description`` within ``limit`` characters.

    A table too long keeps its header, its first rows and a note naming the attachment
    ``<section>.txt``; the full table is then returned as that attachment's bytes (else
    `None`).
    """
    if len(replace_sections(description, {section: table})) <= limit:
        return table, None
    header, *rows = table.splitlines()
    room = limit - len(replace_sections(description, {section: header})) - 200
    kept: list[str] = []
    for row in rows:
        room -= len(row) + 1
        if room < 0:
            break
        kept.append(row)
    note = (
        f"({len(rows) - len(kept)} of {len(rows)} rows not shown: "
        f"the full table is attached as {section}.txt)"
    )
    return "\n".join([header, *kept, note]), (table + "\n").encode()
