"""core/workflow.py: the PanDA link line, the production section, the BPS block swap, the issue choice.

Pure functions, tested with plain values and hypothesis properties. The callers are
``script/update_issue.py`` (all four functions) and ``script/update_stat.py``
(`STATISTICS_SECTIONS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsst.prodstatus.core import ids
from lsst.prodstatus.core.bps import render_bps_block
from lsst.prodstatus.core.ids import WorkflowId
from lsst.prodstatus.core.workflow import (
    BPS_BLOCK_RE,
    PRODUCTION_SECTION,
    STATISTICS_SECTIONS,
    choose_existing_issue,
    panda_tasks_link,
    production_section_text,
    replace_bps_block,
    uniq_label,
)

TS = "20220728T192631Z"
OLD_BLOCK = "BPS Submit Keywords:\n{code}\nproject: dp02\noutput: u/ops/old\n{code}\n"
NEW_BLOCK = render_bps_block(["project: dp02", "output: u/ops/new"])


@dataclass
class FakeIssue:
    """The three fields `choose_existing_issue` reads of an issue."""

    key: str
    summary: str = ""
    labels: list[str] = field(default_factory=list)


# --- constants ---------------------------------------------------------------------------------


def test_statistics_sections_are_update_stats_in_order() -> None:
    assert STATISTICS_SECTIONS == ("butler", "panda", "status", "failures")


def test_production_section_is_not_a_statistics_section() -> None:
    # update-issue keeps the production section when it clears a re-pointed issue's statistics.
    assert PRODUCTION_SECTION == "production"
    assert PRODUCTION_SECTION not in STATISTICS_SECTIONS


def test_uniq_label_is_the_one_of_ids() -> None:
    assert uniq_label is ids.uniq_label


# --- panda_tasks_link ------------------------------------------------------------------------


def test_panda_tasks_link_is_the_originals() -> None:
    assert panda_tasks_link("https://panda-doma.cern.ch/", TS) == (
        "https://panda-doma.cern.ch/tasks/?taskname=*20220728t192631z*&date_from=01-07-2022&days=62"
        "&sortby=time-ascending"
    )


@pytest.mark.parametrize("base", ["https://panda.example", "https://panda.example/"])
def test_panda_tasks_link_adds_one_slash(base: str) -> None:
    assert panda_tasks_link(base, TS).startswith("https://panda.example/tasks/?")


def test_panda_tasks_link_keeps_the_monitor_path() -> None:
    assert panda_tasks_link("https://host/monitor", TS).startswith("https://host/monitor/tasks/?taskname=")


def test_panda_tasks_link_takes_a_lower_case_timestamp() -> None:
    assert panda_tasks_link("https://h/", TS.lower()) == panda_tasks_link("https://h/", TS)


@pytest.mark.parametrize(
    "base", ["https://user:pw@panda.example/", "https://user@panda.example/", "https://u:p@ss@panda.example/"]
)
def test_panda_tasks_link_never_carries_credentials(base: str) -> None:
    link = panda_tasks_link(base, TS)
    assert link.startswith("https://panda.example/tasks/")
    assert "@" not in link and "pw" not in link and "ss" not in link.split("?")[0]


@settings(max_examples=100, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
    user=st.text(alphabet="abcdefghij0123456789._-", min_size=1, max_size=8),
    password=st.text(alphabet="abcXYZ0123456789!$&*+,;=@", min_size=1, max_size=12),
)
def test_panda_tasks_link_query_names_the_run_month_and_no_secret(
    moment: datetime, user: str, password: str
) -> None:
    timestamp = moment.strftime("%Y%m%dT%H%M%SZ")
    link = panda_tasks_link(f"https://{user}:{password}@panda.example/mon", timestamp)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "panda.example", "/mon/tasks/")
    query = parse_qs(parts.query)
    assert query == {
        "taskname": [f"*{timestamp.lower()}*"],
        "date_from": [f"01-{moment:%m}-{moment:%Y}"],
        "days": ["62"],
        "sortby": ["time-ascending"],
    }


# --- production_section_text -------------------------------------------------------------------


def test_production_section_with_the_issue_in_the_tracker() -> None:
    text = production_section_text("PREOPS-1248", "https://p/tasks/?x", "https://jira/browse/PREOPS-1248")
    assert text == (
        "PanDA PREOPS: PREOPS-1248 link:https://p/tasks/?x\n"
        "Production issue: [PREOPS-1248|https://jira/browse/PREOPS-1248]"
    )


def test_production_section_without_the_issue_in_the_tracker() -> None:
    text = production_section_text("PREOPS-1248", "https://p/tasks/?x", None)
    assert text == "PanDA PREOPS: PREOPS-1248 link:https://p/tasks/?x\nProduction issue: PREOPS-1248"


def test_production_section_empty_url_is_no_link() -> None:
    assert production_section_text("P-1", "l", "").splitlines()[1] == "Production issue: P-1"


@given(
    key=st.text(alphabet="ABCDEFGHIJ-0123456789 _", min_size=1, max_size=20),
    link=st.text(alphabet="abc:/?&=*.-_0123456789", min_size=1, max_size=40),
    url=st.none() | st.just("https://jira/browse/X-1"),
)
def test_production_section_first_line_is_read_by_the_originals_parser(
    key: str, link: str, url: str | None
) -> None:
    # The original's parsers look for "PanDA.*link:" and take the rest of the line.
    lines = production_section_text(key, link, url).splitlines()
    assert len(lines) == 2
    match = re.search(r"PanDA.*link:(.*)$", lines[0])
    assert match is not None and match.group(1) == link
    assert lines[0].startswith(f"PanDA PREOPS: {key} ")


# --- replace_bps_block --------------------------------------------------------------------------


def test_replace_bps_block_in_empty_head_is_the_block() -> None:
    assert replace_bps_block("", NEW_BLOCK) == NEW_BLOCK


def test_replace_bps_block_adds_a_final_newline_to_the_block() -> None:
    assert replace_bps_block("", NEW_BLOCK.rstrip("\n")) == NEW_BLOCK
    assert replace_bps_block(OLD_BLOCK + "notes\n", NEW_BLOCK.rstrip("\n")) == NEW_BLOCK + "notes\n"


def test_replace_bps_block_keeps_text_before_and_after() -> None:
    head = "a person's note\n\n" + OLD_BLOCK + "\nh1. Tables of the original tool\n|a|b|\n"
    assert replace_bps_block(head, NEW_BLOCK) == (
        "a person's note\n\n" + NEW_BLOCK + "\nh1. Tables of the original tool\n|a|b|\n"
    )


def test_replace_bps_block_prepends_when_there_is_none() -> None:
    assert replace_bps_block("notes only\n", NEW_BLOCK) == NEW_BLOCK + "notes only\n"


def test_replace_bps_block_at_the_very_end_without_newline() -> None:
    assert replace_bps_block("x\n" + OLD_BLOCK.rstrip("\n"), NEW_BLOCK) == "x\n" + NEW_BLOCK


def test_replace_bps_block_reads_crlf_and_trailing_blanks() -> None:
    head = "BPS Submit Keywords:  \r\n{code}\r\nproject: dp02\r\n{code} \t\r\nnotes\r\n"
    assert replace_bps_block(head, NEW_BLOCK) == NEW_BLOCK + "notes\r\n"


def test_replace_bps_block_header_is_case_insensitive() -> None:
    head = "bps submit keywords:\n{CODE}\nproject: dp02\n{Code}\nrest"
    assert replace_bps_block(head, NEW_BLOCK) == NEW_BLOCK + "rest"


def test_replace_bps_block_with_empty_body() -> None:
    assert replace_bps_block("BPS Submit Keywords:\n{code}\n{code}\nrest", NEW_BLOCK) == NEW_BLOCK + "rest"


def test_replace_bps_block_replaces_only_the_first_block() -> None:
    second = OLD_BLOCK.replace("old", "second")
    assert replace_bps_block(OLD_BLOCK + second, NEW_BLOCK) == NEW_BLOCK + second


def test_replace_bps_block_code_inside_a_line_does_not_end_the_block() -> None:
    head = "BPS Submit Keywords:\n{code}\nnote: see {code} here\n{code}x\n{code}\nafter\n"
    assert replace_bps_block(head, NEW_BLOCK) == NEW_BLOCK + "after\n"


@pytest.mark.parametrize(
    "head",
    [
        "BPS Submit Keywords:\n{code}\nproject: dp02\n",  # never closed
        "BPS Submit Keywords:\n{code:yaml}\nproject: dp02\n{code}\n",  # another fence
        "BPS Submit Keywords: {code}\nproject: dp02\n{code}\n",  # fence on the header line
    ],
    ids=["unterminated", "code-with-title", "fence-on-header-line"],
)
def test_replace_bps_block_prepends_before_what_is_no_block(head: str) -> None:
    # Not the original's block: kept as text, the new block goes first.
    assert replace_bps_block(head, NEW_BLOCK) == NEW_BLOCK + head


_OLD_BLOCKS = st.builds(
    "{}{nl}{{code}}{nl}{}{{code}}{}".format,
    st.sampled_from(["BPS Submit Keywords:", "bps submit keywords: ", "BPS Submit Keywords:\t"]),
    st.sampled_from(["", "project: dp02\n", "note: see {code}\n", "{code}x\n"]),
    st.sampled_from(["\n", " \r\n", ""]),
    nl=st.sampled_from(["\n", "\r\n"]),
)
"""BPS blocks as descriptions hold them: any case, CRLF, blanks after the fence, at the end."""

_TEXT = st.lists(
    st.sampled_from(
        ["note", "x: y", "{code}", "BPS Submit Keywords:", " ", "\t", "\n", "\r\n", "h1. T", "|a|"]
    )
    | _OLD_BLOCKS,
    max_size=8,
).map("".join)
"""Text made of the pieces the block regex looks at (headers, fences, line ends, whole blocks)."""

_KEYWORD_LINES = st.lists(
    st.from_regex(r"[a-zA-Z_]{1,10}: ?[a-z0-9/{}._ -]{0,20}", fullmatch=True), max_size=5
)
"""Lines ``key: value`` as the BPS block holds them (never a lone ``{code}``)."""

_PLAIN = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40).filter(
    lambda text: "bps submit keywords:" not in text.lower()
)
"""Text holding no BPS block header."""


@settings(max_examples=200, deadline=None)
@given(head=_TEXT, lines=_KEYWORD_LINES)
def test_replace_bps_block_is_idempotent(head: str, lines: list[str]) -> None:
    block = render_bps_block(lines)
    once = replace_bps_block(head, block)
    assert replace_bps_block(once, block) == once
    # The new block is the first one the regex finds.
    match = BPS_BLOCK_RE.search(once)
    assert match is not None and match.group(0) == block


@settings(max_examples=200, deadline=None)
@given(before=_PLAIN, after=_PLAIN, old=_KEYWORD_LINES, new=_KEYWORD_LINES)
def test_replace_bps_block_changes_only_the_block(
    before: str, after: str, old: list[str], new: list[str]
) -> None:
    # Text around the block starts and ends its own lines, as in an issue description.
    before = before if not before or before.endswith("\n") else before + "\n"
    head = before + render_bps_block(old) + after
    assert replace_bps_block(head, render_bps_block(new)) == before + render_bps_block(new) + after


@settings(max_examples=100, deadline=None)
@given(head=_PLAIN, lines=_KEYWORD_LINES)
def test_replace_bps_block_without_a_block_prepends(head: str, lines: list[str]) -> None:
    assert replace_bps_block(head, render_bps_block(lines)) == render_bps_block(lines) + head


# --- choose_existing_issue --------------------------------------------------------------------

WID = WorkflowId("u/ops/PREOPS-1248", TS, f"u_ops_PREOPS-1248_{TS}", "step1", "u/ops/PREOPS-1248")
UNIQ, TS_LABEL = WID.identity_label, WID.labels[0]


def choose(candidates: list[FakeIssue], summary: str = WID.summary) -> FakeIssue | None:
    """`choose_existing_issue` for the workflow `WID`, as update-issue calls it.

    Parameters
    ----------
    candidates : `list` [`FakeIssue`]
        The issues to choose from.
    summary : `str`
        The workflow summary to look for.

    Returns
    -------
    issue : `FakeIssue` or `None`
        The chosen issue.
    """
    return choose_existing_issue(candidates, uniq_label_name=UNIQ, ts_label_name=TS_LABEL, summary=summary)


def test_choose_from_no_candidates_is_none() -> None:
    assert choose([]) is None


def test_choose_ignores_issues_that_record_nothing_of_the_workflow() -> None:
    assert choose([FakeIssue("DRP-1", "other", ["prodstat_x"]), FakeIssue("DRP-2", "", [TS_LABEL])]) is None


def test_choose_prefers_the_uniq_label_to_older_issues() -> None:
    uniq = FakeIssue("DRP-9", "renamed by hand", [UNIQ])
    chosen = choose([FakeIssue("DRP-1", WID.summary, [TS_LABEL]), FakeIssue("DRP-2", WID.summary), uniq])
    assert chosen is uniq


def test_choose_prefers_timestamp_label_and_summary_to_summary_alone() -> None:
    labelled = FakeIssue("DRP-5", WID.summary, [TS_LABEL])
    assert choose([FakeIssue("DRP-1", WID.summary), labelled]) is labelled


def test_choose_takes_an_original_issue_by_its_summary() -> None:
    original = FakeIssue("DRP-3", WID.summary)
    assert choose([FakeIssue("DRP-1", "step1#other/20220101T000000Z"), original]) is original


def test_choose_timestamp_label_needs_the_same_summary() -> None:
    assert choose([FakeIssue("DRP-1", "step2#other/" + TS, [TS_LABEL])]) is None


def test_choose_oldest_by_number_not_by_text() -> None:
    # "DRP-10" < "DRP-9" as text; the issue number decides.
    nine, ten = FakeIssue("DRP-9", "", [UNIQ]), FakeIssue("DRP-10", "", [UNIQ])
    assert choose([ten, nine]) is nine
    hundred, ninety_nine = FakeIssue("DRP-100", WID.summary), FakeIssue("DRP-99", WID.summary)
    assert choose([hundred, ninety_nine]) is ninety_nine


def test_choose_equal_numbers_keep_the_given_order() -> None:
    first, second = FakeIssue("DRP-7", WID.summary), FakeIssue("OPS-7", WID.summary)
    assert choose([first, second]) is first
    assert choose([second, first]) is second


def test_choose_accepts_a_timestamp_labelled_issue_that_records_the_workflow() -> None:
    issue = FakeIssue("DRP-5", WID.summary + " ", [TS_LABEL])
    assert WID.records(issue.summary, issue.labels) is True
    assert choose([issue]) is issue


_KEYS = st.builds(lambda project, n: f"{project}-{n}", st.sampled_from(["DRP", "OPS"]), st.integers(1, 300))
_ISSUES = st.lists(
    st.builds(
        FakeIssue,
        key=_KEYS,
        summary=st.sampled_from([WID.summary, "other", "", f"step2#c/{TS}"]),
        labels=st.lists(st.sampled_from([UNIQ, TS_LABEL, "prodstat_other", "x"]), max_size=3, unique=True),
    ),
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(candidates=_ISSUES)
def test_choose_takes_the_lowest_of_the_best_tier(candidates: list[FakeIssue]) -> None:
    tiers = [
        [i for i in candidates if UNIQ in i.labels],
        [i for i in candidates if TS_LABEL in i.labels and i.summary == WID.summary],
        [i for i in candidates if i.summary == WID.summary],
    ]
    chosen = choose(candidates)
    best = next((tier for tier in tiers if tier), None)
    if best is None:
        assert chosen is None
        return
    assert chosen is not None and any(chosen is i for i in best)
    assert ids.issue_number(chosen.key) == min(ids.issue_number(i.key) for i in best)
