"""update-campaign and map-drp-steps under tracker failures, on both trackers.

Jira faults come from the emulator (a lasting 500, a reply lost after the server acted);
on the local tracker a real SQLite trigger makes one write fail inside the command's
transaction. Either way: the local tracker is left as it was, Jira's message names the
issue and what is missing, and a re-run completes everything with no duplicates.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import yaml

from lsst.prodstatus.core.markup import read_section
from lsst.prodstatus.script.apply import HINT_INCOMPLETE, MISSING_DESCRIPTION, MSG_INCOMPLETE
from lsst.prodstatus.script.batch import HINT_BATCH_INCOMPLETE, MSG_BATCH_INCOMPLETE
from tests.cli.test_cli_campaign import RunCli, links, managed_sections, ok, show
from tests.cli.test_cli_maps import STEP1_MAP, Seed, step1_table
from tests.cli.test_cli_maps import seed as seed  # the fixture, on both trackers
from tests.services.messages import message_re
from tests.support.trackers import TrackerSetup


@pytest.fixture
def campaign_seeded(
    run_cli: RunCli, setup: TrackerSetup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    from tests.cli.test_cli_campaign import record_workflows, write_seed_yaml

    assert record_workflows(run_cli, setup, tmp_path, monkeypatch) == ["DRP-1", "DRP-2", "DRP-3"]
    write_seed_yaml(tmp_path)
    return tmp_path


def _fail_locally(home: Path, trigger: str) -> None:
    """Make one kind of write of the local tracker fail (a real SQLite error, mid-transaction)."""
    with sqlite3.connect(home / "tracker.sqlite3") as db:
        db.execute(trigger)


def _heal_locally(home: Path) -> None:
    with sqlite3.connect(home / "tracker.sqlite3") as db:
        db.execute("DROP TRIGGER injected_fault")


# -- (a) map-drp-steps: the description write fails after the map yaml's upload ------------------


def test_map_description_failure_after_upload(seed: Seed) -> None:
    setup = seed.setup
    if setup.emulator is not None:
        setup.emulator.inject(500, times=20, path=r"/issue/DRP-489$", method="PUT")
    else:
        _fail_locally(
            setup.home,
            "CREATE TRIGGER injected_fault BEFORE UPDATE OF description ON issues "
            "WHEN NEW.key = 'DRP-489' BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
        )
    before = setup.snapshot()
    failed = seed.run("map-drp-steps", "step1map.yaml", "DRP-489", "0")
    assert failed.exit_code == 3 and failed.stdout == "", failed.stderr
    assert failed.stderr.count("\n") == 1, failed.stderr
    if setup.emulator is not None:
        # The map yaml was attached (and the links made): the message names the issue and
        # that its description is not updated.
        assert failed.exit_code == 3, failed.stderr
        assert "DRP-489" in failed.stderr and MISSING_DESCRIPTION in failed.stderr
        assert failed.stderr.endswith(f"; {HINT_INCOMPLETE.format(key='DRP-489')}\n"), failed.stderr
        assert read_section(seed.description("DRP-489"), "step-map") is None
        setup.emulator.clear_faults()
    else:
        assert setup.snapshot() == before  # one transaction: nothing changed
        _heal_locally(setup.home)
    done = seed.run("map-drp-steps", "step1map.yaml", "DRP-489", "0")
    assert done.exit_code == 0, done.stderr
    assert read_section(seed.description("DRP-489"), "step-map") == step1_table(
        seed, ("blue", "blue"), ("0,0,0,0,0", "0,0,0,0,0")
    )
    issue = seed.issue("DRP-489")
    assert [a.filename for a in issue.attachments].count("step1map.yaml") == 1
    assert seed.tracker.read_attachment("DRP-489", "step1map.yaml") == STEP1_MAP.encode()
    assert sorted(k for k in issue.linked_keys("outward")) == ["DRP-486", "DRP-487"]


# -- (b) update-campaign failing mid-way -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "trigger"),
    [
        (
            r"/issueLink$",
            "POST",
            "CREATE TRIGGER injected_fault BEFORE INSERT ON links BEGIN SELECT RAISE(ABORT, 'injected'); END",
        ),
        (
            r"/attachments$",
            "POST",
            "CREATE TRIGGER injected_fault BEFORE INSERT ON attachments "
            "WHEN NEW.filename = 'campaign.yaml' BEGIN SELECT RAISE(ABORT, 'injected'); END",
        ),
    ],
)
def test_update_campaign_failing_midway(
    run_cli: RunCli, setup: TrackerSetup, campaign_seeded: Path, path: str, method: str, trigger: str
) -> None:
    text = (campaign_seeded / "step12test.yaml").read_bytes()
    if setup.emulator is not None:
        setup.emulator.inject(500, times=50, path=path, method=method)
    else:
        _fail_locally(setup.home, trigger)
    before = setup.snapshot()
    failed = run_cli("update-campaign", "step12test.yaml", env=setup.env)
    assert failed.exit_code == 3 and failed.stdout == "", failed.stderr
    assert failed.stderr.count("\n") == 1, failed.stderr
    assert (campaign_seeded / "step12test.yaml").read_bytes() == text
    if setup.emulator is None:
        assert setup.snapshot() == before
        _heal_locally(setup.home)
    else:
        assert failed.exit_code == 3, failed.stderr
        # The issue that failed is named with what it lacks, and so is what the batch had
        # still to write.
        incomplete = re.compile(message_re(MSG_INCOMPLETE, None, how="created")[1:-1])
        line = failed.stderr.removeprefix("prodstat: error: ").rstrip("\n")
        assert failed.stderr.startswith("prodstat: error: "), failed.stderr
        assert re.match(
            message_re(
                MSG_BATCH_INCOMPLETE, HINT_BATCH_INCOMPLETE, error=incomplete, pending=re.compile("the .*")
            ),
            line,
        ), failed.stderr
        setup.emulator.clear_faults()
    ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    _assert_complete_hierarchy(run_cli, setup, campaign_seeded)


def _assert_complete_hierarchy(run_cli: RunCli, setup: TrackerSetup, root: Path) -> None:
    saved = yaml.safe_load((root / "step12test.yaml").read_text())
    campaign, step1, step2 = saved["issue"], *(s["issue_name"] for s in saved["steps"])
    assert (campaign, step1, step2) == ("DRP-6", "DRP-4", "DRP-5")  # no duplicates: no other keys used
    for key, files, section in (
        (step1, ["step.yaml", "step1_1248.yaml", "step1_1248_b.yaml"], "step"),
        (step2, ["step.yaml", "step2_1248.yaml"], "step"),
        (campaign, ["campaign.yaml"], "campaign"),
    ):
        issue = show(run_cli, setup, key)
        assert sorted(a["filename"] for a in issue["attachments"]) == sorted(files)
        assert read_section(issue["description"], section) is not None
    assert links(show(run_cli, setup, step1)) == [
        ("inward", campaign),
        ("outward", "DRP-1"),
        ("outward", "DRP-2"),
    ]
    assert links(show(run_cli, setup, campaign)) == [("outward", step1), ("outward", step2)]
    assert ok(run_cli("update-campaign", "step12test.yaml", env=setup.env)).stdout.count("(unchanged)") == 3
    if setup.emulator is not None:
        assert len(setup.emulator.snapshot()["issues"]) == 6


# -- (c) a create's reply lost after Jira made the issue ------------------------------------------------


@pytest.mark.parametrize("setup", ["jira"], indirect=True)  # the emulator drops the connection
def test_lost_create_replies_make_one_issue_each(
    run_cli: RunCli, setup: TrackerSetup, campaign_seeded: Path
) -> None:
    assert setup.emulator is not None
    # All three creates (step1, step2, the campaign) are made by Jira, their replies lost.
    setup.emulator.inject(0, times=3, path=r"/issue$", method="POST", drop=True)
    result = ok(run_cli("update-campaign", "step12test.yaml", env=setup.env))
    assert setup.emulator.pending_faults() == 0
    assert result.stdout.splitlines()[-1] == "issue:DRP-6"
    made = managed_sections(run_cli, setup)
    assert sorted(label for label, _, _ in made.values()) == [
        "prodstat_campaign_step12test",
        "prodstat_step_step12test_step1",
        "prodstat_step_step12test_step2",
    ]
    _assert_complete_hierarchy(run_cli, setup, campaign_seeded)


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_lost_step_create_reply_in_update_step(
    run_cli: RunCli, setup: TrackerSetup, campaign_seeded: Path
) -> None:
    assert setup.emulator is not None
    ok(run_cli("create-step-yaml", "s2.yaml", "step2", "work/step2", env=setup.env))
    setup.emulator.inject(0, times=1, path=r"/issue$", method="POST", drop=True)
    result = ok(run_cli("update-step", "s2.yaml", env=setup.env))
    assert result.stdout.splitlines()[-1] == "issue:DRP-4"
    assert sorted(setup.emulator.snapshot()["issues"]) == ["DRP-1", "DRP-2", "DRP-3", "DRP-4"]
    step = show(run_cli, setup, "DRP-4")
    assert sorted(a["filename"] for a in step["attachments"]) == ["step.yaml", "step2_1248.yaml"]
    assert yaml.safe_load((campaign_seeded / "s2.yaml").read_text())["issue_name"] == "DRP-4"
