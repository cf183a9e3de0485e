"""Failure triage in ``update-stat``: the ``failures`` section against the raw jobs.

A synthetic workflow with planted, realistic PanDA failures (retried and final) is served
by the loopback monitor emulator; the section's counts per label and error must equal a
computation straight from the generated job records, on both trackers.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lsst.prodstatus.core.failures import (
    ERROR_SOURCES,
    HINT_RULE_SOURCE,
    HINT_RULES,
    MSG_RULE_BAD_SOURCE,
    MSG_RULE_NO_NAME,
    MSG_RULE_NOT_MAPPING,
    MSG_RULE_ZERO_CODE,
    FailureSummary,
    escape_diag,
    job_error,
    parse_rules,
    trim_diag,
)
from lsst.prodstatus.core.markup import read_section, split_wiki_row
from lsst.prodstatus.errors import InputError
from tests.conftest import CliResult
from tests.support.panda_emulator import PandaEmulator
from tests.support.panda_workflows import REALISTIC_FAILURES, SyntheticWorkflow, make_workflow
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]
TS = "20240115T120000Z"
OUTPUT = "LSSTCam/runs/DRP/w_2024_03/DM-42000"
UNIQ = f"{OUTPUT.replace('/', '_')}_{TS}"
CODE_FIELDS = (
    ("pilot", "piloterrorcode"),
    ("exe", "exeerrorcode"),
    ("sup", "superrorcode"),
    ("ddm", "ddmerrorcode"),
    ("taskbuffer", "taskbuffererrorcode"),
    ("brokerage", "brokerageerrorcode"),
    ("jobdispatcher", "jobdispatchererrorcode"),
    ("trans", "transexitcode"),
)


def planted_workflow(request_id: int = 4242, uniq: str = UNIQ, **kwargs: Any) -> SyntheticWorkflow:
    """Five labels, 40 quanta each; 15 % of quanta end failed, 20 % retried (their earlier attempts failed)."""
    params: dict[str, Any] = {
        "labels": ["pipetaskInit", "isr", "calibrate", "makeWarp", "finalJob"],
        "jobs_per_task": 40,
        "failed_fraction": 0.15,
        "retry_fraction": 0.2,
        "cancelled_fraction": 0.02,
        "failures": REALISTIC_FAILURES,
        "naming": "current",
        "shape": "2023",
        "seed": 7,
    }
    params.update(kwargs)
    return make_workflow(uniq, request_id, **params)


def workflow_description(uniq: str = UNIQ, output: str = OUTPUT, ts: str = TS) -> str:
    return (
        "BPS Submit Keywords:\n{code}\n"
        f"output:{output}\nuniqProcName:{uniq}\noutputRun:{output}/{ts}\n"
        "{code}\n"
    )


def truth(workflow: SyntheticWorkflow) -> dict[tuple[str, str], tuple[int, int, list[int]]]:
    """(label, source:code) -> (failed jobs, failed attempts, lowest 3 pandaids), from the raw records."""
    superseded = workflow.superseded()
    jobs: Counter[tuple[str, str]] = Counter()
    attempts: Counter[tuple[str, str]] = Counter()
    ids: dict[tuple[str, str], list[int]] = defaultdict(list)
    for task_id, records in workflow.jobs.items():
        for raw in records:
            job = workflow.full_job(raw)
            if job["jobstatus"] != "failed":
                continue
            error = "unknown:0"
            for source, name in CODE_FIELDS:
                if str(job.get(name) or "0").strip() not in ("0", ""):
                    error = f"{source}:{int(job[name])}"
                    break
            key = (workflow.task_labels[task_id], error)
            attempts[key] += 1
            jobs[key] += job["pandaid"] not in superseded
            ids[key].append(job["pandaid"])
    return {key: (jobs[key], attempts[key], sorted(ids[key])[:3]) for key in attempts}


def table(section: str) -> tuple[list[str], list[list[str]]]:
    rows = [split_wiki_row(line) for line in section.splitlines() if line.startswith("|")]
    return rows[0][1], [cells for _, cells in rows[1:]]


@pytest.fixture
def panda() -> Iterator[PandaEmulator]:
    with PandaEmulator() as emulator:
        yield emulator


# -- the accumulator alone ---------------------------------------------------------------------


def test_summary_equals_raw_counts_in_any_reply_order() -> None:
    workflow = planted_workflow()
    superseded = workflow.superseded()
    expected = truth(workflow)
    for order in (list(workflow.jobs), list(reversed(workflow.jobs))):
        summary = FailureSummary()
        for task_id in order:
            records = [
                {**workflow.full_job(j), "prodstat_final": j["pandaid"] not in superseded}
                for j in workflow.jobs[task_id]
            ]
            # Half a reply at a time, newest first, as the monitor orders them.
            records.sort(key=lambda j: -j["pandaid"])
            summary.add_task(task_id, workflow.task_labels[task_id], records[: len(records) // 2])
            summary.add_task(task_id, workflow.task_labels[task_id], records[len(records) // 2 :])
        got = {(g.label, g.error): (g.jobs, g.attempts, g.examples) for g in summary.groups()}
        assert got == expected
    assert sum(j for j, _, _ in expected.values()) > 0
    assert any(j < a for j, a, _ in expected.values())  # retried attempts are not failed jobs


def test_job_error_takes_the_first_code_and_markup_is_inert() -> None:
    assert job_error({"piloterrorcode": 1305, "transexitcode": "137", "piloterrordiag": "x"}) == (
        "pilot",
        1305,
        "x",
    )
    assert job_error({"piloterrorcode": 0, "transexitcode": "139"}) == ("trans", 139, "")
    assert job_error({"piloterrorcode": "", "exeerrorcode": None}) == ("unknown", 0, "")
    text = "MissingCollectionError: {code} [x|y] *b* _i_ \\\\ end"
    escaped = escape_diag(text)
    assert "{code}" not in escaped and "[x" not in escaped.replace("\\[", "")
    assert "\\|" in escaped and "\\{code\\}" in escaped
    long = "word " * 100
    assert len(trim_diag(long)) == 150 and trim_diag(long).endswith("…")


# -- update-stat end to end ------------------------------------------------------------------------


def test_failure_section_equals_raw_jobs(
    run_cli: RunCli, setup: TrackerSetup, panda: PandaEmulator, prodstat_env: Path
) -> None:
    workflow = planted_workflow()
    panda.add_workflow(workflow)
    setup.seed("DRP-1", f"step1#w_2024_03/{TS}", workflow_description())
    env = {**setup.env, "PANDAMON_URL": panda.url}
    result = run_cli("update-stat", "DRP-1", "--no-butler", env=env)
    assert result.exit_code == 0, result.stderr
    assert "failures:" in result.stdout and "unexplained" in result.stdout

    issue = setup.open().get_issue("DRP-1")
    section = read_section(issue.description, "failures")
    assert section is not None and section.startswith("h3. PanDA failures")
    header, rows = table(section)
    assert header == [
        "Label",
        "Error",
        "Failed jobs",
        "Failed attempts",
        "Class",
        "Action",
        "First diagnostic",
        "Examples",
    ]
    expected = truth(workflow)
    got: dict[tuple[str, str], tuple[int, int, list[int]]] = {}
    for cells in rows:
        row = dict(zip(header, cells, strict=True))
        examples = [int(link.split("|")[0].strip("[")) for link in row["Examples"].split()]
        for pandaid, link in zip(examples, row["Examples"].split(), strict=True):
            assert link == f"[{pandaid}|{panda.url}job?pandaid={pandaid}]"
        got[(row["Label"], row["Error"])] = (int(row["Failed jobs"]), int(row["Failed attempts"]), examples)
    assert got == expected

    # Classes: the shipped rules explain all but the planted "unexpected status" (exe:8).
    classes = {
        (dict(zip(header, c, strict=True))["Error"], dict(zip(header, c, strict=True))["Class"]) for c in rows
    }
    assert ("pilot:1099", "infrastructure (stage-in)") in classes
    assert ("exe:1", "pipelines (payload-exit)") in classes
    assert ("trans:139", "pipelines (segfault)") in classes
    assert {cls for error, cls in classes if error == "exe:8"} == {"unexplained"}
    unexplained = sum(a for (_, error), (_, a, _) in expected.items() if error == "exe:8")
    total = sum(a for _, a, _ in expected.values())
    assert f"no rule explains {unexplained / total:.0%} of the failed attempts" in section
    # A diagnostic with wiki markup is escaped, not rendered.
    assert "\\{u/ops/x\\} not found \\| see \\*log\\* \\[here\\]" in section

    # Saved and --json: the same groups.
    saved = json.loads((prodstat_env / "stats" / "DRP-1" / "failures.json").read_text())
    assert saved["failed_attempts"] == total
    assert {(g["label"], f"{g['source']}:{g['code']}"): g["attempts"] for g in saved["groups"]} == {
        k: a for k, (_, a, _) in expected.items()
    }
    assert (
        (prodstat_env / "stats" / "DRP-1" / "failures.csv")
        .read_text()
        .startswith("label,source,code,jobs,attempts,diag,examples,flavour")
    )
    as_json = run_cli("--json", "--dry-run", "update-stat", "DRP-1", "--no-butler", env=env)
    assert as_json.exit_code == 0, as_json.stderr
    assert json.loads(as_json.stdout)["failures"]["groups"] == saved["groups"]

    # Idempotent: the same jobs give the same section whatever order the replies came in.
    again = run_cli("update-stat", "DRP-1", "--no-butler", env=env)
    assert again.exit_code == 0, again.stderr
    assert read_section(setup.open().get_issue("DRP-1").description, "failures") == section


def test_failure_queries_are_small_and_only_where_needed(
    run_cli: RunCli, setup: TrackerSetup, panda: PandaEmulator
) -> None:
    workflow = planted_workflow()
    panda.add_workflow(workflow)
    setup.seed("DRP-1", f"step1#w_2024_03/{TS}", workflow_description())
    panda.clear_log()
    result = run_cli("update-stat", "DRP-1", "--no-butler", env={**setup.env, "PANDAMON_URL": panda.url})
    assert result.exit_code == 0, result.stderr
    job_queries = [r for r in panda.requests if r.path == "/jobs/"]
    with_failures = {t for t, jobs in workflow.jobs.items() if any(j["jobstatus"] == "failed" for j in jobs)}
    main = [r for r in job_queries if "jobstatus" not in r.query]
    failed = [r for r in job_queries if r.query.get("jobstatus") == "failed"]
    assert len(main) == len(workflow.tasks)
    assert "piloterrordiag" not in main[0].query["fields"]  # the big replies stay trimmed
    assert len(failed) == 2 * len(with_failures) < 2 * len(workflow.tasks)
    assert {int(r.query["jeditaskid"]) for r in failed} == with_failures


def test_no_failures_says_so(run_cli: RunCli, setup: TrackerSetup, panda: PandaEmulator) -> None:
    panda.add_workflow(planted_workflow(failed_fraction=0.0, retry_fraction=0.0, cancelled_fraction=0.0))
    setup.seed("DRP-1", f"step1#w_2024_03/{TS}", workflow_description())
    result = run_cli("update-stat", "DRP-1", "--no-butler", env={**setup.env, "PANDAMON_URL": panda.url})
    assert result.exit_code == 0, result.stderr
    section = read_section(setup.open().get_issue("DRP-1").description, "failures")
    assert section == "h3. PanDA failures\nNo failed jobs."
    assert panda.count("/jobs/") == len(planted_workflow().tasks)


# -- failed quanta from the Butler's run_provenance --------------------------------------------


def test_failed_quanta_table_renders_counts_and_escaped_messages() -> None:
    from lsst.prodstatus.core.failures import failures_section, quantum_failures

    quanta = quantum_failures(
        {"calibrate": {"lsst.pipe.tasks.X_Error": 1, "ValueError": 3}, "isr": {"RuntimeError": 2}},
        {"calibrate": {"ValueError": "bad {code} | [x] *y*"}, "isr": {"RuntimeError": "boom"}},
        label_order=["isr", "calibrate"],
    )
    assert [(q.label, q.exception, q.quanta) for q in quanta] == [
        ("isr", "RuntimeError", 2),
        ("calibrate", "ValueError", 3),
        ("calibrate", "lsst.pipe.tasks.X_Error", 1),
    ]
    section = failures_section([], "https://panda.example/", quanta=quanta)
    lines = section.splitlines()
    assert lines[:3] == ["h3. PanDA failures", "No failed jobs.", "h3. Failed quanta (Butler provenance)"]
    header, rows = table(section)
    assert header == ["Label", "Exception", "Failed quanta", "First message"]
    assert rows == [
        ["isr", "RuntimeError", "2", "boom"],
        ["calibrate", "ValueError", "3", "bad \\{code\\} | \\[x\\] \\*y\\*"],
        ["calibrate", "lsst.pipe.tasks.X\\_Error", "1", ""],
    ]
    assert "6 failed quanta in run_provenance" in section
    # Cut with the other tables; without failed quanta the section is as before.
    cut = failures_section([], "https://panda.example/", max_rows=1, quanta=quanta)
    assert len(table(cut)[1]) == 1 and "(2 rows not shown" in cut
    assert failures_section([], "https://panda.example/") == "h3. PanDA failures\nNo failed jobs."


@pytest.fixture(scope="module")
def failed_butler_repo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The workflow's RUN really executed by pipe_base mock tasks, with failed quanta and provenance."""
    pytest.importorskip("lsst.pipe.base")
    from tests.support.butler_repo import make_executed_repo

    return make_executed_repo(
        tmp_path_factory.mktemp("failed") / "repo",
        run=f"{OUTPUT}/{TS}",
        labels=("isr", "calibrate"),
        failures={
            "isr": ("detector = 1", RuntimeError),
            "calibrate": ("detector IN (3, 4)", ZeroDivisionError),
        },
    )


def test_failure_section_shows_failed_quanta_of_the_provenance(
    run_cli: RunCli, setup: TrackerSetup, panda: PandaEmulator, prodstat_env: Path, failed_butler_repo: Any
) -> None:
    panda.add_workflow(planted_workflow())
    setup.seed("DRP-1", f"step1#w_2024_03/{TS}", workflow_description())
    env = {**setup.env, "PANDAMON_URL": panda.url}
    result = run_cli("update-stat", "DRP-1", "--butler", str(failed_butler_repo.root), env=env)
    assert result.exit_code == 0, result.stderr

    section = read_section(setup.open().get_issue("DRP-1").description, "failures")
    assert section is not None and section.startswith("h3. PanDA failures")
    quanta_part = section[section.index("h3. Failed quanta (Butler provenance)") :]
    header, rows = table(quanta_part)
    assert header == ["Label", "Exception", "Failed quanta", "First message"]
    # Labels in the PanDA table's order (isr before calibrate in the synthetic workflow).
    assert [row[:3] for row in rows] == [
        ["isr", "RuntimeError", "1"],
        ["calibrate", "ZeroDivisionError", "2"],
    ]
    assert rows[1][3] == "Simulated failure: task=calibrate dataId=\\{instrument: 'Cam1', detector: 3\\}"
    assert "3 failed quanta in run_provenance" in section

    saved = json.loads((prodstat_env / "stats" / "DRP-1" / "failures.json").read_text())
    assert saved["failed_quanta"] == 3
    assert [(q["label"], q["exception"], q["quanta"]) for q in saved["quanta"]] == [
        ("isr", "RuntimeError", 1),
        ("calibrate", "ZeroDivisionError", 2),
    ]
    as_json = run_cli(
        "--json", "--dry-run", "update-stat", "DRP-1", "--butler", str(failed_butler_repo.root), env=env
    )
    assert as_json.exit_code == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["failures"]["quanta"] == saved["quanta"]
    assert data["butler"]["failed_quanta"] == {
        "isr": {"RuntimeError": 1},
        "calibrate": {"ZeroDivisionError": 2},
    }


ORIGIN = "error rules rules.yaml"


@pytest.mark.parametrize(
    ("data", "message", "hint"),
    [
        ({"rules": ["oom"]}, MSG_RULE_NOT_MAPPING.format(origin=ORIGIN, where="rule 1"), None),
        (
            {"rules": [{"name": "", "code": 1, "flavour": "pipelines"}]},
            MSG_RULE_NO_NAME.format(origin=ORIGIN, where="rule 1 ()"),
            None,
        ),
        (
            [{"name": "a", "code": 1, "flavour": "pipelines"}, {"flavour": "pipelines", "code": 2}],
            MSG_RULE_NO_NAME.format(origin=ORIGIN, where="rule 2"),
            None,
        ),
        (
            {"rules": [{"name": "oom", "code": [1305, 0], "flavour": "pipelines"}]},
            MSG_RULE_ZERO_CODE.format(origin=ORIGIN, where="rule 1 (oom)", code=0),
            None,
        ),
        (
            {"rules": [{"name": "oom", "source": "cosmic", "code": 1, "flavour": "pipelines"}]},
            MSG_RULE_BAD_SOURCE.format(origin=ORIGIN, where="rule 1 (oom)", source="cosmic"),
            HINT_RULE_SOURCE.format(sources=", ".join(s for s, _, _ in ERROR_SOURCES)),
        ),
    ],
)
def test_malformed_rule(data: Any, message: str, hint: str | None) -> None:
    with pytest.raises(InputError) as info:
        parse_rules(data, ORIGIN)
    assert info.value.one_line() == f"{message}; {hint or HINT_RULES.format(origin=ORIGIN)}"
