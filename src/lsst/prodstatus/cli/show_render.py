"""``prodstat show``: an issue laid out for a terminal of a given width (rich, imported lazily).

The description is shown section by section, each after a blank line and a title: the
BPS block as aligned ``key  value`` pairs (values folded at the terminal's edge; the
stored block keeps the original tool's ``key:value`` lines), then each managed section with its
tables — as a table when it fits the width, else one record per row (``header: value``
lines) — and its text folded. Links, attachments and comments follow.
"""

from __future__ import annotations

import io
import re
import shutil
from typing import TYPE_CHECKING, Any

from ..core.markup import parse_sections, split_wiki_row

if TYPE_CHECKING:
    from ..services.tracker.base import Issue

__all__ = ["SECTION_TITLES", "render_issue", "terminal_width"]

SECTION_TITLES = {
    "production": "Production",
    "butler": "Butler statistics",
    "panda": "PanDA statistics",
    "status": "Status",
    "step-map": "Workflows of the step",
    "campaign-map": "Steps of the campaign",
    "summary": "Summary",
}
"""Titles of prodstat's managed sections (others are shown by name)."""

_BPS_RE = re.compile(
    r"BPS Submit Keywords:[ \t]*\r?\n\{code\}\r?\n(?P<body>.*?)^\{code\}[ \t]*$", re.S | re.M
)
_COLOR_RE = re.compile(r"\{color:([#a-zA-Z0-9]+)\}(.*?)\{color\}")
_LINK_RE = re.compile(r"\[([^\[\]|]+)\|([^\[\]]+)\]")
_HEADING_RE = re.compile(r"^h[1-6]\.\s+(.*)$")
_KEY_RE = re.compile(r"^[A-Z][A-Z0-9_]*-[0-9]+$")
_STYLES = {"red": "red", "green": "green", "blue": "blue", "orange": "yellow", "yellow": "yellow"}


def terminal_width(default: int = 100) -> int:
    """Columns of the terminal (``$COLUMNS`` honoured); ``default`` when not a terminal."""
    return max(40, shutil.get_terminal_size((default, 24)).columns)


def _plain(text: str) -> tuple[str, str | None]:
    """Cell text without markup, and the colour of its first ``{color}`` span."""
    match = _COLOR_RE.search(text)
    colour = _STYLES.get(match.group(1).lower()) if match else None
    text = _COLOR_RE.sub(lambda m: m.group(2), text)
    text = _LINK_RE.sub(
        lambda m: (
            m.group(1).strip()
            if _KEY_RE.match(m.group(1).strip()) and m.group(1).strip() in m.group(2)
            else f"{m.group(1)} <{m.group(2)}>"
        ),
        text,
    )
    return text.replace("\\|", "|"), colour


def _text(line: str) -> Any:
    from rich.text import Text

    plain, colour = _plain(line)
    return Text(plain, style=colour or "", overflow="fold")


def _make_table(header: list[str] | None, data: list[list[str]], columns: list[int]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_header=header is not None, pad_edge=False, padding=(0, 1))
    for i in columns:
        table.add_column(header[i] if header and i < len(header) else "", no_wrap=True)
    for cells in data:
        table.add_row(*(_text(cells[i]) if i < len(cells) else "" for i in columns))
    return table


def _fits(header: list[str] | None, data: list[list[str]], columns: list[int], width: int) -> bool:
    """Whether the columns fit unwrapped (rich would cut cells to make them fit)."""
    rows = ([header] if header else []) + data
    widths = [max((len(_plain(r[i])[0]) for r in rows if i < len(r)), default=0) for i in columns]
    # One space of padding each side of a cell, and the box's edge columns.
    return sum(widths) + 3 * len(columns) + 1 <= width


def _table(console: Any, rows: list[tuple[bool, list[str]]], width: int) -> None:
    from rich.table import Table

    header = next((cells for is_header, cells in rows if is_header), None)
    data = [cells for is_header, cells in rows if not is_header]
    ncols = max(len(c) for _, c in rows)
    if _fits(header, data, list(range(ncols)), width):
        console.print(_make_table(header, data, list(range(ncols))))
        return
    # Too wide: column groups, each repeating the first column (the row's name).
    groups: list[list[int]] = []
    current = [0]
    for i in range(1, ncols):
        if len(current) > 1 and not _fits(header, data, [*current, i], width):
            groups.append(current)
            current = [0, i]
        else:
            current.append(i)
    groups.append(current)
    if all(_fits(header, data, g, width) for g in groups):
        for group in groups:
            console.print(_make_table(header, data, group))
        return
    # Even two columns do not fit: one record per row, "header  value" lines (values folded).
    names = header or [f"column {i + 1}" for i in range(ncols)]
    for n, cells in enumerate(data):
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for i, cell in enumerate(cells):
            grid.add_row(names[i] if i < len(names) else "", _text(cell))
        if n:
            console.print()
        console.print(grid)


def _text_block(console: Any, text: str, width: int) -> None:
    rows: list[tuple[bool, list[str]]] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("|") and len(stripped) > 1:
            rows.append(split_wiki_row(stripped))
            continue
        if rows:
            _table(console, rows, width)
            rows = []
        if _HEADING_RE.match(stripped) or stripped in ("{code}", "{noformat}"):
            continue
        console.print(_text(raw.rstrip()))
    if rows:
        _table(console, rows, width)


def _title(console: Any, title: str) -> None:
    from rich.text import Text

    console.print()
    console.print(Text(title, style="bold underline"))


def _bps(console: Any, body: str) -> None:
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for line in body.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        grid.add_row(key.strip(), _text(value.strip()))
    console.print(grid)


def render_issue(issue: Issue, *, width: int | None = None, color: bool = False) -> list[str]:
    """The lines ``prodstat show`` prints for ``issue``, fitted to ``width`` columns."""
    from rich.console import Console

    width = width or terminal_width()
    out = io.StringIO()
    console = Console(
        file=out,
        width=width,
        color_system="standard" if color else None,
        force_terminal=color,
        highlight=False,
        emoji=False,
        markup=False,
    )
    from rich.text import Text

    console.print(Text(f"{issue.key}  {issue.summary}", style="bold"), overflow="fold")
    details = [f"url: {issue.url}"]
    if issue.status:
        details.append(f"status: {issue.status}")
    if issue.labels:
        details.append("labels: " + ", ".join(issue.labels))
    console.print(Text("  ".join(details), overflow="fold"))
    description = issue.description
    if not description.strip():
        _title(console, "Description")
        console.print("(no description)")
    for segment in parse_sections(description):
        text = segment.text
        if segment.name is None:
            match = _BPS_RE.search(text)
            if match is not None:
                before, after = text[: match.start()], text[match.end() :]
                if before.strip():
                    _title(console, "Description")
                    _text_block(console, before, width)
                _title(console, "BPS Submit Keywords")
                _bps(console, match.group("body"))
                text = after
            if text.strip():
                _title(console, "Notes")
                _text_block(console, text.strip("\n"), width)
            continue
        heading = next((m.group(1) for m in map(_HEADING_RE.match, text.splitlines()) if m), None)
        _title(console, heading or SECTION_TITLES.get(segment.name, segment.name))
        _text_block(console, text, width)
    if issue.links:
        _title(console, "Links")
        for link in issue.links:
            arrow = "->" if link.direction == "outward" else "<-"
            console.print(Text(f"{link.link_type} {arrow} {link.other_key}  {link.other_summary}".rstrip()))
    if issue.attachments:
        _title(console, "Attachments")
        for a in issue.attachments:
            console.print(Text(f"{a.filename}  ({a.size} byte{'' if a.size == 1 else 's'})", overflow="fold"))
    if issue.comments:
        _title(console, f"Comments ({len(issue.comments)})")
        for comment in issue.comments:
            first = (comment.body.strip().splitlines() or [""])[0]
            console.print(Text(f"[{comment.created[:16]}] {first[:200]}", overflow="fold"))
    return [line.rstrip() for line in out.getvalue().rstrip("\n").splitlines()]
