"""``watch``: keep the issues of a campaign, step or workflow current until every workflow ends.

Each cycle asks PanDA once for the state of every workflow under the issue (one
wfprogress query), runs the statistics update (``update-stat``, through the one
executor) only for workflows whose state or counts changed, refreshes the step and
campaign roll-ups (``map-drp-steps --auto``) when anything changed, and comments once per
state change (submitted → running → finished/subfinished/failed), on the first failed
jobs, and when a workflow's failed share passes ``failure_share``. The same messages go
to a webhook (Slack-style JSON POST) when one is configured; a webhook that cannot be
reached is a warning, never a reason to stop.

What was announced is recorded in ``<home>/watch/<tracker>-<KEY>.json`` as soon as it is
announced, so a restarted watcher never repeats a comment; a lock file beside it refuses
a second watcher of the same issue. A cycle that fails on PanDA or the tracker (after
their own retries, which honour ``Retry-After``) is retried after a growing wait.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..config import PandaSettings, Settings
from ..core.panda import PandaWorkflow
from ..errors import InputError, ProdstatError, ServiceError, UsageError
from ..services.tracker.base import Issue, Tracker, check_issue_key

__all__ = [
    "DEFAULT_INTERVAL",
    "FINAL_STATES",
    "HINT_NOTHING_TO_WATCH",
    "HINT_NOT_WATCHABLE",
    "HINT_NO_WORKFLOW_NAMED",
    "HINT_STATE_UNREADABLE",
    "HINT_WATCH_RUNNING",
    "MIN_INTERVAL",
    "MSG_NOTHING_TO_WATCH",
    "MSG_NOT_WATCHABLE",
    "MSG_NO_WORKFLOW_NAMED",
    "MSG_STATE_UNREADABLE",
    "MSG_WATCH_RUNNING",
    "NOTE_NOT_WATCHED",
    "NOTE_ROLLUP_NOT_REFRESHED",
    "NOTE_STATS_NOT_UPDATED",
    "NO_DRY_RUN",
    "WARN_CYCLE_FAILED",
    "WARN_REPORT_NOT_WRITTEN",
    "WARN_TRANSITION_FAILED",
    "WARN_WEBHOOK_FAILED",
    "CycleReport",
    "WatchResult",
    "run_watch",
    "watch",
    "workflow_state",
]

_log = logging.getLogger(__name__)

MIN_INTERVAL = 30.0
"""Seconds: watching faster only loads PanDA and the tracker (the monitor rate-limits per IP)."""
DEFAULT_INTERVAL = 300.0
MAX_BACKOFF = 3600.0
MAX_FAILED_CYCLES = 10
"""Consecutive failed cycles after which watch gives up (exit 3)."""

FINAL_STATES = frozenset({"finished", "subfinished", "failed", "cancelled", "expired"})
_SUBMITTED = frozenset({"new", "ready", "building", "built", "submitting", "submitted", ""})
_CATEGORY = {
    "running": "running",
    "finished": "done",
    "subfinished": "done",
    "failed": "failed",
    "cancelled": "failed",
    "expired": "failed",
}
"""Workflow state → the ``status_transitions`` entry used for it."""


def workflow_state(workflow: PandaWorkflow | None) -> str:
    """The watch state of a workflow from its wfprogress entry (`None`: PanDA has not registered it).

    ``submitted`` (known to the tracker, not running in PanDA yet), ``running``, or a final
    state: ``finished``, ``subfinished`` (some tasks failed), ``failed``, ``cancelled``,
    ``expired``.
    """
    if workflow is None:
        return "submitted"
    status = workflow.status.strip().lower()
    if status in ("finished", "subfinished", "failed", "cancelled", "expired"):
        return status
    if status in _SUBMITTED or (status == "transforming" and not workflow.total_tasks):
        return "submitted"
    return "running"


def _signature(workflow: PandaWorkflow | None) -> list[Any] | None:
    """What must change for a workflow to need a statistics update."""
    if workflow is None:
        return None
    return [
        workflow.request_id,
        workflow.status,
        workflow.total_tasks,
        dict(sorted(workflow.tasks_statuses.items())),
        workflow.total_files,
        workflow.finished_files,
        workflow.failed_files,
        workflow.remaining_files,
    ]


# -- state on disk, lock ------------------------------------------------------------------------


MSG_WATCH_RUNNING = "another prodstat watch of {key} is running (pid {pid}, lock {lock})"
HINT_WATCH_RUNNING = "stop it first, or let it finish; one watcher per issue"


class WatchLock:
    """An exclusive lock on ``path`` (``flock``: released by the OS even if the watcher dies)."""

    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self.key = key
        self._file: IO[str] | None = None

    def __enter__(self) -> WatchLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Held open for the watch's life: the lock lives as long as the file stays open.
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise InputError(
                MSG_WATCH_RUNNING.format(key=self.key, pid=holder, lock=self.path),
                HINT_WATCH_RUNNING,
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


MSG_STATE_UNREADABLE = "watch state file {path} cannot be read ({reason})"
HINT_STATE_UNREADABLE = "delete it to start over (comments already made may then be made again)"


class WatchState:
    """What was announced and updated per workflow, saved after every change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data: dict[str, Any] = {}
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(
                    MSG_STATE_UNREADABLE.format(path=path, reason=exc),
                    HINT_STATE_UNREADABLE,
                ) from None
        self.workflows: dict[str, dict[str, Any]] = dict(data.get("workflows") or {})

    def of(self, key: str) -> dict[str, Any]:
        """The record of workflow issue ``key``."""
        record = self.workflows.setdefault(key, {})
        record.setdefault("announced", [])
        return record

    def save(self) -> None:
        """Write the state atomically (a crash leaves the old file or the new one)."""
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"workflows": self.workflows}, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)


# -- results ------------------------------------------------------------------------------------


@dataclass
class CycleReport:
    """What one cycle saw and did."""

    cycle: int
    states: dict[str, str] = field(default_factory=dict)
    updated: list[str] = field(default_factory=list)
    comments: list[tuple[str, str]] = field(default_factory=list)
    transitions: list[tuple[str, str]] = field(default_factory=list)
    rollups: list[str] = field(default_factory=list)
    report: str | None = None
    all_final: bool = False
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "cycle": self.cycle,
            "states": dict(self.states),
            "updated": list(self.updated),
            "comments": [{"issue": k, "text": t} for k, t in self.comments],
            "transitions": [{"issue": k, "transition": t} for k, t in self.transitions],
            "rollups": list(self.rollups),
            "report": self.report,
            "all_final": self.all_final,
            "error": self.error,
        }


@dataclass
class WatchResult:
    """What a watch did, cycle by cycle."""

    key: str
    kind: str
    workflows: list[str]
    cycles: list[CycleReport] = field(default_factory=list)
    finished: bool = False
    """Every workflow reached a final state (and its issue was updated after it did)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``--json``)."""
        return {
            "issue": self.key,
            "kind": self.kind,
            "workflows": list(self.workflows),
            "finished": self.finished,
            "cycles": [c.to_dict() for c in self.cycles],
        }


# -- the watch ----------------------------------------------------------------------------------


@dataclass
class _Members:
    root: Issue
    kind: str
    workflows: list[Issue]
    steps: list[Issue]
    campaign: Issue | None


MSG_NOT_WATCHABLE = "{key} is {kind} ({summary}), not a campaign, step or workflow issue"
HINT_NOT_WATCHABLE = "watch a campaign, step or workflow issue that prodstat created"


def _members(tracker: Tracker, key: str, project: str | None, notes: list[str]) -> _Members:
    from ..core.ids import kind_phrase
    from .tree import campaign_steps, kind_of, step_members

    root = tracker.get_issue(key)
    kind = kind_of(root)
    if kind == "workflow":
        return _Members(root, kind, [root], [], None)
    if kind == "step":
        steps = [root]
        campaign = None
    elif kind == "campaign":
        steps = [s for _, s in campaign_steps(tracker, root, notes)]
        campaign = root
    else:
        raise InputError(
            MSG_NOT_WATCHABLE.format(key=key, kind=kind_phrase(kind), summary=root.summary),
            HINT_NOT_WATCHABLE,
        )
    members = step_members(tracker, steps, project, notes) if steps else {}
    workflows: list[Issue] = []
    for step in steps:
        workflows += [w for _, w in members[step.key].workflows if w.key not in {x.key for x in workflows}]
    return _Members(root, kind, workflows, steps, campaign)


WARN_WEBHOOK_FAILED = (
    "warning: the webhook (notify_url) did not take a message ({reason}); watching goes on and the "
    "tracker is updated as usual"
)


class _Notifier:
    """Posts messages to a Slack-style webhook; an unreachable one is a warning, once per cycle."""

    def __init__(self, url: str | None, note: Callable[[str], None]) -> None:
        self.url = url
        self.note = note
        self._session: Any = None
        self.failed = False

    def post(self, text: str) -> None:
        if not self.url or self.failed:
            return
        import requests

        if self._session is None:
            self._session = requests.Session()
        try:
            response = self._session.post(self.url, json={"text": text}, timeout=(5.0, 10.0))
            if response.status_code >= 300:
                raise OSError(f"HTTP {response.status_code}")
        except (OSError, requests.RequestException) as exc:
            from ..errors import short_reason

            self.failed = True  # until the next cycle: one warning, not one per message
            self.note(WARN_WEBHOOK_FAILED.format(reason=short_reason(exc)))

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


MSG_NOTHING_TO_WATCH = "{key} ({summary}) has no workflow issues to watch"
HINT_NOTHING_TO_WATCH = "record the workflows first (update-issue, update-step), or watch another issue"
WARN_CYCLE_FAILED = "warning: cycle {cycle} failed ({error}); next try in {wait:.0f} s"


def watch(
    tracker: Tracker,
    key: str,
    *,
    home: Path,
    panda: PandaSettings,
    project: str | None = None,
    interval: float = DEFAULT_INTERVAL,
    once: bool = False,
    report_file: Path | None = None,
    notify_url: str | None = None,
    status_transitions: Mapping[str, str] | None = None,
    failure_share: float = 0.1,
    error_rules: str | None = None,
    butler: bool = False,
    jira_url: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    note: Callable[[str], None] = lambda text: None,
    on_cycle: Callable[[CycleReport], None] = lambda report: None,
    max_cycles: int | None = None,
) -> WatchResult:
    """Watch ``key`` (a campaign, step or workflow issue) until every workflow under it is final.

    Parameters
    ----------
    panda : `~lsst.prodstatus.config.PandaSettings`
        The PanDA monitor.
    interval : `float`
        Seconds between cycles (`sleep` is called with it; tests pass their own clock).
    once : `bool`
        One cycle, then return (for cron).
    butler : `bool`
        Also read the Butler statistics of a workflow when it reaches a final state.
    note : callable
        Receives warnings and notes (the CLI prints them on stderr).
    on_cycle : callable
        Receives each cycle's report as soon as it ends.

    Raises
    ------
    InputError
        ``key`` is not a campaign, step or workflow issue, has no workflows, or another
        watcher holds its lock (exit 1).
    ServiceError
        PanDA or the tracker failed ``MAX_FAILED_CYCLES`` cycles in a row, or in the one
        cycle of ``once`` (exit 3).
    """
    key = check_issue_key(key)
    from ..config import ensure_writable_dir

    watch_dir = ensure_writable_dir(home / "watch", "watch state directory")
    stem = f"{tracker.name}-{key}"
    with WatchLock(watch_dir / f"{stem}.lock", key):
        notes: list[str] = []
        members = _members(tracker, key, project, notes)
        for text in notes:
            note(text)
        if not members.workflows:
            raise InputError(
                MSG_NOTHING_TO_WATCH.format(key=key, summary=members.root.summary),
                HINT_NOTHING_TO_WATCH,
            )
        state = WatchState(watch_dir / f"{stem}.json")
        result = WatchResult(key, members.kind, [w.key for w in members.workflows])
        client = panda.client()
        notifier = _Notifier(notify_url, note)
        context = _Context(
            tracker=tracker,
            key=key,
            home=home,
            project=project,
            client=client,
            panda=panda,
            error_rules=error_rules,
            butler=butler,
            transitions=dict(status_transitions or {}),
            failure_share=failure_share,
            report_file=report_file,
            jira_url=jira_url,
            state=state,
            notifier=notifier,
            note=note,
        )
        failures_in_row = 0
        try:
            cycle = 0
            while True:
                cycle += 1
                notifier.failed = False
                report = CycleReport(cycle)
                try:
                    if cycle > 1:
                        members = _members(tracker, key, project, [])  # newly recorded workflows join
                    context.run_cycle(members, report)
                    failures_in_row = 0
                except ServiceError as exc:
                    failures_in_row += 1
                    report.error = exc.one_line()
                    if once or failures_in_row >= MAX_FAILED_CYCLES:
                        raise
                result.cycles.append(report)
                on_cycle(report)
                if report.all_final:
                    result.finished = True
                    break
                if once or (max_cycles is not None and cycle >= max_cycles):
                    break
                wait = interval
                if failures_in_row:
                    # PanDA or the tracker is throttling or down: back off, up to an hour.
                    wait = min(interval * 2**failures_in_row, max(MAX_BACKOFF, interval))
                    note(WARN_CYCLE_FAILED.format(cycle=cycle, error=report.error, wait=wait))
                sleep(wait)
        finally:
            client.close()
            notifier.close()
        return result


NOTE_NOT_WATCHED = "{key}: not watched: {error}"
MSG_NO_WORKFLOW_NAMED = "no workflow issue under {key} names its workflow"
HINT_NO_WORKFLOW_NAMED = "run update-issue for them first"
NOTE_STATS_NOT_UPDATED = "{key}: statistics not updated: {error}"
WARN_TRANSITION_FAILED = "warning: {key}: transition {name!r} failed: {error}"
NOTE_ROLLUP_NOT_REFRESHED = "{key}: roll-up not refreshed: {error}"
WARN_REPORT_NOT_WRITTEN = "warning: report not written: {error}"


@dataclass
class _Context:
    tracker: Tracker
    key: str
    home: Path
    project: str | None
    client: Any
    panda: PandaSettings
    error_rules: str | None
    butler: bool
    transitions: dict[str, str]
    failure_share: float
    report_file: Path | None
    jira_url: str | None
    state: WatchState
    notifier: _Notifier
    note: Callable[[str], None]
    _said: set[str] = field(default_factory=set)

    def note_once(self, text: str) -> None:
        if text not in self._said:
            self._said.add(text)
            self.note(text)

    def run_cycle(self, members: _Members, report: CycleReport) -> None:
        from ..services.panda import days_covering
        from .update_stat import update_workflow_stats, workflow_ref

        refs = {}
        for issue in members.workflows:
            try:
                refs[issue.key] = workflow_ref(issue.key, issue.summary, issue.description)
            except InputError as exc:
                self.note_once(NOTE_NOT_WATCHED.format(key=issue.key, error=exc.message))
        if not refs:
            raise InputError(MSG_NO_WORKFLOW_NAMED.format(key=self.key), HINT_NO_WORKFLOW_NAMED)
        days = max(days_covering(ref.timestamp) for ref in refs.values())
        found = self.client.find_workflows([ref.uniq_proc_name for ref in refs.values()], days)
        changed = False
        all_final = True
        for issue in members.workflows:
            ref = refs.get(issue.key)
            if ref is None:
                continue
            workflow = found.get(ref.uniq_proc_name)
            now_state = workflow_state(workflow)
            report.states[issue.key] = now_state
            record = self.state.of(issue.key)
            signature = _signature(workflow)
            final = now_state in FINAL_STATES
            stats = None
            if workflow is not None and record.get("signature") != signature:
                try:
                    stats = update_workflow_stats(
                        self.tracker,
                        issue.key,
                        home=self.home,
                        panda=self.panda,
                        use_butler=self.butler and final,
                        error_rules=self.error_rules,
                        panda_found=(workflow, days),
                    )
                except InputError as exc:
                    # Bad issue content is not for a watcher to fix: say so once, move on.
                    self.note_once(NOTE_STATS_NOT_UPDATED.format(key=issue.key, error=exc.one_line()))
                    record["signature"] = signature
                    self.state.save()
                else:
                    record["signature"] = signature
                    self.state.save()
                    report.updated.append(issue.key)
                    changed = True
            if not final or record.get("signature") != signature:
                all_final = False
            self._announce(issue, ref.uniq_proc_name, now_state, workflow, record, stats, report)
        if changed or report.cycle == 1:
            self._rollups(members, report)
            self._report(report)
        report.all_final = all_final

    def _announce(
        self,
        issue: Issue,
        uniq: str,
        now_state: str,
        workflow: PandaWorkflow | None,
        record: dict[str, Any],
        stats: Any,
        report: CycleReport,
    ) -> None:
        announced: list[str] = record["announced"]
        known = {c.body.rsplit("{anchor:prodstat-watch-", 1)[-1].rstrip("}\n ") for c in issue.comments}
        messages: list[tuple[str, str]] = []
        if record.get("state") != now_state:
            before = record.get("state")
            detail = ""
            if workflow is not None:
                files = workflow.total_files
                detail = f"; {workflow.total_tasks or 0} tasks" + (f", {files} files" if files else "")
                if workflow.tasks_statuses:
                    detail += (
                        " (" + ", ".join(f"{k} {v}" for k, v in sorted(workflow.tasks_statuses.items())) + ")"
                    )
            text = (
                f"prodstat watch: workflow {uniq} is {now_state}"
                + (f" (was {before})" if before else "")
                + detail
            )
            messages.append(
                (f"state-{now_state}-{len([a for a in announced if a.startswith('state-')])}", text)
            )
        failures = stats.failures_dict() if stats is not None else None
        if failures and failures["failed_attempts"] and "failures-first" not in announced:
            top = sorted(failures["groups"], key=lambda g: -g["attempts"])[:3]
            listed = "; ".join(
                f"{g['label']} {g['source']}:{g['code']} ×{g['attempts']}"
                + (f" ({g['flavour']}: {g['rule']})" if g["rule"] else " (unexplained)")
                for g in top
            )
            messages.append(
                (
                    "failures-first",
                    f"prodstat watch: first failed jobs in {uniq}: {failures['failed_attempts']} failed "
                    f"attempts ({failures['failed_jobs']} jobs); most: {listed}",
                )
            )
        if stats is not None and stats.panda is not None and "failures-share" not in announced:
            total = stats.panda.total
            share = total.failed / total.jobs if total.jobs else 0.0
            if share > self.failure_share:
                messages.append(
                    (
                        "failures-share",
                        f"prodstat watch: {share:.0%} of the jobs of {uniq} failed "
                        f"(more than {self.failure_share:.0%}); see the failures section of {issue.key}",
                    )
                )
        for event, text in messages:
            if event not in known:
                self.tracker.add_comment(issue.key, f"{text}\n{{anchor:prodstat-watch-{event}}}")
                report.comments.append((issue.key, text))
                self.notifier.post(f"{issue.key}: {text}")
            announced.append(event)
            if event.startswith("state-"):
                record["state"] = now_state
            # Saved after each comment: a restart never makes it again.
            self.state.save()
        category = _CATEGORY.get(now_state)
        name = self.transitions.get(category) if category else None
        if name and f"transition-{category}" not in announced:
            try:
                self.tracker.transition_issue(issue.key, name)
            except ProdstatError as exc:
                self.note_once(WARN_TRANSITION_FAILED.format(key=issue.key, name=name, error=exc.one_line()))
            else:
                report.transitions.append((issue.key, name))
            announced.append(f"transition-{category}")
            self.state.save()

    def _rollups(self, members: _Members, report: CycleReport) -> None:
        from .maps import map_auto

        for issue in [*members.steps, *([members.campaign] if members.campaign else [])]:
            try:
                map_auto(self.tracker, issue.key, project=self.project, home=self.home)
            except InputError as exc:
                self.note_once(NOTE_ROLLUP_NOT_REFRESHED.format(key=issue.key, error=exc.one_line()))
            else:
                report.rollups.append(issue.key)

    def _report(self, report: CycleReport) -> None:
        if self.report_file is None:
            return
        from .report import write_report

        try:
            write_report(
                self.tracker,
                self.key,
                self.report_file,
                home=self.home,
                jira_url=self.jira_url,
                project=self.project,
            )
        except InputError as exc:
            self.note_once(WARN_REPORT_NOT_WRITTEN.format(error=exc.one_line()))
        else:
            report.report = str(self.report_file)


NO_DRY_RUN = "watch writes as it goes and has no --dry-run; use update-stat --dry-run"
"""Usage error (exit 2): ``watch --dry-run``."""


def run_watch(
    tracker: Tracker,
    settings: Settings,
    *,
    key: str,
    interval: float = DEFAULT_INTERVAL,
    once: bool = False,
    report_file: str | None = None,
    with_butler: bool = False,
    dry_run: bool = False,
    note: Callable[[str], None] = lambda text: None,
    on_cycle: Callable[[CycleReport], None] = lambda report: None,
) -> WatchResult:
    """``watch``: `watch` ``key`` with the PanDA, webhook, transition and alert settings."""
    if dry_run:
        raise UsageError(NO_DRY_RUN)
    return watch(
        tracker,
        key,
        home=settings.home,
        panda=settings.panda,
        project=settings.project,
        interval=interval,
        once=once,
        report_file=Path(report_file) if report_file else None,
        notify_url=settings["notify_url"],
        status_transitions=settings["status_transitions"],
        failure_share=settings["failure_alert_share"],
        error_rules=settings["error_rules"],
        butler=with_butler,
        jira_url=settings["jira_url"],
        note=note,
        on_cycle=on_cycle,
    )
