"""``prodstat update-stat`` end to end: recorded PanDA replies on the loopback monitor
emulator, a real Butler repo with planted metadata, both trackers."""

from __future__ import annotations

import csv
import gzip
import json
import re
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lsst.prodstatus.cli.render import UNREADABLE_WARNING
from lsst.prodstatus.config import MSG_DIR_NOT_CREATED, PandaSettings
from lsst.prodstatus.core.bps import MSG_PLACEHOLDER_UNRESOLVED
from lsst.prodstatus.core.ids import kind_phrase
from lsst.prodstatus.core.markup import read_section, split_wiki_row
from lsst.prodstatus.script.update_stat import (
    HINT_CANNOT_EXPAND,
    HINT_DESCRIPTION_TOO_LONG,
    HINT_NO_BPS_BLOCK,
    HINT_NO_BUTLER_CONFIG,
    HINT_NO_TIMESTAMP,
    HINT_NOT_WORKFLOW,
    MSG_CANNOT_EXPAND,
    MSG_DESCRIPTION_TOO_LONG,
    MSG_NO_BPS_BLOCK,
    MSG_NO_BUTLER_CONFIG,
    MSG_NO_TIMESTAMP,
    MSG_NOT_WORKFLOW,
)
from lsst.prodstatus.services import panda as panda_messages
from lsst.prodstatus.services.butler import MSG_REPO_MISSING, MSG_RUN_MISSING, REPO_HINT
from tests.conftest import CliResult
from tests.services.messages import message_prefix, message_re
from tests.support.butler_repo import BuiltRepo, PlantedQuantum, make_butler_repo
from tests.support.panda_emulator import PandaEmulator
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]
RUN = "2.2i/all_band_1/v23_0_0_rc5/PREOPS-973/20220127T205042Z"
UNIQ = "2.2i_all_band_1_v23_0_0_rc5_PREOPS-973_20220127T205042Z"


@pytest.fixture(scope="module")
def butler_repo(tmp_path_factory: pytest.TempPathFactory) -> BuiltRepo:
    """A real repo whose RUN is the testdrp workflow's, with known values (and another RUN)."""
    start = datetime(2022, 1, 27, 21, 0, tzinfo=UTC)
    quanta = {
        "isr": [
            PlantedQuantum("isr", 100.0 + i, 120.0 + i, (2 + i) * 2**30, start + timedelta(minutes=i))
            for i in range(6)
        ],
        "characterizeImage": [
            PlantedQuantum("characterizeImage", 300.5, 310.0, 3 * 2**30, start + timedelta(minutes=30 + i))
            for i in range(4)
        ],
        "visit_detector_1_merge": [
            PlantedQuantum("visit_detector_1_merge", 7.25, 9.0, 2**29, start + timedelta(hours=1))
        ],
    }
    root = tmp_path_factory.mktemp("butler") / "repo"
    return make_butler_repo(
        root, RUN, quanta, other_runs=[RUN.replace("20220127T205042Z", "20220114T195544Z")]
    )


@pytest.fixture(scope="module")
def recorded(shared_data: Path) -> dict[str, Any]:
    with gzip.open(shared_data / "reference" / "panda_query_results.json.gz") as f:
        return dict(json.load(f))


@pytest.fixture
def panda(shared_data: Path) -> Iterator[PandaEmulator]:
    with PandaEmulator() as emulator:
        emulator.add_recorded(shared_data / "reference" / "panda_query_results.json.gz")
        yield emulator


@pytest.fixture
def workflow_issue(
    run_cli: RunCli,
    setup: TrackerSetup,
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    panda: PandaEmulator,
) -> str:
    """DRP-1: the testdrp workflow recorded by update-issue; PANDAMON_URL points at the emulator."""
    with tarfile.open(shared_data / "reference" / "testdrp.tgz") as tar:
        tar.extractall(tmp_path / "real", filter="data")
    monkeypatch.chdir(tmp_path / "real" / "testdrp")
    setup.env["PANDAMON_URL"] = panda.url
    result = run_cli("update-issue", "clusttest_all_1.yaml", "PREOPS-973", env=setup.env)
    assert result.exit_code == 0, result.stderr
    return "DRP-1"


def table(section: str) -> tuple[list[str], dict[str, list[str]]]:
    rows = [split_wiki_row(line) for line in section.splitlines() if line.startswith("|")]
    header = rows[0][1]
    return header, {cells[0]: cells for is_header, cells in rows[1:]}


def description(run_cli: RunCli, setup: TrackerSetup, key: str) -> str:
    result = run_cli("--json", "show", key, env=setup.env)
    assert result.exit_code == 0, result.stderr
    return str(json.loads(result.stdout)["description"])


def test_statistics_written_correct_and_idempotent(
    run_cli: RunCli,
    setup: TrackerSetup,
    workflow_issue: str,
    butler_repo: BuiltRepo,
    recorded: dict[str, Any],
    prodstat_env: Path,
) -> None:
    args = ("update-stat", "PREOPS-973", workflow_issue, "--butler", str(butler_repo.root))
    first = run_cli(*args, env=setup.env)
    assert first.exit_code == 0, first.stderr
    assert first.stdout.splitlines()[-2:] == [
        f"updated {workflow_issue}: statistics",
        f"issue:{workflow_issue}",
    ]
    desc = description(run_cli, setup, workflow_issue)

    # PanDA: per label, from the raw recorded jobs (independent pandas computation).
    tasks = next(v for k, v in recorded.items() if "/tasks/" in k)
    names = {t["jeditaskid"]: t["taskname"] for t in tasks}
    jobs = pd.DataFrame([j for k, v in recorded.items() if "/jobs/" in k for j in v["jobs"]])
    jobs["label"] = jobs["jeditaskid"].map(lambda t: names[t][len(UNIQ) + 1 :].rsplit("_", 2)[0])
    jobs["core"] = jobs["durationsec"] * jobs["actualcorecount"]
    truth = jobs.groupby("label").agg(
        n=("pandaid", "size"),
        wall=("durationsec", "sum"),
        core=("core", "sum"),
        rss=("maxrss", "max"),
        retried=("attemptnr", lambda a: int((a > 1).sum())),
    )
    panda_section = read_section(desc, "panda")
    assert panda_section is not None
    assert "PanDA request: 777 status finished, created 2022-01-27 20:56:46 UTC" in panda_section
    header, rows = table(panda_section)
    assert header[:4] == ["Label", "Tasks", "Jobs", "Finished"]
    for label, row in truth.iterrows():
        cells = dict(zip(header, rows[str(label)], strict=True))
        assert int(cells["Jobs"]) == row.n == int(cells["Finished"])
        assert int(cells["Retried"]) == row.retried
        assert cells["Wall h"] == f"{row.wall / 3600:.2f}"
        assert cells["Core h"] == f"{row.core / 3600:.2f}"
        assert cells["maxRSS GiB"] == f"{row.rss / 2**20:.2f}"
        assert cells["CPU h"].endswith("(?)")  # 2022 PanDA CPU was 1 s per job
    total = dict(zip(header, rows["*workflow*"], strict=True))
    assert int(total["Jobs"]) == int(truth.n.sum())
    assert total["Core h"] == f"{truth.core.sum() / 3600:.2f}"
    assert read_section(desc, "status") == (
        "Status:finished nTasks:3 nFiles:212 nRemain:0 nProc: nFinish:3 nFail:0 nSubFinish:0"
    )

    # Butler: the planted truth of the RUN only.
    butler_section = read_section(desc, "butler")
    assert butler_section is not None and f"RUN {RUN} in {butler_repo.root}" in butler_section
    header, rows = table(butler_section)
    for label, planted in butler_repo.truth.items():
        cells = dict(zip(header, rows[label], strict=True))
        assert int(cells["nQuanta"]) == planted.n_quanta
        assert cells["CPU h"] == f"{planted.cpu_hours:.2f}"
        assert cells["maxRSS GiB"] == f"{planted.max_rss_bytes / 2**30:.2f}"  # type: ignore[operator]
        assert cells["First start (UTC)"] == planted.first_start.strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[union-attr]
    run_row = dict(zip(header, rows["*run*"], strict=True))
    assert int(run_row["nQuanta"]) == butler_repo.total_quanta == 11
    assert "otherRunOnly" not in butler_section

    # Saved tables.
    stats_dir = prodstat_env / "stats" / workflow_issue
    assert sorted(p.name for p in stats_dir.iterdir()) == [
        "butler.csv",
        "butler.json",
        "failures.csv",
        "failures.json",
        "panda.csv",
        "panda.json",
    ]
    assert json.loads((stats_dir / "panda.json").read_text())["request_id"] == 777

    # Twice: identical description, nothing written the second time.
    before = setup.snapshot()
    again = run_cli(*args, env=setup.env)
    assert again.exit_code == 0, again.stderr
    assert f"unchanged {workflow_issue}: statistics" in again.stdout
    assert description(run_cli, setup, workflow_issue) == desc
    assert setup.snapshot() == before


def test_human_text_survives_and_sections_keep_order(
    run_cli: RunCli, setup: TrackerSetup, workflow_issue: str, butler_repo: BuiltRepo
) -> None:
    args = ("update-stat", "PREOPS-973", workflow_issue, "--butler", str(butler_repo.root))
    assert run_cli(*args, env=setup.env).exit_code == 0
    desc = description(run_cli, setup, workflow_issue)
    note = "Operator: 3 jobs hit the S3 outage, rerun in DRP-2.\n"
    edited = desc.replace("{anchor:prodstat-panda}", note + "{anchor:prodstat-panda}")
    tracker = setup.open()
    tracker.update_issue(workflow_issue, description=edited)
    tracker.close()
    assert run_cli(*args, "--sample", "2", env=setup.env).exit_code == 0
    after = description(run_cli, setup, workflow_issue)
    assert note in after
    assert (
        after.index("{anchor:prodstat-production}")
        < after.index("{anchor:prodstat-butler}")
        < after.index(note)
        < after.index("{anchor:prodstat-panda}")
        < after.index("{anchor:prodstat-status}")
    )
    assert " est." in (read_section(after, "butler") or "")


def test_no_panda_and_no_butler(
    run_cli: RunCli, setup: TrackerSetup, workflow_issue: str, butler_repo: BuiltRepo, panda: PandaEmulator
) -> None:
    only_panda = run_cli("update-stat", "PREOPS-973", workflow_issue, "--no-butler", env=setup.env)
    assert only_panda.exit_code == 0, only_panda.stderr
    desc = description(run_cli, setup, workflow_issue)
    assert read_section(desc, "panda") and read_section(desc, "butler") is None
    panda.down()
    only_butler = run_cli(
        "update-stat",
        "PREOPS-973",
        workflow_issue,
        "--no-panda",
        "--butler",
        str(butler_repo.root),
        env=setup.env,
    )
    assert only_butler.exit_code == 0, only_butler.stderr
    desc2 = description(run_cli, setup, workflow_issue)
    assert read_section(desc2, "butler") and read_section(desc2, "panda") == read_section(desc, "panda")


def test_dry_run_and_json(
    run_cli: RunCli, setup: TrackerSetup, workflow_issue: str, butler_repo: BuiltRepo
) -> None:
    before = setup.snapshot()
    result = run_cli(
        "--dry-run",
        "--json",
        "update-stat",
        "PREOPS-973",
        workflow_issue,
        "--butler",
        str(butler_repo.root),
        env=setup.env,
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["action"] == "would update" and data["issue"] == workflow_issue
    assert data["panda"]["request_id"] == 777
    assert data["butler"]["n_quanta"] == 11
    assert setup.snapshot() == before


# -- failures: message, exit code, issue untouched -------------------------------------------------


def _expect_failure(
    run_cli: RunCli, setup: TrackerSetup, args: list[str], code: int, start: str
) -> CliResult:
    before = setup.snapshot()
    result = run_cli(*args, env=setup.env)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stderr.startswith(start), result.stderr
    assert result.stderr.count("\n") == 1
    assert setup.snapshot() == before
    return result


def test_panda_down_keeps_old_statistics(
    run_cli: RunCli, setup: TrackerSetup, workflow_issue: str, butler_repo: BuiltRepo, panda: PandaEmulator
) -> None:
    assert (
        run_cli(
            "update-stat", "PREOPS-973", workflow_issue, "--butler", str(butler_repo.root), env=setup.env
        ).exit_code
        == 0
    )
    panda.down()
    setup.env["PRODSTAT_PANDA_RETRIES"] = "0"
    _expect_failure(
        run_cli,
        setup,
        ["update-stat", "PREOPS-973", workflow_issue, "--butler", str(butler_repo.root)],
        3,
        "prodstat: error: "
        + message_prefix(panda_messages.MSG_FAILED, monitor=panda.url)
        + message_prefix(panda_messages.PROBLEM_CONNECT),
    )


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            {"status": 200, "body": "<html><body>Please log in</body></html>"},
            message_prefix(panda_messages.MSG_HTML, monitor="{url}"),
        ),
        (
            {"status": 429, "headers": {"Retry-After": "0"}},
            message_prefix(
                panda_messages.MSG_FAILED,
                monitor="{url}",
                problem=panda_messages.PROBLEM_HTTP.format(status=429),
            ),
        ),
        (
            {"status": 503},
            message_prefix(
                panda_messages.MSG_FAILED,
                monitor="{url}",
                problem=panda_messages.PROBLEM_HTTP.format(status=503),
            ),
        ),
    ],
)
def test_panda_faults_exit_3(
    run_cli: RunCli,
    setup: TrackerSetup,
    workflow_issue: str,
    butler_repo: BuiltRepo,
    panda: PandaEmulator,
    fault: dict[str, Any],
    message: str,
) -> None:
    panda.inject(times=100, path=r"^/jobs/", **fault)
    setup.env["PRODSTAT_PANDA_RETRIES"] = "1"
    result = _expect_failure(
        run_cli,
        setup,
        ["update-stat", "PREOPS-973", workflow_issue, "--butler", str(butler_repo.root)],
        3,
        "prodstat: error: " + message_prefix(panda_messages.MSG_FAILED),
    )
    assert message.format(url=setup.env["PANDAMON_URL"]) in result.stderr


def test_panda_timeout_exit_3(
    run_cli: RunCli, setup: TrackerSetup, workflow_issue: str, butler_repo: BuiltRepo, panda: PandaEmulator
) -> None:
    panda.inject(None, times=100, path=r"^/tasks/", delay=3.0)
    setup.env.update(PRODSTAT_PANDA_RETRIES="0", PRODSTAT_PANDA_TIMEOUT="1")
    result = _expect_failure(
        run_cli,
        setup,
        ["update-stat", "PREOPS-973", workflow_issue, "--butler", str(butler_repo.root)],
        3,
        "prodstat: error: " + message_prefix(panda_messages.MSG_FAILED),
    )
    assert panda_messages.PROBLEM_TIMEOUT.format(seconds=1.0) in result.stderr


def test_workflow_not_in_panda(
    run_cli: RunCli, setup: TrackerSetup, workflow_issue: str, butler_repo: BuiltRepo, tmp_path: Path
) -> None:
    with PandaEmulator() as empty:
        setup.env["PANDAMON_URL"] = empty.url
        _expect_failure(
            run_cli,
            setup,
            ["update-stat", "PREOPS-973", workflow_issue, "--butler", str(butler_repo.root)],
            1,
            "prodstat: error: "
            + message_prefix(panda_messages.MSG_WORKFLOW_NOT_FOUND, name=UNIQ.lower(), monitor=empty.url),
        )


def test_butler_repo_and_run_missing(
    run_cli: RunCli, setup: TrackerSetup, workflow_issue: str, butler_repo: BuiltRepo, tmp_path: Path
) -> None:
    _expect_failure(
        run_cli,
        setup,
        ["update-stat", "PREOPS-973", workflow_issue, "--no-panda", "--butler", str(tmp_path / "nowhere")],
        1,
        f"prodstat: error: {MSG_REPO_MISSING.format(repo=tmp_path / 'nowhere')}; {REPO_HINT}\n",
    )
    other = make_butler_repo(tmp_path / "other-repo", "u/someone/other/20250101T000000Z", n_per_label=1)
    result = _expect_failure(
        run_cli,
        setup,
        ["update-stat", "PREOPS-973", workflow_issue, "--no-panda", "--butler", str(other.root)],
        1,
        f"prodstat: error: {MSG_RUN_MISSING.format(run=RUN, repo=other.root)}; ",
    )
    assert RUN in result.stderr


def test_issue_without_timestamp_or_butler_config(
    run_cli: RunCli, setup: TrackerSetup, panda: PandaEmulator
) -> None:
    setup.env["PANDAMON_URL"] = panda.url
    setup.seed("DRP-1", "Step step1", "no workflow here")
    _expect_failure(
        run_cli,
        setup,
        ["update-stat", "PREOPS-973", "DRP-1"],
        1,
        f"prodstat: error: {MSG_NOT_WORKFLOW.format(key='DRP-1', kind=kind_phrase('step'), summary='Step step1')}; "
        f"{HINT_NOT_WORKFLOW}\n",
    )
    block = (
        "BPS Submit Keywords:\n{code}\ncampaign: c/PREOPS-973\npayloadName:x\n"
        "output:{payloadName}/{campaign}\n{code}\n"
    )
    setup.seed("DRP-2", "step1#c/PREOPS-973/20220127T205042Z", block)
    _expect_failure(
        run_cli,
        setup,
        ["update-stat", "PREOPS-973", "DRP-2"],
        1,
        f"prodstat: error: {MSG_NO_BUTLER_CONFIG.format(key='DRP-2')}; {HINT_NO_BUTLER_CONFIG}\n",
    )
    setup.seed("DRP-3", "a request", "no workflow here")
    _expect_failure(
        run_cli,
        setup,
        ["update-stat", "DRP-3"],
        1,
        f"prodstat: error: {MSG_NO_TIMESTAMP.format(key='DRP-3', summary='a request')}; {HINT_NO_TIMESTAMP}\n",
    )


def test_issue_whose_bps_block_names_no_run(run_cli: RunCli, setup: TrackerSetup) -> None:
    summary = "step1#c/PREOPS-973/20220127T205042Z"
    setup.seed("DRP-1", summary, "a workflow recorded by hand, without its BPS block")
    _expect_failure(
        run_cli,
        setup,
        ["update-stat", "PREOPS-973", "DRP-1", "--no-panda"],
        1,
        f"prodstat: error: {MSG_NO_BPS_BLOCK.format(key='DRP-1')}; {HINT_NO_BPS_BLOCK.format(key='DRP-1')}\n",
    )
    template = "{payloadName}/{nothere}"
    block = f"BPS Submit Keywords:\n{{code}}\npayloadName:x\noutput:{template}\n{{code}}\n"
    setup.seed("DRP-2", summary, block)
    reason = MSG_PLACEHOLDER_UNRESOLVED.format(name="nothere", template=template)
    _expect_failure(
        run_cli,
        setup,
        ["update-stat", "PREOPS-973", "DRP-2", "--no-panda"],
        1,
        f"prodstat: error: {MSG_CANNOT_EXPAND.format(output=template, key='DRP-2', reason=reason)}; "
        f"{HINT_CANNOT_EXPAND}\n",
    )


def test_issue_written_by_the_original_tool(
    run_cli: RunCli, setup: TrackerSetup, butler_repo: BuiltRepo, panda: PandaEmulator
) -> None:
    setup.env["PANDAMON_URL"] = panda.url
    original = (
        "BPS Submit Keywords:\n{code}\nproject: dp02\ncampaign: v23_0_0_rc5/PREOPS-973\n"
        "pipelineYaml: ${OBS_LSST_DIR}/pipelines/imsim/DRP.yaml#step1\npayloadName:2.2i/all_band_1\n"
        f"butlerConfig:{butler_repo.root}\noutput:{{payloadName}}/{{campaign}}\n{{code}}\n"
        "Butler Statistics\n|| Step || Task || Start || nQ || sec/Q || sum(hr) || maxGB ||\n\n"
    )
    setup.seed("DRP-1", "step1#v23_0_0_rc5/PREOPS-973/20220127T205042Z", original)
    result = run_cli("update-stat", "PREOPS-973", "DRP-1", env=setup.env)
    assert result.exit_code == 0, result.stderr
    desc = description(run_cli, setup, "DRP-1")
    assert desc.startswith(original)
    assert "PanDA request: 777" in (read_section(desc, "panda") or "")
    assert "|isr|6|" in (read_section(desc, "butler") or "")


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_jira_round_trips(
    run_cli: RunCli, workflow_issue: str, setup: TrackerSetup, butler_repo: BuiltRepo
) -> None:
    assert setup.emulator is not None
    setup.emulator.reset_requests()
    assert (
        run_cli(
            "update-stat", "PREOPS-973", workflow_issue, "--butler", str(butler_repo.root), env=setup.env
        ).exit_code
        == 0
    )
    # After login: a read, a read again right before writing when the statistics took more
    # than two seconds (an edit made meanwhile must survive), and one write (at most 3).
    assert setup.reads_after_login() in (2, 3)
    assert setup.writes() == 1


def test_long_tables_are_cut_and_attached(
    run_cli: RunCli,
    setup: TrackerSetup,
    workflow_issue: str,
    butler_repo: BuiltRepo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lsst.prodstatus.script import update_stat

    full = run_cli(
        "update-stat", "PREOPS-973", workflow_issue, "--butler", str(butler_repo.root), env=setup.env
    )
    assert full.exit_code == 0
    # 150 characters less than the full statistics need: the tables must be cut.
    limit = len(description(run_cli, setup, workflow_issue)) - 150
    monkeypatch.setattr(update_stat, "DESCRIPTION_LIMIT", limit)
    result = run_cli(
        "update-stat", "PREOPS-973", workflow_issue, "--butler", str(butler_repo.root), env=setup.env
    )
    assert result.exit_code == 0, result.stderr
    assert f"attached butler-{workflow_issue}.csv" in result.stdout
    assert f"attached panda-{workflow_issue}.csv" in result.stdout
    desc = description(run_cli, setup, workflow_issue)
    assert len(desc) <= limit
    assert f"rows not shown: the full table is attached as panda-{workflow_issue}.csv" in desc
    # the last row (the total) is always kept
    assert "|*workflow*|" in (read_section(desc, "panda") or "")
    shown = json.loads(run_cli("--json", "show", workflow_issue, env=setup.env).stdout)
    names = {a["filename"] for a in shown["attachments"]}
    assert {f"panda-{workflow_issue}.csv", f"butler-{workflow_issue}.csv"} <= names


# -- a current-era workflow: retries, failures, chunked labels, 2023 replies, running jobs -----------


def test_synthetic_workflow_figures_equal_the_raw_jobs(
    run_cli: RunCli, setup: TrackerSetup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.panda_workflows import all_jobs, make_workflow
    from tests.support.submit_trees import make_submit_tree

    tree = make_submit_tree(
        tmp_path / "w",
        "step3_a.yaml",
        step="step3",
        layout="qg",
        exec_butler=False,
        timestamps=["20250902T101010Z"],
    )
    ((ts, run_files),) = tree.runs.items()
    workflow = make_workflow(
        run_files.uniq,
        4242,
        labels=["pipetaskInit", "makeWarp", "assembleCoadd", "finalJob"],
        jobs_per_task={"pipetaskInit": 1, "makeWarp": 60, "assembleCoadd": 40, "finalJob": 1},
        chunks={"makeWarp": 3},
        naming="current",
        shape="2023",
        seed=7,
        retry_fraction=0.2,
        failed_fraction=0.1,
        cancelled_fraction=0.05,
        running=True,
        running_fraction=0.2,
        cpu_mode="real",
    )
    with PandaEmulator() as panda:
        panda.add_workflow(workflow)
        # The reqid query answers nothing: prodstat must fall back to the task-name wildcard.
        panda.inject(200, times=1, path=r"reqid=4242", body="[]", content_type="application/json")
        setup.env["PANDAMON_URL"] = panda.url
        monkeypatch.chdir(tree.workdir)
        assert run_cli("update-issue", "step3_a.yaml", "PREOPS-1", env=setup.env).exit_code == 0
        result = run_cli("--json", "update-stat", "PREOPS-1", "DRP-1", "--no-butler", env=setup.env)
        assert result.exit_code == 0, result.stderr
        assert any(
            "taskname=" in r.query.get("taskname", "") or "taskname" in r.query for r in panda.requests
        )

    data = json.loads(result.stdout)["panda"]
    labels = {d["label"]: d for d in data["labels"]}
    assert set(labels) == {"pipetaskInit", "makeWarp", "assembleCoadd", "finalJob"}
    assert labels["makeWarp"]["tasks"] == 3  # three chunk tasks, one label
    frame = pd.DataFrame(all_jobs(workflow))  # every attempt of every job: what mode=nodrop serves
    names = {t["jeditaskid"]: t["taskname"] for t in workflow.tasks}
    frame["label"] = frame["jeditaskid"].map(
        lambda t: names[t].split(f"{ts}_", 1)[1].split("_", 1)[1].rsplit("_", 1)[0]
    )
    frame["core"] = frame["durationsec"].fillna(0) * frame["actualcorecount"].fillna(1)
    for label, group in frame.groupby("label"):
        got = labels[str(label)]
        assert got["jobs"] == len(group)
        assert got["finished"] == int((group.jobstatus == "finished").sum())
        assert got["failed"] == int((group.jobstatus == "failed").sum())
        assert got["cancelled"] == int(group.jobstatus.isin(["cancelled", "closed"]).sum())
        assert got["other"] == int(
            (~group.jobstatus.isin(["finished", "failed", "cancelled", "closed"])).sum()
        )
        assert got["retried"] == int((group.attemptnr > 1).sum())
        assert got["wall_seconds"] == pytest.approx(group.durationsec.fillna(0).sum())
        assert got["core_hours"] == pytest.approx(group.core.sum() / 3600)
        assert got["max_rss_kb"] == pytest.approx(group.maxrss.max())
    total = data["workflow"]
    assert total["jobs"] == len(frame) and total["retried"] == int((frame.attemptnr > 1).sum()) > 0
    assert total["failed"] > 0 and total["other"] > 0
    assert data["status_line"].startswith("Status:")


# -- both sides at once ---------------------------------------------------------------------------


def _panda_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "panda-stats" or t.name.startswith("panda-jobs")]


def test_panda_queries_run_while_the_butler_is_read(
    setup: TrackerSetup, workflow_issue: str, butler_repo: BuiltRepo, panda: PandaEmulator
) -> None:
    from lsst.prodstatus.script.update_stat import update_workflow_stats
    from lsst.prodstatus.services.tracker.local import LocalTracker

    if setup.name != "local":
        pytest.skip("the order of the two sides does not depend on the tracker")
    panda.latency = 1.0  # every PanDA reply: 1 s, so its job queries end >= 3 s after the start
    events: list[tuple[float, str]] = []

    def progress(label: str, _total: int) -> Callable[[int, int], None]:
        return lambda done, total: events.append((time.time(), label))

    tracker = LocalTracker(setup.home)
    try:
        result = update_workflow_stats(
            tracker,
            workflow_issue,
            home=setup.home,
            panda=PandaSettings(panda.url),
            butler_repo=str(butler_repo.root),
            progress=progress,
            dry_run=True,
        )
    finally:
        tracker.close()
    assert result.panda is not None and result.butler is not None
    butler_started = min(t for t, label in events if label == "Butler metadata reads")
    last_job_query = max(r.time for r in panda.requests if r.path == "/jobs/")
    assert butler_started < last_job_query  # the Butler was read while PanDA was still busy
    assert not _panda_threads()


def test_panda_failure_stops_the_butler_side(
    run_cli: RunCli, setup: TrackerSetup, workflow_issue: str, tmp_path: Path, panda: PandaEmulator
) -> None:
    # Retries would make the PanDA side last; it fails at once, and must not wait for the
    # Butler side (whose reads stop at the next dataset) to report it.
    panda.inject(503, times=100, path=r"^/idds/")
    setup.env["PRODSTAT_PANDA_RETRIES"] = "0"
    big = make_butler_repo(tmp_path / "big", RUN, labels=["isr"], n_per_label=400, extra_dataset_types=False)
    result = _expect_failure(
        run_cli,
        setup,
        ["update-stat", "PREOPS-973", workflow_issue, "--butler", str(big.root)],
        3,
        "prodstat: error: "
        + message_prefix(
            panda_messages.MSG_FAILED,
            monitor=panda.url,
            problem=panda_messages.PROBLEM_HTTP.format(status=503),
        ),
    )
    assert "Butler" not in result.stderr
    assert not _panda_threads()


def test_butler_failure_stops_the_panda_side(
    run_cli: RunCli, setup: TrackerSetup, workflow_issue: str, tmp_path: Path, panda: PandaEmulator
) -> None:
    panda.latency = 30.0  # the PanDA side would take minutes
    started = time.monotonic()
    _expect_failure(
        run_cli,
        setup,
        ["update-stat", "PREOPS-973", workflow_issue, "--butler", str(tmp_path / "nowhere")],
        1,
        f"prodstat: error: {MSG_REPO_MISSING.format(repo=tmp_path / 'nowhere')}; {REPO_HINT}\n",
    )
    assert time.monotonic() - started < 20
    panda.stop()  # the request in flight ends; the stopped client sends no other
    for thread in _panda_threads():
        thread.join(10)
    assert not _panda_threads()
    assert panda.count("/jobs/") == 0


# -- more bad input ----------------------------------------------------------------------------------


def test_unreadable_metadata_is_reported(
    run_cli: RunCli, setup: TrackerSetup, workflow_issue: str, tmp_path: Path
) -> None:
    from tests.support.butler_repo import Damage

    damaged = make_butler_repo(
        tmp_path / "damaged",
        RUN,
        n_per_label=3,
        unreadable=[Damage("isr", 0, "missing"), Damage("isr", 1, "corrupt")],
    )
    result = run_cli(
        "--json",
        "update-stat",
        "PREOPS-973",
        workflow_issue,
        "--no-panda",
        "--butler",
        str(damaged.root),
        env=setup.env,
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)["butler"]
    assert data["n_unreadable"] == 2 and len(data["unreadable"]) == 2
    warning = UNREADABLE_WARNING.format(count=2, run=RUN, examples="; ".join(data["unreadable"]))
    assert result.stderr == f"prodstat: {warning}\n"
    assert warning.startswith(f"warning: 2 metadata datasets of {RUN} could not be read")
    assert "2 metadata datasets could not be read" in (
        read_section(description(run_cli, setup, workflow_issue), "butler") or ""
    )


def test_bad_arguments_and_home(
    run_cli: RunCli, setup: TrackerSetup, workflow_issue: str, butler_repo: BuiltRepo, tmp_path: Path
) -> None:
    both = run_cli("update-stat", "PREOPS-973", workflow_issue, "--no-panda", "--no-butler", env=setup.env)
    assert both.exit_code == 2 and "--no-panda and --no-butler together leave nothing to do" in both.stderr
    # PRODUCTION_ISSUE is optional and any text (the original's scripts pass PREOPS-XXX).
    three = run_cli("update-stat", "PREOPS-XXX", "DRP-1", workflow_issue, env=setup.env)
    assert three.exit_code == 2 and "got 3 issue arguments" in three.stderr
    _expect_failure(
        run_cli, setup, ["update-stat", "PREOPS-XXX", "DRP486"], 1, "prodstat: error: malformed issue key"
    )
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _expect_failure(
        run_cli,
        setup,
        [
            "--home",
            str(blocker / "home"),
            "update-stat",
            "PREOPS-973",
            workflow_issue,
            "--butler",
            str(butler_repo.root),
        ],
        1,
        # The local tracker lives in --home, so it is the first to find it unusable.
        "prodstat: error: "
        + (
            message_prefix(MSG_DIR_NOT_CREATED, what="prodstat home", path=blocker / "home")
            if setup.name == "local"
            else message_prefix(
                MSG_DIR_NOT_CREATED,
                what="statistics directory",
                path=blocker / "home" / "stats" / workflow_issue,
            )
        ),
    )


def test_description_too_long_even_without_tables(
    run_cli: RunCli,
    setup: TrackerSetup,
    workflow_issue: str,
    butler_repo: BuiltRepo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lsst.prodstatus.script import update_stat

    monkeypatch.setattr(update_stat, "DESCRIPTION_LIMIT", 100)
    result = _expect_failure(
        run_cli,
        setup,
        ["update-stat", "PREOPS-973", workflow_issue, "--butler", str(butler_repo.root)],
        1,
        "prodstat: error: " + MSG_DESCRIPTION_TOO_LONG.partition("{length}")[0].format(key=workflow_issue),
    )
    line = result.stderr.removeprefix("prodstat: error: ").rstrip("\n")
    assert re.match(
        message_re(MSG_DESCRIPTION_TOO_LONG, HINT_DESCRIPTION_TOO_LONG, key=workflow_issue, limit=100), line
    ), result.stderr


def test_saved_tables_are_numbers(
    run_cli: RunCli, setup: TrackerSetup, workflow_issue: str, butler_repo: BuiltRepo, prodstat_env: Path
) -> None:
    assert (
        run_cli(
            "update-stat", "PREOPS-973", workflow_issue, "--butler", str(butler_repo.root), env=setup.env
        ).exit_code
        == 0
    )
    panda_rows = list(csv.DictReader((prodstat_env / "stats" / workflow_issue / "panda.csv").open()))
    assert [r["label"] for r in panda_rows][-1] == "workflow"
    assert float(panda_rows[-1]["core_hours"]) > 0 and panda_rows[-1]["cpu_suspect"] == "True"
    butler_rows = {
        r["label"]: r for r in csv.DictReader((prodstat_env / "stats" / workflow_issue / "butler.csv").open())
    }
    assert float(butler_rows["isr"]["cpu_hours"]) == pytest.approx(butler_repo.truth["isr"].cpu_hours)


# -- safe writes: the statistics are never claimed before they are there ---------------------------


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_failed_csv_upload_leaves_the_description_as_it_was(
    run_cli: RunCli,
    setup: TrackerSetup,
    workflow_issue: str,
    butler_repo: BuiltRepo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lsst.prodstatus.script import update_stat

    assert setup.emulator is not None
    args = ["update-stat", workflow_issue, "--butler", str(butler_repo.root)]
    assert run_cli(*args, env=setup.env).exit_code == 0
    before = description(run_cli, setup, workflow_issue)
    monkeypatch.setattr(update_stat, "DESCRIPTION_LIMIT", len(before) - 150)
    setup.emulator.inject(500, times=10, path=r"/attachments$", method="POST")
    result = run_cli(*args, env=setup.env)
    assert result.exit_code == 3, result.stderr
    assert result.stderr.count("\n") == 1
    # The cut tables would point at CSVs that are not attached: the description is untouched.
    assert description(run_cli, setup, workflow_issue) == before
    setup.emulator.clear_faults()
    again = run_cli(*args, env=setup.env)
    assert again.exit_code == 0, again.stderr
    assert "rows not shown: the full table is attached" in description(run_cli, setup, workflow_issue)


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_html_page_answering_the_statistics_write(
    run_cli: RunCli, setup: TrackerSetup, workflow_issue: str, butler_repo: BuiltRepo, prodstat_env: Path
) -> None:
    assert setup.emulator is not None
    before = description(run_cli, setup, workflow_issue)
    setup.emulator.inject(
        200,
        path=rf"^/rest/api/2/issue/{workflow_issue}$",
        method="PUT",
        body="<!DOCTYPE html><html><body>Single sign-on</body></html>",
    )
    result = run_cli("update-stat", workflow_issue, "--butler", str(butler_repo.root), env=setup.env)
    assert result.exit_code == 3
    assert "answered with an HTML page (a login or proxy page?)" in result.stderr
    assert "updated" not in result.stdout
    assert description(run_cli, setup, workflow_issue) == before
    # Nothing saved either: the files never run ahead of the issue.
    assert not list((prodstat_env / "stats").rglob("*.csv"))


def test_plots_are_attached_and_replaced_by_name(
    run_cli: RunCli, setup: TrackerSetup, workflow_issue: str, butler_repo: BuiltRepo, tmp_path: Path
) -> None:
    args = ["update-stat", workflow_issue, "--butler", str(butler_repo.root), "--plots"]
    for _ in range(2):
        result = run_cli(*args, env=setup.env)
        assert result.exit_code == 0, result.stderr
    tracker = setup.open()
    issue = tracker.get_issue(workflow_issue)
    names = [a.filename for a in issue.attachments]
    assert names.count(f"timeline-{workflow_issue}.png") == 1
    assert names.count(f"distributions-{workflow_issue}.png") == 1
    for name in (f"timeline-{workflow_issue}.png", f"distributions-{workflow_issue}.png"):
        data = tracker.read_attachment(workflow_issue, name)
        assert data is not None and data.startswith(b"\x89PNG\r\n\x1a\n")
        (tmp_path / name).write_bytes(data)  # kept with the test's files, to look at
    tracker.close()


def test_job_times_keep_every_started_job(recorded: dict[str, Any]) -> None:
    from datetime import UTC, datetime

    from lsst.prodstatus.core.timeline import JobTimes

    times = JobTimes(now=datetime(2030, 1, 1, tzinfo=UTC))
    n_started = 0
    for task_id, jobs in enumerate(_recorded_job_lists(recorded)):
        times.add_task(task_id, f"label{task_id % 3}", jobs)
        n_started += sum(1 for j in jobs if j.get("starttime"))
    assert len(times.spans) == n_started > 0
    timeline = times.timeline()
    assert 0 < timeline.n_bins <= 400
    # Every bin's count is the number of spans overlapping it, per label.
    label = next(iter(timeline.counts))
    spans = [s for s in times.spans if s.label == label]
    for index in (0, timeline.n_bins // 2, timeline.n_bins - 1):
        lo = timeline.origin + index * timeline.bin_width
        hi = lo + timeline.bin_width
        expected = sum(1 for s in spans if s.start < hi and s.end >= lo)
        assert abs(timeline.counts[label][index] - expected) <= sum(1 for s in spans if s.end == lo)


def _recorded_job_lists(recorded: dict[str, Any]) -> list[list[dict[str, Any]]]:
    lists = []
    for value in recorded.values():
        jobs = value.get("jobs") if isinstance(value, dict) else None
        if isinstance(jobs, list) and jobs and isinstance(jobs[0], dict):
            lists.append(jobs)
    return lists


def test_unknown_issue_leaves_no_statistics_directory(
    run_cli: RunCli, setup: TrackerSetup, prodstat_env: Path
) -> None:
    setup.seed("DRP-1", "something")
    result = run_cli("update-stat", "DRP-77", "--no-butler", env=setup.env)
    assert result.exit_code == 1 and "DRP-77" in result.stderr
    assert not (prodstat_env / "stats" / "DRP-77").exists()


# -- a PostgreSQL-registry repo, reached as an operator reaches production ------------------------


def test_statistics_from_a_postgresql_registry(
    run_cli: RunCli,
    setup: TrackerSetup,
    workflow_issue: str,
    butler_repo: BuiltRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """The same planted quanta in a repo whose registry is on a PostgreSQL server.

    The registry URL in butler.yaml names the role but no password; the password comes
    from ``PGPASSFILE``, and appears nowhere in the issue.
    """
    from tests.support.postgres import OPERATOR, PostgresServer

    server: PostgresServer = request.getfixturevalue("postgres_server")
    monkeypatch.setenv("PGPASSFILE", str(server.write_pgpass(tmp_path / ".pgpass")))
    database = server.new_database(owner=OPERATOR)
    repo = make_butler_repo(
        tmp_path / "pg-repo",
        RUN,
        butler_repo.quanta,
        other_runs=butler_repo.other_runs,
        registry=server.url(database, user=OPERATOR),
    )
    result = run_cli("update-stat", "PREOPS-973", workflow_issue, "--butler", str(repo.root), env=setup.env)
    assert result.exit_code == 0, result.stderr
    section = read_section(description(run_cli, setup, workflow_issue), "butler")
    assert section is not None and f"RUN {RUN} in {repo.root}" in section
    header, rows = table(section)
    for label, planted in repo.truth.items():
        cells = dict(zip(header, rows[label], strict=True))
        assert int(cells["nQuanta"]) == planted.n_quanta
        assert cells["CPU h"] == f"{planted.cpu_hours:.2f}"
        assert cells["maxRSS GiB"] == f"{planted.max_rss_bytes / 2**30:.2f}"  # type: ignore[operator]
    assert int(dict(zip(header, rows["*run*"], strict=True))["nQuanta"]) == 11
    assert "otherRunOnly" not in section
    assert server.operator_password not in description(run_cli, setup, workflow_issue)
