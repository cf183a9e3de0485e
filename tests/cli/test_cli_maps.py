"""``prodstat map-drp-steps`` (hand maps and ``--auto``) and ``prodstat tree``, end to end.

The seed's session (``doc/sample-campaign.rst``) on both trackers: workflow issues DRP-486/487/488
recorded by ``update-issue`` from the sample submit trees, step issues DRP-489/490 and
campaign DRP-491 built with the tracker API as update-campaign leaves them (summaries,
labels, ``step.yaml``/``campaign.yaml``, campaign → step links), statistics planted in
the format update-stat writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from lsst.prodstatus.core.bps import parse_bps_block
from lsst.prodstatus.core.ids import HINT_MALFORMED_KEY, MSG_MALFORMED_KEY, kind_phrase
from lsst.prodstatus.core.maps import (
    CAMPAIGN_MAP_SHAPE,
    HINT_CAMPAIGN_MAP_EXAMPLE,
    HINT_MAP_ISSUE_TWICE,
    HINT_STEP_MAP_EXAMPLE,
    MSG_MAP_BAD_ENTRIES,
    MSG_MAP_EMPTY,
    MSG_MAP_ISSUE_TWICE,
    MSG_MAP_NOT_MAPPING,
    STEP_MAP_SHAPE,
)
from lsst.prodstatus.core.markup import read_section
from lsst.prodstatus.core.stats import aggregate_panda, status_line
from lsst.prodstatus.errors import HINT_ISSUE_NOT_FOUND, MSG_ISSUE_NOT_FOUND
from lsst.prodstatus.script import maps as smaps
from lsst.prodstatus.script import tree as stree
from lsst.prodstatus.script.update_stat import panda_section
from lsst.prodstatus.services.panda import PandaWorkflow
from lsst.prodstatus.services.tracker.base import Tracker
from lsst.prodstatus.services.tracker.jira import JiraTracker
from lsst.prodstatus.services.tracker.local import LocalTracker
from tests.conftest import CliResult
from tests.support.jira import JiraEmulator
from tests.support.submit_trees import make_sample_campaign, make_submit_tree
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]

# The seed's map files, verbatim (flow-style yaml over several lines).
STEP1_MAP = "{\nstep1_1248 : DRP-486,\nstep1_1248_b : DRP-487\n}\n"
STEP2_MAP = "{\nstep2_1248 : DRP-488\n}\n"
CAMP_MAP = (
    "{\nstep1 : [DRP-489,'2022-07-27','2022-07-28',100,Complete],\n"
    "step2 : [DRP-490,'2022-07-28','2022-07-28',100,Complete]\n}\n"
)
TS = {"DRP-486": "20220728T192631Z", "DRP-487": "20220729T001725Z", "DRP-488": "20220729T142653Z"}
STEP_HEAD = "||BPS_yaml||Issue||(T,Q,D,Fa,Sf)||DESCRIP||timestamp||"
CAMP_HEAD = "||Step||Issue||Start||End||Core-hr||Status||"


@dataclass
class Seed:
    """The seed campaign in a tracker, and where its files are."""

    setup: TrackerSetup
    tracker: Tracker
    root: Path
    run: Callable[..., CliResult]

    def url(self, key: str) -> str:
        return self.tracker.browse_url(key)

    def issue(self, key: str) -> Any:
        return self.tracker.get_issue(key)

    def description(self, key: str) -> str:
        return str(self.tracker.get_issue(key).description)


def open_tracker(setup: TrackerSetup) -> Tracker:
    if setup.emulator is not None:
        return JiraTracker(setup.emulator.url, "operator@example.org", "secret-token")
    return LocalTracker(setup.home)


def plant_stats(
    tracker: Tracker,
    key: str,
    *,
    state: str = "finished",
    counts: tuple[int, int, int, int, int] = (3, 212, 3, 0, 0),
    start: str = "2022-07-28 19:40:00",
    core_hours: float = 1.0,
    wall_hours: float = 0.5,
) -> tuple[str, str]:
    """Write update-stat's ``panda`` and ``status`` sections onto a workflow issue."""
    t, q, d, fa, sf = counts
    workflow = PandaWorkflow(
        request_id=1000 + int(key.split("-")[1]),
        name=f"wf_{key}",
        status=state,
        created_at=datetime(2022, 7, 28, tzinfo=UTC),
        total_tasks=t,
        tasks_statuses={"finished": d, "failed": fa, "subfinished": sf},
        total_files=q,
        remaining_files=0,
    )
    begin = datetime.fromisoformat(start)
    end = begin + timedelta(hours=wall_hours)
    cores = core_hours / wall_hours
    jobs = [
        {
            "jobstatus": "finished",
            "attemptnr": 1,
            "durationsec": wall_hours * 3600,
            "actualcorecount": cores,
            "cpuconsumptiontime": 100,
            "maxrss": 2**20,
            "starttime": begin.isoformat(sep=" "),
            "endtime": end.isoformat(sep=" "),
        }
    ]
    stats = aggregate_panda(workflow, [{"jeditaskid": 1, "taskname": f"wf_{key}_isr_1_1"}], {1: jobs})
    sections = {"panda": panda_section(stats, "https://panda-doma.cern.ch/"), "status": status_line(workflow)}
    tracker.update_sections(key, sections)
    return sections["panda"], sections["status"]


@pytest.fixture
def seed(
    setup: TrackerSetup, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Seed]:
    trees = make_sample_campaign(tmp_path)
    for key in ("DRP-486", "DRP-487", "DRP-488"):
        setup.seed(key, "placeholder")
    for key, stem in (("DRP-486", "step1_1248"), ("DRP-487", "step1_1248_b"), ("DRP-488", "step2_1248")):
        result = run_cli(
            "update-issue", str(trees[stem].yaml_path), "PREOPS-1248", key, "--ts", TS[key], env=setup.env
        )
        assert result.exit_code == 0, result.stderr
    setup.seed(
        "DRP-489", "Step step1", "Step notes kept by hand.\n", labels=("prodstat_step_step12test_step1",)
    )
    setup.seed("DRP-490", "Step step2", "", labels=("prodstat_step_step12test_step2",))
    setup.seed(
        "DRP-491", "Campaign step12test", "Campaign step12test", labels=("prodstat_campaign_step12test",)
    )
    tracker = open_tracker(setup)
    work = tmp_path / "work"
    steps = []
    for step, key, stems in (
        ("step1", "DRP-489", {"step1_1248": "DRP-486", "step1_1248_b": "DRP-487"}),
        ("step2", "DRP-490", {"step2_1248": "DRP-488"}),
    ):
        spec = {
            "name": step,
            "issue_name": key,
            "campaign_issue": "DRP-491",
            "campaign_name": "step12test",
            "workflow_base": str(work / step),
            "split_bands": False,
            "workflows": {
                stem: {
                    "name": stem,
                    "bps_name": None,
                    "bps_dir": str(work / step),
                    "issue_name": wf,
                    "band": "all",
                    "step_name": step,
                    "step_issue": key,
                }
                for stem, wf in stems.items()
            },
        }
        tracker.attach(key, "step.yaml", yaml.safe_dump(spec).encode())
        tracker.link("DRP-491", key)
        steps.append(
            {k: spec[k] for k in ("name", "issue_name", "campaign_issue", "split_bands", "workflow_base")}
        )
    campaign = {"issue": "DRP-491", "name": "step12test", "steps": steps}
    tracker.attach("DRP-491", "campaign.yaml", yaml.safe_dump(campaign).encode())
    (tmp_path / "step1map.yaml").write_text(STEP1_MAP)
    (tmp_path / "step2map.yaml").write_text(STEP2_MAP)
    (tmp_path / "campmap.yaml").write_text(CAMP_MAP)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> CliResult:
        return run_cli(*args, env=setup.env)

    yield Seed(setup, tracker, tmp_path, run)
    tracker.close()


def step1_table(
    seed: Seed, colours: tuple[str, str] = ("green", "blue"), counts: tuple[str, str] = ()
) -> str:
    c486, c487 = counts or ("3,212,3,0,0", "0,0,0,0,0")
    return (
        f"{STEP_HEAD}\n"
        f"| step1_1248| [DRP-486|{seed.url('DRP-486')}] | {{color:{colours[0]}}}{c486}{{color}} | "
        "(1472,1474)d0|20220728T192631Z| \n"
        f"| step1_1248_b| [DRP-487|{seed.url('DRP-487')}] | {{color:{colours[1]}}}{c487}{{color}} | "
        "(1472,1474)d4|20220729T001725Z| "
    )


# -- the seed's session, verbatim ------------------------------------------------------------------


def test_seed_session_verbatim(seed: Seed) -> None:
    plant_stats(seed.tracker, "DRP-486")
    before = seed.setup.snapshot()

    step1 = seed.run("map-drp-steps", "step1map.yaml", "DRP-489", "0")
    assert step1.exit_code == 0, step1.stderr
    table = step1_table(seed)
    assert read_section(seed.description("DRP-489"), "step-map") == table
    assert step1.stdout.splitlines() == [
        "step map step1map.yaml -> DRP-489 (2 rows):",
        *table.splitlines(),
        "updated DRP-489: section step-map",
        "attached step1map.yaml",
        "linked DRP-489 -> DRP-486",
        "linked DRP-489 -> DRP-487",
        "issue:DRP-489",
    ]
    step1_issue = seed.issue("DRP-489")
    # The hand-written text is kept (the original tool replaced the whole description).
    assert step1_issue.description.startswith("Step notes kept by hand.\n{anchor:prodstat-step-map}\n")
    assert seed.tracker.read_attachment("DRP-489", "step1map.yaml") == STEP1_MAP.encode()
    assert step1_issue.linked_keys("outward") == ["DRP-486", "DRP-487"]

    step2 = seed.run("map-drp-steps", "step2map.yaml", "DRP-490", "0")
    assert step2.exit_code == 0, step2.stderr
    assert read_section(seed.description("DRP-490"), "step-map") == (
        f"{STEP_HEAD}\n| step2_1248| [DRP-488|{seed.url('DRP-488')}] | {{color:blue}}0,0,0,0,0{{color}} | "
        "(1472,1474)|20220729T142653Z| "
    )

    camp = seed.run("map-drp-steps", "campmap.yaml", "DRP-491", "1")
    assert camp.exit_code == 0, camp.stderr
    assert read_section(seed.description("DRP-491"), "campaign-map") == (
        f"{CAMP_HEAD}\n"
        f"| step1| [DRP-489|{seed.url('DRP-489')}] | 2022-07-27|2022-07-28|100|Complete| \n"
        f"| step2| [DRP-490|{seed.url('DRP-490')}] | 2022-07-28|2022-07-28|100|Complete| "
    )
    assert "linked" not in camp.stdout  # campaign → steps were linked by update-campaign already
    assert seed.issue("DRP-491").description.startswith("Campaign step12test\n")
    assert before != seed.setup.snapshot()

    # Running the whole session again changes nothing.
    after = seed.setup.snapshot()
    for args in (
        ("step1map.yaml", "DRP-489", "0"),
        ("step2map.yaml", "DRP-490", "0"),
        ("campmap.yaml", "DRP-491", "1"),
    ):
        again = seed.run("map-drp-steps", *args)
        assert again.exit_code == 0, again.stderr
        assert f"unchanged {args[1]}: section" in again.stdout
        assert f"attachment {args[0]} unchanged" in again.stdout
        assert "linked" not in again.stdout
    assert seed.setup.snapshot() == after


def test_json_rows_and_dry_run(seed: Seed) -> None:
    plant_stats(seed.tracker, "DRP-487", state="running", counts=(5, 40, 2, 1, 0))
    before = seed.setup.snapshot()
    dry = seed.run("--dry-run", "map-drp-steps", "step1map.yaml", "DRP-489", "0")
    assert dry.exit_code == 0, dry.stderr
    table = step1_table(seed, ("blue", "blue"), ("0,0,0,0,0", "5,40,2,1,0"))
    assert dry.stdout.splitlines() == [
        "step map step1map.yaml -> DRP-489 (2 rows):",
        *table.splitlines(),
        "dry run: would update DRP-489 section step-map",
        "would attach step1map.yaml",
        "would link DRP-489 -> DRP-486",
        "would link DRP-489 -> DRP-487",
        "plan:",
        "  update DRP-489",
        "    sections: step-map",
        f"    attach step1map.yaml ({len(STEP1_MAP.encode())} bytes, if changed)",
        "    link DRP-489 → DRP-486",
        "    link DRP-489 → DRP-487",
        "issue:DRP-489",
    ]
    assert seed.setup.snapshot() == before

    result = seed.run("--json", "map-drp-steps", "step1map.yaml", "DRP-489", "0")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["action"] == "updated" and data["issue"] == "DRP-489" and data["kind"] == "step"
    assert data["table"] == table and data["linked"] == ["DRP-486", "DRP-487"]
    assert data["rows"][1] == {
        "bps_yaml": "step1_1248_b",
        "issue": "DRP-487",
        "url": seed.url("DRP-487"),
        "status": [5, 40, 2, 1, 0],
        "colour": "blue",
        "descrip": "(1472,1474)d4",
        "timestamp": "20220729T001725Z",
    }


def test_changed_map_replaces_section_and_attachment(seed: Seed) -> None:
    (seed.root / "step1map.yaml").write_text("{step1_1248_b: DRP-487}\n")
    result = seed.run("map-drp-steps", "step1map.yaml", "DRP-489", "0")
    assert result.exit_code == 0, result.stderr
    rows = read_section(seed.description("DRP-489"), "step-map")
    assert rows is not None
    assert [line.split("|")[1] for line in rows.splitlines()[1:]] == [" step1_1248_b"]
    assert seed.issue("DRP-489").linked_keys("outward") == ["DRP-487"]
    # Back to the seed's map: the section and the attachment are replaced, not added.
    (seed.root / "step1map.yaml").write_text(STEP1_MAP)
    assert seed.run("map-drp-steps", "step1map.yaml", "DRP-489", "0").exit_code == 0
    issue = seed.issue("DRP-489")
    assert read_section(issue.description, "step-map") == step1_table(
        seed, ("blue", "blue"), ("0,0,0,0,0", "0,0,0,0,0")
    )
    assert issue.description.count("{anchor:prodstat-step-map}") == 1
    assert [a.filename for a in issue.attachments].count("step1map.yaml") == 1
    assert seed.tracker.read_attachment("DRP-489", "step1map.yaml") == STEP1_MAP.encode()
    assert issue.linked_keys("outward") == ["DRP-487", "DRP-486"]


# -- bad input: exit 1 (or 2 for usage), one line, nothing written -------------------------------


FLAG0_FIX = smaps.HINT_TARGET_NOT_STEP
WF486 = "step1#w_2022_27/PREOPS-1248/20220728T192631Z"

BAD_INPUTS = [
    (
        ("missing.yaml", "DRP-489", "0"),
        None,
        smaps.MSG_CANNOT_READ_MAP.format(path="missing.yaml", reason="No such file or directory")
        + f"; {smaps.HINT_CANNOT_READ_MAP}",
    ),
    (
        ("bad.yaml", "DRP-489", "0"),
        "[DRP-486, DRP-487]\n",
        MSG_MAP_NOT_MAPPING.format(source="bad.yaml", what="step map", shape=STEP_MAP_SHAPE, kind="a list")
        + f"; {HINT_STEP_MAP_EXAMPLE}",
    ),
    (
        ("bad.yaml", "DRP-489", "0"),
        "{step1_1248: 486, step1_1248_b: [DRP-487]}\n",
        MSG_MAP_BAD_ENTRIES.format(
            source="bad.yaml", shape=STEP_MAP_SHAPE, entries="step1_1248: 486; step1_1248_b: ['DRP-487']"
        )
        + f"; {HINT_STEP_MAP_EXAMPLE}",
    ),
    (
        ("bad.yaml", "DRP-491", "1"),
        "{step1: [DRP-489, '2022-07-27', '2022-07-28', 100], step2: DRP-490}\n",
        MSG_MAP_BAD_ENTRIES.format(
            source="bad.yaml",
            shape=CAMPAIGN_MAP_SHAPE,
            entries="step1: ['DRP-489', '2022-07-27', '2022-07-28', 100]; step2: 'DRP-490'",
        )
        + f"; {HINT_CAMPAIGN_MAP_EXAMPLE}",
    ),
    (
        ("bad.yaml", "DRP-489", "0"),
        "{}\n",
        MSG_MAP_EMPTY.format(source="bad.yaml", what="step map") + f"; {HINT_STEP_MAP_EXAMPLE}",
    ),
    (
        ("bad.yaml", "DRP-489", "0"),
        "{step1_1248: DRP-486\n",
        None,  # checked by prefix below
    ),
    (
        ("bad.yaml", "DRP-999", "0"),
        "{step1_1248: DRP-486, x: DRP-900, y: DRP-901}\n",
        stree.MSG_MISSING_ISSUES.format(
            tracker="{tracker}", listed="DRP-999 (ISSUE), DRP-900 (bad.yaml), DRP-901 (bad.yaml)"
        )
        + f"; {stree.HINT_MISSING_ISSUES}",
    ),
    (
        ("bad.yaml", "DRP-491", "1"),
        "{step1: [DRP-489, a, b, 1, c], step9: [DRP-950, a, b, 1, c]}\n",
        stree.MSG_MISSING_ISSUE.format(tracker="{tracker}", listed="DRP-950 (bad.yaml)")
        + f"; {stree.HINT_MISSING_ISSUES}",
    ),
    (
        ("step2map.yaml", "DRP-486", "0"),
        None,
        smaps.MSG_TARGET_KIND.format(
            key="DRP-486", kind=kind_phrase("workflow"), summary=WF486, wanted="step"
        )
        + f"; {FLAG0_FIX}",
    ),
    (
        ("step1map.yaml", "DRP-491", "0"),
        None,
        smaps.MSG_TARGET_KIND.format(
            key="DRP-491", kind=kind_phrase("campaign"), summary="Campaign step12test", wanted="step"
        )
        + f"; {FLAG0_FIX}",
    ),
    (
        ("bad.yaml", "DRP-489", "1"),
        "{step2: [DRP-490, a, b, 1, c]}\n",
        smaps.MSG_TARGET_KIND.format(
            key="DRP-489", kind=kind_phrase("step"), summary="Step step1", wanted="campaign"
        )
        + f"; {smaps.HINT_TARGET_NOT_CAMPAIGN}",
    ),
    (
        ("campmap.yaml", "DRP-486", "1"),
        None,
        smaps.MSG_TARGET_KIND.format(
            key="DRP-486", kind=kind_phrase("workflow"), summary=WF486, wanted="campaign"
        )
        + f"; {smaps.HINT_TARGET_NOT_CAMPAIGN}",
    ),
    (
        ("bad.yaml", "DRP-490", "0"),
        "{step1_1248: DRP-486, s: DRP-489, c: DRP-491}\n",
        smaps.MSG_MAP_VALUES_KIND.format(
            source="bad.yaml",
            wanted="workflow",
            bad="s: DRP-489 (a step issue); c: DRP-491 (a campaign issue)",
        )
        + f"; {smaps.HINT_STEP_MAP_VALUES}",
    ),
    (
        ("bad.yaml", "DRP-491", "1"),
        "{step1: [DRP-486, a, b, 1, c], step2: [DRP-490, a, b, 1, c]}\n",
        smaps.MSG_MAP_VALUES_KIND.format(
            source="bad.yaml", wanted="step", bad="step1: DRP-486 (a workflow issue)"
        )
        + f"; {smaps.HINT_CAMPAIGN_MAP_VALUES}",
    ),
    (
        ("bad.yaml", "DRP-489", "0"),
        "{step1_1248: DRP-486, step1_1248: DRP-487}\n",
        smaps.MSG_MAP_DUPLICATE_KEY.format(path="bad.yaml", key="step1_1248", line=1)
        + f"; {smaps.HINT_MAP_DUPLICATE_KEY}",
    ),
    (
        ("bad.yaml", "DRP-491", "1"),
        "step1: [DRP-489, a, b, 1, c]\nstep2: [DRP-490, a, b, 1, c]\nstep1: [DRP-490, a, b, 1, c]\n",
        smaps.MSG_MAP_DUPLICATE_KEY.format(path="bad.yaml", key="step1", line=3)
        + f"; {smaps.HINT_MAP_DUPLICATE_KEY}",
    ),
    (
        ("bad.yaml", "DRP-489", "0"),
        "{a_name: DRP-486, other_name: drp-486, step1_1248_b: DRP-487}\n",
        MSG_MAP_ISSUE_TWICE.format(source="bad.yaml", issues="DRP-486 (a_name, other_name)")
        + "; "
        + HINT_MAP_ISSUE_TWICE.format(what="workflow issue"),
    ),
    (
        ("bad.yaml", "DRP-489", "0"),
        "{step1_1248: DRP-486, loop: DRP-489}\n",
        smaps.MSG_MAPS_ITSELF.format(source="bad.yaml", key="DRP-489")
        + f"; {smaps.HINT_MAPS_ITSELF.format(key='DRP-489')}",
    ),
    (
        ("step1map.yaml", "DRP489", "0"),
        None,
        MSG_MALFORMED_KEY.format(what="issue key", key="DRP489") + f"; {HINT_MALFORMED_KEY}",
    ),
]


@pytest.mark.parametrize(("args", "content", "message"), BAD_INPUTS)
def test_bad_input_writes_nothing(
    seed: Seed, args: tuple[str, ...], content: str | None, message: str | None
) -> None:
    if content is not None:
        (seed.root / args[0]).write_text(content)
    before = seed.setup.snapshot()
    result = seed.run("map-drp-steps", *args)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stdout == ""
    if message is None:
        assert result.stderr.startswith(
            "prodstat: error: " + smaps.MSG_MAP_NOT_YAML.format(path="bad.yaml", reason="at line ")
        )
        assert "<byte string>" not in result.stderr and result.stderr.count("\n") == 1
    else:
        assert result.stderr == f"prodstat: error: {message.replace('{tracker}', seed.setup.name)}\n"
    assert seed.setup.snapshot() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("step1map.yaml", "DRP-489", "2"),
            "Invalid value for 'CAMPAIGN_FLAG': 2 is not in the range 0<=x<=1.",
        ),
        (
            ("step1map.yaml", "DRP-489", "x"),
            "Invalid value for 'CAMPAIGN_FLAG': 'x' is not a valid integer range.",
        ),
        (("step1map.yaml", "DRP-489"), "Missing argument 'CAMPAIGN_FLAG' (or use --auto KEY)."),
        (("--auto", "DRP-489", "step1map.yaml"), "--auto KEY takes no MAP_YAML"),
        (
            ("step1map.yaml", "DRP-489", "0", "--auto", "DRP-489"),
            "--auto KEY takes no MAP_YAML, ISSUE, CAMPAIGN_FLAG",
        ),
    ],
)
def test_usage_errors(run_cli: RunCli, prodstat_env: Path, args: tuple[str, ...], message: str) -> None:
    result = run_cli("map-drp-steps", *args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.rstrip().endswith(f"Error: {message}")


def test_auto_on_other_issue(seed: Seed) -> None:
    before = seed.setup.snapshot()
    result = seed.run("map-drp-steps", "--auto", "DRP-486")
    assert result.exit_code == 1
    message = smaps.MSG_AUTO_KIND.format(key="DRP-486", kind=kind_phrase("workflow"), summary=WF486)
    assert result.stderr == f"prodstat: error: {message}; {smaps.HINT_AUTO_KIND}\n"
    seed.setup.seed("DRP-492", "PREOPS request notes")
    before = seed.setup.snapshot()
    plain = seed.run("map-drp-steps", "--auto", "DRP-492")
    assert plain.exit_code == 1
    message = smaps.MSG_AUTO_KIND.format(
        key="DRP-492", kind=kind_phrase("other"), summary="PREOPS request notes"
    )
    assert plain.stderr == f"prodstat: error: {message}; {smaps.HINT_AUTO_KIND}\n"
    missing = seed.run("map-drp-steps", "--auto", "DRP-999")
    assert missing.exit_code == 1
    assert MSG_ISSUE_NOT_FOUND.format(key="DRP-999", tracker=seed.setup.name) in missing.stderr
    assert seed.setup.snapshot() == before


# -- --auto ----------------------------------------------------------------------------------------


def test_auto_step_equals_hand_map(seed: Seed) -> None:
    plant_stats(seed.tracker, "DRP-486")
    auto = seed.run("map-drp-steps", "--auto", "DRP-489")
    assert auto.exit_code == 0, auto.stderr
    auto_section = read_section(seed.description("DRP-489"), "step-map")
    assert auto_section == step1_table(seed)
    assert auto.stdout.splitlines()[0] == "step map (auto) -> DRP-489 (2 rows):"
    assert "linked DRP-489 -> DRP-486" in auto.stdout and "attached" not in auto.stdout
    after_auto = seed.issue("DRP-489")
    # The hand map gives the same section; it only adds its attachment.
    hand = seed.run("map-drp-steps", "step1map.yaml", "DRP-489", "0")
    assert hand.exit_code == 0, hand.stderr
    assert "unchanged DRP-489: section step-map" in hand.stdout and "linked" not in hand.stdout
    assert seed.description("DRP-489") == after_auto.description
    before = seed.setup.snapshot()
    again = seed.run("map-drp-steps", "--auto", "DRP-489")
    assert again.exit_code == 0 and seed.setup.snapshot() == before


def test_auto_step_leaves_out_unrecorded_workflows(seed: Seed) -> None:
    (seed.root / "work" / "step1" / "step1_1248_c.yaml").write_text("payload: {}\n")
    result = seed.run("--json", "map-drp-steps", "--auto", "DRP-489")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [r["bps_yaml"] for r in data["rows"]] == ["step1_1248", "step1_1248_b"]
    left_out = smaps.NOTE_LEFT_OUT.format(name="step1_1248_c", why="")
    assert len(data["notes"]) == 1 and data["notes"][0].startswith(left_out)
    assert result.stderr.startswith(f"prodstat: {left_out}")


def test_auto_campaign_rolls_up_statistics(seed: Seed) -> None:
    plant_stats(seed.tracker, "DRP-486", start="2022-07-28 19:40:00", core_hours=12.3)
    plant_stats(
        seed.tracker, "DRP-487", counts=(3, 150, 3, 0, 0), start="2022-07-29 00:30:00", core_hours=7.5
    )
    # DRP-488 has no statistics in its issue: update-stat's panda.json of this home is used
    # (it names the same workflow as the issue's BPS block).
    uniq = parse_bps_block(seed.description("DRP-488"))["uniqProcName"]
    stats_dir = seed.setup.home / "stats" / "DRP-488"
    stats_dir.mkdir(parents=True)
    (stats_dir / "panda.json").write_text(
        json.dumps(
            {
                "uniqProcName": uniq,
                "timestamp": TS["DRP-488"],
                "status_line": "Status:running nTasks:5 nFiles:9 nRemain:7 nProc: nFinish:2 nFail:0 nSubFinish:0",
                "workflow": {
                    "first_start": "2022-07-29T14:40:00+00:00",
                    "last_end": "2022-07-29T15:00:00+00:00",
                    "core_hours": 0.96,
                },
            }
        )
    )
    # Links (update-step / map-drp-steps) do not decide: the bps yamls of each workflow_base do.
    for step, wf in (("DRP-489", "DRP-486"), ("DRP-489", "DRP-487"), ("DRP-490", "DRP-488")):
        seed.tracker.link(step, wf)
    if seed.setup.emulator is not None:
        seed.setup.emulator.reset_requests()
    result = seed.run("map-drp-steps", "--auto", "DRP-491")
    assert result.exit_code == 0, result.stderr
    expected = (
        f"{CAMP_HEAD}\n"
        f"| step1| [DRP-489|{seed.url('DRP-489')}] | 2022-07-28|2022-07-29|19.8|Complete| \n"
        f"| step2| [DRP-490|{seed.url('DRP-490')}] | 2022-07-29|2022-07-29|1.0|Running| "
    )
    if seed.setup.emulator is not None:
        # get, campaign.yaml, one search for the steps, each step.yaml, one search for the
        # workflows of all steps, one write
        assert seed.setup.reads_after_login() == 7
    assert read_section(seed.description("DRP-491"), "campaign-map") == expected
    as_json = seed.run("--json", "--dry-run", "map-drp-steps", "--auto", "DRP-491")
    data = json.loads(as_json.stdout)
    assert data["action"] == "unchanged" and data["table"] == expected
    assert data["rows"][0]["workflows"] == ["DRP-486", "DRP-487"]
    assert data["rows"][0]["rollup"] == {
        "workflows": 2,
        "with_status": 2,
        "start": "2022-07-28",
        "end": "2022-07-29",
        "core_hours": 19.8,
        "status": "Complete",
        "counts": [6, 362, 6, 0, 0],
    }
    # tree shows the same figures.
    tree = json.loads(seed.run("--json", "tree", "DRP-491").stdout)
    assert [(c["key"], c["core_hours"], c["status"]) for c in tree["children"]] == [
        ("DRP-489", 19.8, "Complete"),
        ("DRP-490", 0.96, "Running"),
    ]

    # A panda.json of another workflow under the same key (another tracker, a reused key) is ignored.
    saved = json.loads((stats_dir / "panda.json").read_text())
    (stats_dir / "panda.json").write_text(json.dumps({**saved, "uniqProcName": "another_20200101T000000Z"}))
    stale = json.loads(seed.run("--json", "--dry-run", "map-drp-steps", "--auto", "DRP-491").stdout)
    assert stale["table"].splitlines()[2] == f"| step2| [DRP-490|{seed.url('DRP-490')}] |  | | |Pending| "


def test_auto_campaign_without_statistics(seed: Seed) -> None:
    result = seed.run("map-drp-steps", "--auto", "DRP-491")
    assert result.exit_code == 0, result.stderr
    # No links from the steps yet: their step.yaml names the workflow issues.
    assert read_section(seed.description("DRP-491"), "campaign-map") == (
        f"{CAMP_HEAD}\n"
        f"| step1| [DRP-489|{seed.url('DRP-489')}] |  | | |Pending| \n"
        f"| step2| [DRP-490|{seed.url('DRP-490')}] |  | | |Pending| "
    )


def test_unknown_kind_is_neither_step_nor_workflow(seed: Seed) -> None:
    seed.setup.seed("DRP-492", "PREOPS request notes")
    before = seed.setup.snapshot()
    target = seed.run("map-drp-steps", "step1map.yaml", "DRP-492", "0")
    assert target.exit_code == 1
    message = smaps.MSG_TARGET_KIND.format(
        key="DRP-492", kind=kind_phrase("other"), summary="PREOPS request notes", wanted="step"
    )
    assert target.stderr == f"prodstat: error: {message}; {FLAG0_FIX}\n"
    (seed.root / "bad.yaml").write_text("{step1_1248: DRP-486, notes: DRP-492}\n")
    value = seed.run("map-drp-steps", "bad.yaml", "DRP-489", "0")
    assert value.exit_code == 1
    message = smaps.MSG_MAP_VALUES_KIND.format(
        source="bad.yaml", wanted="workflow", bad=f"notes: DRP-492 ({kind_phrase('other')})"
    )
    assert value.stderr == f"prodstat: error: {message}; {smaps.HINT_STEP_MAP_VALUES}\n"
    assert seed.setup.snapshot() == before


def test_resubmitted_workflow_auto_and_tree_show_the_newest(seed: Seed) -> None:
    # step2_1248.yaml submitted again; update-issue records the new run as a new issue.
    make_submit_tree(
        seed.root / "work" / "step2",
        "step2_1248.yaml",
        step="step2",
        timestamps=["20220729T142653Z", "20220801T120000Z"],
        data_query="instrument='LSSTCam-imSim' and skymap='DC2' and exposure >=1472 and exposure <= 1474",
        n_quanta=9,
        n_tasks=5,
    )
    recorded = seed.run(
        "update-issue", "work/step2/step2_1248.yaml", "PREOPS-1248", "DRP0", "--ts", "20220801T120000Z"
    )
    assert recorded.exit_code == 0, recorded.stderr
    new = recorded.stdout.splitlines()[-1].removeprefix("issue:")
    assert new not in ("DRP-488", "")
    # Both runs stay linked to the step (links are never removed).
    seed.tracker.link("DRP-490", "DRP-488")
    seed.tracker.link("DRP-490", new)
    plant_stats(seed.tracker, "DRP-488", state="failed", counts=(5, 9, 1, 4, 0), core_hours=50.0)
    plant_stats(seed.tracker, new, start="2022-08-01 12:10:00", core_hours=2.0)

    step = json.loads(seed.run("--json", "--dry-run", "map-drp-steps", "--auto", "DRP-490").stdout)
    assert [(r["bps_yaml"], r["issue"], r["timestamp"]) for r in step["rows"]] == [
        ("step2_1248", new, "20220801T120000Z")
    ]
    camp = json.loads(seed.run("--json", "--dry-run", "map-drp-steps", "--auto", "DRP-491").stdout)
    assert camp["rows"][1]["workflows"] == [new]
    assert (camp["rows"][1]["core_hr"], camp["rows"][1]["status"]) == ("2.0", "Complete")
    tree = json.loads(seed.run("--json", "tree", "DRP-491").stdout)
    step2 = tree["children"][1]
    assert [c["key"] for c in step2["children"]] == [new]
    assert (step2["core_hours"], step2["status"]) == (2.0, "Complete")
    assert [c["key"] for c in json.loads(seed.run("--json", "tree", "DRP-490").stdout)["children"]] == [new]
    # Same core-hours in the campaign table and the tree, step by step.
    assert [r["rollup"]["core_hours"] for r in camp["rows"]] == [c["core_hours"] for c in tree["children"]]

    # Where the workflow_base is not on this machine: step.yaml's issue_name (update-step
    # has not rewritten it yet, so the old run), with a note instead of an error.
    (seed.root / "work" / "step2").rename(seed.root / "work" / "step2.elsewhere")
    moved = seed.run("--json", "--dry-run", "map-drp-steps", "--auto", "DRP-490")
    assert moved.exit_code == 0, moved.stderr
    assert [r["issue"] for r in json.loads(moved.stdout)["rows"]] == ["DRP-488"]
    note = stree.NOTE_BASE_ELSEWHERE_NAMED.format(key="DRP-490", base=seed.root / "work" / "step2")
    assert moved.stderr == f"prodstat: {note}\n"
    tree_moved = seed.run("--json", "tree", "DRP-490")
    assert [c["key"] for c in json.loads(tree_moved.stdout)["children"]] == ["DRP-488"]
    assert tree_moved.stderr == moved.stderr


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_tracker_failure_never_leaves_the_section_ahead(seed: Seed) -> None:
    emulator = seed.setup.emulator
    assert emulator is not None
    before = seed.setup.snapshot()
    # A lasting outage (a single 500 on an upload is checked and repaired): the map yaml's
    # upload, the first write, fails; nothing was written.
    emulator.inject(500, times=10, path=r"issueLink|attachments")
    failed = seed.run("map-drp-steps", "step1map.yaml", "DRP-489", "0")
    assert failed.exit_code == 3, failed.stderr
    assert read_section(seed.description("DRP-489"), "step-map") is None
    assert seed.setup.snapshot() == before
    emulator.clear_faults()
    # Links there already (update-campaign): the upload fails, the section is not written.
    for wf in ("DRP-486", "DRP-487"):
        seed.tracker.link("DRP-489", wf)
    linked = seed.setup.snapshot()
    emulator.inject(500, times=10, path=r"issueLink|attachments")
    failed = seed.run("map-drp-steps", "step1map.yaml", "DRP-489", "0")
    assert failed.exit_code == 3, failed.stderr
    assert read_section(seed.description("DRP-489"), "step-map") is None
    assert seed.setup.snapshot() == linked
    emulator.clear_faults()
    # Run again once the tracker is back: everything is written.
    done = seed.run("map-drp-steps", "step1map.yaml", "DRP-489", "0")
    assert done.exit_code == 0, done.stderr
    assert read_section(seed.description("DRP-489"), "step-map") == step1_table(
        seed, ("blue", "blue"), ("0,0,0,0,0", "0,0,0,0,0")
    )
    assert seed.tracker.read_attachment("DRP-489", "step1map.yaml") == STEP1_MAP.encode()


# -- request counts on Jira -----------------------------------------------------------------------


def test_jira_round_trips_step_map(run_cli: RunCli, prodstat_env: Path, tmp_path: Path) -> None:
    with JiraEmulator(deployment="Cloud") as emulator:
        env = {
            "PRODSTAT_JIRA_URL": emulator.url,
            "PRODSTAT_JIRA_USER": "operator@example.org",
            "PRODSTAT_JIRA_TOKEN": "secret-token",
        }
        setup = TrackerSetup("jira", env, prodstat_env, emulator)
        width = 8
        for i in range(1, width + 1):
            emulator.seed_issue(f"DRP-{i}", f"step1#u/ops/PREOPS-1248/2022072{i}T000000Z", "Status:finished")
        emulator.seed_issue("DRP-100", "Step step1")
        path = tmp_path / "map.yaml"
        path.write_text("".join(f"step1_{i}: DRP-{i}\n" for i in range(1, width + 1)))

        emulator.reset_requests()
        first = run_cli("map-drp-steps", str(path), "DRP-100", "0", env=env)
        assert first.exit_code == 0, first.stderr
        links = emulator.count("POST", "issueLink")
        assert links == width
        # one search for the issue and all workflows, one write, one upload; then one POST per link
        assert setup.reads_after_login() - links == 3
        assert not [r for r in emulator.requests if r.method == "GET" and "/issue/DRP-" in r.path]

        emulator.reset_requests()
        again = run_cli("map-drp-steps", str(path), "DRP-100", "0", env=env)
        assert again.exit_code == 0 and "unchanged DRP-100" in again.stdout
        # the search and reading the attachment back; nothing written
        assert setup.reads_after_login() == 2 and setup.writes() == 0

        # The usual case after update-campaign: the step links to its workflows already, so
        # a first run costs the same for any W (no POST per link).
        emulator.seed_issue("DRP-101", "Step step1")
        tracker = JiraTracker(emulator.url, "operator@example.org", "secret-token")
        for i in range(1, width + 1):
            tracker.link("DRP-101", f"DRP-{i}")
        tracker.close()
        emulator.reset_requests()
        linked = run_cli("map-drp-steps", str(path), "DRP-101", "0", env=env)
        assert linked.exit_code == 0, linked.stderr
        assert "updated DRP-101: section step-map" in linked.stdout and "linked DRP" not in linked.stdout
        assert emulator.count("POST", "issueLink") == 0
        assert setup.reads_after_login() <= 5


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_jira_seed_step_map_within_five_requests(seed: Seed) -> None:
    assert seed.setup.emulator is not None
    seed.setup.emulator.reset_requests()
    assert seed.run("map-drp-steps", "step1map.yaml", "DRP-489", "0").exit_code == 0
    assert seed.setup.reads_after_login() <= 5


# -- tree -------------------------------------------------------------------------------------------


def test_tree_text_and_json(seed: Seed) -> None:
    plant_stats(seed.tracker, "DRP-486", core_hours=12.3)
    plant_stats(
        seed.tracker,
        "DRP-487",
        state="running",
        counts=(3, 150, 1, 1, 0),
        core_hours=2.25,
        start="2022-07-29 00:30:00",
    )
    for args in (("step1map.yaml", "DRP-489", "0"), ("step2map.yaml", "DRP-490", "0")):
        assert seed.run("map-drp-steps", *args).exit_code == 0
    s486 = "step1#w_2022_27/PREOPS-1248/20220728T192631Z"
    s487 = "step1#w_2022_27/PREOPS-1248/20220729T001725Z"
    s488 = "step2#w_2022_27/PREOPS-1248/20220729T142653Z"
    if seed.setup.emulator is not None:
        seed.setup.emulator.reset_requests()
    result = seed.run("tree", "DRP-491")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "DRP-491  Campaign step12test  [campaign]  Running  T,Q,D,Fa,Sf=6,362,4,1,0  14.55 core-h  "
        "2022-07-28 -> 2022-07-29",
        "├── DRP-489  Step step1  [step]  Running  T,Q,D,Fa,Sf=6,362,4,1,0  14.55 core-h  2022-07-28 -> 2022-07-29",
        f"│   ├── DRP-486  {s486}  [workflow]  finished  T,Q,D,Fa,Sf=3,212,3,0,0  12.30 core-h  "
        "2022-07-28 -> 2022-07-28",
        f"│   └── DRP-487  {s487}  [workflow]  running  T,Q,D,Fa,Sf=3,150,1,1,0  2.25 core-h  "
        "2022-07-29 -> 2022-07-29",
        "└── DRP-490  Step step2  [step]  Pending",
        f"    └── DRP-488  {s488}  [workflow]",
    ]
    if seed.setup.emulator is not None:
        # get, campaign.yaml, one search for the steps, each step.yaml, one search for the workflows
        assert seed.setup.reads_after_login() == 6

    data = json.loads(seed.run("--json", "tree", "DRP-491").stdout)
    assert (data["key"], data["kind"], data["status"], data["core_hours"]) == (
        "DRP-491",
        "campaign",
        "Running",
        14.55,
    )
    assert [(c["key"], c["kind"]) for c in data["children"]] == [("DRP-489", "step"), ("DRP-490", "step")]
    wf = data["children"][0]["children"][1]
    assert {k: wf[k] for k in ("key", "summary", "kind", "status", "counts", "core_hours", "children")} == {
        "key": "DRP-487",
        "summary": s487,
        "kind": "workflow",
        "status": "running",
        "counts": [3, 150, 1, 1, 0],
        "core_hours": 2.25,
        "children": [],
    }
    assert data["children"][1]["children"][0]["status"] is None

    step = seed.run("tree", "DRP-489")
    assert step.stdout.splitlines()[0].startswith("DRP-489  Step step1  [step]  Running")
    assert len(step.stdout.splitlines()) == 3
    leaf = seed.run("tree", "DRP-488")
    assert leaf.stdout == f"DRP-488  {s488}  [workflow]\n"


def test_tree_unknown_key(seed: Seed) -> None:
    result = seed.run("tree", "DRP-999")
    assert result.exit_code == 1
    missing = MSG_ISSUE_NOT_FOUND.format(key="DRP-999", tracker=seed.setup.name)
    assert result.stderr == f"prodstat: error: {missing}; {HINT_ISSUE_NOT_FOUND}\n"
