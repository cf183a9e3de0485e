"""Campaign and step yaml: schemas, validation, template, labels, issue text; file helpers."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
import yaml

from lsst.prodstatus.core import campaign as msg
from lsst.prodstatus.core.campaign import (
    STEP_LABEL_PREFIX,
    CampaignSpec,
    StepDocument,
    StepSpec,
    WorkflowEntry,
    campaign_document,
    campaign_label,
    campaign_name_from_summary,
    campaign_section_text,
    campaign_summary,
    campaign_template,
    dump_yaml,
    issue_kind,
    parse_campaign,
    parse_step,
    sanitize_name,
    step_label,
    step_section_text,
    step_summary,
    updated_campaign_yaml,
    updated_step_yaml,
)
from lsst.prodstatus.errors import InputError
from lsst.prodstatus.script.files import (
    HINT_CANNOT_CREATE,
    HINT_NOT_YAML,
    MSG_CANNOT_WRITE,
    MSG_FILE_NOT_FOUND,
    MSG_NOT_YAML,
    load_yaml_file,
    write_text_atomically,
)
from lsst.prodstatus.script.update_campaign import read_campaign_file
from lsst.prodstatus.script.update_step import read_step_file

SRC = "campaign yaml c.yaml"

# The seed's hand-written campaign yaml (doc/sample-campaign.rst), paths made real by the tests.
SEED_CAMPAIGN = """\
issue: null
name: step12test
steps:
- campaign_issue: null
  issue_name: ''
  name: step1
  split_bands: false
  workflow_base: '{root}/work/step1'
- campaign_issue: null
  issue_name: ''
  name: step2
  split_bands: false
  workflow_base: '{root}/work/step2'
"""


# -- names ---------------------------------------------------------------------------------


def test_labels_and_summaries() -> None:
    assert campaign_label("step12test") == "prodstat_campaign_step12test"
    assert step_label("step12test", "step1") == "prodstat_step_step12test_step1"
    assert campaign_summary("step12test") == "Campaign step12test"
    assert step_summary("step1") == "Step step1"
    assert sanitize_name("DP0.2 run/v23 #1") == "DP0.2_run_v23__1"
    assert campaign_label("w 2022/27") == "prodstat_campaign_w_2022_27_5aefe5a2"
    assert len(campaign_label("x" * 400)) <= 255
    assert campaign_name_from_summary("Campaign step12test") == "step12test"


def test_labels_do_not_collide() -> None:
    # Names that sanitising changes get a hash of the exact name: "test run" is not "test_run".
    assert campaign_label("test_run") == "prodstat_campaign_test_run"
    assert campaign_label("test run") == "prodstat_campaign_test_run_ce1ebe61"
    assert campaign_label("test/run") != campaign_label("test run")
    # A step label with "_" in either name is ambiguous without a hash of both names.
    assert step_label("a", "b_c") == "prodstat_step_a_b_c_364fa95c"
    assert step_label("a_b", "c") == "prodstat_step_a_b_c_66554cd3"
    assert step_label("test run", "step1") != step_label("test_run", "step1")
    assert len(step_label("x" * 300, "y" * 300)) <= 255
    assert step_label("x" * 300, "y" * 300) != step_label("x" * 300, "y" * 301)
    labels = {
        step_label(c, s)
        for c in ("a", "a_b", "a b", "a-b", "step12test")
        for s in ("b", "b_c", "c", "b c", "step1", "a_b_c")
    }
    assert len(labels) == 30
    assert all(label.startswith(STEP_LABEL_PREFIX) for label in labels)
    assert campaign_name_from_summary("Step step1") is None


@pytest.mark.parametrize(
    ("summary", "labels", "kind"),
    [
        ("step1#w_2022_27/PREOPS-1248/20220728T192631Z", [], "workflow"),
        ("renamed by hand", ["prodstat_20220728T192631Z"], "workflow"),
        ("Step step1", ["prodstat_step_step12test_step1"], "step"),
        ("Campaign step12test", ["prodstat_campaign_step12test"], "campaign"),
        # The one rule of every command: a label-less "Step <name>" is a step (the
        # original tool's step issues had no labels).
        ("Step step1", [], "step"),
        ("a request", ["prodstat_20220728"], "other"),
    ],
)
def test_issue_kind(summary: str, labels: list[str], kind: str) -> None:
    assert issue_kind(summary, labels) == kind


# -- campaign yaml -------------------------------------------------------------------------


def test_template_is_the_reference_layout() -> None:
    text = dump_yaml(campaign_template("step12test"))
    assert text.startswith(
        "issue: null\nname: step12test\nsteps:\n- campaign_issue: null\n  issue_name: ''\n  name: step1\n"
        "  split_bands: false\n  workflow_base: ''\n- campaign_issue: null\n"
    )
    spec = parse_campaign(yaml.safe_load(text), SRC)
    assert [s.name for s in spec.steps] == [f"step{i}" for i in range(1, 8)]
    assert spec.issue is None and all(s.issue_name is None and s.workflow_base == "" for s in spec.steps)


def test_parse_seed_campaign() -> None:
    spec = parse_campaign(yaml.safe_load(SEED_CAMPAIGN.format(root="/r")), SRC)
    assert spec == CampaignSpec(
        name="step12test",
        steps=[StepSpec("step1", "/r/work/step1"), StepSpec("step2", "/r/work/step2")],
    )
    assert parse_campaign(yaml.safe_load(SEED_CAMPAIGN.format(root="/r")), SRC, name="other").name == "other"


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("- a\n- b\n", msg.MSG_NOT_MAPPING.format(source=SRC, kind="a list"), msg.HINT_CAMPAIGN_NOT_MAPPING),
        ("", msg.MSG_NOT_MAPPING.format(source=SRC, kind="nothing"), msg.HINT_CAMPAIGN_NOT_MAPPING),
        ("steps: [{name: step1}]\n", msg.MSG_NO_NAME.format(source=SRC), msg.HINT_CAMPAIGN_NO_NAME),
        ("name: c\n", msg.MSG_NO_STEPS.format(source=SRC), msg.HINT_NO_STEPS),
        ("name: c\nsteps: []\n", msg.MSG_STEPS_EMPTY.format(source=SRC), msg.HINT_STEPS_NOT_LIST),
        (
            "name: c\nsteps: step1\n",
            msg.MSG_STEPS_NOT_LIST.format(source=SRC, kind="a string"),
            msg.HINT_STEPS_NOT_LIST,
        ),
        (
            "name: c\nsteps: [step1]\n",
            msg.MSG_STEP_NOT_MAPPING.format(source=SRC, number=1, kind="a string"),
            msg.HINT_STEP_NOT_MAPPING,
        ),
        (
            "name: c\nsteps: [{name: a}, {workflow_base: /x}]\n",
            msg.MSG_STEP_NO_NAME.format(source=SRC, number=2),
            msg.HINT_STEP_NO_NAME,
        ),
        (
            "name: c\nsteps: [{name: a}, {name: b}, {name: a}]\n",
            msg.MSG_STEP_TWICE.format(source=SRC, name="a", first=1, number=3),
            msg.HINT_STEP_TWICE,
        ),
        (
            "name: c\nsteps: [{name: a, split_bands: maybe}]\n",
            msg.MSG_BOOL.format(source=SRC, what="split_bands of step a", value="maybe"),
            msg.HINT_BOOL,
        ),
        (
            "name: c\nsteps: [{name: a, workflow_base: [1]}]\n",
            msg.MSG_NOT_DIRECTORY.format(source=SRC, what="workflow_base of step a", kind="a list"),
            msg.HINT_NOT_DIRECTORY,
        ),
    ],
)
def test_parse_campaign_errors(text: str, message: str, hint: str) -> None:
    with pytest.raises(InputError) as info:
        parse_campaign(yaml.safe_load(text), SRC)
    assert (info.value.message, info.value.hint) == (message, hint), info.value.one_line()


def test_campaign_document_and_user_yaml_keep_order_and_extra_keys() -> None:
    raw = yaml.safe_load(
        "# my campaign\nname: c\nowner: me\nsteps:\n"
        "- name: step1\n  workflow_base: w1\n  exposure_groups: 3\n- name: step2\n  workflow_base: w2\n"
    )
    spec = parse_campaign(raw, SRC)
    spec.issue = "DRP-6"
    spec.steps[0].issue_name, spec.steps[1].issue_name = "DRP-4", "DRP-5"
    for step in spec.steps:
        step.campaign_issue = "DRP-6"
    assert campaign_document(spec) == {
        "issue": "DRP-6",
        "name": "c",
        "steps": [
            {
                "name": "step1",
                "issue_name": "DRP-4",
                "campaign_issue": "DRP-6",
                "split_bands": False,
                "workflow_base": "w1",
                "exposure_groups": 3,
            },
            {
                "name": "step2",
                "issue_name": "DRP-5",
                "campaign_issue": "DRP-6",
                "split_bands": False,
                "workflow_base": "w2",
            },
        ],
    }
    updated = updated_campaign_yaml(raw, spec)
    assert list(updated) == ["name", "owner", "steps", "issue"]
    assert list(updated["steps"][0]) == [
        "name",
        "workflow_base",
        "exposure_groups",
        "issue_name",
        "campaign_issue",
    ]
    assert updated["steps"][1]["issue_name"] == "DRP-5"
    assert "issue" not in raw, "the input mapping is not modified"


# -- step yaml -----------------------------------------------------------------------------


def _doc() -> StepDocument:
    return StepDocument(
        name="step1",
        workflow_base="/w/step1",
        issue_name="DRP-489",
        campaign_issue="DRP-491",
        campaign_name="step12test",
        workflows=[
            WorkflowEntry("step1_1248_b", "step1_1248_b.yaml", "/w/step1", "DRP-487"),
            WorkflowEntry("step1_1248", "step1_1248.yaml", "/w/step1", "DRP-486"),
            WorkflowEntry("step1_1248_c", "step1_1248_c.yaml", "/w/step1"),
        ],
    )


def test_step_document_round_trip() -> None:
    data = _doc().to_dict()
    assert list(data) == [
        "name",
        "issue_name",
        "campaign_issue",
        "campaign_name",
        "workflow_base",
        "split_bands",
        "workflows",
    ]
    assert data["workflows"]["step1_1248"] == {
        "name": "step1_1248",
        "bps_name": "step1_1248.yaml",
        "bps_dir": "/w/step1",
        "issue_name": "DRP-486",
        "band": "all",
        "step_name": "step1",
        "step_issue": "DRP-489",
    }
    assert parse_step(yaml.safe_load(dump_yaml(data)), "s") == _doc()


def test_parse_step_reads_the_original_formats() -> None:
    # create-step-yaml of the original: bps_dir held the file's path, bps_name null.
    old = {
        "name": "step1",
        "issue_name": None,
        "campaign_issue": None,
        "workflow_base": "/w",
        "workflows": {
            "step1_a": {
                "name": "step1_a",
                "bps_name": None,
                "bps_dir": "/w/step1_a.yaml",
                "issue_name": None,
            },
            "step1_b": {"name": "step1_b", "bps_dir": "/w", "bps_config": "step1_b.yaml", "issue": "DRP-9"},
        },
    }
    doc = parse_step(old, "s")
    assert [(w.name, w.bps_dir, w.bps_name, w.issue_name) for w in doc.workflows] == [
        ("step1_a", "/w", "step1_a.yaml", None),
        ("step1_b", "/w", "step1_b.yaml", "DRP-9"),
    ]
    listed = parse_step({"name": "s", "workflow_base": "/w", "workflows": [{"name": "s_1"}]}, "s")
    assert listed.workflows == [WorkflowEntry("s_1", "s_1.yaml", "/w")]


STEP_SRC = "step yaml s.yaml"


@pytest.mark.parametrize(
    ("data", "message", "hint"),
    [
        ([], msg.MSG_NOT_MAPPING.format(source=STEP_SRC, kind="a list"), msg.HINT_STEP_YAML_NOT_MAPPING),
        ({"workflow_base": "/w"}, msg.MSG_NO_NAME.format(source=STEP_SRC), msg.HINT_STEP_YAML_NO_NAME),
        ({"name": "s"}, msg.MSG_NO_WORKFLOW_BASE.format(source=STEP_SRC), msg.HINT_NO_WORKFLOW_BASE),
        (
            {"name": "s", "workflow_base": "/w", "workflows": 3},
            msg.MSG_WORKFLOWS_NOT_MAPPING.format(source=STEP_SRC, kind="a number"),
            msg.HINT_WORKFLOWS_NOT_MAPPING,
        ),
        (
            {"name": "s", "workflow_base": "/w", "workflows": [{"name": "a"}, {"name": "a"}]},
            msg.MSG_WORKFLOW_TWICE.format(source=STEP_SRC, name="a"),
            msg.HINT_WORKFLOW_TWICE,
        ),
    ],
)
def test_parse_step_errors(data: object, message: str, hint: str) -> None:
    with pytest.raises(InputError) as info:
        parse_step(data, STEP_SRC)
    assert (info.value.message, info.value.hint) == (message, hint), info.value.one_line()


def test_updated_step_yaml_keeps_user_keys() -> None:
    raw = {"name": "step1", "note": "rerun", "workflow_base": "../w", "workflows": {}}
    updated = updated_step_yaml(raw, _doc())
    assert list(updated) == [
        "name",
        "note",
        "workflow_base",
        "workflows",
        "issue_name",
        "campaign_issue",
        "campaign_name",
    ]
    assert updated["workflow_base"] == "../w"
    assert set(updated["workflows"]) == {"step1_1248", "step1_1248_b", "step1_1248_c"}


# -- issue text ----------------------------------------------------------------------------


def test_step_and_campaign_sections() -> None:
    urls = {k: f"https://jira/browse/{k}" for k in ("DRP-486", "DRP-487", "DRP-489", "DRP-490", "DRP-491")}
    assert step_section_text(_doc(), urls) == (
        "Step step1\n"
        "Campaign: step12test [DRP-491|https://jira/browse/DRP-491]\n"
        "workflow_base: /w/step1\n"
        "||BPS yaml||Issue||\n"
        "|step1_1248.yaml|[DRP-486|https://jira/browse/DRP-486]|\n"
        "|step1_1248_b.yaml|[DRP-487|https://jira/browse/DRP-487]|\n"
        "|step1_1248_c.yaml|(no issue)|"
    )
    lonely = StepDocument(name="s", workflow_base="/w|x")
    assert (
        step_section_text(lonely, {})
        == "Step s\nCampaign: none\nworkflow_base: /w|x\nNo bps submit yamls found."
    )
    spec = CampaignSpec(
        "step12test",
        [StepSpec("step1", "/w/step1", "DRP-489"), StepSpec("step2", "/w/a|b", None)],
        "DRP-491",
    )
    assert campaign_section_text(spec, urls) == (
        "Campaign step12test: 2 steps\n"
        "||Step||Issue||workflow_base||\n"
        "|step1|[DRP-489|https://jira/browse/DRP-489]|/w/step1|\n"
        "|step2|(new issue)|/w/a\\|b|"
    )


# -- files ---------------------------------------------------------------------------------


def test_write_text_atomically_keeps_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "c.yaml"
    target.write_text("old\n")
    target.chmod(0o640)
    write_text_atomically(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["c.yaml"]
    with pytest.raises(InputError) as info:
        write_text_atomically(tmp_path / "missing" / "c.yaml", "x")
    missing = tmp_path / "missing" / "c.yaml"
    assert info.value.message == MSG_CANNOT_WRITE.format(path=missing, reason="No such file or directory")
    assert info.value.hint == HINT_CANNOT_CREATE


def test_load_yaml_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_yaml_file("nope.yaml", "campaign yaml", "write one", tmp_path)
    assert (
        info.value.one_line()
        == MSG_FILE_NOT_FOUND.format(what="campaign yaml", given="nope.yaml", path=f"{tmp_path}/nope.yaml")
        + "; write one"
    )
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    bad_yaml = re.escape(MSG_NOT_YAML.format(what="campaign yaml", given="bad.yaml", problem=""))
    with pytest.raises(InputError, match=rf"^{bad_yaml}.*\(line 2\); {re.escape(HINT_NOT_YAML)}$"):
        load_yaml_file("bad.yaml", "campaign yaml", "", tmp_path)


def test_read_campaign_file_resolves_workflow_base_from_the_yaml_dir(tmp_path: Path) -> None:
    (tmp_path / "work" / "step1").mkdir(parents=True)
    (tmp_path / "work" / "step1" / "step1_a.yaml").write_text("pipelineYaml: p.yaml\n")
    (tmp_path / "work" / "step1" / "step1_a.txt").write_text("not a yaml\n")
    (tmp_path / "work" / "step1" / "step2_a.yaml").write_text("pipelineYaml: p.yaml\n")
    (tmp_path / "work" / "step1" / "step1map.yaml").write_text("{step1_a: DRP-1}\n")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "c.yaml").write_text(
        "name: c\nissue: drp-6\nsteps:\n- name: step1\n  workflow_base: ../work/step1\n  issue_name: DRP-4\n"
    )
    cfile = read_campaign_file("conf/c.yaml", cwd=tmp_path)
    assert cfile.bases == [tmp_path / "work" / "step1"]
    assert cfile.yamls == [[tmp_path / "work" / "step1" / "step1_a.yaml"]]
    assert cfile.spec.issue == "DRP-6"
    (tmp_path / "conf" / "c.yaml").write_text(
        "name: c\nsteps:\n- name: step1\n  issue_name: DRP4\n  workflow_base: /\n"
    )
    with pytest.raises(InputError, match=r"^malformed issue_name of step step1 in conf/c\.yaml 'DRP4'"):
        read_campaign_file("conf/c.yaml", cwd=tmp_path)


def test_read_step_file(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "step1_b.yaml").write_text("payload: {}\n")
    (tmp_path / "w" / "step1map.yaml").write_text("{step1_b: DRP-1}\n")
    (tmp_path / "s.yaml").write_text(
        "name: step1\nworkflow_base: w\nworkflows:\n  step1_a: {bps_name: step1_a.yaml, issue_name: drp-1}\n"
    )
    sfile = read_step_file("s.yaml", cwd=tmp_path)
    assert sfile.base == tmp_path / "w"
    assert sfile.yamls == [tmp_path / "w" / "step1_b.yaml"]
    assert sfile.doc.workflows[0].issue_name == "DRP-1"
    assert read_step_file("s.yaml", step_name="step1_b", cwd=tmp_path).doc.name == "step1_b"
