"""Concurrent update-stat, update-issue and map-drp-steps on one workflow, both trackers.

Each round starts the three commands at once on the testdrp workflow DRP-1 (and the step
issue DRP-2 that maps it): ``update-issue`` with a new PRODUCTION_ISSUE text (its
``production`` section changes every round), ``update-stat --no-butler`` (its ``panda`` and
``status`` sections) and ``map-drp-steps`` of a map that names DRP-1. Afterwards every
managed section of every command is present and holds what its command wrote — no lost
update — there is one issue for the workflow, and no attachment or link is there twice.

On the local tracker this holds exactly (each command is one transaction). On Jira a race
inside milliseconds can undo another command's section (see `JIRA_LOST_UPDATE`): never for
good — the test then runs that command again and checks everything is restored.
"""

from __future__ import annotations

import subprocess
import tarfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from lsst.prodstatus.core.markup import read_section, replace_sections
from tests.cli.test_cli_maps import open_tracker
from tests.e2e.test_campaign_sigkill import PRODSTAT, _env
from tests.support.panda_emulator import PandaEmulator
from tests.support.trackers import TrackerSetup

ROUNDS = 4
JIRA_LOST_UPDATE = (
    "Jira has no conditional edit: each command re-reads the issue right before writing its "
    "description, but a command whose re-read and edit straddle another's edit (milliseconds; "
    "more on a loaded machine) writes back the other's sections as they were, undoing that "
    "edit. Running the undone command again restores it"
)
"""Documented in doc/writes.rst; the test holds Jira to the section being there and sound."""
UNIQ_LABEL = "prodstat_2.2i_all_band_1_v23_0_0_rc5_PREOPS-973_20220127T205042Z"


@pytest.fixture
def panda(shared_data: Path) -> Iterator[PandaEmulator]:
    with PandaEmulator() as emulator:
        emulator.add_recorded(shared_data / "reference" / "panda_query_results.json.gz")
        yield emulator


def _start(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*PRODSTAT, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_no_lost_update(
    setup: TrackerSetup,
    tmp_path: Path,
    shared_data: Path,
    panda: PandaEmulator,
) -> None:
    rounds = ROUNDS
    with tarfile.open(shared_data / "reference" / "testdrp.tgz") as tar:
        tar.extractall(tmp_path / "real", filter="data")
    cwd = tmp_path / "real" / "testdrp"
    env = {**_env(tmp_path, setup.home), **setup.env, "PANDAMON_URL": panda.url}
    if setup.emulator is not None:
        env["PRODSTAT_TRACKER"] = "jira"
    first = subprocess.run(
        [*PRODSTAT, "update-issue", "clusttest_all_1.yaml", "PREOPS-973", "DRP0"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert first.returncode == 0 and first.stdout.splitlines()[-1] == "issue:DRP-1", first.stderr
    setup.seed("DRP-2", "Step clust", "", labels=("prodstat_step_clusttest_clust",))
    (tmp_path / "map.yaml").write_text("{clusttest_all_1: DRP-1}\n")

    lost: list[str] = []
    for n in range(rounds):
        production = f"PREOPS-{900 + n} round {n}"
        with (tmp_path / "map.yaml").open("a") as stream:
            stream.write(f"# round {n}\n")
        # update-stat's sections removed by hand: all three commands write each round.
        tracker = open_tracker(setup)
        try:
            desc = tracker.get_issue("DRP-1").description
            tracker.update_issue("DRP-1", description=replace_sections(desc, {"panda": None, "status": None}))
        finally:
            tracker.close()
        commands = {
            "update-issue": ["update-issue", "clusttest_all_1.yaml", production, "DRP-1"],
            "update-stat": ["update-stat", "PREOPS-973", "DRP-1", "--no-butler"],
            "map-drp-steps": ["map-drp-steps", str(tmp_path / "map.yaml"), "DRP-2", "0"],
        }
        procs = {name: _start(args, cwd, env) for name, args in commands.items()}
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=300)
            assert out.splitlines()[-1] == f"issue:{'DRP-2' if name == 'map-drp-steps' else 'DRP-1'}"
            assert proc.returncode == 0, f"round {n}: {name}: {err}"

        tracker = open_tracker(setup)
        try:
            workflow = tracker.get_issue("DRP-1")
            step = tracker.get_issue("DRP-2")
            same = tracker.search(labels=[UNIQ_LABEL])
        finally:
            tracker.close()
        desc = workflow.description
        assert [i.key for i in same] == ["DRP-1"], f"round {n}: one issue per workflow"
        assert "BPS Submit Keywords:" in desc, f"round {n}: the BPS block was lost"
        missing = [
            name
            for name, present in (
                ("update-stat", read_section(desc, "panda") and read_section(desc, "status")),
                ("update-issue", production in (read_section(desc, "production") or "")),
            )
            if not present
        ]
        if missing and setup.emulator is None:
            raise AssertionError(f"round {n}: lost the sections of {missing}")  # one transaction each
        if missing:
            # Jira has no conditional edit (see JIRA_LOST_UPDATE): a command whose re-read and
            # edit straddled another's can undo that one's section. Never for good: running
            # the command again restores it, and leaves every other section as it is.
            lost.append(f"round {n}: {missing}")
            for name in missing:
                again = subprocess.run(
                    [*PRODSTAT, *commands[name]], cwd=cwd, env=env, capture_output=True, text=True
                )
                assert again.returncode == 0, again.stderr
            tracker = open_tracker(setup)
            try:
                desc = tracker.get_issue("DRP-1").description
            finally:
                tracker.close()
            assert read_section(desc, "panda") and read_section(desc, "status"), f"round {n}: not restored"
            assert production in (read_section(desc, "production") or ""), f"round {n}: not restored"
        assert read_section(step.description, "step-map"), f"round {n}: the step map section was lost"
        assert "DRP-1" in read_section(step.description, "step-map")
        for issue in (workflow, step):
            names = Counter(a.filename for a in issue.attachments)
            assert all(c == 1 for c in names.values()), f"round {n}: {issue.key} attachments {names}"
            links = Counter((link.link_type, link.direction, link.other_key) for link in issue.links)
            assert all(c == 1 for c in links.values()), f"round {n}: {issue.key} links {links}"
    print("\n".join(lost))  # Jira rounds that raced (see JIRA_LOST_UPDATE)
