"""``prodstat watch`` on the sd campaign, both trackers, PanDA workflows that progress with
the emulator's clock (submitted → running → final), a loopback webhook receiver."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from lsst.prodstatus.config import PandaSettings
from lsst.prodstatus.core.bps import parse_bps_block
from lsst.prodstatus.core.ids import kind_phrase
from lsst.prodstatus.core.markup import (
    HINT_SECTION_DAMAGED,
    MSG_SECTION_DAMAGED,
    PROBLEM_END_MISSING,
    read_section,
)
from lsst.prodstatus.core.plan import Action
from lsst.prodstatus.core.stats import status_line
from lsst.prodstatus.script.error_rules import HINT_RULES_NOT_YAML, MSG_RULES_NOT_YAML
from lsst.prodstatus.script.maps import map_auto
from lsst.prodstatus.script.report import HINT_CANNOT_WRITE_REPORT, MSG_CANNOT_WRITE_REPORT
from lsst.prodstatus.script.update_stat import MSG_NO_BPS_BLOCK
from lsst.prodstatus.script.watch import (
    HINT_NO_WORKFLOW_NAMED,
    HINT_NOT_WATCHABLE,
    HINT_NOTHING_TO_WATCH,
    HINT_STATE_UNREADABLE,
    HINT_WATCH_RUNNING,
    MSG_NO_WORKFLOW_NAMED,
    MSG_NOT_WATCHABLE,
    MSG_NOTHING_TO_WATCH,
    MSG_STATE_UNREADABLE,
    MSG_WATCH_RUNNING,
    NOTE_NOT_WATCHED,
    NOTE_ROLLUP_NOT_REFRESHED,
    NOTE_STATS_NOT_UPDATED,
    WARN_CYCLE_FAILED,
    WARN_REPORT_NOT_WRITTEN,
    WARN_TRANSITION_FAILED,
    WARN_WEBHOOK_FAILED,
    WatchLock,
    watch,
)
from lsst.prodstatus.services.panda import PandaWorkflow
from lsst.prodstatus.services.tracker.jira import HINT_NO_TRANSITION, MSG_NO_TRANSITION
from tests.cli.test_cli_maps import Seed
from tests.cli.test_cli_maps import seed as seed_fixture  # the seed campaign (fixture "seed")
from tests.services.messages import message_re
from tests.support.panda_emulator import PandaEmulator
from tests.support.panda_workflows import REALISTIC_FAILURES, SyntheticWorkflow, make_workflow

__all__ = ["seed_fixture"]

WORKFLOWS = ("DRP-486", "DRP-487", "DRP-488")
T0 = datetime(2022, 7, 30, 0, 0, 0)
# DRP-487 ends subfinished with planted failures; the others finish cleanly.
FINAL_PARAMS: dict[str, dict[str, Any]] = {
    "DRP-486": {},
    "DRP-487": {"failed_fraction": 0.25, "retry_fraction": 0.1, "failures": REALISTIC_FAILURES},
    "DRP-488": {},
}


class Receiver:
    """A loopback webhook: records every JSON POST body."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                owner.messages.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/prodstat"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def stages(uniq: str, request_id: int, key: str) -> list[tuple[datetime, Any]]:
    common: dict[str, Any] = {"n_tasks": 4, "jobs_per_task": 12, "seed": request_id}
    submitted = {
        "request_id": request_id,
        "r_status": "transforming",
        "created_at": "2022-07-29 23:00:00",
        "total_tasks": 0,
        "tasks_statuses": {},
        "remaining_files": 0,
        "processed_files": 0,
        "processing_files": 0,
        "total_files": 0,
        "r_name": uniq.lower(),
        "username": "Not set",
    }
    running = make_workflow(uniq, request_id, running=True, **common)
    final = make_workflow(uniq, request_id, **common, **FINAL_PARAMS[key])
    return [(T0, submitted), (T0 + timedelta(hours=1), running), (T0 + timedelta(hours=2), final)]


@pytest.fixture
def campaign(seed_fixture: Seed) -> Iterator[tuple[Seed, PandaEmulator, dict[str, SyntheticWorkflow]]]:
    sd = seed_fixture
    finals: dict[str, SyntheticWorkflow] = {}
    with PandaEmulator(now=T0) as panda:
        for number, key in enumerate(WORKFLOWS):
            uniq = parse_bps_block(sd.description(key))["uniqProcName"]
            timeline = stages(uniq, 7000 + number, key)
            panda.add_progression(timeline)
            finals[key] = timeline[-1][1]
        sd.setup.env["PANDAMON_URL"] = panda.url
        yield sd, panda, finals


def comments(sd: Seed, key: str) -> list[str]:
    return [c.body for c in sd.tracker.get_issue(key).comments]


def run_watch(sd: Seed, panda: PandaEmulator, **kwargs: Any) -> Any:
    def tick(seconds: float) -> None:
        panda.now = (panda.now or T0) + timedelta(hours=1)

    options: dict[str, Any] = {
        "home": sd.setup.home,
        "panda": PandaSettings(panda.url),
        "project": "DRP",
        "interval": 60,
        "sleep": tick,
    }
    options.update(kwargs)
    return watch(sd.tracker, "DRP-491", **options)


def test_watched_campaign_ends_current_with_one_comment_per_change(
    campaign: tuple[Seed, PandaEmulator, dict[str, SyntheticWorkflow]],
) -> None:
    sd, panda, finals = campaign
    receiver = Receiver()
    notes: list[str] = []
    requests_per_cycle: list[int] = []
    counted = [0]

    def on_cycle(report: Any) -> None:
        if sd.setup.emulator is not None:
            total = len(sd.setup.emulator.requests)
            requests_per_cycle.append(total - counted[0])
            counted[0] = total

    if sd.setup.emulator is not None:
        counted[0] = len(sd.setup.emulator.requests)
    try:
        result = run_watch(sd, panda, notify_url=receiver.url, note=notes.append, on_cycle=on_cycle)
    finally:
        receiver.close()
    assert result.finished and len(result.cycles) == 3
    assert [c.states["DRP-486"] for c in result.cycles] == ["submitted", "running", "finished"]
    assert result.cycles[-1].states["DRP-487"] == "subfinished"
    assert notes == []

    # One wfprogress query per cycle (update-stat reuses it).
    assert panda.count("/idds/wfprogress/") == 3

    # Every workflow issue is current: its status line is the final wfprogress entry's.
    for key, final in finals.items():
        desc = sd.description(key)
        assert read_section(desc, "status") == status_line(PandaWorkflow.from_reply(final.wfprogress))
        assert read_section(desc, "failures") is not None
    assert "No failed jobs." not in str(read_section(sd.description("DRP-487"), "failures"))

    # One comment per real state change, plus the first failures and the failure share of DRP-487.
    for key in WORKFLOWS:
        bodies = comments(sd, key)
        states = [
            b.split(" is ", 1)[1].split(" ")[0].split(";")[0] for b in bodies if " is " in b.split("\n")[0]
        ]
        assert states == ["submitted", "running", "finished" if key != "DRP-487" else "subfinished"], bodies
        extra = [b for b in bodies if "first failed jobs" in b or "of the jobs of" in b]
        assert len(extra) == (2 if key == "DRP-487" else 0), bodies
    made = sum(len(c.comments) for c in result.cycles)
    assert made == 11
    assert [m["text"].split(": ", 1)[0] for m in receiver.messages].count("DRP-487") == 5
    assert len(receiver.messages) == made

    # Roll-ups equal --auto: applying --auto now changes nothing.
    for key in ("DRP-489", "DRP-490", "DRP-491"):
        assert map_auto(sd.tracker, key, project="DRP", home=sd.setup.home).action == Action.UNCHANGED

    # A restart repeats nothing and stops at once; so does a cron run through the CLI.
    again = run_watch(sd, panda)
    assert again.finished and len(again.cycles) == 1
    assert again.cycles[0].comments == [] and again.cycles[0].updated == []
    cron = sd.run("watch", "DRP-491", "--once")
    assert cron.exit_code == 0, cron.stderr
    assert "every workflow is final: watch ends" in cron.stdout and cron.stdout.endswith("issue:DRP-491\n")
    looping = sd.run("--json", "watch", "DRP-491", "--interval", "30")
    assert looping.exit_code == 0, looping.stderr
    assert json.loads(looping.stdout)["finished"] is True
    assert sum(len(comments(sd, k)) for k in WORKFLOWS) == made

    if sd.setup.emulator is not None:
        # Jira requests per cycle (documented in doc/commands/watch.rst).
        print("jira requests per cycle:", requests_per_cycle)
        assert all(n < 60 for n in requests_per_cycle)


def test_restart_mid_campaign_repeats_no_comment(
    campaign: tuple[Seed, PandaEmulator, dict[str, SyntheticWorkflow]],
) -> None:
    sd, panda, _ = campaign
    first = run_watch(sd, panda, once=True)
    assert not first.finished and len(first.cycles) == 1
    assert sum(len(c.comments) for c in first.cycles) == 3  # three workflows submitted
    # Same clock, new watcher: nothing new to say.
    second = run_watch(sd, panda, once=True)
    assert second.cycles[0].comments == []
    panda.now = T0 + timedelta(hours=1)
    cron = sd.run("watch", "DRP-491", "--once")
    assert cron.exit_code == 0, cron.stderr
    assert cron.stdout.count("commented on") == 3
    panda.now = T0 + timedelta(hours=2)
    result = run_watch(sd, panda)
    assert result.finished
    assert sum(len(comments(sd, k)) for k in WORKFLOWS) == 11


def test_unreachable_webhook_warns_and_keeps_watching(
    campaign: tuple[Seed, PandaEmulator, dict[str, SyntheticWorkflow]],
) -> None:
    sd, panda, _ = campaign
    receiver = Receiver()
    receiver.close()  # nothing listens there any more
    notes: list[str] = []
    result = run_watch(sd, panda, notify_url=receiver.url, note=notes.append)
    assert result.finished
    assert notes and all(re.match(message_re(WARN_WEBHOOK_FAILED), n) for n in notes), notes
    assert len(notes) == 3  # once per cycle, not once per message
    assert sum(len(comments(sd, k)) for k in WORKFLOWS) == 11  # the tracker got every update


def test_second_watcher_is_refused(
    campaign: tuple[Seed, PandaEmulator, dict[str, SyntheticWorkflow]],
) -> None:
    sd, _, _ = campaign
    before = sd.setup.snapshot()
    tracker = "jira" if sd.setup.emulator is not None else "local"
    with WatchLock(sd.setup.home / "watch" / f"{tracker}-DRP-491.lock", "DRP-491"):
        result = sd.run("watch", "DRP-491", "--once")
    assert result.exit_code == 1
    assert result.stderr.startswith("prodstat: error: "), result.stderr
    line = result.stderr.removeprefix("prodstat: error: ").rstrip("\n")
    assert re.match(message_re(MSG_WATCH_RUNNING, HINT_WATCH_RUNNING, key="DRP-491"), line), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sd.setup.snapshot() == before


def test_bad_input(seed_fixture: Seed) -> None:
    sd = seed_fixture
    sd.setup.seed("DRP-492", "Step lonely", "", labels=("prodstat_step_step12test_lonely",))
    before = sd.setup.snapshot()
    empty = sd.run("watch", "DRP-492", "--once")
    assert empty.exit_code == 1
    message = MSG_NOTHING_TO_WATCH.format(key="DRP-492", summary="Step lonely")
    assert empty.stderr == f"prodstat: error: {message}; {HINT_NOTHING_TO_WATCH}\n"
    assert sd.setup.snapshot() == before
    fast = sd.run("watch", "DRP-491", "--interval", "5")
    assert fast.exit_code == 2 and "--interval" in fast.stderr
    dry = sd.run("--dry-run", "watch", "DRP-491")
    assert dry.exit_code == 2 and "no --dry-run" in dry.stderr


def test_report_kept_current(
    campaign: tuple[Seed, PandaEmulator, dict[str, SyntheticWorkflow]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    sd, panda, _ = campaign
    page = tmp_path_factory.mktemp("report") / "campaign.html"
    result = run_watch(sd, panda, report_file=page)
    assert result.finished
    assert [c.report for c in result.cycles] == [str(page)] * 3
    text = page.read_text()
    assert "DRP-491" in text and "DRP-487" in text


def test_status_transitions_move_each_issue_once(
    campaign: tuple[Seed, PandaEmulator, dict[str, SyntheticWorkflow]],
) -> None:
    sd, panda, _ = campaign
    names = (
        {"running": "Start Progress", "done": "Done", "failed": "Done"}
        if sd.setup.emulator is not None
        else {"running": "In Progress", "done": "Done", "failed": "Failed"}
    )
    notes: list[str] = []
    result = run_watch(sd, panda, status_transitions=names, note=notes.append)
    assert result.finished and not [n for n in notes if "transition" in n], notes
    statuses = {key: sd.tracker.get_issue(key).status for key in WORKFLOWS}
    assert statuses["DRP-486"] == statuses["DRP-488"] == "Done"
    assert statuses["DRP-487"] in ("Done", "Failed")  # subfinished: the "failed" entry
    # A restart moves nothing again.
    again = run_watch(sd, panda, status_transitions=names, once=True)
    assert not any(cycle.transitions for cycle in getattr(again, "cycles", []))


# -- warnings and refusals -----------------------------------------------------------------------


def tracker_name(sd: Seed) -> str:
    return "jira" if sd.setup.emulator is not None else "local"


def test_unreadable_state_file_is_refused(
    campaign: tuple[Seed, PandaEmulator, dict[str, SyntheticWorkflow]],
) -> None:
    sd, _, _ = campaign
    state = sd.setup.home / "watch" / f"{tracker_name(sd)}-DRP-491.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text('{"workflows": {"DRP-486": ')  # cut off mid-write by a full disk
    try:
        json.loads(state.read_text())
    except ValueError as exc:
        reason = exc
    before = sd.setup.snapshot()
    result = sd.run("watch", "DRP-491", "--once")
    assert result.exit_code == 1
    message = MSG_STATE_UNREADABLE.format(path=state, reason=reason)
    assert result.stderr == f"prodstat: error: {message}; {HINT_STATE_UNREADABLE}\n"
    assert sd.setup.snapshot() == before


def test_issue_of_another_kind_is_not_watched(seed_fixture: Seed) -> None:
    sd = seed_fixture
    sd.setup.seed("DRP-492", "Some unrelated ticket")
    before = sd.setup.snapshot()
    result = sd.run("watch", "DRP-492", "--once")
    assert result.exit_code == 1
    message = MSG_NOT_WATCHABLE.format(
        key="DRP-492", kind=kind_phrase("other"), summary="Some unrelated ticket"
    )
    assert result.stderr == f"prodstat: error: {message}; {HINT_NOT_WATCHABLE}\n"
    assert sd.setup.snapshot() == before


def test_workflow_issue_that_names_no_workflow(seed_fixture: Seed) -> None:
    sd = seed_fixture
    sd.setup.seed("DRP-492", "step1#w_2022_27/PREOPS-1248/20220728T192631Z", "Written by hand.\n")
    before = sd.setup.snapshot()
    result = sd.run("watch", "DRP-492", "--once")
    assert result.exit_code == 1
    not_watched = NOTE_NOT_WATCHED.format(key="DRP-492", error=MSG_NO_BPS_BLOCK.format(key="DRP-492"))
    refused = f"{MSG_NO_WORKFLOW_NAMED.format(key='DRP-492')}; {HINT_NO_WORKFLOW_NAMED}"
    assert result.stderr == f"prodstat: {not_watched}\nprodstat: error: {refused}\n"
    assert sd.setup.snapshot() == before


def test_failed_cycle_is_retried_after_a_longer_wait(
    campaign: tuple[Seed, PandaEmulator, dict[str, SyntheticWorkflow]],
) -> None:
    sd, panda, _ = campaign
    panda.inject(503, times=1, path="wfprogress")
    waits: list[float] = []
    notes: list[str] = []

    def tick(seconds: float) -> None:
        waits.append(seconds)
        panda.now = (panda.now or T0) + timedelta(hours=1)

    settings = PandaSettings(panda.url, retries=0)
    options = {"home": sd.setup.home, "project": "DRP", "interval": 60}
    result = watch(sd.tracker, "DRP-491", panda=settings, sleep=tick, note=notes.append, **options)
    assert result.finished
    error = result.cycles[0].error
    assert error is not None and "503" in error
    assert notes == [WARN_CYCLE_FAILED.format(cycle=1, error=error, wait=120)]
    assert waits[0] == 120 and waits[1:] == [60] * (len(waits) - 1)
    assert sum(len(comments(sd, k)) for k in WORKFLOWS) == 8  # submitted was never seen


def test_rules_file_that_is_not_yaml_leaves_statistics_alone(
    campaign: tuple[Seed, PandaEmulator, dict[str, SyntheticWorkflow]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    sd, panda, _ = campaign
    rules = tmp_path_factory.mktemp("rules") / "rules.yaml"
    rules.write_text("rules: [\n")
    notes: list[str] = []
    result = run_watch(sd, panda, error_rules=str(rules), note=notes.append)
    assert result.finished and not any(c.updated for c in result.cycles)
    error = message_re(MSG_RULES_NOT_YAML, HINT_RULES_NOT_YAML.format(origin=rules), origin=rules)
    assert len(notes) == 3, notes
    for key, note in zip(WORKFLOWS, notes, strict=True):
        prefix = NOTE_STATS_NOT_UPDATED.format(key=key, error="")
        assert note.startswith(prefix) and re.match(error, note.removeprefix(prefix)), note
    assert sum(len(comments(sd, k)) for k in WORKFLOWS) == 9  # state changes are still announced


def test_report_that_cannot_be_written_is_a_warning(
    campaign: tuple[Seed, PandaEmulator, dict[str, SyntheticWorkflow]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    sd, panda, _ = campaign
    blocker = tmp_path_factory.mktemp("report") / "reports"
    blocker.write_text("a file where the directory should be\n")
    page = blocker / "campaign.html"
    notes: list[str] = []
    result = run_watch(sd, panda, report_file=page, note=notes.append)
    assert result.finished
    assert [c.report for c in result.cycles] == [None] * 3
    error = (
        f"{MSG_CANNOT_WRITE_REPORT.format(path=page, reason='Not a directory')}; {HINT_CANNOT_WRITE_REPORT}"
    )
    assert notes == [WARN_REPORT_NOT_WRITTEN.format(error=error)]  # once, not once per cycle


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_transition_jira_does_not_have_is_a_warning(
    campaign: tuple[Seed, PandaEmulator, dict[str, SyntheticWorkflow]],
) -> None:
    sd, panda, _ = campaign
    notes: list[str] = []
    result = run_watch(sd, panda, status_transitions={"running": "Fly Away"}, note=notes.append)
    assert result.finished
    expected = []
    for key in WORKFLOWS:
        names = "Start Progress, Done"  # the emulator's transitions from To Do
        error = MSG_NO_TRANSITION.format(key=key, status="To Do", name="Fly Away", names=names)
        expected.append(
            WARN_TRANSITION_FAILED.format(key=key, name="Fly Away", error=f"{error}; {HINT_NO_TRANSITION}")
        )
    assert notes == expected
    assert not any(c.transitions for c in result.cycles)


def test_damaged_step_is_not_rolled_up(
    campaign: tuple[Seed, PandaEmulator, dict[str, SyntheticWorkflow]],
) -> None:
    sd, panda, _ = campaign
    first = run_watch(sd, panda, once=True)
    assert first.cycles[0].rollups == ["DRP-489", "DRP-490", "DRP-491"]
    description = sd.description("DRP-490")
    end = re.search(r"\{anchor:prodstat-[a-z_-]+-end\}\n", description)
    assert end is not None, description
    sd.tracker.update_issue("DRP-490", description=description.replace(end.group(0), "") + "my note\n")
    notes: list[str] = []
    result = run_watch(sd, panda, note=notes.append)
    assert result.finished
    assert all("DRP-490" not in c.rollups for c in result.cycles)
    assert len(notes) == 1, notes
    marker = end.group(0).strip()
    name = marker.removeprefix("{anchor:prodstat-").removesuffix("-end}")
    error = MSG_SECTION_DAMAGED.format(name=name, where="", problem=PROBLEM_END_MISSING.format(marker=marker))
    hint = HINT_SECTION_DAMAGED.format(start=marker.replace("-end}", "}"), end=marker)
    assert notes == [NOTE_ROLLUP_NOT_REFRESHED.format(key="DRP-490", error=f"{error}; {hint}")]
