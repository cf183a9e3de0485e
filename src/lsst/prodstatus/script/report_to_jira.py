"""``report-to-jira``: post the tables of the parameter-file commands to an issue (the original's).

The parameter file names the issue (``Jira``), comment files with the tokens that find
the comment to replace, and files to attach::

    Jira: PREOPS-905
    comments:
    - file: ~/prodstat/pandaStat-PREOPS-905.txt
      tokens: ['pandaStat', 'campaign', 'PREOPS-905']
    attachments:
    - ~/prodstat/pandaWfStat-PREOPS-905.html

Fixed from the original: the first comment holding every token is replaced in place
(one request; a new comment only when none does), an attachment replaces the one of the
same file name only (never one whose name is merely part of the path), each file is
uploaded once and only when it changed, ``~`` and ``$VAR`` are expanded, and every file
is checked before anything is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..core.plan import Action, IssuePlan, PlannedAttachment
from ..errors import InputError
from ..services.tracker.base import Tracker, check_issue_key
from .apply import apply_plan
from .files import MSG_PARAM_LACKS, load_param_file

__all__ = [
    "HINT_ATTACHMENT_TWICE",
    "HINT_FILES_ABSENT",
    "HINT_TOKENS_MISSING",
    "MSG_ATTACHMENT_TWICE",
    "MSG_FILES_ABSENT",
    "MSG_NOT_LISTS",
    "MSG_TOKENS_MISSING",
    "PARAM_HELP",
    "CommentFile",
    "ReportParams",
    "ReportResult",
    "read_report_params",
    "report_to_jira",
    "run_report_to_jira",
]

PARAM_HELP = "see 'prodstat report-to-jira --help' for the keys"


@dataclass(frozen=True)
class CommentFile:
    """A comment to post: the file's text, found again by ``tokens``."""

    path: Path
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class ReportParams:
    """A report-to-jira parameter file."""

    path: Path
    key: str
    comments: tuple[CommentFile, ...]
    attachments: tuple[Path, ...]


def _expand(value: object) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(str(value))))


MSG_NOT_LISTS = "comments and attachments in {path} must be lists"
MSG_FILES_ABSENT = "file(s) named in {path} do not exist: {absent}"
HINT_FILES_ABSENT = (
    "run the command that writes them first (get-panda-stat, get-butler-stat), or fix the paths; "
    "nothing was written"
)
MSG_ATTACHMENT_TWICE = "attachments in {path} name the file name(s) {twice} twice"
HINT_ATTACHMENT_TWICE = "an issue holds one attachment per file name; rename one of them"
MSG_TOKENS_MISSING = "comment file {path} does not contain its token(s) {tokens}"
HINT_TOKENS_MISSING = (
    "a re-run could not find the comment to replace it; fix the tokens in the parameter file"
)


def read_report_params(param_file: str) -> ReportParams:
    """Read and check a parameter file; every file it names must exist.

    Raises
    ------
    InputError
        Missing parameter file, missing keys (all named), a file that does not exist, two
        attachments with the same file name (exit 1).
    """

    path = _expand(param_file)
    data = load_param_file(param_file, path, "Jira, comments, attachments", PARAM_HELP)
    missing: list[str] = []
    if not data.get("Jira"):
        missing.append("Jira")
    comments_raw = data.get("comments") or []
    attachments_raw = data.get("attachments") or []
    if not comments_raw and not attachments_raw:
        missing.append("comments or attachments")
    if not isinstance(comments_raw, list) or not isinstance(attachments_raw, list):
        raise InputError(MSG_NOT_LISTS.format(path=path), PARAM_HELP)
    comments: list[CommentFile] = []
    for n, item in enumerate(comments_raw):
        item = item if isinstance(item, dict) else {}
        lacks = [k for k in ("file", "tokens") if not item.get(k)]
        missing.extend(f"comments[{n}].{k}" for k in lacks)
        if not lacks:
            tokens = item["tokens"] if isinstance(item["tokens"], list) else [item["tokens"]]
            comments.append(CommentFile(_expand(item["file"]), tuple(str(t) for t in tokens)))
    if missing:
        raise InputError(MSG_PARAM_LACKS.format(path=path, missing=", ".join(missing)), PARAM_HELP)
    key = check_issue_key(str(data["Jira"]), "Jira")
    attachments = tuple(_expand(a) for a in attachments_raw)
    absent = [str(p) for p in [*(c.path for c in comments), *attachments] if not p.is_file()]
    if absent:
        raise InputError(
            MSG_FILES_ABSENT.format(path=path, absent=", ".join(absent)),
            HINT_FILES_ABSENT,
        )
    names = [p.name for p in attachments]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(
            MSG_ATTACHMENT_TWICE.format(path=path, twice=", ".join(twice)),
            HINT_ATTACHMENT_TWICE,
        )
    for comment in comments:
        text = comment.path.read_text(encoding="utf-8", errors="replace")
        lacking = [t for t in comment.tokens if t not in text]
        if lacking:
            raise InputError(
                MSG_TOKENS_MISSING.format(path=comment.path, tokens=", ".join(lacking)),
                HINT_TOKENS_MISSING,
            )
    return ReportParams(path, key, tuple(comments), attachments)


@dataclass
class ReportResult:
    """What report-to-jira did (or would do)."""

    key: str
    action: Action
    attached: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    """One line per comment file: ``replaced comment 10012 with pandaStat-….txt`` or ``added …``."""
    plan: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``--json``)."""
        return {
            "issue": self.key,
            "action": str(self.action),
            "attached": self.attached,
            "comments": self.comments,
            "plan": self.plan,
        }


def report_to_jira(tracker: Tracker, params: ReportParams, *, dry_run: bool = False) -> ReportResult:
    """Replace (or add) the comments and attachments of ``params`` on its issue.

    On the local tracker everything is one transaction; on Jira the attachments come
    first, then one request per comment that changed.
    """
    issue = tracker.get_issue(params.key)
    plan = IssuePlan(
        what="report issue",
        key=issue.key,
        attachments=[PlannedAttachment(p.name, p.read_bytes()) for p in params.attachments],
    )
    # Which comment each file replaces, decided from the issue as read.
    writes: list[tuple[str | None, str, CommentFile]] = []
    for comment in params.comments:
        body = comment.path.read_text(encoding="utf-8", errors="replace")
        match = next((c for c in issue.comments if all(t in c.body for t in comment.tokens)), None)
        if match is not None and match.body == body:
            continue
        writes.append((match.comment_id if match else None, body, comment))
    result = ReportResult(issue.key, Action.WOULD_UPDATE if dry_run else Action.UNCHANGED)
    result.plan = plan.lines() + [
        f"  {'replace comment ' + cid if cid else 'add a comment'} with {c.path.name} (tokens {', '.join(c.tokens)})"
        for cid, _body, c in writes
    ]
    if dry_run:
        return result
    with tracker.batch():
        applied = apply_plan(tracker, plan, current=issue)
        result.attached = applied.attached
        for cid, body, comment in writes:
            if cid is not None:
                tracker.update_comment(issue.key, cid, body)
                result.comments.append(f"replaced comment {cid} with {comment.path.name}")
            else:
                added = tracker.add_comment(issue.key, body)
                result.comments.append(f"added comment {added.comment_id} with {comment.path.name}")
    result.action = Action.UPDATED if (result.attached or result.comments) else Action.UNCHANGED
    return result


def run_report_to_jira(
    tracker: Tracker, settings: Settings, *, param_file: str, dry_run: bool = False
) -> ReportResult:
    """``report-to-jira``: read ``param_file`` (every file it names must exist), then `report_to_jira`."""
    return report_to_jira(tracker, read_report_params(param_file), dry_run=dry_run)
