"""Fault-injection sweep: every service fault against representative commands.

A table of faults (HTTP errors, throttling, outages, hangs past the timeout, replies cut
off, bodies that are not JSON, HTML login pages) crossed with the commands that read and
write Jira (show, update-issue, update-stat, map-drp-steps) or query PanDA (update-stat,
get-panda-stat). Each run ends either recovered — exit 0 and the work complete — or
failed — the documented exit code, one ``prodstat: error:`` line, no traceback, and the
issue byte-for-byte as before. Small retry counts and timeouts keep it quick.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lsst.prodstatus.core.markup import read_section
from tests.conftest import CliResult
from tests.support.fault_proxy import FaultProxy
from tests.support.panda_emulator import PandaEmulator
from tests.support.panda_workflows import make_workflow
from tests.support.submit_trees import make_sample_campaign
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]
TS = "20240115T120000Z"
OUTPUT = "LSSTCam/runs/DRP/w_2024_03/DM-42000"
UNIQ = f"{OUTPUT.replace('/', '_')}_{TS}"
WORKFLOW = f"BPS Submit Keywords:\n{{code}}\noutput:{OUTPUT}\nuniqProcName:{UNIQ}\noutputRun:{OUTPUT}/{TS}\n{{code}}\n"
SMALL = {
    "PRODSTAT_JIRA_RETRIES": "1",
    "PRODSTAT_JIRA_TIMEOUT": "1",
    "PRODSTAT_PANDA_RETRIES": "1",
    "PRODSTAT_PANDA_TIMEOUT": "1",
}
HTML = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Log in</body></html>"
MANY = 9
"""More failures than the retries: the fault outlasts them."""


@dataclass(frozen=True)
class Fault:
    """One fault: emulator ``inject`` arguments (or a special kind) and the outcome.

    ``exit_code`` 0 means the command recovers and completes.
    """

    id: str
    exit_code: int
    inject: dict[str, Any] = field(default_factory=dict)
    kind: str = "inject"
    """``inject`` (the emulator), ``refused`` (nothing listens), ``truncate`` (the fault proxy)."""


def _faults(html_headers: dict[str, Any], retry_after: Callable[[str], dict[str, Any]]) -> list[Fault]:
    return [
        Fault("401", 3, {"status": 401, "times": MANY}),
        Fault("403", 3, {"status": 403, "times": MANY}),
        Fault("404", 3, {"status": 404, "times": MANY}),
        Fault("429-retry-after", 0, {"status": 429, "times": 1, **retry_after("0")}),
        Fault("429", 0, {"status": 429, "times": 1}),
        Fault("429-persistent", 3, {"status": 429, "times": MANY, **retry_after("0")}),
        Fault("500-once", 0, {"status": 500, "times": 1}),
        Fault("502-once", 0, {"status": 502, "times": 1}),
        Fault("503-once", 0, {"status": 503, "times": 1}),
        Fault("500-persistent", 3, {"status": 500, "times": MANY}),
        Fault("502-persistent", 3, {"status": 502, "times": MANY}),
        Fault("503-persistent", 3, {"status": 503, "times": MANY}),
        Fault("hang", 3, {"times": MANY, "delay": 2.5}),
        Fault("not-json", 3, {"status": 200, "times": MANY, "body": "{'not': json"}),
        Fault("html", 3, {"status": 200, "times": MANY, "body": HTML, **html_headers}),
        Fault("refused", 3, kind="refused"),
        Fault("truncated", 0, kind="truncate"),
    ]


JIRA_FAULTS = _faults({"headers": {"Content-Type": "text/html"}}, lambda s: {"headers": {"Retry-After": s}})
PANDA_FAULTS = _faults({"content_type": "text/html"}, lambda s: {"retry_after": s})
# The Jira emulator's inject needs a status: 0 with a delay serves the request late.
JIRA_FAULTS = [
    Fault(f.id, f.exit_code, {**f.inject, "status": 0}) if f.id == "hang" else f for f in JIRA_FAULTS
]
# A 404 from Jira reading an issue means the issue is not there (exit 1).
JIRA_EXIT = {("404", "show"): 1, ("404", "update-stat"): 1}


def closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def small_workflow() -> Any:
    return make_workflow(
        UNIQ,
        4242,
        labels=["pipetaskInit", "isr", "finalJob"],
        jobs_per_task=4,
        naming="current",
        shape="2023",
    )


@pytest.fixture
def panda() -> Iterator[PandaEmulator]:
    with PandaEmulator() as emulator:
        emulator.add_workflow(small_workflow())
        yield emulator


def description(setup: TrackerSetup, key: str) -> str:
    tracker = setup.open()
    try:
        return tracker.get_issue(key).description
    finally:
        tracker.close()


def check_failed(result: CliResult, exit_code: int, before: Any, after: Any) -> None:
    assert result.exit_code == exit_code, result.stderr
    assert result.exception is None
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("prodstat: error: "), result.stderr
    assert "secret-token" not in result.stderr
    assert after == before


# -- Jira ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JiraTarget:
    """A command and the request of it that the fault hits."""

    command: str
    path: str
    method: str


JIRA_TARGETS = [
    JiraTarget("show", r"/issue/DRP-1$", "GET"),
    JiraTarget("update-issue", r"/search", "POST"),
    JiraTarget("update-stat", r"/issue/DRP-1$", "GET"),
    JiraTarget("map-drp-steps", r"/search", "POST"),
]


def _prepare_jira(target: JiraTarget, setup: TrackerSetup, tmp_path: Path, panda: PandaEmulator) -> list[str]:
    if target.command == "show":
        setup.seed("DRP-1", "an issue", "Some text.")
        return ["show", "DRP-1"]
    if target.command == "update-issue":
        make_sample_campaign(tmp_path)
        os.chdir(tmp_path / "work" / "step1")
        setup.seed("PREOPS-1248", "Campaign request")
        return ["update-issue", "step1_1248.yaml", "PREOPS-1248", "DRP0"]
    if target.command == "update-stat":
        setup.seed("DRP-1", f"step1#w_2024_03/{TS}", WORKFLOW)
        setup.env["PANDAMON_URL"] = panda.url
        return ["update-stat", "DRP-1", "--no-butler"]
    for i in (1, 2):
        setup.seed(f"DRP-{i}", f"step1#u/ops/PREOPS-1248/2022072{i}T000000Z", "Status:finished")
    setup.seed("DRP-3", "Step step1")
    (tmp_path / "map.yaml").write_text("step1_1: DRP-1\nstep1_2: DRP-2\n")
    return ["map-drp-steps", str(tmp_path / "map.yaml"), "DRP-3", "0"]


def _complete_jira(target: JiraTarget, setup: TrackerSetup, result: CliResult) -> None:
    if target.command == "show":
        assert "Some text." in result.stdout
    elif target.command == "update-issue":
        issue = setup.open().get_issue("DRP-1")
        assert [a.filename for a in issue.attachments] == ["step1_1248.yaml"]
        assert read_section(issue.description, "production") is not None
    elif target.command == "update-stat":
        assert read_section(description(setup, "DRP-1"), "panda") is not None
    else:
        assert read_section(description(setup, "DRP-3"), "step-map") is not None


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
@pytest.mark.parametrize("target", JIRA_TARGETS, ids=lambda t: t.command)
@pytest.mark.parametrize("fault", JIRA_FAULTS, ids=lambda f: f.id)
def test_jira_fault(
    fault: Fault,
    target: JiraTarget,
    setup: TrackerSetup,
    run_cli: RunCli,
    chdir_tmp: Path,
    panda: PandaEmulator,
) -> None:
    emulator = setup.emulator
    assert emulator is not None
    args = _prepare_jira(target, setup, chdir_tmp, panda)
    env = {**setup.env, **SMALL}
    before = emulator.snapshot()
    with FaultProxy(emulator.url) as proxy:
        if fault.kind == "refused":
            env["PRODSTAT_JIRA_URL"] = closed_url()
        elif fault.kind == "truncate":
            env["PRODSTAT_JIRA_URL"] = proxy.url
            proxy.inject("truncate", target.path, method=target.method)
        else:
            emulator.inject(**{"path": target.path, "method": target.method, **fault.inject})
        result = run_cli(*args, env=env)
    exit_code = JIRA_EXIT.get((fault.id, target.command), fault.exit_code)
    if exit_code == 0:
        assert result.exit_code == 0, result.stderr
        _complete_jira(target, setup, result)
    else:
        check_failed(result, exit_code, before, emulator.snapshot())


# -- PanDA -----------------------------------------------------------------------------------------


PARAMS = "Jira: DM-42000\ncollTypes: w_2024_03\nstart_date: '2024-01-14'\nstop_date: '2024-01-16'\n"


@pytest.mark.parametrize("command", ["update-stat", "get-panda-stat"])
@pytest.mark.parametrize("fault", PANDA_FAULTS, ids=lambda f: f.id)
def test_panda_fault(
    fault: Fault, command: str, run_cli: RunCli, chdir_tmp: Path, panda: PandaEmulator, prodstat_env: Path
) -> None:
    setup = TrackerSetup("local", {}, prodstat_env, None)
    setup.seed("DRP-1", f"step1#w_2024_03/{TS}", WORKFLOW)
    if command == "update-stat":
        args = ["update-stat", "DRP-1", "--no-butler"]
    else:
        (chdir_tmp / "params.yaml").write_text(PARAMS)
        args = ["get-panda-stat", "params.yaml"]
    env = {**SMALL, "PANDAMON_URL": panda.url}
    before = setup.snapshot()
    with FaultProxy(panda.url) as proxy:
        if fault.kind == "refused":
            env["PANDAMON_URL"] = closed_url() + "/"
        elif fault.kind == "truncate":
            env["PANDAMON_URL"] = proxy.url + "/"
            proxy.inject("truncate", r".")
        else:
            panda.inject(**fault.inject)
        result = run_cli(*args, env=env)
    if fault.exit_code == 0:
        assert result.exit_code == 0, result.stderr
        if command == "update-stat":
            assert read_section(description(setup, "DRP-1"), "panda") is not None
    else:
        check_failed(result, fault.exit_code, before, setup.snapshot())


def test_fault_table_is_complete() -> None:
    """The sweep covers what the reliability issue lists."""
    ids = {f.id for f in JIRA_FAULTS} & {f.id for f in PANDA_FAULTS}
    assert {"401", "403", "404", "429", "429-retry-after", "hang", "refused", "truncated", "html"} <= ids
    assert {"500-persistent", "502-persistent", "503-persistent", "not-json"} <= ids
