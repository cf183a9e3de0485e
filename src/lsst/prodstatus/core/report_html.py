"""The HTML report: one self-contained page (inline CSS and JS, images as data URIs).

Pure rendering of a `Report` (plain data) to text; no I/O, nothing fetched by the page.
Tables sort when a header is clicked (a few lines of inline JavaScript; the page reads
the same without it).
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field

from .markup import split_wiki_row

__all__ = [
    "STATUS_COLOURS",
    "Report",
    "ReportImage",
    "ReportNode",
    "ReportTable",
    "cells_of_section",
    "render_report",
]

STATUS_COLOURS = {
    "complete": "#1a7f37",
    "finished": "#1a7f37",
    "done": "#1a7f37",
    "running": "#0969da",
    "transforming": "#0969da",
    "pending": "#6e7781",
    "failed": "#cf222e",
    "subfinished": "#bc4c00",
    "cancelled": "#cf222e",
    "green": "#1a7f37",
    "red": "#cf222e",
    "blue": "#0969da",
    "black": "#24292f",
}
"""Colour of a status word (roll-up states, iDDS states, the original tool's colour names)."""


@dataclass
class ReportTable:
    """A table: header cells and rows of wiki-markup cells (links, colours, bold)."""

    title: str
    headers: list[str]
    rows: list[list[str]]


@dataclass
class ReportImage:
    """A PNG figure."""

    title: str
    png: bytes


@dataclass
class ReportNode:
    """One issue of the report's hierarchy."""

    key: str
    summary: str
    kind: str
    url: str
    depth: int = 0
    status: str | None = None
    colour: str | None = None
    """Colour of the counts, by the original tool's rule (green, red, blue, black)."""
    counts: tuple[int, ...] | None = None
    core_hours: float | None = None
    start: str | None = None
    end: str | None = None
    links: list[tuple[str, str]] = field(default_factory=list)
    """(text, URL): PanDA pages of a workflow."""
    tables: list[ReportTable] = field(default_factory=list)
    images: list[ReportImage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    """Everything the page shows."""

    title: str
    generated: str
    """UTC time the report was made."""
    tracker: str
    nodes: list[ReportNode]
    """In hierarchy order (depth-first); the first is the report's subject."""
    images: list[ReportImage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#24292f;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:20px} header p{margin:4px 0 0;color:#c9d1d9;font-size:13px}
main{padding:16px 24px;max-width:1400px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:0 0 16px;padding:12px 16px}
h2{font-size:17px;margin:0 0 6px} h3{font-size:14px;margin:12px 0 4px;color:#57606a}
a{color:#0969da;text-decoration:none} a:hover{text-decoration:underline}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600}
.kind{color:#57606a;font-size:12px;text-transform:uppercase;letter-spacing:.05em;margin-right:6px}
.facts{font-size:13px;color:#57606a;margin:4px 0}
.tree{list-style:none;padding-left:0;margin:0;font-size:14px} .tree li{padding:2px 0}
table{border-collapse:collapse;font-size:12.5px;margin:4px 0 8px;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;white-space:nowrap}
th{background:#f6f8fa;cursor:pointer;user-select:none} th.sorted-asc::after{content:" \\25B2"}
th.sorted-desc::after{content:" \\25BC"} tr:nth-child(even) td{background:#fbfcfd}
td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto;border:1px solid #d0d7de;border-radius:4px;margin:4px 0}
.note{font-size:12.5px;color:#57606a}
"""

_JS = """
document.querySelectorAll("table.sortable").forEach(function(table){
  table.querySelectorAll("th").forEach(function(th, col){
    th.addEventListener("click", function(){
      var body = table.tBodies[0]; if(!body){return;}
      var asc = !th.classList.contains("sorted-asc");
      table.querySelectorAll("th").forEach(function(h){h.classList.remove("sorted-asc","sorted-desc");});
      th.classList.add(asc ? "sorted-asc" : "sorted-desc");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function(a, b){
        var x = a.cells[col] ? a.cells[col].textContent.trim() : "";
        var y = b.cells[col] ? b.cells[col].textContent.trim() : "";
        var nx = parseFloat(x.replace(/,/g, "")), ny = parseFloat(y.replace(/,/g, ""));
        var numeric = !isNaN(nx) && !isNaN(ny) && /^[-\\d.,]+$/.test(x) && /^[-\\d.,]+$/.test(y);
        var c = numeric ? nx - ny : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});
"""

_COLOR_RE = re.compile(r"\{color:([#a-zA-Z0-9]+)\}(.*?)\{color\}")
_LINK_RE = re.compile(r"\[([^\[\]|]+)\|([^\[\]]+)\]")
_BOLD_RE = re.compile(r"(?<![\w*])\*([^*]+)\*(?![\w*])")
_NUMBER_RE = re.compile(r"^-?[\d,]+(\.\d+)?( est\.| \(\?\))?$")


def cells_of_section(text: str) -> tuple[list[str], list[list[str]]]:
    """The first wiki table of a section: its header cells and data rows (other lines are skipped)."""
    headers: list[str] = []
    rows: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("|") or len(stripped) < 2:
            if headers and rows:
                break
            continue
        is_header, cells = split_wiki_row(stripped)
        if is_header and not headers:
            headers = cells
        elif headers:
            rows.append(cells)
    return headers, rows


def _safe_url(url: str) -> str:
    url = url.strip()
    # Only web links and the local tracker's file locators; never javascript: and the like.
    return url if re.match(r"^(https?://|/|file:)", url) else "#"


def wiki_cell_html(text: str) -> str:
    """A wiki-markup cell as HTML: ``[text|url]`` links, ``{color:c}…{color}``, ``*bold*``."""
    out: list[str] = []
    pos = 0
    tokens = sorted(
        [(m.start(), m.end(), "link", m) for m in _LINK_RE.finditer(text)]
        + [(m.start(), m.end(), "color", m) for m in _COLOR_RE.finditer(text)],
        key=lambda t: t[0],
    )
    for start, end, kind, match in tokens:
        if start < pos:
            continue
        out.append(_plain(text[pos:start]))
        if kind == "link":
            out.append(
                f'<a href="{html.escape(_safe_url(match.group(2)))}">{html.escape(match.group(1).strip())}</a>'
            )
        else:
            colour = STATUS_COLOURS.get(match.group(1).lower(), match.group(1))
            out.append(
                f'<span style="color:{html.escape(colour)};font-weight:600">{wiki_cell_html(match.group(2))}</span>'
            )
        pos = end
    out.append(_plain(text[pos:]))
    return "".join(out)


def _plain(text: str) -> str:
    return _BOLD_RE.sub(lambda m: f"<b>{m.group(1)}</b>", html.escape(text))


def _badge(text: str | None, colour_name: str | None = None) -> str:
    if not text:
        return ""
    colour = STATUS_COLOURS.get((colour_name or text).lower(), "#57606a")
    return f'<span class="badge" style="background:{colour}">{html.escape(text)}</span>'


def _table(table: ReportTable) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
    body = []
    for row in table.rows:
        cells = []
        for cell in row:
            cls = ' class="num"' if _NUMBER_RE.match(cell.strip()) else ""
            cells.append(f"<td{cls}>{wiki_cell_html(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    title = f"<h3>{html.escape(table.title)}</h3>" if table.title else ""
    return (
        f'{title}<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def _image(image: ReportImage) -> str:
    data = base64.b64encode(image.png).decode("ascii")
    title = html.escape(image.title)
    return f'<h3>{title}</h3><img alt="{title}" src="data:image/png;base64,{data}">'


def _facts(node: ReportNode) -> str:
    parts = []
    if node.counts is not None:
        counts = ",".join(str(n) for n in node.counts)
        colour = STATUS_COLOURS.get((node.colour or "black").lower(), "#24292f")
        parts.append(f'(T,Q,D,Fa,Sf) <b style="color:{colour}">{counts}</b>')
    if node.core_hours is not None:
        parts.append(f"{node.core_hours:,.2f} core h")
    if node.start or node.end:
        parts.append(f"{html.escape(node.start or '?')} → {html.escape(node.end or '?')} (UTC)")
    links = [f'<a href="{html.escape(_safe_url(url))}">{html.escape(text)}</a>' for text, url in node.links]
    return " · ".join(parts + links)


def _heading(node: ReportNode) -> str:
    return (
        f'<span class="kind">{html.escape(node.kind)}</span>'
        f'<a href="{html.escape(_safe_url(node.url))}">{html.escape(node.key)}</a> '
        f"{html.escape(node.summary)} {_badge(node.status)}"
    )


def render_report(report: Report) -> str:
    """The report as one HTML document (UTF-8 text)."""
    tree = "".join(
        f'<li style="padding-left:{1.4 * n.depth:.1f}em"><a href="#{html.escape(n.key)}">{html.escape(n.key)}</a> '
        f'<span class="kind">{html.escape(n.kind)}</span>{html.escape(n.summary)} {_badge(n.status)}'
        + (f' <span class="note">{n.core_hours:,.1f} core h</span>' if n.core_hours is not None else "")
        + "</li>"
        for n in report.nodes
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(report.title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<header><h1>{html.escape(report.title)}</h1>",
        f"<p>made by prodstat at {html.escape(report.generated)} UTC "
        f"from the {html.escape(report.tracker)} tracker</p>",
        "</header><main>",
        f'<section id="overview"><h2>Hierarchy</h2><ul class="tree">{tree}</ul>',
        *(f'<p class="note">{html.escape(note)}</p>' for note in report.notes),
        *(_image(image) for image in report.images),
        "</section>",
    ]
    for node in report.nodes:
        body = [f'<section id="{html.escape(node.key)}"><h2>{_heading(node)}</h2>']
        facts = _facts(node)
        if facts:
            body.append(f'<p class="facts">{facts}</p>')
        body.extend(_table(t) for t in node.tables)
        body.extend(_image(i) for i in node.images)
        body.extend(f'<p class="note">{html.escape(note)}</p>' for note in node.notes)
        body.append("</section>")
        parts.append("".join(body))
    parts += ["</main>", f"<script>{_JS}</script>", "</body></html>", ""]
    return "\n".join(parts)
