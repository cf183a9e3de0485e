"""Concurrent update-stat, update-issue and map-drp-steps on one workflow, both trackers.

Each round starts the three commands at once on the testdrp workflow DRP-1 (and the step
issue DRP-2 that maps it): ``update-issue`` with a new PRODUCTION_ISSUE text (its
``production`` section changes every round), ``update-stat --no-butler`` (its ``panda`` and
``status`` sections) and ``map-drp-steps`` of a map that names DRP-1. Afterwards every
managed section of every command is present and holds what its command wrote — no lost
update — there is one issue for the workflow, and no attachment or link is there twice.

On the local tracker this holds exactly (each command is one transaction). On Jira every
section is there and sound, but a race inside milliseconds can leave one at its previous
value: see `JIRA_LOST_UPDATE`.
"""

from __future__ import annotations

import subprocess
import tarfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from lsst.prodstatus.core.markup import read_section, replace_sections
from tests.support.panda_emulator import PandaEmulator
from tests.support.trackers import TrackerSetup
from tests.test_campaign_sigkill import PRODSTAT, _env
from tests.test_cli_maps import open_tracker

ROUNDS = 4
JIRA_LOST_UPDATE = (
    "Jira has no conditional edit: a command re-reads the issue right before writing its "
    "description, but an update-issue that writes DRP-1 between update-stat's re-read and its "
    "edit (milliseconds) can lose its production section's new value (the section keeps the "
    "previous one). Closing it would take a read-back after every edit (one more request)"
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
        procs = {
            "update-issue": _start(["update-issue", "clusttest_all_1.yaml", production, "DRP-1"], cwd, env),
            "update-stat": _start(["update-stat", "PREOPS-973", "DRP-1", "--no-butler"], cwd, env),
            "map-drp-steps": _start(["map-drp-steps", str(tmp_path / "map.yaml"), "DRP-2", "0"], cwd, env),
        }
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
        for section in ("panda", "status"):
            assert read_section(desc, section), f"round {n}: update-stat's {section} section lost"
        assert "BPS Submit Keywords:" in desc, f"round {n}: the BPS block was lost"
        held = read_section(desc, "production") or ""
        # Never missing or damaged, on either tracker.
        assert held.startswith("PanDA PREOPS: PREOPS-9"), f"round {n}: production section {held!r}"
        if production not in desc:
            lost.append(
                f"round {n}: update-issue's production {production!r} lost, the section holds {held!r}"
            )
        assert read_section(step.description, "step-map"), f"round {n}: the step map section was lost"
        assert "DRP-1" in read_section(step.description, "step-map")
        for issue in (workflow, step):
            names = Counter(a.filename for a in issue.attachments)
            assert all(c == 1 for c in names.values()), f"round {n}: {issue.key} attachments {names}"
            links = Counter((link.link_type, link.direction, link.other_key) for link in issue.links)
            assert all(c == 1 for c in links.values()), f"round {n}: {issue.key} links {links}"
    if setup.emulator is None:
        assert not lost, "; ".join(lost)  # one transaction per command: exact
    else:
        # Jira: at most an older value, from a command whose read and edit straddled this
        # one's (see JIRA_LOST_UPDATE); the re-run of update-issue restores it.
        print("\n".join(lost))
