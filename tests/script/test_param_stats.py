"""``get-panda-stat`` and ``get-butler-stat``: parameter files, selection, tables, history."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lsst.prodstatus.errors import yaml_reason
from lsst.prodstatus.script.files import (
    MSG_NO_PARAM_FILE,
    MSG_PARAM_LACKS,
    MSG_PARAM_NOT_MAPPING,
    MSG_PARAM_NOT_YAML,
    MSG_STOP_BEFORE_START,
)
from lsst.prodstatus.script.param_stats import (
    HINT_NO_MATCH,
    HINT_PARAM_FIX,
    MSG_COLLTYPES_NOT_LIST,
    MSG_NO_PANDA_WORKFLOW,
    MSG_NO_RUN_COLLECTION,
    MSG_NOT_A_DATE,
)
from lsst.prodstatus.services.panda import MSG_FAILED, PROBLEM_CONNECT
from tests.conftest import CliResult
from tests.services.messages import message_prefix
from tests.support.butler_repo import BuiltRepo, PlantedQuantum, make_butler_repo
from tests.support.panda_emulator import PandaEmulator

ERROR = "prodstat: error: "

RunCli = Callable[..., CliResult]


@pytest.fixture
def panda(shared_data: Path) -> Iterator[PandaEmulator]:
    with PandaEmulator() as emulator:
        emulator.add_recorded(shared_data / "reference" / "panda_query_results.json.gz")
        yield emulator


def params(tmp_path: Path, name: str = "params.yaml", **values: object) -> str:
    import yaml

    data = {
        "Jira": "PREOPS-973",
        "collTypes": ["20220127t205042z"],
        "start_date": "2022-01-27",
        "stop_date": "2022-01-27",
        "maxtask": 100,
        "workNames": "",
    }
    data.update(values)
    data = {k: v for k, v in data.items() if v is not None}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    return {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in rows[1:]}


def test_get_panda_stat_on_recorded_data(
    run_cli: RunCli, panda: PandaEmulator, tmp_path: Path, prodstat_env: Path
) -> None:
    env = {"PANDAMON_URL": panda.url}
    # stop_date is the workflow's own day: included (the original excluded it).
    result = run_cli("get-panda-stat", params(tmp_path), env=env)
    assert result.exit_code == 0, result.stderr
    assert (
        result.stdout.splitlines()[0]
        == "selected 1 workflow: 2.2i_all_band_1_v23_0_0_rc5_preops-973_20220127t205042z"
    )
    wf = read_csv(prodstat_env / "pandaWfStat-PREOPS-973.csv")
    assert wf == {
        "20220127t205042z": {
            "status": "finished",
            "ntasks": "3",
            "nfiles": "212",
            "remaining files": "0",
            "processed files": "212.0",
            "task_finished": "3",
            "task_failed": "0",
            "task_subfinished": "0",
            "created": "2022-01-27 20:56:46",
        }
    }
    stat = read_csv(prodstat_env / "pandaStat-PREOPS-973.csv")
    assert list(stat) == [
        "20220127t205042z_pipetaskInit",
        "20220127t205042z_visit_detector_1",
        "20220127t205042z_mergeExecutionButler",
        "Campaign",
    ]
    assert stat["20220127t205042z_visit_detector_1"]["jobs"] == "100"
    assert stat["Campaign"]["jobs"] == "102"
    assert stat["Campaign"]["CPU h"].endswith("(?)")
    txt = (prodstat_env / "pandaStat-PREOPS-973.txt").read_text().splitlines()
    assert txt[:2] == [" Panda campaign statistics PREOPS-973", "pandaStat"]
    assert txt[2].startswith("| Workflow Task ||tasks||jobs||")
    assert txt[-1] == "||"
    assert (
        "<th>20220127t205042z_visit_detector_1</th>"
        in (prodstat_env / "pandaStat-PREOPS-973.html").read_text()
    )
    data = json.loads(run_cli("--json", "get-panda-stat", params(tmp_path), env=env).stdout)
    assert data["workflows"] == 1 and data["jobs"] == 102


def test_history_kept_unless_clean(
    run_cli: RunCli, panda: PandaEmulator, tmp_path: Path, prodstat_env: Path
) -> None:
    env = {"PANDAMON_URL": panda.url}
    assert run_cli("get-panda-stat", params(tmp_path), env=env).exit_code == 0
    other = params(
        tmp_path,
        "other.yaml",
        collTypes=["20220114t195544z"],
        start_date="2022-01-14",
        stop_date="2022-01-14",
    )
    assert run_cli("get-panda-stat", other, env=env).exit_code == 0
    assert set(read_csv(prodstat_env / "pandaWfStat-PREOPS-973.csv")) == {
        "20220127t205042z",
        "20220114t195544z",
    }
    assert run_cli("get-panda-stat", other, "--clean_history", "True", env=env).exit_code == 0
    assert set(read_csv(prodstat_env / "pandaWfStat-PREOPS-973.csv")) == {"20220114t195544z"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, ERROR + MSG_NO_PARAM_FILE.format(given="{path}")),
        (
            "- a\n",
            ERROR
            + MSG_PARAM_NOT_MAPPING.format(path="{path}", keys="Jira, collTypes, start_date, stop_date"),
        ),
        (
            "Jira: PREOPS-973\n",
            ERROR + MSG_PARAM_LACKS.format(path="{path}", missing="collTypes, start_date, stop_date"),
        ),
        (
            "Jira: X\ncollTypes: [a]\nstart_date: '2022-13-01'\nstop_date: '2022-01-01'\n",
            ERROR + MSG_NOT_A_DATE.format(name="start_date", path="{path}", value="2022-13-01"),
        ),
        (
            "Jira: X\ncollTypes: [a]\nstart_date: '2022-02-01'\nstop_date: '2022-01-01'\n",
            ERROR + MSG_STOP_BEFORE_START.format(stop="2022-01-01", start="2022-02-01", path="{path}"),
        ),
        ("Jira: [unclosed\n", ERROR + MSG_PARAM_NOT_YAML.format(path="{path}", reason="")),
    ],
)
def test_bad_parameter_file(
    run_cli: RunCli, tmp_path: Path, prodstat_env: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "p.yaml"
    if content is not None:
        path.write_text(content)
    result = run_cli("get-panda-stat", str(path), env={"PANDAMON_URL": "http://127.0.0.1:9/"})
    assert result.exit_code == 1
    assert result.stderr.startswith(message.format(path=path))
    assert result.stderr.count("\n") == 1
    assert not prodstat_env.exists() or not list(prodstat_env.glob("panda*"))


def test_no_matching_workflow(
    run_cli: RunCli, panda: PandaEmulator, tmp_path: Path, prodstat_env: Path
) -> None:
    result = run_cli("get-panda-stat", params(tmp_path, collTypes=["step9"]), env={"PANDAMON_URL": panda.url})
    assert result.exit_code == 1
    (days,) = {r.query["days"] for r in panda.requests if r.path == "/idds/wfprogress/"}
    message = MSG_NO_PANDA_WORKFLOW.format(
        jira="PREOPS-973",
        coll_types="step9",
        start="2022-01-27",
        stop="2022-01-27",
        days=days,
        base_url=panda.url.rstrip("/") + "/",
    )
    assert result.stderr == f"{ERROR}{message}; {HINT_NO_MATCH}\n"
    assert not list(prodstat_env.glob("panda*"))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> BuiltRepo:
    out = "2.2i/all_band_1/v23_0_0_rc5/PREOPS-973"
    start = datetime(2022, 1, 27, 21, tzinfo=UTC)
    quanta = {"isr": [PlantedQuantum("isr", 60.0, 70.0, 2**31, start)] * 1}
    return make_butler_repo(
        tmp_path_factory.mktemp("b") / "repo",
        f"{out}/20220127T205042Z",
        quanta,
        other_runs=[f"{out}/20220114T195544Z", "u/other/PREOPS-1/20220127T000000Z"],
    )


def test_get_butler_stat(run_cli: RunCli, two_runs: BuiltRepo, tmp_path: Path, prodstat_env: Path) -> None:
    path = params(
        tmp_path,
        Butler=str(two_runs.root),
        collTypes=["20220127T205042Z", "20220114T195544Z"],
        start_date="2022-01-20",
        stop_date="2022-01-31",
    )
    result = run_cli("get-butler-stat", path)
    assert result.exit_code == 0, result.stderr
    rows = read_csv(prodstat_env / "butlerStat-PREOPS-973.csv")
    # only the RUN in the date window, and never the other issue's RUN
    assert list(rows) == ["20220127T205042Z_isr", "campaign"]
    assert rows["20220127T205042Z_isr"]["nQuanta"] == "1"
    assert rows["20220127T205042Z_isr"]["CPU h"] == f"{60.0 / 3600:.2f}"
    assert rows["campaign"]["maxRSS GiB"] == "2.00"
    txt = (prodstat_env / "butlerStat-PREOPS-973.txt").read_text().splitlines()
    assert txt[:2] == [" Campaign Butler statistics PREOPS-973", "butlerStat"]


def test_get_butler_stat_no_matching_run(run_cli: RunCli, two_runs: BuiltRepo, tmp_path: Path) -> None:
    path = params(tmp_path, Butler=str(two_runs.root), collTypes=["step9"])
    result = run_cli("get-butler-stat", path)
    assert result.exit_code == 1
    message = MSG_NO_RUN_COLLECTION.format(
        jira="PREOPS-973", coll_types="step9", start="2022-01-27", stop="2022-01-27", butler=two_runs.root
    )
    assert result.stderr == f"{ERROR}{message}; {HINT_NO_MATCH}\n"


@pytest.mark.parametrize("command", ["get-panda-stat", "get-butler-stat"])
def test_parameter_file_not_yaml(run_cli: RunCli, tmp_path: Path, command: str) -> None:
    import yaml

    from lsst.prodstatus.core import yamlsafe

    text = "Jira: [unclosed\n"
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(yaml.YAMLError) as parsed:
        yamlsafe.load(text)
    result = run_cli(command, str(path), env={"PANDAMON_URL": "http://127.0.0.1:9/"})
    assert result.exit_code == 1
    message = MSG_PARAM_NOT_YAML.format(path=path, reason=yaml_reason(parsed.value))
    assert result.stderr == f"{ERROR}{message}; {HINT_PARAM_FIX.format(command=command)}\n"


@pytest.mark.parametrize("coll_types", ["{a: 1}", "[[a]]", "[1.5]"])
def test_colltypes_not_a_list(run_cli: RunCli, tmp_path: Path, coll_types: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"Jira: X\ncollTypes: {coll_types}\nstart_date: '2022-01-01'\nstop_date: '2022-01-02'\n")
    result = run_cli("get-panda-stat", str(path), env={"PANDAMON_URL": "http://127.0.0.1:9/"})
    assert result.exit_code == 1
    assert result.stderr == f"{ERROR}{MSG_COLLTYPES_NOT_LIST.format(path=path)}\n"


def test_get_butler_stat_needs_butler(run_cli: RunCli, tmp_path: Path) -> None:
    path = params(tmp_path)
    result = run_cli("get-butler-stat", path)
    assert result.exit_code == 1
    assert result.stderr.startswith(ERROR + MSG_PARAM_LACKS.format(path=path, missing="Butler") + "; ")


def test_campaign_row_covers_kept_history(
    run_cli: RunCli, panda: PandaEmulator, tmp_path: Path, prodstat_env: Path
) -> None:
    env = {"PANDAMON_URL": panda.url}
    assert run_cli("get-panda-stat", params(tmp_path), env=env).exit_code == 0
    first = read_csv(prodstat_env / "pandaStat-PREOPS-973.csv")["Campaign"]
    other = params(
        tmp_path,
        "other.yaml",
        collTypes=["20220105t171412z"],
        start_date="2022-01-05",
        stop_date="2022-01-05",
    )
    assert run_cli("get-panda-stat", other, env=env).exit_code == 0
    rows = read_csv(prodstat_env / "pandaStat-PREOPS-973.csv")
    kept = [r for k, r in rows.items() if k != "Campaign"]
    assert any(k.startswith("20220127t205042z_") for k in rows)
    assert int(rows["Campaign"]["jobs"]) == sum(int(r["jobs"]) for r in kept) >= int(first["jobs"])
    assert rows["Campaign"]["core h"] == f"{sum(float(r['core h']) for r in kept):.2f}"


def test_clean_history_keeps_files_when_panda_fails(
    run_cli: RunCli, panda: PandaEmulator, tmp_path: Path, prodstat_env: Path
) -> None:
    env = {"PANDAMON_URL": panda.url, "PRODSTAT_PANDA_RETRIES": "0"}
    assert run_cli("get-panda-stat", params(tmp_path), env=env).exit_code == 0
    before = {p.name: p.read_bytes() for p in prodstat_env.glob("panda*")}
    panda.down()
    result = run_cli("get-panda-stat", params(tmp_path), "--clean_history", env=env)
    assert result.exit_code == 3
    failed = message_prefix(MSG_FAILED, monitor=panda.url) + message_prefix(PROBLEM_CONNECT)
    assert result.stderr.startswith(f"prodstat: error: {failed}")
    assert {p.name: p.read_bytes() for p in prodstat_env.glob("panda*")} == before


def test_dry_run_writes_no_table(
    run_cli: RunCli, panda: PandaEmulator, tmp_path: Path, prodstat_env: Path
) -> None:
    env = {"PANDAMON_URL": panda.url}
    assert run_cli("get-panda-stat", params(tmp_path), env=env).exit_code == 0
    before = {p.name: p.read_bytes() for p in prodstat_env.glob("panda*Stat-*")}
    other = params(
        tmp_path,
        "other.yaml",
        collTypes=["20220114t195544z"],
        start_date="2022-01-14",
        stop_date="2022-01-14",
    )
    dry = run_cli("get-panda-stat", other, "--clean_history", "--dry-run", env=env)
    assert dry.exit_code == 0, dry.stderr
    assert f"would write {prodstat_env / 'pandaWfStat-PREOPS-973.csv'} (+ .html, .txt): 1 row" in dry.stdout
    assert dry.stdout.splitlines()[-1] == "dry run: nothing written"
    assert {p.name: p.read_bytes() for p in prodstat_env.glob("panda*Stat-*")} == before
    data = json.loads(run_cli("--json", "--dry-run", "get-panda-stat", other, env=env).stdout)
    assert data["dry_run"] is True and data["workflows"] == 1


def test_dry_run_butler_tables(
    run_cli: RunCli, two_runs: BuiltRepo, tmp_path: Path, prodstat_env: Path
) -> None:
    path = params(
        tmp_path,
        Butler=str(two_runs.root),
        collTypes=["20220127T205042Z"],
        start_date="2022-01-20",
        stop_date="2022-01-31",
    )
    result = run_cli("--dry-run", "get-butler-stat", path)
    assert result.exit_code == 0, result.stderr
    assert (
        f"would write {prodstat_env / 'butlerStat-PREOPS-973.csv'} (+ .html, .txt): 2 rows" in result.stdout
    )
    assert not list(prodstat_env.glob("butlerStat-*"))
