"""Every case of the error catalogue (tests/cli/error_cases.py) through the real CLI.

Each case checks its exit code, one ``prodstat: error:`` line on stderr that starts with
the documented message and holds the documented fix, no traceback, and a tracker left as
it was. ``doc/errors.rst`` is generated from the same cases (``doc/update_errors.py``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import string
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from lsst.prodstatus.errors import EXIT_USAGE
from tests.cli.error_cases import CASES, ErrorCase
from tests.conftest import CliResult
from tests.support.jira import JiraEmulator
from tests.support.panda_emulator import PandaEmulator
from tests.support.submit_trees import make_sample_campaign
from tests.support.trackers import JIRA_CLOUD_ENV, TrackerSetup

RunCli = Callable[..., CliResult]
DOC = Path(__file__).resolve().parents[2] / "doc"
TS = "20240115T120000Z"
OUTPUT = "LSSTCam/runs/DRP/w_2024_03/DM-42000"
UNIQ = f"{OUTPUT.replace('/', '_')}_{TS}"
WORKFLOW = f"BPS Submit Keywords:\n{{code}}\noutput:{OUTPUT}\nuniqProcName:{UNIQ}\noutputRun:{OUTPUT}/{TS}\n{{code}}\n"

FILES = {
    "bad.yaml": "x: [\n",
    "list.yaml": "- a\n- b\n",
    "laughs.yaml": "".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}' if i else 'lol'] * 9)}]\n" for i in range(10)
    ),
    "nokeys.yaml": "payload: {}\n",
    "p.yaml": "x: 1\n",
    "unknown.yaml": "bogus_key: 1\n",
    "nosteps.yaml": "name: c1\n",
    "baddate.yaml": "Jira: DRP-1\ncollTypes: x\nstart_date: bad\nstop_date: 2022-01-01\n",
    "badbin.yaml": "Jira: DRP-1\njob_names: [a]\nbin_width: x\n",
    "notlists.yaml": "Jira: DRP-1\ncomments: c.txt\n",
    "exp.txt": "z 1472\n",
    "afile": "",
    "placeholder.yaml": "campaign: c\npipelineYaml: p.yaml#step1\npayload:\n  output: 'u/{nothere}'\n",
    "bomb.yaml": "campaign: c\npipelineYaml: p.yaml#step1\npayload:\n  output: '{k0}'\n"
    + "".join(f"  k{i}: '{{k{i + 1}}}{{k{i + 1}}}'\n" for i in range(40))
    + "  k40: x\n",
}


def _regex(template: str) -> str:
    """A template's literal text escaped, each ``{field}`` matching any text."""
    parts = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append(".*?")
    return "".join(parts)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _write_files(cwd: Path) -> None:
    for name, text in FILES.items():
        (cwd / name).write_text(text)
    (cwd / "binary.yaml").write_bytes(b"\xff\xfe\x00payload")
    os.mkfifo(cwd / "fifo.yaml")


class Context:
    """What a case's set-up step works with."""

    def __init__(self, setup: TrackerSetup, cwd: Path, stack: ExitStack) -> None:
        self.setup = setup
        self.cwd = cwd
        self.stack = stack
        self.env: dict[str, str] = {"{closed}": closed_port_url()}

    def panda(self) -> PandaEmulator:
        emulator = self.stack.enter_context(PandaEmulator())
        self.env["{panda}"] = emulator.url
        return emulator

    def campaign(self) -> None:
        make_sample_campaign(self.cwd)
        step1 = self.cwd / "work" / "step1"
        (step1 / "step1_1248_c.yaml").write_text(
            (step1 / "step1_1248_b.yaml").read_text().replace("detector>=", "detector>=100 and detector>=")
        )
        os.chdir(step1)


def _panda_fault(**fault: object) -> Callable[[Context], None]:
    def apply(ctx: Context) -> None:
        ctx.setup.seed("DRP-1", f"step1#w_2024_03/{TS}", WORKFLOW)
        ctx.panda().inject(times=None, **fault)  # type: ignore[arg-type]

    return apply


def _jira_fault(status: int, **fault: object) -> Callable[[Context], None]:
    def apply(ctx: Context) -> None:
        assert ctx.setup.emulator is not None
        ctx.setup.seed("DRP-1", "an issue", "text")
        ctx.setup.emulator.inject(status, times=20, path=r"/issue/DRP-1", method="GET", **fault)  # type: ignore[arg-type]

    return apply


def _seed(summary: str, description: str, labels: tuple[str, ...] = ()) -> Callable[[Context], None]:
    def apply(ctx: Context) -> None:
        ctx.campaign()
        ctx.setup.seed("DRP-1", summary, description, labels=labels)

    return apply


def _damaged(ctx: Context) -> None:
    ctx.setup.seed("DRP-1", f"step1#w_2024_03/{TS}", WORKFLOW + "{anchor:prodstat-status}\nh3. Status\n")


def _workflow(ctx: Context) -> None:
    ctx.setup.seed("DRP-1", f"step1#w_2024_03/{TS}", WORKFLOW)
    ctx.panda()


SETUPS: dict[str, Callable[[Context], None]] = {
    "files": lambda ctx: None,
    "campaign": Context.campaign,
    "campaign-other-issue": _seed("Meeting notes", "Some notes of a person."),
    "campaign-step-issue": _seed("Step step1", "step text", ("prodstat_step_step12test_step1",)),
    "damaged": _damaged,
    "workflow": _workflow,
    "panda-hang": _panda_fault(status=None, delay=3.0),
    "panda-503": _panda_fault(status=503),
    "panda-403": _panda_fault(status=403),
    "panda-404": _panda_fault(status=404),
    "panda-html": _panda_fault(status=200, body="<!DOCTYPE html><html><body>Sign in</body></html>"),
    "panda-garbage": _panda_fault(status=200, body="{not json", content_type="application/json"),
    "jira-401": _jira_fault(401),
    "jira-html": _jira_fault(
        200, body="<!DOCTYPE html><html><body>Log in</body></html>", headers={"Content-Type": "text/html"}
    ),
    "jira-503": _jira_fault(503),
    "jira-hang": _jira_fault(0, delay=3.0),
}


def _params() -> Iterator[object]:
    for case in CASES:
        for tracker in case.trackers:
            yield pytest.param(
                case, tracker, id=f"{case.id}-{tracker}" if len(case.trackers) > 1 else case.id
            )


@pytest.fixture
def tracker_setup(request: pytest.FixtureRequest, prodstat_env: Path) -> Iterator[TrackerSetup]:
    """The tracker a case runs on (an emulated Jira Cloud for ``jira``)."""
    if request.param == "local":
        yield TrackerSetup("local", {}, prodstat_env, None)
        return
    with JiraEmulator(deployment="Cloud") as emulator:
        yield TrackerSetup(
            "jira", {"PRODSTAT_JIRA_URL": emulator.url, **JIRA_CLOUD_ENV}, prodstat_env, emulator
        )


def test_cases_are_distinct_and_cover_every_command() -> None:
    from lsst.prodstatus.cli.main import cli

    assert len({c.id for c in CASES}) == len(CASES) >= 40
    assert {c.command for c in CASES} == set(cli.commands), set(cli.commands) ^ {c.command for c in CASES}
    situations = {(c.args, c.setup, tuple(sorted(c.env.items())), c.trackers) for c in CASES}
    assert len(situations) == len(CASES), "two cases set up the same situation"


@pytest.mark.parametrize(("case", "tracker_setup"), list(_params()), indirect=["tracker_setup"])
def test_error_case(case: ErrorCase, tracker_setup: TrackerSetup, run_cli: RunCli, chdir_tmp: Path) -> None:
    _write_files(chdir_tmp)
    with ExitStack() as stack:
        ctx = Context(tracker_setup, chdir_tmp, stack)
        SETUPS[case.setup](ctx)
        env = {**tracker_setup.env}
        for name, value in case.env.items():
            for placeholder, url in ctx.env.items():
                value = value.replace(placeholder, url)
            env[name] = value
        before = tracker_setup.snapshot()
        result = run_cli(*case.args, env=env)
        after = tracker_setup.snapshot()
    assert result.exit_code == case.exit_code, result.stderr
    assert result.exception is None, result.exception
    assert "Traceback" not in result.stderr
    command = case.command
    fix = case.fix.replace("{command}", command)
    if case.exit_code == EXIT_USAGE:
        line = result.stderr.rstrip("\n").splitlines()[-1]
        assert re.match("Error: " + _regex(case.message), line), line
    else:
        assert result.stderr.count("\n") == 1, result.stderr
        line = result.stderr.rstrip("\n")
        assert re.match("prodstat: error: " + _regex(case.message), line), line
    if case.fix_shown:
        assert re.search(_regex(fix), line), line
    assert _content(after) == _content(before)


def _content(snapshot: object) -> object:
    """A snapshot without the local tracker's empty schema (a failed first run may make it)."""
    rows = [line for line in snapshot if line.startswith("INSERT")] if isinstance(snapshot, list) else []
    if isinstance(snapshot, list) and all(
        line.startswith(("INSERT INTO meta ", 'INSERT INTO "meta" ')) for line in rows
    ):
        return []
    return snapshot


def _update_errors() -> object:
    spec = importlib.util.spec_from_file_location("update_errors", DOC / "update_errors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_errors_page_is_generated_from_the_cases() -> None:
    module = _update_errors()
    text = (DOC / "errors.rst").read_text()
    assert module.updated_page(text) == text, "run: python doc/update_errors.py"  # type: ignore[attr-defined]
