"""``update-stat``: PanDA and Butler statistics of a workflow, written into its issue.

Both sources are computed before anything is written: if one fails, the command fails
(exit 3) and the issue keeps its previous statistics. Tracker round trips: one read of
the issue and one write of its description (plus uploads only for tables too long to
keep in the description).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import PandaSettings, Settings
from ..core.bps import expand_placeholders, parse_bps_block, parse_summary, uniq_proc_name
from ..core.failures import (
    FAILURE_HEADERS,
    ErrorGroup,
    FailureSummary,
    QuantumFailures,
    failures_section,
    quantum_failures,
    unexplained_share,
)
from ..core.ids import issue_kind, kind_phrase
from ..core.markup import DESCRIPTION_LIMIT as MARKUP_DESCRIPTION_LIMIT
from ..core.markup import DamagedSectionError, check_markers, read_section, replace_sections, wiki_table
from ..core.plan import Action, IssuePlan, PlannedAttachment
from ..core.stats import PandaLabelStats, PandaStats, fmt_number, fmt_time, status_line
from ..core.timeline import JobTimes
from ..core.workflow import STATISTICS_SECTIONS
from ..errors import InputError, UsageError, without_userinfo
from ..services.tracker.base import Tracker, check_issue_key
from ._gather import ProgressFactory, gather_statistics
from .apply import apply_plan

__all__ = [
    "DESCRIPTION_LIMIT",
    "HINT_CANNOT_EXPAND",
    "HINT_DESCRIPTION_TOO_LONG",
    "HINT_NOT_WORKFLOW",
    "HINT_NO_BPS_BLOCK",
    "HINT_NO_BUTLER_CONFIG",
    "HINT_NO_TIMESTAMP",
    "MSG_CANNOT_EXPAND",
    "MSG_DESCRIPTION_TOO_LONG",
    "MSG_NOT_WORKFLOW",
    "MSG_NO_BPS_BLOCK",
    "MSG_NO_BUTLER_CONFIG",
    "MSG_NO_TIMESTAMP",
    "NOTHING_TO_DO",
    "NOTHING_TO_DO_HINT",
    "SECTIONS",
    "UpdateStatResult",
    "WorkflowRef",
    "panda_section",
    "run_update_stat",
    "update_workflow_stats",
    "workflow_ref",
]

DESCRIPTION_LIMIT = MARKUP_DESCRIPTION_LIMIT
"""Characters Jira keeps in a description (32,767, with room for a person's notes)."""

SECTIONS = STATISTICS_SECTIONS
"""Managed sections written by update-stat, in the order they are first added."""

NOTHING_TO_DO = "--no-panda and --no-butler together leave nothing to do"
"""Usage error (exit 2): both sources skipped."""
NOTHING_TO_DO_HINT = "drop one of them"

_REQUEST_RE = re.compile(r"PanDA request: (\d+)")


@dataclass(frozen=True)
class WorkflowRef:
    """What identifies a workflow, read back from its issue."""

    key: str
    step: str
    timestamp: str
    uniq_proc_name: str
    output_run: str
    butler_config: str | None
    request_id: int | None


MSG_NO_TIMESTAMP = "issue {key} has no bps timestamp in its summary {summary!r}"
HINT_NO_TIMESTAMP = (
    "a workflow issue's summary is <step>#<campaign>/<YYYYMMDDTHHMMSSZ>, as update-issue writes it"
)
MSG_CANNOT_EXPAND = "cannot expand output {output!r} of issue {key}: {reason}"
HINT_CANNOT_EXPAND = "run 'prodstat update-issue' for this workflow again to refresh its BPS block"
MSG_NO_BPS_BLOCK = "issue {key} has no BPS Submit Keywords block naming the workflow (uniqProcName/output)"
HINT_NO_BPS_BLOCK = "create it with 'prodstat update-issue BPS_YAML PRODUCTION_ISSUE {key}'"


def workflow_ref(key: str, summary: str, description: str) -> WorkflowRef:
    """Read the workflow's identity from an issue (also one written by the original tool).

    Raises
    ------
    InputError
        No bps timestamp in the summary, or no BPS block to name the workflow.
    """
    parsed = parse_summary(summary)
    if parsed is None:
        raise InputError(
            MSG_NO_TIMESTAMP.format(key=key, summary=summary),
            HINT_NO_TIMESTAMP,
        )
    step, _campaign, timestamp = parsed
    block = parse_bps_block(description)
    output = block.get("output")
    uniq = block.get("uniqProcName")
    run = block.get("outputRun")
    if output and (not uniq or not run):
        try:
            expanded = expand_placeholders(output, block)
        except ValueError as exc:
            raise InputError(
                MSG_CANNOT_EXPAND.format(output=output, key=key, reason=exc),
                HINT_CANNOT_EXPAND,
            ) from exc
        uniq = uniq or uniq_proc_name(expanded, timestamp)
        run = run or f"{expanded}/{timestamp}"
    if not uniq or not run:
        raise InputError(
            MSG_NO_BPS_BLOCK.format(key=key),
            HINT_NO_BPS_BLOCK.format(key=key),
        )
    match = _REQUEST_RE.search(read_section(description, "panda") or "")
    return WorkflowRef(
        key=key,
        step=step,
        timestamp=timestamp,
        uniq_proc_name=uniq,
        output_run=run,
        butler_config=block.get("butlerConfig"),
        request_id=int(match.group(1)) if match else None,
    )


# -- rendering --------------------------------------------------------------------------------


PANDA_HEADERS = [
    "Label",
    "Tasks",
    "Jobs",
    "Finished",
    "Failed",
    "Cancelled",
    "Other",
    "Retried",
    "Wall h",
    "Core h",
    "CPU h",
    "maxRSS GiB",
    "First start (UTC)",
    "Last end (UTC)",
    "Wallclock h",
    "Parallel",
]


def _panda_row(stats: PandaLabelStats, label: str | None = None) -> list[str]:
    cpu = fmt_number(stats.cpu_hours) + (" (?)" if stats.cpu_suspect else "")
    return [
        label or stats.label,
        str(stats.tasks),
        str(stats.jobs),
        str(stats.finished),
        str(stats.failed),
        str(stats.cancelled),
        str(stats.other),
        str(stats.retried),
        fmt_number(stats.wall_hours),
        fmt_number(stats.core_hours),
        cpu,
        fmt_number(stats.max_rss_gib),
        fmt_time(stats.first_start),
        fmt_time(stats.last_end),
        fmt_number(stats.wallclock_hours),
        fmt_number(stats.parallelism, 1),
    ]


def panda_rows(stats: PandaStats) -> list[list[str]]:
    """Rows of the PanDA table: one per label, then the workflow total."""
    return [_panda_row(s) for s in stats.labels] + [_panda_row(stats.total, "*workflow*")]


def panda_section(
    stats: PandaStats, pandamon_url: str, max_rows: int | None = None, attachment: str = "panda.csv"
) -> str:
    """The ``panda`` managed section: request, links, table and notes."""
    wf = stats.workflow
    base = without_userinfo(pandamon_url)  # credentials never go into an issue
    base = base if base.endswith("/") else base + "/"
    created = fmt_time(wf.created_at)
    lines = [
        "h3. PanDA statistics",
        f"PanDA request: {wf.request_id} status {wf.status}"
        + (f", created {created} UTC" if created else "")
        + f" [wfprogress|{base}idds/wfprogress/?requestid={wf.request_id}]"
        # A date, not days=N: the section must not change from one day to the next.
        + f" [tasks|{base}tasks/?reqid={wf.request_id}"
        + (f"&date_from={wf.created_at:%d-%m-%Y}" if wf.created_at else "")
        + "]",
    ]
    rows = panda_rows(stats)
    lines.append(_table(PANDA_HEADERS, rows, max_rows, attachment))
    notes = ["Jobs: all attempts of every status; Retried: jobs with attemptnr > 1; Core h: wall × cores."]
    if stats.total.cpu_suspect:
        notes.append(
            "CPU h (?): PanDA reported at most 1 s of CPU for most jobs, so its CPU accounting is not usable "
            "here; see the Butler table for CPU."
        )
    lines.extend(notes)
    return "\n".join(lines)


BUTLER_HEADERS = [
    "Label",
    "nQuanta",
    "CPU h",
    "mean CPU s/Q",
    "max CPU s/Q",
    "maxRSS GiB",
    "First start (UTC)",
]


def butler_rows(stats: Any) -> list[list[str]]:
    """Rows of the Butler table: one per label, then the RUN total."""
    rows = []
    for label in stats.labels:
        est = " est." if label.estimated else ""
        rows.append(
            [
                label.label,
                str(label.n_quanta),
                fmt_number(label.cpu_hours) + est,
                fmt_number(label.mean_cpu_s, 1),
                fmt_number(label.max_cpu_s, 1),
                fmt_number(label.max_rss_gib),
                fmt_time(label.first_start),
            ]
        )
    est = " est." if stats.estimated else ""
    rows.append(
        [
            "*run*",
            str(stats.n_quanta),
            f"{stats.cpu_hours:.2f}{est}",
            "",
            "",
            fmt_number(stats.max_rss_gib),
            fmt_time(stats.first_start),
        ]
    )
    return rows


def butler_section(stats: Any, max_rows: int | None = None, attachment: str = "butler.csv") -> str:
    """The ``butler`` managed section: RUN, table and notes."""
    lines = ["h3. Butler statistics", f"RUN {stats.run} in {stats.repo}"]
    lines.append(_table(BUTLER_HEADERS, butler_rows(stats), max_rows, attachment))
    if stats.estimated:
        lines.append("est.: CPU hours estimated as mean × nQuanta from the quanta whose metadata was read.")
    unreadable = sum(label.n_unreadable for label in stats.labels)
    if unreadable:
        lines.append(f"{unreadable} metadata datasets could not be read (not counted in the means).")
    return "\n".join(lines)


def _table(headers: Sequence[str], rows: list[list[str]], max_rows: int | None, attachment: str) -> str:
    """Render a table, keeping at most ``max_rows`` rows (the total row always stays; 0: none)."""
    if max_rows is not None and len(rows) > max_rows:
        if max_rows == 0:
            return f"(the table of {len(rows)} rows is attached as {attachment})"
        kept = [*rows[: max_rows - 1], rows[-1]]
        note = f"({len(rows) - len(kept)} rows not shown: the full table is attached as {attachment})"
        return wiki_table(headers, kept, raw=True) + "\n" + note
    return wiki_table(headers, rows, raw=True)


def _csv(headers: Sequence[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode()


# -- the command --------------------------------------------------------------------------------


@dataclass
class UpdateStatResult:
    """What update-stat computed and wrote."""

    ref: WorkflowRef
    action: Action
    description: str
    sections: dict[str, str]
    panda: PandaStats | None = None
    butler: Any = None
    files: list[Path] = field(default_factory=list)
    attached: list[str] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    failures: list[ErrorGroup] | None = None
    """Failed jobs per label and error (`None` without PanDA statistics)."""
    failed_quanta: list[QuantumFailures] = field(default_factory=list)
    """Failed quanta per label and exception type, from the RUN's ``run_provenance``."""

    def failures_dict(self) -> dict[str, Any] | None:
        """The failure summary as JSON (also saved as ``failures.json``)."""
        if self.failures is None:
            return None
        share = unexplained_share(self.failures)
        return {
            "uniqProcName": self.ref.uniq_proc_name,
            "timestamp": self.ref.timestamp,
            "failed_jobs": sum(g.jobs for g in self.failures),
            "failed_attempts": sum(g.attempts for g in self.failures),
            "unexplained_share": share,
            "groups": [g.to_dict() for g in self.failures],
        } | (
            {
                "failed_quanta": sum(q.quanta for q in self.failed_quanta),
                "quanta": [q.to_dict() for q in self.failed_quanta],
            }
            if self.failed_quanta
            else {}
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``--json``)."""
        data: dict[str, Any] = {
            "action": self.action,
            "issue": self.ref.key,
            "timestamp": self.ref.timestamp,
            "uniqProcName": self.ref.uniq_proc_name,
            "run": self.ref.output_run,
            "files": [str(p) for p in self.files],
            "attached": self.attached,
            "plan": self.plan,
        }
        if self.panda is not None:
            wf = self.panda.workflow
            data["panda"] = {
                # The workflow's identity travels with the saved file, so a reader can tell a
                # stale file (another tracker's issue with the same key) from this one.
                "uniqProcName": self.ref.uniq_proc_name,
                "timestamp": self.ref.timestamp,
                "request_id": wf.request_id,
                "status": wf.status,
                "days": self.panda.days,
                "status_line": self.sections.get("status"),
                "labels": [s.to_dict() for s in self.panda.labels],
                "workflow": self.panda.total.to_dict(),
            }
        if self.butler is not None:
            data["butler"] = self.butler.to_dict()
        failures = self.failures_dict()
        if failures is not None:
            data["failures"] = failures
        return data


def _failures_csv(groups: Sequence[ErrorGroup]) -> bytes:
    """The failures table as CSV (plain text cells, every row)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FAILURE_HEADERS)
    for g in groups:
        rule = g.rule
        writer.writerow(
            [
                g.label,
                g.error,
                g.jobs,
                g.attempts,
                f"{rule.flavour} ({rule.name})" if rule else "unexplained",
                " ".join(x for x in (rule.action, rule.ticket) if x) if rule else "",
                g.diag,
                " ".join(map(str, g.examples)),
            ]
        )
    return out.getvalue().encode()


def _plot_attachments(key: str, uniq_proc_name: str, times: JobTimes) -> list[PlannedAttachment]:
    """The update-stat plots as PNG attachments (matplotlib, Agg backend, imported lazily)."""
    from ..services.plots import distributions_png, running_jobs_png

    if not times.spans:
        return []
    return [
        PlannedAttachment(
            f"timeline-{key}.png",
            running_jobs_png(times.timeline(), f"Running jobs per label: {uniq_proc_name}"),
        ),
        PlannedAttachment(
            f"distributions-{key}.png",
            distributions_png(times.samples, f"Per-job figures per label: {uniq_proc_name}"),
        ),
    ]


def _numeric_csv(records: Sequence[dict[str, Any]]) -> bytes:
    """CSV of figure dicts (unrounded numbers, ISO times, flags as columns) for scripts."""
    columns: list[str] = []
    for record in records:
        columns.extend(k for k, v in record.items() if k not in columns and not isinstance(v, list | dict))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode()


MSG_NOT_WORKFLOW = "{key} is {kind} ({summary}), not a workflow issue"
HINT_NOT_WORKFLOW = "give the key of a workflow issue (update-issue prints it)"
MSG_NO_BUTLER_CONFIG = "issue {key} has no butlerConfig in its BPS Submit Keywords block"
HINT_NO_BUTLER_CONFIG = "pass --butler REPO, or --no-butler to skip the Butler statistics"
MSG_DESCRIPTION_TOO_LONG = (
    "the description of {key} would be {length} characters even without statistics tables, more than "
    "the {limit} the tracker keeps"
)
HINT_DESCRIPTION_TOO_LONG = "shorten the text outside prodstat's sections; nothing was written"


def update_workflow_stats(
    tracker: Tracker,
    drp_issue: str,
    *,
    home: Path,
    panda: PandaSettings,
    butler_repo: str | None = None,
    use_panda: bool = True,
    use_butler: bool = True,
    sample: int | None = None,
    dry_run: bool = False,
    progress: ProgressFactory | None = None,
    max_workers: int = 8,
    error_rules: str | Path | None = None,
    panda_found: tuple[Any, int] | None = None,
    plots: bool = False,
) -> UpdateStatResult:
    """Compute the workflow's statistics and write them into its issue.

    ``panda`` is the PanDA monitor (its URL also makes the issue's PanDA links). With
    PanDA statistics, the failures section holds the failed jobs per label and
    error, classified by the rules of ``error_rules`` (a yaml file) and the shipped ones.
    ``panda_found`` is the workflow's PanDA request and ``days`` window when the caller
    has just read them (no wfprogress query then). ``plots`` attaches a running-jobs
    timeline per label and per-label distributions of wall time, CPU and peak memory
    (``timeline-<KEY>.png``, ``distributions-<KEY>.png``), replaced by name on re-runs.

    Raises
    ------
    InputError
        Bad issue content, workflow not found, Butler repo or RUN missing (exit 1).
    ServiceError
        PanDA, the Butler or the tracker failed (exit 3); nothing was written.
    """
    key = check_issue_key(drp_issue)
    if not use_panda and not use_butler:
        raise UsageError(NOTHING_TO_DO, NOTHING_TO_DO_HINT)
    stats_dir = home / "stats" / key
    issue = tracker.get_issue(key)  # an unknown key fails here, before any directory is made
    if not dry_run:
        from ..config import ensure_writable_dir

        # Checked before any query: failing after minutes of PanDA and Butler work would waste them.
        ensure_writable_dir(stats_dir, "statistics directory")
    kind = issue_kind(issue.summary, issue.labels)
    if kind in ("campaign", "step"):
        raise InputError(
            MSG_NOT_WORKFLOW.format(key=issue.key, kind=kind_phrase(kind), summary=issue.summary),
            HINT_NOT_WORKFLOW,
        )
    ref = workflow_ref(issue.key, issue.summary, issue.description)
    try:
        # Checked before minutes of PanDA and Butler work: the sections could not be written.
        check_markers(issue.description)
    except DamagedSectionError as exc:
        raise exc.for_issue(issue.key) from None
    from .error_rules import load_rules

    # Read before any query: a broken rules file must not waste minutes of PanDA work.
    rules = load_rules(error_rules) if use_panda else []
    repo = butler_repo or ref.butler_config
    if use_butler and not repo:
        raise InputError(
            MSG_NO_BUTLER_CONFIG.format(key=key),
            HINT_NO_BUTLER_CONFIG,
        )

    panda_stats: PandaStats | None = None
    butler_stats: Any = None
    # Both sides at once: PanDA in a background thread, started before the Butler is read.
    summary = FailureSummary() if use_panda else None
    job_times = JobTimes() if plots and use_panda else None
    panda_stats, butler_stats = gather_statistics(
        ref,
        repo if use_butler else None,
        panda=panda if use_panda else None,
        sample=sample,
        progress=progress,
        max_workers=max_workers,
        failures=summary,
        found=panda_found,
        accumulators=[job_times] if job_times is not None else [],
    )

    groups: list[ErrorGroup] | None = None
    if summary is not None and panda_stats is not None:
        groups = summary.groups(rules, [s.label for s in panda_stats.labels])
    quanta: list[QuantumFailures] = []
    if groups is not None and butler_stats is not None:
        quanta = quantum_failures(
            getattr(butler_stats, "failed_quanta", {}),
            getattr(butler_stats, "failed_messages", {}),
            [s.label for s in panda_stats.labels] if panda_stats is not None else (),
        )
    names = {"panda": f"panda-{key}.csv", "butler": f"butler-{key}.csv", "failures": f"failures-{key}.csv"}
    sections: dict[str, str] = {}
    tables: dict[str, bytes] = {}
    if butler_stats is not None:
        sections["butler"] = butler_section(butler_stats, attachment=names["butler"])
        tables["butler"] = _csv(BUTLER_HEADERS, butler_rows(butler_stats))
    if panda_stats is not None:
        sections["panda"] = panda_section(panda_stats, panda.url, attachment=names["panda"])
        sections["status"] = status_line(panda_stats.workflow)
        tables["panda"] = _csv(PANDA_HEADERS, panda_rows(panda_stats))
    if groups is not None:
        sections["failures"] = failures_section(groups, panda.url, quanta=quanta)
        tables["failures"] = _failures_csv(groups)

    description = replace_sections(issue.description, sections)
    attach: list[str] = []
    if len(description) > DESCRIPTION_LIMIT:
        # Shrink the tables until the description fits; the full tables go as attachments.
        for max_rows in (200, 100, 50, 20, 10, 5, 2, 0):
            if butler_stats is not None:
                sections["butler"] = butler_section(butler_stats, max_rows, names["butler"])
            if panda_stats is not None:
                sections["panda"] = panda_section(panda_stats, panda.url, max_rows, names["panda"])
            if groups is not None:
                sections["failures"] = failures_section(
                    groups, panda.url, max_rows, names["failures"], quanta=quanta
                )
            description = replace_sections(issue.description, sections)
            if len(description) <= DESCRIPTION_LIMIT:
                break
        else:
            raise InputError(
                MSG_DESCRIPTION_TOO_LONG.format(key=key, length=len(description), limit=DESCRIPTION_LIMIT),
                HINT_DESCRIPTION_TOO_LONG,
            )
        attach = sorted(tables)

    plan = IssuePlan(
        what="workflow issue",
        key=issue.key,
        sections=dict(sections),
        attachments=[PlannedAttachment(names[name], tables[name]) for name in attach]
        + (_plot_attachments(key, ref.uniq_proc_name, job_times) if job_times is not None else []),
        # The cut tables point at the attached CSVs: the description must not claim a file
        # that an upload failed to deliver.
        description_last=True,
    )
    result = UpdateStatResult(
        ref,
        Action.WOULD_UPDATE if dry_run else Action.UPDATED,
        description,
        sections,
        panda_stats,
        butler_stats,
    )
    result.failures = groups
    result.failed_quanta = quanta
    result.attached = [a.filename for a in plan.attachments]
    result.plan = plan.lines()
    if dry_run:
        return result

    applied = apply_plan(tracker, plan, current=issue)
    result.action = applied.action

    # Saved after the tracker took the new statistics, so the files never run ahead of the issue.
    data = result.to_dict()
    records = {
        "panda": (data["panda"]["labels"] + [data["panda"]["workflow"]]) if "panda" in data else [],
        "butler": data["butler"]["labels"] if "butler" in data else [],
        "failures": (
            [{**g, "examples": " ".join(map(str, g["examples"]))} for g in data["failures"]["groups"]]
            if "failures" in data
            else []
        ),
    }
    for name in tables:
        csv_path = stats_dir / f"{name}.csv"
        csv_path.write_bytes(_numeric_csv(records[name]))
        json_path = stats_dir / f"{name}.json"
        json_path.write_text(json.dumps(data[name], indent=2, default=str) + "\n")
        result.files += [csv_path, json_path]
    return result


def run_update_stat(
    tracker: Tracker,
    settings: Settings,
    *,
    drp_issue: str,
    butler_repo: str | None = None,
    no_butler: bool = False,
    no_panda: bool = False,
    plots: bool = False,
    sample: int | None = None,
    dry_run: bool = False,
    progress: ProgressFactory | None = None,
) -> UpdateStatResult:
    """``update-stat``: `update_workflow_stats` with the PanDA, home and rules settings."""
    return update_workflow_stats(
        tracker,
        drp_issue,
        home=settings.home,
        panda=settings.panda,
        butler_repo=butler_repo,
        use_panda=not no_panda,
        use_butler=not no_butler,
        sample=sample,
        dry_run=dry_run,
        progress=progress,
        error_rules=settings["error_rules"],
        plots=plots,
    )
