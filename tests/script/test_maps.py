"""Step/campaign maps: the original's tables, colour rule, status parsing, roll-ups (pure), and the
script's fallbacks on the local tracker."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from lsst.prodstatus.core.maps import (
    CAMPAIGN_MAP_SHAPE,
    COMPLETE,
    FAILED,
    HINT_CAMPAIGN_MAP_EXAMPLE,
    HINT_MAP_ISSUE_TWICE,
    HINT_STEP_MAP_EXAMPLE,
    MSG_MAP_BAD_ENTRIES,
    MSG_MAP_EMPTY,
    MSG_MAP_ISSUE_TWICE,
    MSG_MAP_NAME_TWICE,
    MSG_MAP_NOT_MAPPING,
    PENDING,
    RUNNING,
    STEP_MAP_SHAPE,
    CampaignEntry,
    PandaTotals,
    StepEntry,
    WorkflowFacts,
    WorkflowStatus,
    campaign_row,
    format_core_hours,
    is_workflow_issue,
    issue_kind,
    kind_phrase,
    panda_totals_from_json,
    parse_campaign_map,
    parse_panda_totals,
    parse_status,
    parse_step_map,
    roll_up,
    status_colour,
    status_counts,
    step_row,
)
from lsst.prodstatus.core.markup import read_section
from lsst.prodstatus.errors import InputError
from lsst.prodstatus.script import maps as smaps
from lsst.prodstatus.script.maps import (
    HINT_MAP_DUPLICATE_KEY,
    MSG_MAP_DUPLICATE_KEY,
    NOTE_NO_YAMLS,
    map_auto,
    map_from_yaml,
)
from lsst.prodstatus.script.tree import (
    MSG_ATTACHMENT_NOT_MAPPING,
    MSG_NO_STEP_NAME,
    NOTE_BASE_ELSEWHERE_LINKED,
    NOTE_BASE_ELSEWHERE_NAMED,
    NOTE_STEP_NO_ISSUE,
    build_tree,
    workflow_facts,
)
from lsst.prodstatus.services.tracker.local import LocalTracker
from tests.cli.test_cli_maps import plant_stats
from tests.support.submit_trees import make_sample_campaign, make_submit_tree
from tests.support.trackers import TrackerSetup

REF_STATUS = "Status:finished nTasks:3 nFiles:212 nRemain:0 nProc: nFinish:3 nFail:0 nSubFinish:0"


# -- the original's rows ---------------------------------------------------------------------------


def test_ref_step_row_exact() -> None:
    row = step_row(
        "step1_1248",
        "DRP-486",
        "https://jira.lsstcorp.org/browse/DRP-486",
        (3, 212, 3, 0, 0),
        "(1472,1502)",
        "20220728T192631Z",
    )
    assert row == (
        "| step1_1248| [DRP-486|https://jira.lsstcorp.org/browse/DRP-486] | {color:green}3,212,3,0,0{color} | "
        "(1472,1502)|20220728T192631Z| "
    )


def test_step_row_cuts_descrip_and_fills_empty_cells() -> None:
    row = step_row("x", "DRP-1", "u", (0, 0, 0, 0, 0), "tract in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)", "")
    # DESCRIP cut to 28 characters (as the original); an empty cell keeps a space so "||" never appears.
    assert row == "| x| [DRP-1|u] | {color:blue}0,0,0,0,0{color} | tract in (1, 2, 3, 4, 5, 6, | | "
    assert "a\\|b" in step_row("a|b", "DRP-1", "u", (0, 0, 0, 0, 0), "()", "")


def test_ref_campaign_row_exact() -> None:
    row = campaign_row(
        "step1",
        "DRP-489",
        "https://jira.lsstcorp.org/browse/DRP-489",
        "2022-07-27",
        "2022-07-28",
        "100",
        "Complete",
    )
    assert row == (
        "| step1| [DRP-489|https://jira.lsstcorp.org/browse/DRP-489] | 2022-07-27|2022-07-28|100|Complete| "
    )


# (T,Q,D,Fa,Sf) -> colour; the original's rules in order, the last match wins.
COLOUR_CASES = [
    ((3, 212, 3, 0, 0), "green"),  # T == D
    ((0, 0, 0, 0, 0), "blue"),  # Fa == 0 and Q == 0 overrides green
    ((3, 212, 2, 1, 0), "red"),  # failed tasks, nothing else matches
    ((3, 212, 2, 0, 1), "black"),  # T == D + Sf
    ((4, 212, 2, 1, 1), "red"),  # Fa > 0, T != D + Sf, T == D + Fa + Sf
    ((4, 212, 2, 1, 0), "blue"),  # T > D + Fa + Sf: still running
    ((3, 0, 3, 0, 0), "blue"),  # T == D but Q == 0 and Fa == 0
    ((3, 0, 2, 1, 0), "red"),  # Q == 0 but Fa > 0
    ((5, 10, 0, 0, 0), "blue"),  # nothing done yet
    ((2, 10, 3, 0, 0), "black"),  # D > T: no rule matches after the first
]


@pytest.mark.parametrize(("counts", "colour"), COLOUR_CASES)
def test_colour_rule(counts: tuple[int, int, int, int, int], colour: str) -> None:
    assert status_colour(counts) == colour


# -- the status line --------------------------------------------------------------------------------


def test_parse_status_ref_line_and_variants() -> None:
    assert parse_status(REF_STATUS) == WorkflowStatus("finished", (3, 212, 3, 0, 0))
    # The original tool wrote the line as free text after its tables; later lines override.
    text = f"Status:running nTasks:3 nFiles:2 nRemain:1 nProc: nFinish:1 nFail:0 nSubFinish:0\n|x|\n{REF_STATUS}\n"
    assert parse_status(text) == WorkflowStatus("finished", (3, 212, 3, 0, 0))
    # Counts PanDA did not know yet are empty: 0, not a crash (the original's int() raised).
    empty = "Status:transforming nTasks: nFiles: nRemain: nProc: nFinish:0 nFail:0 nSubFinish:0"
    assert parse_status(empty) == WorkflowStatus("transforming", (0, 0, 0, 0, 0))
    assert parse_status(
        "Status:finished  nTasks: 3 nFiles: 12 nRemain:0 nProc:  nFinish: 3 nFail: 0 nSubFinish: 0"
    ) == (WorkflowStatus("finished", (3, 12, 3, 0, 0)))
    assert parse_status("no status here\nPanDA request: 1 status finished") is None
    assert status_counts("nothing") == (0, 0, 0, 0, 0)
    assert status_counts(REF_STATUS) == (3, 212, 3, 0, 0)


def test_status_states() -> None:
    assert WorkflowStatus("finished", (3, 1, 3, 0, 0)).complete
    assert not WorkflowStatus("finished", (3, 1, 2, 1, 0)).complete
    assert not WorkflowStatus("Transforming", (3, 1, 2, 0, 0)).complete
    assert WorkflowStatus("Transforming", (3, 1, 2, 0, 0)).running
    assert not WorkflowStatus("SubFinished", (3, 1, 2, 0, 1)).running


# -- map yaml ---------------------------------------------------------------------------------------


def test_seed_maps_flow_style() -> None:
    step = yaml.safe_load("{\nstep1_1248 : DRP-486,\nstep1_1248_b : DRP-487\n}\n")
    assert parse_step_map(step, "step1map.yaml") == [
        StepEntry("step1_1248", "DRP-486"),
        StepEntry("step1_1248_b", "DRP-487"),
    ]
    camp = yaml.safe_load(
        "{\nstep1 : [DRP-489,'2022-07-27','2022-07-28',100,Complete],\n"
        "step2 : [DRP-490,'2022-07-28','2022-07-28',100,Complete]\n}\n"
    )
    assert parse_campaign_map(camp, "campmap.yaml") == [
        CampaignEntry("step1", "DRP-489", "2022-07-27", "2022-07-28", "100", "Complete"),
        CampaignEntry("step2", "DRP-490", "2022-07-28", "2022-07-28", "100", "Complete"),
    ]


def test_map_values_verbatim_and_keys_normalised() -> None:
    camp = yaml.safe_load("step1: [drp-489, 2022-07-27, null, 12.5, Running]\n")
    assert parse_campaign_map(camp, "c.yaml") == [
        CampaignEntry("step1", "DRP-489", "2022-07-27", "", "12.5", "Running")
    ]
    assert parse_step_map({"step1_1248.yaml": " drp-486 "}, "s.yaml") == [StepEntry("step1_1248", "DRP-486")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            None,
            MSG_MAP_NOT_MAPPING.format(
                source="s.yaml", what="step map", shape=STEP_MAP_SHAPE, kind="nothing"
            ),
        ),
        (
            "DRP-486",
            MSG_MAP_NOT_MAPPING.format(source="s.yaml", what="step map", shape=STEP_MAP_SHAPE, kind="a str"),
        ),
        ({}, MSG_MAP_EMPTY.format(source="s.yaml", what="step map")),
        (
            {"a": "DRP486", "b": None},
            MSG_MAP_BAD_ENTRIES.format(source="s.yaml", shape=STEP_MAP_SHAPE, entries="a: 'DRP486'; b: None"),
        ),
    ],
)
def test_step_map_errors(data: object, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_step_map(data, "s.yaml")
    assert info.value.message == message
    assert info.value.hint == HINT_STEP_MAP_EXAMPLE


def test_campaign_map_errors() -> None:
    with pytest.raises(InputError) as info:
        parse_campaign_map({"step1": ["x", 1, 2, 3, 4], "step2": ("DRP-1", 1, 2, 3, 4, 5)}, "c.yaml")
    assert info.value.message == MSG_MAP_BAD_ENTRIES.format(
        source="c.yaml",
        shape=CAMPAIGN_MAP_SHAPE,
        entries="step1: ['x', 1, 2, 3, 4]; step2: ('DRP-1', 1, 2, 3, 4, 5)",
    )
    assert info.value.hint == HINT_CAMPAIGN_MAP_EXAMPLE


def test_map_names_an_issue_once() -> None:
    with pytest.raises(InputError) as info:
        parse_step_map({"a_name": "DRP-486", "other_name": "drp-486", "b": "DRP-487"}, "s.yaml")
    assert info.value.message == MSG_MAP_ISSUE_TWICE.format(
        source="s.yaml", issues="DRP-486 (a_name, other_name)"
    )
    assert info.value.hint == HINT_MAP_ISSUE_TWICE.format(what="workflow issue")
    with pytest.raises(InputError) as info:
        parse_step_map({"step1_1248": "DRP-1", "step1_1248.yaml": "DRP-2"}, "s.yaml")
    assert info.value.message == MSG_MAP_NAME_TWICE.format(
        source="s.yaml", what="bps yaml", names="step1_1248"
    )
    with pytest.raises(InputError) as info:
        parse_campaign_map({"step1": ["DRP-9", 1, 2, 3, 4], "step2": ["drp-9", 1, 2, 3, 4]}, "c.yaml")
    assert info.value.message == MSG_MAP_ISSUE_TWICE.format(source="c.yaml", issues="DRP-9 (step1, step2)")
    assert info.value.hint == HINT_MAP_ISSUE_TWICE.format(what="step issue")


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("{step1_1248: DRP-1, step1_1248: DRP-2}\n", "step1_1248", 1),
        ("a: DRP-1\nb: DRP-2\na: DRP-3\n", "a", 3),
        ("step1: [DRP-1, x, y, 1, z]\nstep1: [DRP-2, x, y, 1, z]\n", "step1", 2),
    ],
)
def test_map_yaml_key_twice(local: LocalTracker, tmp_path: Path, text: str, key: str, line: int) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        map_from_yaml(local, path, "DRP-1", campaign=False)
    assert info.value.message == MSG_MAP_DUPLICATE_KEY.format(path=path, key=key, line=line)
    assert info.value.hint == HINT_MAP_DUPLICATE_KEY


# -- statistics and roll-ups -----------------------------------------------------------------------


def test_panda_totals_from_update_stat_section(tmp_path: Path) -> None:
    tracker = LocalTracker(tmp_path)
    issue = tracker.create_issue("step1#u/ops/PREOPS-1248/20220728T192631Z", "Notes")
    panda, status = plant_stats(
        tracker, issue.key, start="2022-07-28 19:40:00", core_hours=12.3, wall_hours=2
    )
    description = tracker.get_issue(issue.key).description
    assert "|*workflow*|" in panda and status == REF_STATUS
    assert parse_panda_totals(description) == PandaTotals(
        datetime(2022, 7, 28, 19, 40, tzinfo=UTC), datetime(2022, 7, 28, 21, 40, tzinfo=UTC), 12.3
    )
    assert parse_panda_totals("no sections") is None
    assert (
        parse_panda_totals("{anchor:prodstat-panda}\nh3. PanDA statistics\n{anchor:prodstat-panda-end}\n")
        is None
    )
    facts = workflow_facts(tracker.get_issue(issue.key), tmp_path)
    assert facts.status == WorkflowStatus("finished", (3, 212, 3, 0, 0)) and facts.totals is not None


def test_panda_totals_from_json() -> None:
    data = {"workflow": {"first_start": "2022-07-29T14:40:00+00:00", "last_end": None, "core_hours": 0.5}}
    assert panda_totals_from_json(data) == PandaTotals(datetime(2022, 7, 29, 14, 40, tzinfo=UTC), None, 0.5)
    assert panda_totals_from_json({"workflow": "x"}) is None


def facts(
    key: str, state: str | None, counts: tuple[int, ...] = (3, 10, 3, 0, 0), **totals: object
) -> WorkflowFacts:
    status = WorkflowStatus(state, counts) if state is not None else None  # type: ignore[arg-type]
    panda = None
    if totals:
        panda = PandaTotals(
            datetime.fromisoformat(str(totals["start"])).replace(tzinfo=UTC),
            datetime.fromisoformat(str(totals["end"])).replace(tzinfo=UTC),
            float(totals["core"]),  # type: ignore[arg-type]
        )
    return WorkflowFacts(key, status, panda)


@pytest.mark.parametrize(
    ("workflows", "status"),
    [
        ([], PENDING),
        ([facts("A", None), facts("B", None)], PENDING),
        ([facts("A", "finished"), facts("B", "finished")], COMPLETE),
        ([facts("A", "finished"), facts("B", None)], RUNNING),  # a group not yet submitted/measured
        ([facts("A", "finished"), facts("B", "transforming", (3, 10, 1, 0, 0))], RUNNING),
        (
            [facts("A", "finished"), facts("B", "transforming", (3, 10, 1, 1, 0))],
            RUNNING,
        ),  # failures, still running
        ([facts("A", "finished"), facts("B", "finished", (3, 10, 2, 1, 0))], FAILED),
        ([facts("A", "finished"), facts("B", "subfinished", (3, 10, 2, 0, 1))], FAILED),
        ([facts("A", "failed", (3, 10, 0, 3, 0)), facts("B", None)], FAILED),
    ],
)
def test_roll_up_status_rule(workflows: list[WorkflowFacts], status: str) -> None:
    assert roll_up(workflows).status == status


def test_roll_up_figures() -> None:
    rollup = roll_up(
        [
            facts("A", "finished", start="2022-07-28 19:40:00", end="2022-07-28 23:50:00", core=12.34),
            facts(
                "B",
                "finished",
                (3, 20, 3, 0, 0),
                start="2022-07-27 23:00:00",
                end="2022-07-29 00:10:00",
                core=7.5,
            ),
            facts("C", None),
            facts(
                "A", "finished", start="2022-07-28 19:40:00", end="2022-07-28 23:50:00", core=12.34
            ),  # once
        ]
    )
    assert (rollup.start, rollup.end) == (date(2022, 7, 27), date(2022, 7, 29))
    assert rollup.core_hours == pytest.approx(19.84)
    assert format_core_hours(rollup.core_hours) == "19.8"
    assert rollup.counts == (6, 30, 6, 0, 0)
    assert (rollup.workflows, rollup.with_status, rollup.status) == (3, 2, RUNNING)
    empty = roll_up([facts("C", None)])
    assert (empty.start, empty.end, empty.core_hours, empty.counts) == (None, None, None, None)
    assert format_core_hours(None) == "" and format_core_hours(100) == "100.0"


def test_issue_kinds() -> None:
    # Labels first (update-campaign, update-issue) ...
    assert issue_kind("renamed by hand", ["prodstat_20220728T192631Z"]) == "workflow"
    assert issue_kind("x", ["prodstat_campaign_c"]) == "campaign"
    assert issue_kind("x", ["prodstat_step_c_step1"]) == "step"
    assert issue_kind("Step step1", ["prodstat_campaign_c"]) == "campaign"
    # ... then the summaries of issues without them (the original tool's).
    assert issue_kind("Campaign x", []) == "campaign"
    assert issue_kind("Step step1", []) == "step"
    assert issue_kind("step1#u/ops/20220728T192631Z", []) == "workflow"
    assert issue_kind("Step ", []) == "other"
    assert issue_kind("PREOPS request", []) == "other"
    assert issue_kind("anything", ["prodstat_2.2i_uniq_20220728T192631Z"]) == "other"
    assert is_workflow_issue("step1#v23/PREOPS-973/20220127t205042z", [])
    assert not is_workflow_issue("Step step1", ["prodstat_step_c_step1"])
    assert (
        kind_phrase("workflow") == "a workflow issue" and kind_phrase("other") == "an issue of unknown kind"
    )


def test_one_kind_rule_with_update_campaign() -> None:
    from lsst.prodstatus.core import campaign

    for summary, labels in (
        ("Campaign c", [campaign.campaign_label("c")]),
        ("Step step1", [campaign.step_label("c", "step1")]),
        ("step1#u/20220728T192631Z", ["prodstat_20220728T192631Z"]),
    ):
        assert issue_kind(summary, labels) == campaign.issue_kind(summary, labels)


# -- script fallbacks on the local tracker -------------------------------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> LocalTracker:
    home = tmp_path / "home"
    home.mkdir()
    return LocalTracker(home)


def test_campaign_auto_uses_discovery_without_links_or_issue_names(
    local: LocalTracker, tmp_path: Path
) -> None:
    trees = make_sample_campaign(tmp_path)
    wf = local.create_issue(
        "step2#w_2022_27/PREOPS-1248/20220729T142653Z",
        labels=[f"prodstat_{trees['step2_1248'].runs['20220729T142653Z'].uniq}"],
    )
    plant_stats(
        local, wf.key, state="failed", counts=(5, 9, 3, 2, 0), start="2022-07-29 14:40:00", core_hours=3
    )
    step = local.create_issue("Step step2")
    spec = {"name": "step2", "workflow_base": str(tmp_path / "work" / "step2"), "workflows": {}}
    local.attach(step.key, "step.yaml", yaml.safe_dump(spec).encode())
    camp = local.create_issue("Campaign c")
    local.attach(
        camp.key,
        "campaign.yaml",
        yaml.safe_dump(
            {"steps": [{"name": "step2", "issue_name": step.key}, {"name": "step3", "issue_name": ""}]}
        ).encode(),
    )
    result = map_auto(local, camp.key, home=tmp_path / "home")
    assert result.rows[0]["workflows"] == [wf.key]
    assert result.table.splitlines()[1] == (
        f"| step2| [{step.key}|{local.browse_url(step.key)}] | 2022-07-29|2022-07-29|3.0|Failed| "
    )
    assert result.notes == [NOTE_STEP_NO_ISSUE.format(name="step3")]
    assert local.get_issue(camp.key).linked_keys("outward") == [step.key]


def test_step_auto_errors(local: LocalTracker, tmp_path: Path) -> None:
    step = local.create_issue("Step step1")
    bad = local.create_issue("Step x")
    local.attach(bad.key, "step.yaml", b"- not a mapping\n")
    with pytest.raises(
        InputError, match=re.escape(MSG_ATTACHMENT_NOT_MAPPING.format(filename="step.yaml", key=bad.key))
    ):
        map_auto(local, bad.key)
    local.attach(bad.key, "step.yaml", b"workflow_base: /tmp\n")
    with pytest.raises(InputError, match=re.escape(MSG_NO_STEP_NAME.format(key=bad.key))):
        map_auto(local, bad.key)
    empty = tmp_path / "empty"
    empty.mkdir()
    local.attach(step.key, "step.yaml", f"name: step1\nworkflow_base: {empty}\n".encode())
    result = map_auto(local, step.key)
    assert result.table == "||BPS_yaml||Issue||(T,Q,D,Fa,Sf)||DESCRIP||timestamp||"
    assert result.notes == [NOTE_NO_YAMLS.format(step="step1", workflow_base=empty)]


def test_dry_run_and_unchanged_attachment_with_same_size(local: LocalTracker, tmp_path: Path) -> None:
    wf = local.create_issue("step1#u/20220728T192631Z", REF_STATUS)
    step = local.create_issue("Step step1", "kept")
    path = tmp_path / "m.yaml"
    path.write_text(f"a: {wf.key}\n")
    dry = map_from_yaml(local, path, step.key, campaign=False, dry_run=True)
    assert (dry.action, dry.attachment_action, dry.linked) == ("would update", "would attach", [wf.key])
    assert local.get_issue(step.key).description == "kept"
    done = map_from_yaml(local, path, step.key, campaign=False)
    assert (done.action, done.attachment_action, done.linked) == ("updated", "attached", [wf.key])
    # Same size, different bytes: replaced.
    path.write_text(f"b: {wf.key}\n")
    again = map_from_yaml(local, path, step.key, campaign=False)
    assert (again.action, again.attachment_action, again.linked) == ("updated", "attached", [])
    assert local.read_attachment(step.key, "m.yaml") == path.read_bytes()
    assert read_section(local.get_issue(step.key).description, "step-map") is not None


def test_tree_cycle_and_other_kinds(local: LocalTracker) -> None:
    prod = local.create_issue("Request PREOPS-1248")
    wf = local.create_issue("step1#u/20220728T192631Z", REF_STATUS)
    other = local.create_issue("a note")
    local.link(prod.key, wf.key)
    local.link(prod.key, other.key)
    local.link(other.key, prod.key, "Blocks")  # a cycle back to the root
    root = build_tree(local, prod.key)
    assert root.kind == "other" and [c.key for c in root.children] == [wf.key, other.key]
    assert root.children[1].children == []
    assert (root.status, root.counts) == (COMPLETE, (3, 212, 3, 0, 0))
    assert root.to_dict()["children"][0]["kind"] == "workflow"


def test_long_table_is_cut_and_attached_whole(local: LocalTracker, tmp_path: Path) -> None:
    workflows = [local.create_issue(f"step1#u/2022072{i % 10}T192631Z", REF_STATUS) for i in range(400)]
    step = local.create_issue("Step step1", "kept")
    path = tmp_path / "m.yaml"
    path.write_text(
        "".join(f"step1_group_with_a_long_name_{i:04d}: {wf.key}\n" for i, wf in enumerate(workflows))
    )
    result = map_from_yaml(local, path, step.key, campaign=False)
    issue = local.get_issue(step.key)
    assert len(issue.description) <= 32_000
    section = read_section(issue.description, "step-map")
    assert section is not None
    shown = len(section.splitlines()) - 2
    assert 150 < shown < 400
    assert section.splitlines()[-1] == (
        f"({400 - shown} of 400 rows not shown: the full table is attached as step-map.txt)"
    )
    assert local.read_attachment(step.key, "step-map.txt") == (result.table + "\n").encode()
    assert result.table_attachment == "step-map.txt" and len(result.rows) == 400
    before = local.get_issue(step.key)
    map_from_yaml(local, path, step.key, campaign=False)
    assert local.get_issue(step.key).attachments == before.attachments


def _bps_block(uniq: str) -> str:
    return f"BPS Submit Keywords:\n{{code}}\nuniqProcName:{uniq}\n{{code}}\n"


def test_saved_panda_json_only_for_the_same_workflow(local: LocalTracker, tmp_path: Path) -> None:
    home = tmp_path / "home"
    wf = local.create_issue("step1#u/20220728T192631Z", _bps_block("u_20220728T192631Z"))
    saved = {
        "uniqProcName": "u_20220728T192631Z",
        "timestamp": "20220728T192631Z",
        "status_line": REF_STATUS,
        "workflow": {
            "first_start": "2022-07-28T19:40:00",
            "last_end": "2022-07-28T20:00:00",
            "core_hours": 2,
        },
    }
    path = home / "stats" / wf.key / "panda.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(saved))
    facts = workflow_facts(wf, home)
    assert facts.status is not None and facts.status.counts == (3, 212, 3, 0, 0)
    assert facts.totals is not None and facts.totals.core_hours == 2.0
    # Another workflow's file under the same key (another tracker, a reused key): ignored.
    path.write_text(json.dumps({**saved, "uniqProcName": "u_20200101T000000Z"}))
    assert workflow_facts(wf, home) == WorkflowFacts(wf.key, None, None)
    # A file without uniqProcName (written before update-stat saved it) cannot be told apart.
    path.write_text(json.dumps({k: v for k, v in saved.items() if k != "uniqProcName"}))
    assert workflow_facts(wf, home) == WorkflowFacts(wf.key, None, None)
    # An issue whose BPS block names no workflow: nothing to compare with, ignored.
    bare = local.create_issue("step1#u/20220729T192631Z", "")
    other = home / "stats" / bare.key / "panda.json"
    other.parent.mkdir(parents=True)
    other.write_text(json.dumps(saved))
    assert workflow_facts(bare, home) == WorkflowFacts(bare.key, None, None)


def test_step_membership_without_the_workflow_base(local: LocalTracker, tmp_path: Path) -> None:
    """(b) step.yaml's issue_name values, else (c) the step's links; --auto and tree agree."""
    old = local.create_issue("step1#u/20220728T192631Z", REF_STATUS)
    new = local.create_issue("step1#u/20220801T120000Z", "")
    note = local.create_issue("a note")
    step = local.create_issue("Step step1")
    for key in (old.key, new.key, note.key):
        local.link(step.key, key)
    spec = {
        "name": "step1",
        "workflow_base": "/nonexistent/dir",
        "workflows": {"step1_1248": {"name": "step1_1248", "issue_name": new.key.lower()}},
    }
    local.attach(step.key, "step.yaml", yaml.safe_dump(spec).encode())
    result = map_auto(local, step.key)
    # The superseded issue stays linked, but step.yaml names the current one.
    assert [(r["bps_yaml"], r["issue"]) for r in result.rows] == [("step1_1248", new.key)]
    assert result.notes == [NOTE_BASE_ELSEWHERE_NAMED.format(key=step.key, base="/nonexistent/dir")]
    tree = build_tree(local, step.key)
    assert [c.key for c in tree.children] == [new.key] and tree.status == PENDING
    # Without issue_name values: the workflow issues it links to (the note is not one).
    spec["workflows"] = {"step1_1248": {"name": "step1_1248", "issue_name": None}}
    local.attach(step.key, "step.yaml", yaml.safe_dump(spec).encode())
    linked = map_auto(local, step.key, dry_run=True)
    assert [r["issue"] for r in linked.rows] == [old.key, new.key]
    assert [c.key for c in build_tree(local, step.key).children] == [old.key, new.key]
    assert linked.notes[0] == NOTE_BASE_ELSEWHERE_LINKED.format(key=step.key, base="/nonexistent/dir")


# -- the notes of map-drp-steps, through the CLI -----------------------------------------------------


@pytest.mark.parametrize("setup", ["local"], indirect=True)  # 400 issues: the note is the tracker's neither
def test_long_table_note(run_cli: Any, setup: TrackerSetup, chdir_tmp: Path) -> None:
    tracker = setup.open()
    try:
        keys = [tracker.create_issue(f"step1#u/2022072{i % 10}T192631Z", REF_STATUS).key for i in range(400)]
        step = tracker.create_issue("Step step1", "kept").key
    finally:
        tracker.close()
    (chdir_tmp / "m.yaml").write_text(
        "".join(f"step1_group_with_a_long_name_{i:04d}: {key}\n" for i, key in enumerate(keys))
    )
    result = run_cli("map-drp-steps", "m.yaml", step, "0", env=setup.env)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"prodstat: {smaps.NOTE_TABLE_ATTACHED.format(attachment='step-map.txt')}\n"


def test_workflow_without_timestamp_note(run_cli: Any, setup: TrackerSetup, chdir_tmp: Path) -> None:
    summary = "step1 rerun by hand"
    setup.seed("DRP-1", summary, REF_STATUS, labels=("prodstat_20220728T192631Z",))
    setup.seed("DRP-2", "Step step1")
    (chdir_tmp / "m.yaml").write_text("step1_a: DRP-1\n")
    result = run_cli("map-drp-steps", "m.yaml", "DRP-2", "0", env=setup.env)
    assert result.exit_code == 0, result.stderr
    note = smaps.NOTE_NO_TIMESTAMP.format(key="DRP-1", bps_yaml="step1_a", summary=summary)
    assert result.stderr == f"prodstat: {note}\n"


def test_auto_step_leaves_out_a_run_no_issue_records(
    run_cli: Any, setup: TrackerSetup, chdir_tmp: Path
) -> None:
    make_submit_tree(chdir_tmp / "w1", "step1_a.yaml")
    setup.seed("DRP-1", "Step step1", labels=("prodstat_step_c_step1",))
    tracker = setup.open()
    try:
        spec = {"name": "step1", "campaign_name": "c", "workflow_base": str(chdir_tmp / "w1")}
        tracker.attach("DRP-1", "step.yaml", yaml.safe_dump(spec).encode())
    finally:
        tracker.close()
    result = run_cli("map-drp-steps", "--auto", "DRP-1", env=setup.env)
    assert result.exit_code == 0, result.stderr
    note = smaps.NOTE_LEFT_OUT.format(name="step1_a", why=smaps.NOTE_NOT_RECORDED)
    assert result.stderr == f"prodstat: {note}\n"
