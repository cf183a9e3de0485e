"""Managed sections, wiki tables and terminal rendering (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lsst.prodstatus.core.markup import (
    HINT_SECTION_DAMAGED,
    MSG_SECTION_DAMAGED,
    PROBLEM_END_MISSING,
    PROBLEM_START_MISSING,
    PROBLEM_TWICE,
    DamagedSectionError,
    parse_sections,
    read_section,
    render_for_terminal,
    replace_sections,
    section_names,
    split_head,
    split_wiki_row,
    wiki_cell,
    wiki_table,
)

BPS_HEAD = "BPS Submit Keywords:\n{code}\nproject: dp02\ncampaign: v23/PREOPS-973\n{code}\n"


def test_append_section_to_plain_description() -> None:
    text = replace_sections(BPS_HEAD, {"panda": "||a||b||\n|1|2|"})
    assert text == BPS_HEAD + "{anchor:prodstat-panda}\n||a||b||\n|1|2|\n{anchor:prodstat-panda-end}\n"
    assert read_section(text, "panda") == "||a||b||\n|1|2|"
    assert section_names(text) == ["panda"]


def test_replace_in_place_keeps_human_text_and_order() -> None:
    text = replace_sections(BPS_HEAD, {"butler": "B1", "panda": "P1"})
    human = text.replace(
        "{anchor:prodstat-panda}", "Note by operator: rerun of group 3.\n{anchor:prodstat-panda}"
    )
    human += "Closing remark.\n"
    updated = replace_sections(human, {"butler": "B2", "panda": "P2"})
    assert "Note by operator: rerun of group 3.\n" in updated
    assert updated.endswith("{anchor:prodstat-panda-end}\nClosing remark.\n")
    assert section_names(updated) == ["butler", "panda"]
    assert read_section(updated, "butler") == "B2"
    assert read_section(updated, "panda") == "P2"
    assert updated.index("B2") < updated.index("Note by operator") < updated.index("P2")


def test_remove_section_and_replace_head() -> None:
    text = replace_sections(BPS_HEAD, {"a": "x", "b": "y"})
    removed = replace_sections(text, {"a": None})
    assert section_names(removed) == ["b"]
    head, rest = split_head(removed)
    assert head == BPS_HEAD
    new_head = "BPS Submit Keywords:\n{code}\nproject: dp03\n{code}\n"
    swapped = replace_sections(removed, {}, head=new_head)
    assert swapped == new_head + rest


def test_head_added_when_description_starts_with_a_section() -> None:
    text = replace_sections("", {"a": "x"})
    assert split_head(text) == ("", text)
    with_head = replace_sections(text, {}, head="HEAD")
    assert with_head.startswith("HEAD\n{anchor:prodstat-a}")


@pytest.mark.parametrize(
    ("damage", "name", "problem"),
    [
        # A person deleted the end line (and wrote a note below): replacing "a" up to the
        # next marker would delete the note.
        (
            lambda t: t.replace("{anchor:prodstat-a-end}\n", "") + "my note\n",
            "a",
            PROBLEM_END_MISSING.format(marker="{anchor:prodstat-a-end}"),
        ),
        # A damaged start line: the section would be appended a second time.
        (
            lambda t: t.replace("{anchor:prodstat-a}\n", "{anchor:prodstat-a }x\n"),
            "a",
            PROBLEM_START_MISSING.format(marker="{anchor:prodstat-a}"),
        ),
        (
            lambda t: t.replace("{anchor:prodstat-a}\n", ""),
            "a",
            PROBLEM_START_MISSING.format(marker="{anchor:prodstat-a}"),
        ),
        # Markers out of order.
        (
            lambda t: t.replace("{anchor:prodstat-a-end}\n", "").replace(
                "{anchor:prodstat-b-end}\n", "{anchor:prodstat-b-end}\n{anchor:prodstat-a-end}\n"
            ),
            "a",
            PROBLEM_END_MISSING.format(marker="{anchor:prodstat-a-end}"),
        ),
        # A hand copy of a section.
        (lambda t: t + t[len(BPS_HEAD) :], "a", PROBLEM_TWICE),
    ],
)
def test_damaged_markers_refused(damage: Any, name: str, problem: str) -> None:
    text = replace_sections(BPS_HEAD, {"a": "old", "b": "keep"})
    damaged = damage(text)
    with pytest.raises(DamagedSectionError) as info:
        replace_sections(damaged, {"a": "new"})
    assert info.value.name == name
    assert problem in info.value.message
    assert info.value.message == MSG_SECTION_DAMAGED.format(name=name, where="", problem=problem)
    assert "{anchor:prodstat-" + name + "-end}" in info.value.one_line()
    assert info.value.hint == HINT_SECTION_DAMAGED.format(
        start="{anchor:prodstat-" + name + "}", end="{anchor:prodstat-" + name + "-end}"
    )
    assert info.value.exit_code == 1
    assert "DRP-7" in info.value.for_issue("DRP-7").message
    assert info.value.for_issue("DRP-7").message == MSG_SECTION_DAMAGED.format(
        name=name, where=" of DRP-7", problem=problem
    )


def test_invalid_section_name_rejected() -> None:
    with pytest.raises(ValueError):
        replace_sections("", {"Bad Name": "x"})
    with pytest.raises(ValueError):
        replace_sections("", {"stats-end": "x"})


_free_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
    ),
    max_size=80,
).filter(lambda t: "{anchor:" not in t)
_names = st.sampled_from(["panda", "butler", "status", "link-1"])
_bodies = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
    ),
    max_size=60,
).filter(lambda t: "{anchor:" not in t)


@given(head=_free_text, updates=st.dictionaries(_names, st.one_of(st.none(), _bodies), max_size=4))
def test_replace_sections_is_idempotent(head: str, updates: dict[str, str | None]) -> None:
    once = replace_sections(head, updates)
    assert replace_sections(once, updates) == once
    for name, body in updates.items():
        expected = None if body is None else body.rstrip("\r\n")
        assert read_section(once, name) == expected


@given(head=_free_text, tail=_free_text, first=_bodies, second=_bodies)
def test_human_text_outside_sections_survives(head: str, tail: str, first: str, second: str) -> None:
    text = replace_sections(head, {"panda": first})
    if not text.endswith("\n"):
        text += "\n"
    text += tail
    updated = replace_sections(text, {"panda": second})
    segments = parse_sections(updated)
    free = "".join(s.text for s in segments if s.name is None)
    assert head in free
    assert tail in free
    assert read_section(updated, "panda") == second.rstrip("\r\n")


def test_wiki_table_and_cell_escaping() -> None:
    table = wiki_table(["Task", "nQ", "CPU h"], [["isr|x", 10, 1.5], ["calibrate", None, 0.25]])
    assert table.splitlines() == ["||Task||nQ||CPU h||", "|isr\\|x|10|1.5|", "|calibrate| |0.25|"]
    assert wiki_cell("a\nb") == "a b"
    assert wiki_cell("") == " "
    assert wiki_cell("already \\| escaped") == "already \\| escaped"


def test_split_wiki_row_handles_links_and_escapes() -> None:
    header, cells = split_wiki_row("||BPS_yaml||Issue||(T,Q,D,Fa,Sf)||")
    assert header and cells == ["BPS_yaml", "Issue", "(T,Q,D,Fa,Sf)"]
    header, cells = split_wiki_row(
        "| step1_1248| [DRP-486|https://jira.lsstcorp.org/browse/DRP-486] | {color:green}3,212,3,0,0{color} | a \\| b| "
    )
    assert not header
    assert cells == [
        "step1_1248",
        "[DRP-486|https://jira.lsstcorp.org/browse/DRP-486]",
        "{color:green}3,212,3,0,0{color}",
        "a | b",
    ]


def test_render_for_terminal() -> None:
    text = replace_sections(
        BPS_HEAD,
        {
            "panda": "h2. PanDA\n||Task||Issue||\n|isr|[DRP-1|https://jira/browse/DRP-1]|\n|{color:red}bad{color}|x|"
        },
    )
    out = render_for_terminal(text)
    assert "{anchor" not in out and "{code}" not in out and "{color" not in out
    assert "    project: dp02" in out
    assert "PanDA\n=====" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Task"))
    assert lines[header + 1].startswith("----")
    # A link whose text is in its URL (a Jira key) shows just the key; others keep the URL.
    assert lines[header + 2].split() == ["isr", "DRP-1"]
    assert (
        render_for_terminal("see [pDa|https://panda/tasks/?x=1]").strip()
        == "see pDa <https://panda/tasks/?x=1>"
    )
    assert "\x1b[31mbad" in render_for_terminal(text, color=True)
