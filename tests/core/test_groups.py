"""Pure logic of make-prod-groups: explist parsing, band selection, grouping, templates."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsst.prodstatus.core.groups import (
    DUPLICATE_HINT,
    DUPLICATE_ID,
    EXPLIST_HINT,
    GROUPSIZE_TOO_SMALL,
    LINE_BAD_ID,
    LINE_COLUMNS,
    LIST_EMPTY,
    NGROUPS_TOO_SMALL,
    NO_IDS_FOR_BAND,
    NO_IDS_HINT,
    NOTHING_TO_WRITE,
    NOTHING_TO_WRITE_HINT,
    PLACEHOLDERS,
    SKIPGROUPS_NEGATIVE,
    Entry,
    Group,
    check_window,
    fill_template,
    find_placeholders,
    output_name,
    parse_explist,
    placeholder_values,
    plan_groups,
    select_ids,
)
from lsst.prodstatus.errors import InputError

# --- parse_explist -------------------------------------------------------------------------


def test_parse_skips_blank_lines_and_comments_and_keeps_line_numbers() -> None:
    text = "# exposures of DP0.2\n\nz 1472\n  r\t2166  # rerun\r\n\n#y 5\nall 3828\n"
    assert parse_explist(text) == [Entry("z", 1472, 3), Entry("r", 2166, 4), Entry("all", 3828, 7)]


def test_parse_empty_text() -> None:
    assert parse_explist("") == []
    assert parse_explist("\n# only a comment\n   \n") == []


@pytest.mark.parametrize(
    ("line", "count"),
    [("1472", 1), ("z 1472 extra", 3), ("z\t1472\t9", 3)],
)
def test_parse_wrong_column_count(line: str, count: int) -> None:
    with pytest.raises(InputError) as info:
        parse_explist(f"z 1\n{line}\n", source="explist")
    assert info.value.message == LINE_COLUMNS.format(source="explist", line=2, count=count, text=line)
    assert info.value.message.startswith("explist:2: expected 2 columns '<band> <id>'")


@pytest.mark.parametrize("token", ["14x2", "-5", "+5", "1_000", "1.5", "nan", "٣"])
def test_parse_rejects_ids_that_are_not_plain_integers(token: str) -> None:
    with pytest.raises(InputError) as info:
        parse_explist(f"z {token}", source="L")
    assert info.value.message == LINE_BAD_ID.format(source="L", line=1, token=token, text=f"z {token}")
    assert info.value.hint == EXPLIST_HINT


def test_parse_reports_duplicate_with_both_line_numbers() -> None:
    with pytest.raises(InputError) as info:
        parse_explist("z 10\ng 11\n\nz 10\n", source="explist")
    assert info.value.message == "explist:4: id 10 with band z is already listed on line 1"
    assert info.value.message == DUPLICATE_ID.format(source="explist", line=4, id=10, band="z", first=1)
    assert info.value.hint == DUPLICATE_HINT


def test_parse_same_id_with_other_band_is_not_a_duplicate() -> None:
    assert len(parse_explist("z 10\ng 10\n")) == 2


def test_parse_leading_zeros_give_the_integer() -> None:
    assert parse_explist("z 0042") == [Entry("z", 42, 1)]


# --- select_ids ----------------------------------------------------------------------------

ENTRIES = parse_explist("z 30\ng 10\nz 20\nr 40\ng 50\n")


@pytest.mark.parametrize(
    ("band", "ids"),
    [("all", (10, 20, 30, 40, 50)), ("f", (10, 20, 30, 40, 50)), ("z", (20, 30)), ("g", (10, 50))],
)
def test_select_sorts_and_filters(band: str, ids: tuple[int, ...]) -> None:
    selection = select_ids(ENTRIES, band)
    assert selection.ids == ids
    assert selection.listed == 5
    assert selection.merged == 0


def test_select_all_counts_an_id_under_two_bands_once() -> None:
    selection = select_ids(parse_explist("z 10\ng 10\ng 5\n"), "all")
    assert selection.ids == (5, 10)
    assert selection.merged == 1


def test_select_tract_list_with_band_word_all() -> None:
    entries = parse_explist("all 3828\nall 3829\n")
    assert select_ids(entries, "all").ids == (3828, 3829)
    with pytest.raises(InputError) as info:
        select_ids(entries, "i", source="tracts")
    assert info.value.message == NO_IDS_FOR_BAND.format(band="i", source="tracts", count=2, bands="all")
    assert info.value.hint == NO_IDS_HINT


def test_select_band_absent() -> None:
    with pytest.raises(InputError) as info:
        select_ids(ENTRIES, "u", source="explist")
    assert info.value.message == NO_IDS_FOR_BAND.format(band="u", source="explist", count=5, bands="g r z")


def test_select_empty_list() -> None:
    with pytest.raises(InputError) as info:
        select_ids([], "all", source="explist")
    assert info.value.message == LIST_EMPTY.format(source="explist") == "explist lists no ids"


# --- check_window / plan_groups ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 0, 1), GROUPSIZE_TOO_SMALL.format(value=0)),
        ((-3, 0, 1), GROUPSIZE_TOO_SMALL.format(value=-3)),
        ((10, -1, 1), SKIPGROUPS_NEGATIVE.format(value=-1)),
        ((10, 0, 0), NGROUPS_TOO_SMALL.format(value=0)),
        ((10, 0, -2), NGROUPS_TOO_SMALL.format(value=-2)),
    ],
)
def test_check_window_rejects(args: tuple[int, int, int], message: str) -> None:
    with pytest.raises(InputError) as info:
        check_window(*args)
    assert info.value.message == message
    with pytest.raises(InputError):
        plan_groups(range(100), *args)


def test_plan_skip_keeps_absolute_numbering_and_stops_at_the_end() -> None:
    plan = plan_groups(list(range(1, 11)), 3, 2, 5)
    assert [g.number for g in plan.groups] == [3, 4]
    assert [g.ids for g in plan.groups] == [(7, 8, 9), (10,)]
    assert (plan.total, plan.requested, plan.not_written) == (4, 5, 3)


def test_plan_skip_past_the_end() -> None:
    with pytest.raises(InputError) as info:
        plan_groups(list(range(10)), 3, 4, 1, band="z")
    assert info.value.message == NOTHING_TO_WRITE.format(skip=4, band="z", ids=10, total=4, size=3)
    assert info.value.message == "SKIPGROUPS 4 skips every group: band z has 10 ids, 4 groups of at most 3"
    assert info.value.hint == NOTHING_TO_WRITE_HINT.format(total=4)


sorted_ids = st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=300, unique=True).map(
    sorted
)


@settings(max_examples=150, deadline=None)
@given(ids=sorted_ids, groupsize=st.integers(1, 50))
def test_property_all_groups_partition_the_ids(ids: list[int], groupsize: int) -> None:
    total = -(-len(ids) // groupsize)
    plan = plan_groups(ids, groupsize, 0, total)
    assert plan.not_written == 0 and plan.total == total
    # Every id in exactly one group, in order: concatenation gives back the list.
    assert [i for g in plan.groups for i in g.ids] == ids
    assert [g.number for g in plan.groups] == list(range(1, total + 1))
    for group in plan.groups:
        assert (group.low, group.high) == (min(group.ids), max(group.ids))
        assert group.count == len(group.ids)
    # Disjoint and ordered ranges.
    for before, after in zip(plan.groups, plan.groups[1:], strict=False):
        assert before.high < after.low
    # Fixed size, except possibly the last.
    assert all(g.count == groupsize for g in plan.groups[:-1])
    assert 1 <= plan.groups[-1].count <= groupsize


@settings(max_examples=150, deadline=None)
@given(ids=sorted_ids, groupsize=st.integers(1, 50), skip=st.integers(0, 40), ngroups=st.integers(1, 40))
def test_property_window_matches_absolute_numbering(
    ids: list[int], groupsize: int, skip: int, ngroups: int
) -> None:
    full = plan_groups(ids, groupsize, 0, 10**6).groups
    if skip >= len(full):
        with pytest.raises(InputError):
            plan_groups(ids, groupsize, skip, ngroups)
        return
    plan = plan_groups(ids, groupsize, skip, ngroups)
    assert plan.groups == full[skip : skip + ngroups]
    assert [g.number for g in plan.groups] == list(range(skip + 1, skip + 1 + len(plan.groups)))
    assert plan.not_written == ngroups - len(plan.groups) == max(0, skip + ngroups - len(full))
    for group in plan.groups:
        start = (group.number - 1) * groupsize
        assert group.ids == tuple(ids[start : start + groupsize])


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(st.tuples(st.sampled_from("ugrizy"), st.integers(0, 5000)), min_size=1, max_size=200),
    band=st.sampled_from(["all", "f", *"ugrizy"]),
)
def test_property_selected_band_ids_each_land_in_one_group(rows: list[tuple[str, int]], band: str) -> None:
    rows = list({row: None for row in rows})  # same band and id twice is an input error
    entries = parse_explist("\n".join(f"{b} {i}" for b, i in rows))
    expected = {i for b, i in rows if band in ("all", "f") or b == band}
    if not expected:
        with pytest.raises(InputError):
            select_ids(entries, band)
        return
    selection = select_ids(entries, band)
    plan = plan_groups(selection.ids, 7, 0, len(rows))
    written = [i for g in plan.groups for i in g.ids]
    assert sorted(written) == sorted(expected) and len(written) == len(set(written))


# --- templates -----------------------------------------------------------------------------


def test_fill_replaces_whole_tokens_only() -> None:
    template = (
        b"gnum: GNUM\r\nband: BAND\r\nBANDWIDTH: MYBAND GNUMBER BAND_2 xLOWEXP\r\n"
        b'q: "exposure >=LOWEXP and exposure <= HIGHEXP"\r\nname: g-GNUM.BAND/x\r\n'
    )
    filled = fill_template(template, {"GNUM": "3", "BAND": "z", "LOWEXP": "1472", "HIGHEXP": "206020"})
    assert filled == (
        b"gnum: 3\r\nband: z\r\nBANDWIDTH: MYBAND GNUMBER z_2 xLOWEXP\r\n"
        b'q: "exposure >=1472 and exposure <= 206020"\r\nname: g-3.z/x\r\n'
    )


def test_fill_keeps_other_bytes_including_non_ascii_and_no_final_newline() -> None:
    template = "# für Gruppe GNUM\n\tkey:  LOWEXP".encode()
    assert fill_template(template, {"GNUM": "1", "BAND": "", "LOWEXP": "7", "HIGHEXP": "8"}) == (
        "# für Gruppe 1\n\tkey:  7".encode()
    )


def test_fill_does_not_rescan_substituted_values() -> None:
    assert (
        fill_template(b"BAND GNUM", {"BAND": "GNUM", "GNUM": "1", "LOWEXP": "", "HIGHEXP": ""}) == b"GNUM 1"
    )


def test_find_placeholders() -> None:
    assert find_placeholders(b"a LOWEXP b HIGHEXP GNUMBER") == ["LOWEXP", "HIGHEXP"]
    assert find_placeholders(b"BANDWIDTH MYBAND") == []
    assert find_placeholders(b"HIGHEXP BAND GNUM LOWEXP") == list(PLACEHOLDERS[:4])
    assert find_placeholders(b"IDLIST HIGHEXP BAND GNUM LOWEXP") == list(PLACEHOLDERS)


def test_placeholder_values() -> None:
    values = placeholder_values(Group(3, (5, 9, 12)), "f")
    assert values == {"GNUM": "3", "BAND": "f", "LOWEXP": "5", "HIGHEXP": "12", "IDLIST": "5, 9, 12"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("step1_detectors0_62.yaml", "step1_detectors0_62_all_1.yaml"),
        ("template.yml", "template.yml_all_1.yaml"),
        ("template", "template_all_1.yaml"),
        ("a.yaml.yaml", "a.yaml_all_1.yaml"),
    ],
)
def test_output_name(name: str, expected: str) -> None:
    assert output_name(name, "all", 1) == expected


@settings(max_examples=100, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(["GNUM", "BAND", "LOWEXP", "HIGHEXP", " ", "_", "x", "7", "\r\n", ">="])
    ).map("".join),
)
def test_property_fill_then_unfill_gives_back_the_template(text: str) -> None:
    template = text.encode()
    # Values that cannot be mistaken for template text, so mapping them back is unambiguous.
    values = {"GNUM": "\x01", "BAND": "\x02", "LOWEXP": "\x03", "HIGHEXP": "\x04"}
    filled = fill_template(template, values)
    # Independent oracle: cut the text into identifier runs and the rest; only runs that
    # are exactly a placeholder change.
    runs = re.findall(r"[A-Za-z0-9]+|[^A-Za-z0-9]+", text)
    assert filled == "".join(values.get(run, run) for run in runs).encode()
    back = filled
    for name, value in values.items():
        back = back.replace(value.encode(), name.encode())
    assert back == template
