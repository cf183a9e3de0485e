"""``create-campaign-yaml``, ``update-campaign``, ``create-step-yaml``, ``update-step`` end to end.

The seed's session (``doc/sample-campaign.rst``) on both trackers: three ``update-issue`` runs
record the workflows, the hand-written ``step12test.yaml`` survives
``create-campaign-yaml``, and ``update-campaign`` builds the step and campaign issues
with the seed's keys (DRP-489/490, DRP-491).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from lsst.prodstatus.core import campaign as msg
from lsst.prodstatus.core.campaign import campaign_template, dump_yaml, step_label
from lsst.prodstatus.core.markup import read_section
from lsst.prodstatus.errors import MSG_ISSUE_NOT_FOUND
from lsst.prodstatus.script import campaign_yaml as cy
from lsst.prodstatus.script import discovery, hierarchy
from lsst.prodstatus.script import files as sf
from lsst.prodstatus.script import update_campaign as uc
from lsst.prodstatus.script import update_step as us
from tests.conftest import CliResult
from tests.script.test_campaign import SEED_CAMPAIGN
from tests.support.submit_trees import make_sample_campaign, make_submit_tree
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]


def ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def show(run_cli: RunCli, setup: TrackerSetup, key: str) -> dict[str, Any]:
    return dict(json.loads(ok(run_cli("--json", "show", key, env=setup.env)).stdout))


def links(issue: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((li["direction"], li["key"]) for li in issue["links"])


def attachment(setup: TrackerSetup, key: str, filename: str) -> bytes:
    from lsst.prodstatus.services.tracker.jira import JiraTracker
    from lsst.prodstatus.services.tracker.local import LocalTracker

    tracker: Any
    if setup.emulator is not None:
        tracker = JiraTracker(setup.emulator.url, "operator@example.org", "secret-token")
    else:
        tracker = LocalTracker(setup.home)
    try:
        data = tracker.read_attachment(key, filename)
    finally:
        tracker.close()
    assert data is not None, f"{key} has no {filename}"
    return bytes(data)


def record_workflows(
    run_cli: RunCli, setup: TrackerSetup, root: Path, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """The seed's three update-issue runs, each in its step directory; returns the keys."""
    make_sample_campaign(root)
    keys = []
    for step, args in (
        ("step1", ["step1_1248.yaml", "PREOPS-1248", "DRP0"]),
        ("step1", ["step1_1248_b.yaml", "PREOPS-1248", "DRP0"]),
        ("step2", ["step2_1248.yaml", "PREOPS-1248", "DRP0", "--ts", "20220729T142653Z"]),
    ):
        monkeypatch.chdir(root / "work" / step)
        keys.append(ok(run_cli("update-issue", *args, env=setup.env)).stdout.splitlines()[-1])
    monkeypatch.chdir(root)
    return [k.removeprefix("issue:") for k in keys]


def write_seed_yaml(root: Path) -> Path:
    path = root / "step12test.yaml"
    path.write_text(SEED_CAMPAIGN.format(root=root))
    return path


def add_unsubmitted_group(root: Path) -> None:
    """A third group of step1, written but not submitted yet (its own output: no run)."""
    make_submit_tree(root / "work" / "step1", "step1_1248_c.yaml", payload_name="2.2i/runs/c", timestamps=[])


@pytest.fixture
def seeded(run_cli: RunCli, setup: TrackerSetup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh tracker with the seed's workflows DRP-1..3 and step12test.yaml; cwd = tmp_path."""
    assert record_workflows(run_cli, setup, tmp_path, monkeypatch) == ["DRP-1", "DRP-2", "DRP-3"]
    write_seed_yaml(tmp_path)
    return tmp_path


# -- the seed's session --------------------------------------------------------------------


def test_seed_session_verbatim(
    run_cli: RunCli, setup: TrackerSetup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Numbers as in the seed: the tracker's last issue was DRP-485.
    setup.seed("DRP-485", "an earlier issue")
    assert record_workflows(run_cli, setup, tmp_path, monkeypatch) == ["DRP-486", "DRP-487", "DRP-488"]
    path = write_seed_yaml(tmp_path)
    written = path.read_bytes()

    kept = ok(run_cli("create-campaign-yaml", "step12test", "step12test.yaml", env=setup.env))
    assert kept.stdout == "kept step12test.yaml: campaign step12test, steps step1, step2\n"
    note = cy.NOTE_KEPT_CAMPAIGN_YAML.format(path="step12test.yaml", name="step12test", steps=2, plural="s")
    assert kept.stderr == f"prodstat: {note}\n"
    assert path.read_bytes() == written

    result = ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    assert result.stdout.splitlines() == [
        "step step1: DRP-489 (created), 2 workflows: DRP-486, DRP-487",
        "  attached: step.yaml, step1_1248.yaml, step1_1248_b.yaml",
        "  linked to: DRP-486, DRP-487",
        "step step2: DRP-490 (created), 1 workflow: DRP-488",
        "  attached: step.yaml, step2_1248.yaml",
        "  linked to: DRP-488",
        "campaign step12test: DRP-491 (created), 2 steps: DRP-489, DRP-490",
        "  attached: campaign.yaml",
        "  linked to: DRP-489, DRP-490",
        "saved step12test.yaml",
        "issue:DRP-491",
    ]
    assert result.stderr == ""

    # The user's file got the keys; its layout is the seed's.
    assert yaml.safe_load(path.read_text()) == {
        "issue": "DRP-491",
        "name": "step12test",
        "steps": [
            {
                "campaign_issue": "DRP-491",
                "issue_name": f"DRP-{489 + n}",
                "name": step,
                "split_bands": False,
                "workflow_base": f"{tmp_path}/work/{step}",
            }
            for n, step in enumerate(("step1", "step2"))
        ],
    }

    step1 = show(run_cli, setup, "DRP-489")
    assert step1["summary"] == "Step step1" and step1["labels"] == ["prodstat_step_step12test_step1"]
    assert links(step1) == [("inward", "DRP-491"), ("outward", "DRP-486"), ("outward", "DRP-487")]
    # The bps yamls came with the new issue; step.yaml, which names the campaign's key,
    # once the campaign issue existed.
    assert [a["filename"] for a in step1["attachments"]] == [
        "step1_1248.yaml",
        "step1_1248_b.yaml",
        "step.yaml",
    ]
    url = step1["url"].replace("DRP-489", "{}")
    assert read_section(step1["description"], "step") == (
        "Step step1\n"
        f"Campaign: step12test [DRP-491|{url.format('DRP-491')}]\n"
        f"workflow_base: {tmp_path}/work/step1\n"
        "||BPS yaml||Issue||\n"
        f"|step1_1248.yaml|[DRP-486|{url.format('DRP-486')}]|\n"
        f"|step1_1248_b.yaml|[DRP-487|{url.format('DRP-487')}]|"
    )
    base = f"{tmp_path}/work/step1"
    assert attachment(setup, "DRP-489", "step.yaml").decode() == dump_yaml(
        {
            "name": "step1",
            "issue_name": "DRP-489",
            "campaign_issue": "DRP-491",
            "campaign_name": "step12test",
            "workflow_base": base,
            "split_bands": False,
            "workflows": {
                name: {
                    "name": name,
                    "bps_name": f"{name}.yaml",
                    "bps_dir": base,
                    "issue_name": key,
                    "band": "all",
                    "step_name": "step1",
                    "step_issue": "DRP-489",
                    # What a re-run compares instead of reading the attachment back.
                    "bps_sha256": hashlib.sha256(
                        (tmp_path / f"work/step1/{name}.yaml").read_bytes()
                    ).hexdigest(),
                }
                for name, key in (("step1_1248", "DRP-486"), ("step1_1248_b", "DRP-487"))
            },
        }
    )
    assert (
        attachment(setup, "DRP-489", "step1_1248_b.yaml")
        == (tmp_path / "work/step1/step1_1248_b.yaml").read_bytes()
    )

    step2 = show(run_cli, setup, "DRP-490")
    assert links(step2) == [("inward", "DRP-491"), ("outward", "DRP-488")]
    assert [a["filename"] for a in step2["attachments"]] == ["step2_1248.yaml", "step.yaml"]

    campaign = show(run_cli, setup, "DRP-491")
    assert campaign["summary"] == "Campaign step12test"
    assert campaign["labels"] == ["prodstat_campaign_step12test"]
    assert links(campaign) == [("outward", "DRP-489"), ("outward", "DRP-490")]
    assert read_section(campaign["description"], "campaign") == (
        "Campaign step12test: 2 steps\n"
        "||Step||Issue||workflow_base||\n"
        f"|step1|[DRP-489|{url.format('DRP-489')}]|{tmp_path}/work/step1|\n"
        f"|step2|[DRP-490|{url.format('DRP-490')}]|{tmp_path}/work/step2|"
    )
    stored = yaml.safe_load(attachment(setup, "DRP-491", "campaign.yaml"))
    assert stored["issue"] == "DRP-491" and stored["steps"][1] == {
        "name": "step2",
        "issue_name": "DRP-490",
        "campaign_issue": "DRP-491",
        "split_bands": False,
        "workflow_base": f"{tmp_path}/work/step2",
    }

    # Re-running changes nothing: no duplicate links, no re-uploads, no file rewrite.
    before, saved = setup.snapshot(), path.read_bytes()
    if setup.emulator is not None:
        setup.emulator.reset_requests()
    again = ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    assert again.stdout.splitlines() == [
        "step step1: DRP-489 (unchanged), 2 workflows: DRP-486, DRP-487",
        "step step2: DRP-490 (unchanged), 1 workflow: DRP-488",
        "campaign step12test: DRP-491 (unchanged), 2 steps: DRP-489, DRP-490",
        "issue:DRP-491",
    ]
    assert setup.snapshot() == before and path.read_bytes() == saved
    if setup.emulator is not None:
        assert setup.writes() == 0


def test_fresh_tracker_numbers_steps_before_the_campaign(
    run_cli: RunCli, setup: TrackerSetup, seeded: Path
) -> None:
    result = ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    lines = result.stdout.splitlines()
    assert lines[0] == "step step1: DRP-4 (created), 2 workflows: DRP-1, DRP-2"
    assert lines[3] == "step step2: DRP-5 (created), 1 workflow: DRP-3"
    assert lines[6] == "campaign step12test: DRP-6 (created), 2 steps: DRP-4, DRP-5"
    assert lines[-1] == "issue:DRP-6"


def test_json_output(run_cli: RunCli, setup: TrackerSetup, seeded: Path) -> None:
    data = json.loads(ok(run_cli("--json", "update-campaign", "step12test.yaml", env=setup.env)).stdout)
    assert data["issue"] == "DRP-6"
    assert data["campaign"] == {
        "name": "step12test",
        "issue": "DRP-6",
        "action": "created",
        "summary": "Campaign step12test",
        "labels": ["prodstat_campaign_step12test"],
        "found_by": None,
        "attached": ["campaign.yaml"],
        "linked": ["DRP-4", "DRP-5"],
    }
    assert [(s["name"], s["issue"], s["action"]) for s in data["steps"]] == [
        ("step1", "DRP-4", "created"),
        ("step2", "DRP-5", "created"),
    ]
    assert data["steps"][0]["workflows"][1] == {
        "name": "step1_1248_b",
        "bps_yaml": f"{seeded}/work/step1/step1_1248_b.yaml",
        "issue": "DRP-2",
        "problem": None,
    }
    assert data["campaign_yaml_action"] == "saved" and data["dry_run"] is False
    again = json.loads(ok(run_cli("update-campaign", "step12test.yaml", "--json", env=setup.env)).stdout)
    assert again["campaign"]["found_by"] == "yaml" and again["campaign_yaml_action"] == "unchanged"
    assert {s["action"] for s in again["steps"]} == {"unchanged"}


def test_dry_run_writes_nothing(run_cli: RunCli, setup: TrackerSetup, seeded: Path) -> None:
    before, text = setup.snapshot(), (seeded / "step12test.yaml").read_bytes()
    result = ok(run_cli("--dry-run", "update-campaign", "step12test.yaml", env=setup.env))
    # The yamls of new issues name no keys yet (the paths vary with tmp_path: sizes only).
    campaign_yaml_size = len(
        dump_yaml(
            {
                "issue": None,
                "name": "step12test",
                "steps": [
                    {
                        "name": step,
                        "issue_name": None,
                        "campaign_issue": None,
                        "split_bands": False,
                        "workflow_base": f"{seeded}/work/{step}",
                    }
                    for step in ("step1", "step2")
                ],
            }
        ).encode()
    )
    step_yaml_sizes = [
        int(line.split("(")[1].split()[0])
        for line in result.stdout.splitlines()
        if line.startswith("    attach step.yaml")
    ]
    assert result.stdout.splitlines() == [
        "step step1: a new DRP issue (would create), 2 workflows: DRP-1, DRP-2",
        "  would attach: step.yaml, step1_1248.yaml, step1_1248_b.yaml",
        "  would link to: DRP-1, DRP-2",
        "step step2: a new DRP issue (would create), 1 workflow: DRP-3",
        "  would attach: step.yaml, step2_1248.yaml",
        "  would link to: DRP-3",
        "campaign step12test: a new DRP issue (would create), 2 steps: step1 (new), step2 (new)",
        "  would attach: campaign.yaml",
        "would save step12test.yaml",
        "plan:",
        "  create a new issue (step issue of step step1): Step step1",
        "    sections: step",
        "    labels: prodstat_step_step12test_step1",
        "    attach step1_1248.yaml (580 bytes, if changed)",
        "    attach step1_1248_b.yaml (580 bytes, if changed)",
        "    link a new issue (step issue of step step1) → DRP-1",
        "    link a new issue (step issue of step step1) → DRP-2",
        "  create a new issue (step issue of step step2): Step step2",
        "    sections: step",
        "    labels: prodstat_step_step12test_step2",
        "    attach step2_1248.yaml (546 bytes, if changed)",
        "    link a new issue (step issue of step step2) → DRP-3",
        "  create a new issue (campaign issue of campaign step12test): Campaign step12test",
        "    sections: campaign",
        "    labels: prodstat_campaign_step12test",
        "    link a new issue (campaign issue of campaign step12test) → step step1",
        "    link a new issue (campaign issue of campaign step12test) → step step2",
        "  update the new campaign issue of campaign step12test: Campaign step12test",
        "    sections: campaign",
        "    labels: prodstat_campaign_step12test",
        f"    attach campaign.yaml ({campaign_yaml_size} bytes, if changed)",
        "  update the new step issue of step step1: Step step1",
        "    sections: step",
        "    labels: prodstat_step_step12test_step1",
        f"    attach step.yaml ({step_yaml_sizes[0]} bytes, if changed)",
        "  update the new step issue of step step2: Step step2",
        "    sections: step",
        "    labels: prodstat_step_step12test_step2",
        f"    attach step.yaml ({step_yaml_sizes[1]} bytes, if changed)",
        "dry run: nothing written",
    ]
    assert setup.snapshot() == before and (seeded / "step12test.yaml").read_bytes() == text

    ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    with (seeded / "work" / "step2" / "step2_1248.yaml").open("a") as stream:
        stream.write("# rerun with more memory\n")
    before, text = setup.snapshot(), (seeded / "step12test.yaml").read_bytes()
    result = ok(run_cli("update-campaign", "step12test.yaml", "--dry-run", env=setup.env))
    assert "step step2: DRP-5 (would update), 1 workflow: DRP-3" in result.stdout
    # step.yaml records the yaml's new digest.
    assert "  would attach: step.yaml, step2_1248.yaml" in result.stdout
    assert result.stdout.splitlines()[-2:] == ["dry run: nothing written", "issue:DRP-6"]
    assert setup.snapshot() == before and (seeded / "step12test.yaml").read_bytes() == text


def test_changed_bps_yaml_and_new_workflow_update_the_step(
    run_cli: RunCli, setup: TrackerSetup, seeded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    add_unsubmitted_group(seeded)
    result = ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    assert result.stdout.splitlines()[:3] == [
        "step step1: DRP-4 (updated), 3 workflows: DRP-1, DRP-2, step1_1248_c.yaml (no issue)",
        "  attached: step.yaml, step1_1248_c.yaml",
        "step step2: DRP-5 (unchanged), 1 workflow: DRP-3",
    ]
    note = hierarchy.NOTE_NO_WORKFLOW_ISSUE.format(step="step1", name="step1_1248_c.yaml", why="")
    assert result.stderr.startswith(f"prodstat: {note}")
    step = show(run_cli, setup, "DRP-4")
    assert "|step1_1248_c.yaml|(no issue)|" in step["description"]
    assert len(step["links"]) == 3  # DRP-1, DRP-2 and the campaign: no duplicates


def test_campaign_name_renames_the_issue(run_cli: RunCli, setup: TrackerSetup, seeded: Path) -> None:
    ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    result = ok(run_cli("update-campaign", "step12test.yaml", "--campaign_name", "step12b", env=setup.env))
    assert "campaign step12b: DRP-6 (updated), 2 steps: DRP-4, DRP-5" in result.stdout
    campaign = show(run_cli, setup, "DRP-6")
    assert campaign["summary"] == "Campaign step12b"
    assert "prodstat_campaign_step12b" in campaign["labels"]
    assert yaml.safe_load(attachment(setup, "DRP-6", "campaign.yaml"))["name"] == "step12b"
    assert yaml.safe_load(attachment(setup, "DRP-4", "step.yaml"))["campaign_name"] == "step12b"
    assert yaml.safe_load((seeded / "step12test.yaml").read_text())["name"] == "step12b"
    assert (
        "step step1: DRP-4 (unchanged)"
        in ok(run_cli("update-campaign", "step12test.yaml", env=setup.env)).stdout
    )


def test_lost_keys_are_found_again(run_cli: RunCli, setup: TrackerSetup, seeded: Path) -> None:
    ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    before = setup.snapshot()
    # The operator starts again from the hand-written file: found by label, nothing duplicated.
    write_seed_yaml(seeded)
    result = ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    assert result.stdout.splitlines()[-2:] == ["saved step12test.yaml", "issue:DRP-6"]
    assert setup.snapshot() == before
    # ... and by the campaign's campaign.yaml when the campaign is given under another name.
    write_seed_yaml(seeded)
    data = json.loads(
        ok(
            run_cli(
                "--json",
                "update-campaign",
                "step12test.yaml",
                "--campaign-issue",
                "DRP-6",
                "--campaign-name",
                "renamed",
                env=setup.env,
            )
        ).stdout
    )
    assert [(s["issue"], s["found_by"]) for s in data["steps"]] == [
        ("DRP-4", "campaign.yaml"),
        ("DRP-5", "campaign.yaml"),
    ]
    assert data["campaign"]["found_by"] == "--campaign_issue"


# -- create-campaign-yaml ------------------------------------------------------------------


def test_template(run_cli: RunCli, setup: TrackerSetup, chdir_tmp: Path) -> None:
    before = setup.snapshot()
    result = ok(run_cli("create-campaign-yaml", "step12test", "step12test.yaml", env=setup.env))
    assert result.stdout == (
        "wrote step12test.yaml: campaign step12test, steps step1, step2, step3, step4, step5, step6, step7\n"
    )
    assert result.stderr == f"prodstat: {cy.NOTE_NEXT_UPDATE_CAMPAIGN.format(path='step12test.yaml')}\n"
    text = (chdir_tmp / "step12test.yaml").read_text()
    assert text == dump_yaml(campaign_template("step12test"))
    assert text.startswith(
        "issue: null\nname: step12test\nsteps:\n- campaign_issue: null\n  issue_name: ''\n"
    )
    assert setup.snapshot() == before
    # The template is not usable as it is: update-campaign names the empty workflow_base.
    bad = run_cli("update-campaign", "step12test.yaml", env=setup.env)
    assert bad.exit_code == 1
    assert bad.stderr == (
        f"prodstat: error: {discovery.MSG_NO_WORKFLOW_BASE.format(step='step1')}; {discovery.HINT_NO_WORKFLOW_BASE}\n"
    )


def test_template_refuses_other_files(run_cli: RunCli, setup: TrackerSetup, chdir_tmp: Path) -> None:
    (chdir_tmp / "notes.yaml").write_text("- a list\n")
    (chdir_tmp / "other.yaml").write_text(dump_yaml(campaign_template("other")))
    for name, message in (
        ("notes.yaml", cy.MSG_NOT_CAMPAIGN_YAML.format(path="notes.yaml")),
        (
            "other.yaml",
            cy.MSG_HOLDS_OTHER_CAMPAIGN.format(path="other.yaml", found="other", wanted="step12test"),
        ),
    ):
        before = (chdir_tmp / name).read_bytes()
        result = run_cli("create-campaign-yaml", "step12test", name, env=setup.env)
        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr == f"prodstat: error: {message}; {cy.HINT_FORCE}\n"
        assert (chdir_tmp / name).read_bytes() == before
    ok(run_cli("create-campaign-yaml", "step12test", "notes.yaml", "--force", env=setup.env))
    assert yaml.safe_load((chdir_tmp / "notes.yaml").read_text())["name"] == "step12test"
    dry = ok(run_cli("--dry-run", "create-campaign-yaml", "x", "new.yaml", env=setup.env))
    assert dry.stdout.startswith("would write new.yaml: campaign x") and not (chdir_tmp / "new.yaml").exists()


def test_campaign_yaml_from_issue(run_cli: RunCli, setup: TrackerSetup, seeded: Path) -> None:
    ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    result = ok(
        run_cli("create-campaign-yaml", "step12test", "copy.yaml", "--campaign_issue", "DRP-6", env=setup.env)
    )
    assert result.stdout.splitlines() == [
        "wrote copy.yaml from the campaign.yaml of DRP-6: campaign step12test, steps step1, step2",
        "issue:DRP-6",
    ]
    assert (seeded / "copy.yaml").read_bytes() == attachment(setup, "DRP-6", "campaign.yaml")
    again = ok(
        run_cli("create-campaign-yaml", "step12test", "copy.yaml", "--campaign-issue", "DRP-6", env=setup.env)
    )
    assert again.stdout.startswith("unchanged copy.yaml")
    # The fetched file drives update-campaign as well as the hand-written one.
    assert "(unchanged)" in ok(run_cli("update-campaign", "copy.yaml", env=setup.env)).stdout
    with (seeded / "step12test.yaml").open("a") as stream:
        stream.write("owner: me\n")
    differs = run_cli(
        "create-campaign-yaml", "step12test", "step12test.yaml", "--campaign-issue", "DRP-6", env=setup.env
    )
    assert differs.exit_code == 1
    message = cy.MSG_DIFFERS_FROM_STORED.format(path="step12test.yaml", kind="campaign", key="DRP-6")
    assert differs.stderr == f"prodstat: error: {message}; {cy.HINT_FORCE}\n"
    # CAMPAIGN_NAME names the campaign the issue must hold.
    other = run_cli("create-campaign-yaml", "step34", "new.yaml", "--campaign_issue", "DRP-6", env=setup.env)
    assert other.exit_code == 1 and other.stdout == ""
    names = {"kind": "campaign", "stored": "step12test", "name": "step34"}
    assert other.stderr == (
        f"prodstat: error: {cy.MSG_ISSUE_OF_OTHER.format(key='DRP-6', **names)}; "
        f"{cy.HINT_ISSUE_OF_OTHER.format(kind_upper='CAMPAIGN', **names)}\n"
    )
    assert not (seeded / "new.yaml").exists()
    for key, message in (
        (
            "DRP-1",
            cy.MSG_NO_ATTACHMENT.format(key="DRP-1", filename="campaign.yaml")
            + "; "
            + cy.HINT_NO_ATTACHMENT.format(kind="campaign", or_update_step=""),
        ),
        ("DRP-77", MSG_ISSUE_NOT_FOUND.format(key="DRP-77", tracker=setup.name)),
    ):
        result = run_cli("create-campaign-yaml", "x", "none.yaml", "--campaign_issue", key, env=setup.env)
        assert result.exit_code == 1 and result.stderr.startswith(f"prodstat: error: {message}"), (
            result.stderr
        )
        assert not (seeded / "none.yaml").exists()


# -- update-campaign: bad input ------------------------------------------------------------

WF1 = "step1#w_2022_27/PREOPS-1248/20220728T192631Z"


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        (
            None,
            [],
            sf.MSG_FILE_NOT_FOUND.format(what="campaign yaml", given="c.yaml", path="{root}/c.yaml")
            + "; "
            + uc.HINT_NO_CAMPAIGN_YAML.format(path="c.yaml"),
        ),
        (
            "- step1\n",
            [],
            msg.MSG_NOT_MAPPING.format(source="campaign yaml c.yaml", kind="a list")
            + f"; {msg.HINT_CAMPAIGN_NOT_MAPPING}",
        ),
        (
            "steps: [{name: step1, workflow_base: w1}]\n",
            [],
            msg.MSG_NO_NAME.format(source="campaign yaml c.yaml") + f"; {msg.HINT_CAMPAIGN_NO_NAME}",
        ),
        (
            "name: c\n",
            [],
            msg.MSG_NO_STEPS.format(source="campaign yaml c.yaml") + f"; {msg.HINT_NO_STEPS}",
        ),
        (
            "name: c\nsteps:\n- workflow_base: w1\n",
            [],
            msg.MSG_STEP_NO_NAME.format(source="campaign yaml c.yaml", number=1)
            + f"; {msg.HINT_STEP_NO_NAME}",
        ),
        (
            "name: c\nsteps:\n- {name: step1, workflow_base: w1}\n- {name: step1, workflow_base: w1}\n",
            [],
            msg.MSG_STEP_TWICE.format(source="campaign yaml c.yaml", name="step1", first=1, number=2)
            + f"; {msg.HINT_STEP_TWICE}",
        ),
        (
            "name: c\nsteps:\n- {name: step1, workflow_base: w1}\n- {name: step2, workflow_base: nowhere}\n",
            [],
            discovery.MSG_WORKFLOW_BASE_NOT_DIR.format(workflow_base="{root}/nowhere", step="step2")
            + f"; {discovery.HINT_WORKFLOW_BASE_NOT_DIR}",
        ),
        (
            "name: c\nsteps:\n- {name: step1, workflow_base: w1, issue_name: DRP-1}\n",
            [],
            hierarchy.MSG_NOT_EXPECTED_KIND.format(
                key="DRP-1",
                what="issue_name of step step1 in c.yaml",
                kind="workflow",
                summary=WF1,
                expected="step",
            )
            + f"; {uc.HINT_STEP_KIND}",
        ),
        (
            "name: c\nsteps:\n- {name: step1, workflow_base: w1, issue_name: DRP-77}\n",
            [],
            MSG_ISSUE_NOT_FOUND.format(key="DRP-77", tracker="{tracker}")
            + f"; {uc.HINT_STEP_NOT_FOUND.format(step='step1', given='c.yaml')}",
        ),
        (
            "name: c\nsteps:\n- {name: step1, workflow_base: w1}\n",
            ["--campaign_issue", "DRP-77"],
            MSG_ISSUE_NOT_FOUND.format(key="DRP-77", tracker="{tracker}")
            + f"; {uc.HINT_CAMPAIGN_NOT_FOUND_OPTION}",
        ),
        (
            "name: c\nissue: DRP-1\nsteps:\n- {name: step1, workflow_base: w1}\n",
            [],
            hierarchy.MSG_NOT_EXPECTED_KIND.format(
                key="DRP-1", what="issue in c.yaml", kind="workflow", summary=WF1, expected="campaign"
            )
            + f"; {uc.HINT_CAMPAIGN_KIND}",
        ),
        (
            "name: c\nsteps:\n- {name: step1, workflow_base: w1, issue_name: DRP486}\n",
            [],
            "malformed issue_name of step step1 in c.yaml 'DRP486'; an issue key looks like PROJECT-NUMBER",
        ),
        ("name: [c\n", [], sf.MSG_NOT_YAML.format(what="campaign yaml", given="c.yaml", problem="")),
    ],
)
def test_update_campaign_bad_input(
    run_cli: RunCli, setup: TrackerSetup, chdir_tmp: Path, text: str | None, args: list[str], message: str
) -> None:
    (chdir_tmp / "w1").mkdir()
    (chdir_tmp / "w1" / "step1_a.yaml").write_text("pipelineYaml: p.yaml\n")
    setup.seed("DRP-1", WF1, labels=("prodstat_20220728T192631Z",))
    if text is not None:
        (chdir_tmp / "c.yaml").write_text(text)
    before = setup.snapshot()
    result = run_cli("update-campaign", "c.yaml", *args, env=setup.env)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith(
        "prodstat: error: " + message.format(root=chdir_tmp, tracker=setup.name)
    ), result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert setup.snapshot() == before
    if text is not None:
        assert (chdir_tmp / "c.yaml").read_text() == text


# -- create-step-yaml / update-step --------------------------------------------------------


def test_step_yaml_and_update_step(run_cli: RunCli, setup: TrackerSetup, seeded: Path) -> None:
    # The campaign knows only step2; step1 is added with the step commands.
    (seeded / "step2only.yaml").write_text(
        f"name: step12test\nsteps:\n- name: step2\n  workflow_base: {seeded}/work/step2\n"
    )
    assert (
        "campaign step12test: DRP-5 (created)"
        in ok(run_cli("update-campaign", "step2only.yaml", env=setup.env)).stdout
    )
    created = ok(run_cli("create-step-yaml", "step1.yaml", "step1", "work/step1", env=setup.env))
    assert (
        created.stdout
        == "wrote step1.yaml: step step1, 2 workflows: step1_1248 (DRP-1), step1_1248_b (DRP-2)\n"
    )
    data = yaml.safe_load((seeded / "step1.yaml").read_text())
    assert data["workflow_base"] == f"{seeded}/work/step1" and data["issue_name"] is None
    assert data["workflows"]["step1_1248_b"]["bps_dir"] == f"{seeded}/work/step1"

    # A new group appears after create-step-yaml: update-step keeps the list it computes.
    add_unsubmitted_group(seeded)
    result = ok(run_cli("update-step", "step1.yaml", "--campaign_name", "step12test", env=setup.env))
    assert result.stdout.splitlines() == [
        "step step1: DRP-6 (created), 3 workflows: DRP-1, DRP-2, step1_1248_c.yaml (no issue)",
        "  attached: step.yaml, step1_1248.yaml, step1_1248_b.yaml, step1_1248_c.yaml",
        "  linked to: DRP-1, DRP-2",
        "campaign step12test: DRP-5 (linked)",
        "saved step1.yaml",
        "issue:DRP-6",
    ]
    step = show(run_cli, setup, "DRP-6")
    assert step["summary"] == "Step step1" and step["labels"] == ["prodstat_step_step12test_step1"]
    assert links(step) == [("inward", "DRP-5"), ("outward", "DRP-1"), ("outward", "DRP-2")]
    stored = yaml.safe_load(attachment(setup, "DRP-6", "step.yaml"))
    assert (stored["issue_name"], stored["campaign_issue"], stored["campaign_name"]) == (
        "DRP-6",
        "DRP-5",
        "step12test",
    )
    assert list(stored["workflows"]) == ["step1_1248", "step1_1248_b", "step1_1248_c"]
    mine = yaml.safe_load((seeded / "step1.yaml").read_text())
    assert mine["issue_name"] == "DRP-6" and mine["campaign_issue"] == "DRP-5"
    # The attached step.yaml also records each bps yaml's digest; the user's file does not.
    digests = {name: wf.pop("bps_sha256") for name, wf in stored["workflows"].items()}
    assert digests == {
        name: hashlib.sha256((seeded / "work/step1" / f"{name}.yaml").read_bytes()).hexdigest()
        for name in digests
    }
    assert mine["workflows"] == stored["workflows"]

    before, text = setup.snapshot(), (seeded / "step1.yaml").read_bytes()
    again = ok(run_cli("update-step", "step1.yaml", env=setup.env))
    assert again.stdout.splitlines()[:1] + again.stdout.splitlines()[-2:] == [
        "step step1: DRP-6 (unchanged), 3 workflows: DRP-1, DRP-2, step1_1248_c.yaml (no issue)",
        "campaign step12test: DRP-5 (already linked)",
        "issue:DRP-6",
    ]
    assert setup.snapshot() == before and (seeded / "step1.yaml").read_bytes() == text

    # The step yaml of an issue, and a template that finds the step's campaign.
    fetched = ok(
        run_cli("create-step-yaml", "copy.yaml", "step1", ".", "--step_issue", "DRP-6", env=setup.env)
    )
    assert fetched.stdout.splitlines()[-1] == "issue:DRP-6"
    assert (seeded / "copy.yaml").read_bytes() == attachment(setup, "DRP-6", "step.yaml")
    ok(
        run_cli(
            "create-step-yaml", "s2.yaml", "step2", "work/step2", "--campaign-issue", "DRP-5", env=setup.env
        )
    )
    s2 = yaml.safe_load((seeded / "s2.yaml").read_text())
    assert (s2["campaign_issue"], s2["campaign_name"]) == ("DRP-5", "step12test")
    # update-step finds step2's issue by its label and changes nothing there.
    before = setup.snapshot()
    assert "step step2: DRP-4 (unchanged)" in ok(run_cli("update-step", "s2.yaml", env=setup.env)).stdout
    assert setup.snapshot() == before
    assert yaml.safe_load((seeded / "s2.yaml").read_text())["issue_name"] == "DRP-4"


def test_update_step_rename_and_dry_run(run_cli: RunCli, setup: TrackerSetup, seeded: Path) -> None:
    ok(run_cli("create-step-yaml", "s.yaml", "step2", "work/step2", env=setup.env))
    before, text = setup.snapshot(), (seeded / "s.yaml").read_bytes()
    dry = ok(run_cli("--dry-run", "update-step", "s.yaml", env=setup.env))
    assert dry.stdout.splitlines() == [
        "step step2: a new DRP issue (would create), 1 workflow: DRP-3",
        "  would attach: step.yaml, step2_1248.yaml",
        "  would link to: DRP-3",
        "would save s.yaml",
        "plan:",
        "  create a new issue (step issue of step step2): Step step2",
        "    sections: step",
        f"    labels: {step_label('', f'step2@{seeded}/work/step2')}",
        f"    attach step2_1248.yaml ({(seeded / 'work/step2/step2_1248.yaml').stat().st_size} bytes, if changed)",
        "    link a new issue (step issue of step step2) → DRP-3",
        "  update the new step issue of step step2: Step step2",
        "    sections: step",
        f"    labels: {step_label('', f'step2@{seeded}/work/step2')}",
        dry.stdout.splitlines()[-2],
        "dry run: nothing written",
    ]
    assert dry.stdout.splitlines()[-2].startswith("    attach step.yaml (")
    assert dry.stderr == f"prodstat: {us.NOTE_NO_CAMPAIGN.format(step='step2', given='s.yaml')}\n"
    assert setup.snapshot() == before and (seeded / "s.yaml").read_bytes() == text
    assert ok(run_cli("update-step", "s.yaml", env=setup.env)).stdout.splitlines()[-1] == "issue:DRP-4"
    renamed = ok(run_cli("update-step", "s.yaml", "--step-name", "step2b", env=setup.env))
    assert renamed.stdout.splitlines()[0] == "step step2b: DRP-4 (updated), 1 workflow: DRP-3"
    assert show(run_cli, setup, "DRP-4")["summary"] == "Step step2b"


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        (
            None,
            [],
            sf.MSG_FILE_NOT_FOUND.format(what="step yaml", given="s.yaml", path="{root}/s.yaml")
            + "; "
            + us.HINT_NO_STEP_YAML.format(path="s.yaml"),
        ),
        (
            "name: step1\nworkflow_base: nowhere\n",
            [],
            discovery.MSG_WORKFLOW_BASE_NOT_DIR.format(workflow_base="{root}/nowhere", step="step1")
            + f"; {discovery.HINT_WORKFLOW_BASE_NOT_DIR}",
        ),
        (
            "name: step1\nworkflow_base: w1\n",
            ["--campaign_name", "nosuch"],
            us.MSG_NO_CAMPAIGN_ISSUE.format(
                name="nosuch", tracker="{tracker}", label="prodstat_campaign_nosuch"
            )
            + f"; {us.HINT_NO_CAMPAIGN_ISSUE}",
        ),
        (
            "name: step1\nworkflow_base: w1\n",
            ["--step_issue", "DRP-1"],
            hierarchy.MSG_NOT_EXPECTED_KIND.format(
                key="DRP-1", what="--step_issue", kind="workflow", summary=WF1, expected="step"
            )
            + f"; {us.HINT_STEP_KIND}",
        ),
        (
            "name: step1\nworkflow_base: w1\ncampaign_issue: DRP-1\n",
            [],
            hierarchy.MSG_NOT_EXPECTED_KIND.format(
                key="DRP-1",
                what="campaign_issue in s.yaml",
                kind="workflow",
                summary=WF1,
                expected="campaign",
            )
            + f"; {us.HINT_CAMPAIGN_KIND}",
        ),
        (
            "name: step1\nworkflow_base: w1\nissue_name: DRP-77\n",
            [],
            MSG_ISSUE_NOT_FOUND.format(key="DRP-77", tracker="{tracker}")
            + f"; {us.HINT_STEP_NOT_FOUND_YAML.format(given='s.yaml')}",
        ),
        (
            "workflow_base: w1\n",
            [],
            msg.MSG_NO_NAME.format(source="step yaml s.yaml") + f"; {msg.HINT_STEP_YAML_NO_NAME}",
        ),
    ],
)
def test_update_step_bad_input(
    run_cli: RunCli, setup: TrackerSetup, chdir_tmp: Path, text: str | None, args: list[str], message: str
) -> None:
    (chdir_tmp / "w1").mkdir()
    setup.seed("DRP-1", WF1, labels=("prodstat_20220728T192631Z",))
    if text is not None:
        (chdir_tmp / "s.yaml").write_text(text)
    before = setup.snapshot()
    result = run_cli("update-step", "s.yaml", *args, env=setup.env)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith(
        "prodstat: error: " + message.format(root=chdir_tmp, tracker=setup.name)
    ), result.stderr
    assert result.stdout == "" and setup.snapshot() == before
    if text is not None:
        assert (chdir_tmp / "s.yaml").read_text() == text


def test_create_step_yaml_bad_input(run_cli: RunCli, setup: TrackerSetup, chdir_tmp: Path) -> None:
    setup.seed("DRP-1", "Step step1", labels=("prodstat_step_c_step1",))
    (chdir_tmp / "w").mkdir()
    (chdir_tmp / "other.yaml").write_text("name: step2\nworkflow_base: w\n")
    before = setup.snapshot()
    for args, message in (
        (
            ["s.yaml", "step1", "nowhere"],
            discovery.MSG_WORKFLOW_BASE_NOT_DIR.format(workflow_base=f"{chdir_tmp}/nowhere", step="step1")
            + f"; {discovery.HINT_WORKFLOW_BASE_NOT_DIR}",
        ),
        (
            ["other.yaml", "step1", "w"],
            cy.MSG_HOLDS_OTHER_STEP.format(path="other.yaml", found="step2", wanted="step1")
            + f"; {cy.HINT_FORCE}",
        ),
        (
            ["s.yaml", "step1", "w", "--step_issue", "DRP-1"],
            cy.MSG_NO_ATTACHMENT.format(key="DRP-1", filename="step.yaml")
            + "; "
            + cy.HINT_NO_ATTACHMENT.format(kind="step", or_update_step=" or 'prodstat update-step'"),
        ),
        (
            ["s.yaml", "step1", "w", "--campaign_issue", "DRP-1"],
            hierarchy.MSG_NOT_EXPECTED_KIND.format(
                key="DRP-1", what="--campaign_issue", kind="step", summary="Step step1", expected="campaign"
            )
            + f"; {cy.HINT_CAMPAIGN_KIND}",
        ),
    ):
        result = run_cli("create-step-yaml", *args, env=setup.env)
        assert result.exit_code == 1, (args, result.stdout)
        assert result.stderr.startswith(f"prodstat: error: {message}"), result.stderr
        assert not (chdir_tmp / "s.yaml").exists()
    assert setup.snapshot() == before
    kept = ok(run_cli("create-step-yaml", "other.yaml", "step2", "w", env=setup.env))
    assert kept.stdout == "kept other.yaml: step step2, 0 workflows\n"


# -- review fixes --------------------------------------------------------------------------


def managed_sections(run_cli: RunCli, setup: TrackerSetup) -> dict[str, tuple[str, str | None, list[str]]]:
    """Every campaign and step issue: key → (label, its managed section, attachment names)."""
    assert setup.emulator is not None
    found = {}
    for key in sorted(setup.emulator.snapshot()["issues"], key=lambda k: int(k.split("-")[1])):
        issue = show(run_cli, setup, key)
        for label in issue["labels"]:
            kind = "campaign" if label.startswith("prodstat_campaign_") else "step"
            if label.startswith(("prodstat_campaign_", "prodstat_step_")):
                found[key] = (
                    label,
                    read_section(issue["description"], kind),
                    [a["filename"] for a in issue["attachments"]],
                )
    return found


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (r"/issueLink$", "POST"),  # step1's first link: right after step1 was created
        (r"/attachments$", "POST"),  # step1's first upload
        (r"/issue/DRP-\d+$", "PUT"),  # step1's description with the new campaign's key
    ],
)
@pytest.mark.parametrize("setup", ["jira"], indirect=True)  # fault injection needs the Jira emulator
def test_tracker_failure_leaves_no_half_written_issue(
    run_cli: RunCli, setup: TrackerSetup, seeded: Path, path: str, method: str
) -> None:
    assert setup.emulator is not None
    # A lasting outage: a single 500 is retried (edits) or checked and repaired (links, uploads).
    setup.emulator.inject(500, times=10, path=path, method=method)
    failed = run_cli("update-campaign", "step12test.yaml", env=setup.env)
    assert failed.exit_code == 3, (failed.stdout, failed.stderr)
    assert "HTTP 500" in failed.stderr
    setup.emulator.clear_faults()
    # Every issue made so far has its whole description (the managed section).
    made = managed_sections(run_cli, setup)
    assert made and all(
        section and section.splitlines()[0].startswith(("Step ", "Campaign "))
        for _, section, _ in made.values()
    )
    assert yaml.safe_load((seeded / "step12test.yaml").read_text())["issue"] is None

    # A re-run finds what was made by its labels and completes everything, once.
    ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    made = managed_sections(run_cli, setup)
    assert sorted(label for label, _, _ in made.values()) == [
        "prodstat_campaign_step12test",
        "prodstat_step_step12test_step1",
        "prodstat_step_step12test_step2",
    ]
    saved = yaml.safe_load((seeded / "step12test.yaml").read_text())
    campaign, step1, step2 = saved["issue"], *(s["issue_name"] for s in saved["steps"])
    assert sorted(made[step1][2]) == ["step.yaml", "step1_1248.yaml", "step1_1248_b.yaml"]
    assert sorted(made[step2][2]) == ["step.yaml", "step2_1248.yaml"]
    assert f"[{campaign}|" in str(made[step1][1]) and f"[{step1}|" in str(made[campaign][1])
    assert links(show(run_cli, setup, step1)) == [
        ("inward", campaign),
        ("outward", "DRP-1"),
        ("outward", "DRP-2"),
    ]
    assert links(show(run_cli, setup, campaign)) == [("outward", step1), ("outward", step2)]
    assert yaml.safe_load(attachment(setup, step2, "step.yaml"))["campaign_issue"] == campaign
    setup.emulator.reset_requests()
    again = ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    assert again.stdout.count("(unchanged)") == 3 and setup.writes() == 0


@pytest.mark.parametrize("setup", ["jira"], indirect=True)  # counts Jira requests
def test_attachments_are_proven_unchanged_by_recorded_digests(
    run_cli: RunCli, setup: TrackerSetup, seeded: Path
) -> None:
    assert setup.emulator is not None
    ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))

    def attachment_reads() -> list[str]:
        assert setup.emulator is not None
        requests = setup.emulator.requests
        return sorted(
            r.path.rsplit("/", 1)[1] for r in requests if r.method == "GET" and "/attachment/" in r.path
        )

    # Unchanged: Jira has no checksum, but each step.yaml records its bps yamls' digests:
    # two searches and one read per step issue and of campaign.yaml, whatever the number
    # of workflows; no write.
    setup.emulator.reset_requests()
    ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    assert setup.reads_after_login() == 5 and setup.writes() == 0
    every = ["campaign.yaml", "step.yaml", "step.yaml"]
    assert attachment_reads() == every
    # A bps yaml whose size changed is re-uploaded without reading the old one back, and
    # step.yaml records its new digest.
    bps = seeded / "work" / "step2" / "step2_1248.yaml"
    bps.write_text(bps.read_text() + "# rerun with more memory\n")
    setup.emulator.reset_requests()
    result = ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    attached = "step step2: DRP-5 (updated), 1 workflow: DRP-3\n  attached: step.yaml, step2_1248.yaml\n"
    assert attached in result.stdout
    # (The new step.yaml has the old one's size, so the executor reads the old one back.)
    assert attachment_reads() == sorted([*every, "step.yaml"])
    # A change that keeps the size is found too: the digest differs.
    bps.write_text(bps.read_text().replace("more memory", "more memorx"))
    assert attached in ok(run_cli("update-campaign", "step12test.yaml", env=setup.env)).stdout
    assert attachment(setup, "DRP-5", "step2_1248.yaml") == bps.read_bytes()

    tracker = setup.open()
    try:
        # An older step.yaml records no digests: each bps yaml is compared by reading it
        # back, once; step.yaml then gets its digests.
        old = yaml.safe_load(attachment(setup, "DRP-4", "step.yaml"))
        for wf in old["workflows"].values():
            del wf["bps_sha256"]
        tracker.attach("DRP-4", "step.yaml", dump_yaml(old).encode())
    finally:
        tracker.close()
    setup.emulator.reset_requests()
    result = ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    assert "step step1: DRP-4 (updated), 2 workflows: DRP-1, DRP-2\n  attached: step.yaml\n" in result.stdout
    assert attachment_reads() == [*every, "step1_1248.yaml", "step1_1248_b.yaml"]
    setup.emulator.reset_requests()
    assert ok(run_cli("update-campaign", "step12test.yaml", env=setup.env)).stdout.count("(unchanged)") == 3
    assert attachment_reads() == every and setup.writes() == 0


def test_names_that_sanitise_alike_get_their_own_issues(
    run_cli: RunCli, setup: TrackerSetup, seeded: Path
) -> None:
    for name in ("test run", "test_run"):
        (seeded / f"{name}.yaml").write_text(
            dump_yaml({"name": name, "steps": [{"name": "step1", "workflow_base": "work/step1"}]})
        )
    first = json.loads(ok(run_cli("--json", "update-campaign", "test run.yaml", env=setup.env)).stdout)
    second = json.loads(ok(run_cli("--json", "update-campaign", "test_run.yaml", env=setup.env)).stdout)
    assert (first["campaign"]["issue"], first["steps"][0]["issue"]) == ("DRP-5", "DRP-4")
    assert (second["campaign"]["issue"], second["steps"][0]["issue"]) == ("DRP-7", "DRP-6")
    assert first["campaign"]["labels"] == ["prodstat_campaign_test_run_ce1ebe61"]
    assert second["campaign"]["labels"] == ["prodstat_campaign_test_run"]
    assert first["steps"][0]["labels"] != second["steps"][0]["labels"]
    assert show(run_cli, setup, "DRP-5")["summary"] == "Campaign test run"
    # Started again from files without keys, each finds its own issues by their labels.
    before = setup.snapshot()
    for name, keys in (("test run", ["DRP-5", "DRP-4"]), ("test_run", ["DRP-7", "DRP-6"])):
        (seeded / f"{name}.yaml").write_text(
            dump_yaml({"name": name, "steps": [{"name": "step1", "workflow_base": "work/step1"}]})
        )
        again = json.loads(ok(run_cli("--json", "update-campaign", f"{name}.yaml", env=setup.env)).stdout)
        assert [again["campaign"]["issue"], again["steps"][0]["issue"]] == keys
        assert again["campaign"]["found_by"] == again["steps"][0]["found_by"] == "label"
    assert setup.snapshot() == before
    # A label is checked against the issue it finds: a name made to read like another's
    # label (the hash included) is refused, naming both.
    (seeded / "spoof.yaml").write_text(
        dump_yaml({"name": "test_run_ce1ebe61", "steps": [{"name": "step2", "workflow_base": "work/step2"}]})
    )
    spoof = run_cli("update-campaign", "spoof.yaml", env=setup.env)
    assert spoof.exit_code == 1 and spoof.stdout == ""
    found = {"key": "DRP-5", "recorded": "test run", "name": "test_run_ce1ebe61"}
    assert spoof.stderr == (
        "prodstat: error: "
        + hierarchy.MSG_LABEL_OTHER_CAMPAIGN.format(label="prodstat_campaign_test_run_ce1ebe61", **found)
        + f"; {uc.HINT_CAMPAIGN_RENAMED.format(given='spoof.yaml', **found)}\n"
    )
    assert setup.snapshot() == before


def test_renamed_issues_keep_their_old_labels_but_are_not_taken_back(
    run_cli: RunCli, setup: TrackerSetup, seeded: Path
) -> None:
    ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    ok(run_cli("update-campaign", "step12test.yaml", "--campaign_name", "step12b", env=setup.env))
    campaign = show(run_cli, setup, "DRP-6")
    assert sorted(campaign["labels"]) == ["prodstat_campaign_step12b", "prodstat_campaign_step12test"]
    assert sorted(show(run_cli, setup, "DRP-4")["labels"]) == [
        "prodstat_step_step12b_step1",
        "prodstat_step_step12test_step1",
    ]
    # A yaml with the old name and no keys finds the renamed issue by its old label and
    # stops, instead of renaming it back.
    before = setup.snapshot()
    write_seed_yaml(seeded)
    result = run_cli("update-campaign", "step12test.yaml", env=setup.env)
    assert result.exit_code == 1 and result.stdout == ""
    found = {"key": "DRP-6", "recorded": "step12b", "name": "step12test"}
    label_message = hierarchy.MSG_LABEL_OTHER_CAMPAIGN.format(label="prodstat_campaign_step12test", **found)
    assert result.stderr == (
        f"prodstat: error: {label_message}; {uc.HINT_CAMPAIGN_RENAMED.format(given='step12test.yaml', **found)}\n"
    )
    assert setup.snapshot() == before
    # update-step's --campaign_name and step labels are checked the same way.
    (seeded / "s.yaml").write_text(f"name: step2\nworkflow_base: {seeded}/work/step2\n")
    old = run_cli("update-step", "s.yaml", "--campaign_name", "step12test", env=setup.env)
    assert old.exit_code == 1
    assert old.stderr == (
        f"prodstat: error: {label_message}; {us.HINT_CAMPAIGN_RENAMED.format(given='s.yaml', **found)}\n"
    )
    ok(run_cli("create-step-yaml", "s2.yaml", "step2", "x", "--step_issue", "DRP-5", env=setup.env))
    renamed = ok(run_cli("update-step", "s2.yaml", "--step_name", "step2b", env=setup.env))
    assert renamed.stdout.startswith("step step2b: DRP-5 (updated)")
    assert "prodstat_step_step12b_step2b" in show(run_cli, setup, "DRP-5")["labels"]
    (seeded / "s3.yaml").write_text(
        f"name: step2\nworkflow_base: {seeded}/work/step2\ncampaign_issue: DRP-6\n"
    )
    before = setup.snapshot()
    stale = run_cli("update-step", "s3.yaml", env=setup.env)
    assert stale.exit_code == 1 and stale.stdout == ""
    recorded = hierarchy.RECORDED_STEP.format(name="step2b", campaign="step12b")
    stale_message = hierarchy.MSG_LABEL_OTHER_STEP.format(
        key="DRP-5", label="prodstat_step_step12b_step2", recorded=recorded, step="step2", campaign="step12b"
    )
    assert stale.stderr == (
        f"prodstat: error: {stale_message}; {hierarchy.HINT_RENAMED.format(how='give --step_issue', key='DRP-5')}\n"
    )
    assert setup.snapshot() == before
    # STEP_NAME names the step a --step_issue must hold.
    other = run_cli("create-step-yaml", "s4.yaml", "step1", "x", "--step_issue", "DRP-5", env=setup.env)
    names = {"kind": "step", "stored": "step2b", "name": "step1"}
    assert other.exit_code == 1 and other.stderr == (
        f"prodstat: error: {cy.MSG_ISSUE_OF_OTHER.format(key='DRP-5', **names)}; "
        f"{cy.HINT_ISSUE_OF_OTHER.format(kind_upper='STEP', **names)}\n"
    )


def test_seed_working_directory(
    run_cli: RunCli, setup: TrackerSetup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed never leaves work/step2: its campaign yaml and both maps sit in step2's workflow_base."""
    record_workflows(run_cli, setup, tmp_path, monkeypatch)
    step2 = tmp_path / "work" / "step2"
    monkeypatch.chdir(step2)
    (step2 / "step12test.yaml").write_text(SEED_CAMPAIGN.format(root=tmp_path))
    ok(run_cli("create-campaign-yaml", "step12test", "step12test.yaml", env=setup.env))
    first = ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    assert first.stdout.splitlines()[3] == "step step2: DRP-5 (created), 1 workflow: DRP-3"
    (step2 / "step1map.yaml").write_text("{\nstep1_1248 : DRP-1,\nstep1_1248_b : DRP-2\n}\n")
    (step2 / "step2map.yaml").write_text("{\nstep2_1248 : DRP-3\n}\n")
    ok(run_cli("map-drp-steps", "step1map.yaml", "DRP-4", "0", env=setup.env))
    ok(run_cli("map-drp-steps", "step2map.yaml", "DRP-5", "0", env=setup.env))
    before = setup.snapshot()
    texts = {p.name: p.read_bytes() for p in step2.iterdir() if p.is_file()}
    again = ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    assert again.stdout.splitlines() == [
        "step step1: DRP-4 (unchanged), 2 workflows: DRP-1, DRP-2",
        "step step2: DRP-5 (unchanged), 1 workflow: DRP-3",
        "campaign step12test: DRP-6 (unchanged), 2 steps: DRP-4, DRP-5",
        "issue:DRP-6",
    ]
    assert again.stderr == ""
    assert setup.snapshot() == before
    assert {p.name: p.read_bytes() for p in step2.iterdir() if p.is_file()} == texts
    assert list(yaml.safe_load(attachment(setup, "DRP-5", "step.yaml"))["workflows"]) == ["step2_1248"]
    # The map is map-drp-steps' attachment; update-campaign attached no map as a workflow.
    assert [a["filename"] for a in show(run_cli, setup, "DRP-5")["attachments"]] == [
        "step2_1248.yaml",
        "step.yaml",
        "step2map.yaml",
    ]
