"""The embedded local tracker: issues, links, attachments and comments in SQLite.

One file, ``$PRODSTAT_HOME/tracker.sqlite3``. Every write is one transaction
(``BEGIN IMMEDIATE``), so a crash never leaves half an update and two prodstat
processes can work at once (the second waits for the first's write lock).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ...core.markup import DamagedSectionError, replace_sections
from ...errors import InputError, IssueNotFoundError, ServiceError
from .base import (
    HINT_BAD_ATTACHMENT_NAME,
    MSG_BAD_ATTACHMENT_NAME,
    MSG_EMPTY_SUMMARY,
    MSG_SELF_LINK,
    Attachment,
    Comment,
    Issue,
    IssueLink,
    check_issue_key,
    check_label,
)

__all__ = [
    "DB_FILENAME",
    "HINT_DB_FAILED",
    "HINT_DB_LOCKED",
    "HINT_DB_UNREADABLE",
    "MSG_DB_COMMIT_FAILED",
    "MSG_DB_FAILED",
    "MSG_DB_LOCKED",
    "MSG_DB_UNREADABLE",
    "MSG_NO_COMMENT",
    "LocalTracker",
]

DB_FILENAME = "tracker.sqlite3"

# User-facing messages (tests import them); those every tracker shares are in `.base`.
MSG_DB_UNREADABLE = "cannot open the local tracker database {path}: {error}"
HINT_DB_UNREADABLE = "check --home, or move the damaged file aside"
MSG_DB_LOCKED = "the local tracker {path} is locked by another process: {error}"
HINT_DB_LOCKED = "retry when it has finished"
MSG_DB_FAILED = "the local tracker {path} failed: {error}; nothing was written"
MSG_DB_COMMIT_FAILED = "the local tracker {path} could not commit: {error}; nothing was written"
HINT_DB_FAILED = "check the disk and the file (PRAGMA integrity_check), then re-run"
MSG_NO_COMMENT = "issue {key} has no comment {comment_id}"
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (project TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS issues (
    key TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    summary TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    issue_type TEXT NOT NULL DEFAULT 'Task',
    status TEXT NOT NULL DEFAULT 'To Do',
    labels TEXT NOT NULL DEFAULT '[]',
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    link_type TEXT NOT NULL,
    from_key TEXT NOT NULL REFERENCES issues(key),
    to_key TEXT NOT NULL REFERENCES issues(key),
    UNIQUE (link_type, from_key, to_key)
);
CREATE TABLE IF NOT EXISTS attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_key TEXT NOT NULL REFERENCES issues(key),
    filename TEXT NOT NULL,
    content BLOB NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_key TEXT NOT NULL REFERENCES issues(key),
    body TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attachments_by_issue ON attachments(issue_key, filename);
CREATE INDEX IF NOT EXISTS comments_by_issue ON comments(issue_key);
CREATE INDEX IF NOT EXISTS links_to ON links(to_key);
"""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


class LocalTracker:
    """The embedded tracker, implementing `~lsst.prodstatus.services.tracker.base.Tracker`.

    Parameters
    ----------
    home : `~pathlib.Path`
        Data directory holding ``tracker.sqlite3`` (must exist and be writable).
    project : `str`
        Project key of new issues.
    issue_type : `str`
        Issue type of new issues.
    link_type : `str`
        Link type used by `link` when none is given.
    """

    name = "local"
    transactional = True
    """A batch of writes is one transaction: all or nothing."""

    def __init__(
        self, home: Path, project: str = "DRP", issue_type: str = "Task", link_type: str = "Relates"
    ):
        self.path = Path(home) / DB_FILENAME
        self.project = project
        self.issue_type = issue_type
        self.link_type = link_type
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            # A database that has its schema needs no write: readers (show, tree) must not
            # wait for another process's write lock (WAL lets them read meanwhile).
            if not self._has_schema():
                self._create_schema()
        except sqlite3.DatabaseError as exc:
            raise InputError(MSG_DB_UNREADABLE.format(path=self.path, error=exc), HINT_DB_UNREADABLE) from exc

    def _has_schema(self) -> bool:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        except sqlite3.OperationalError:
            return False
        return row is not None and row[0] == str(_SCHEMA_VERSION)

    def _create_schema(self) -> None:
        with self._write() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(
                "INSERT OR IGNORE INTO meta(name, value) VALUES ('schema_version', ?)",
                (str(_SCHEMA_VERSION),),
            )

    # -- plumbing -------------------------------------------------------------------
    @contextmanager
    def batch(self) -> Iterator[None]:
        """Make every read and write inside the block one transaction.

        The executor of issue plans runs a whole command's writes in one batch: a failure
        or a kill (SIGKILL included: SQLite's journal) anywhere leaves the tracker as it was.
        The write lock is taken at the start, so reads inside see no other writer.
        """
        with self._write():
            yield

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back whole on any error. Nests inside `batch`."""
        if self._db.in_transaction:
            yield self._db
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise ServiceError(MSG_DB_LOCKED.format(path=self.path, error=exc), HINT_DB_LOCKED) from exc
        try:
            yield self._db
        except sqlite3.DatabaseError as exc:
            # SQLite may have rolled back already (disk full): then there is nothing to undo.
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            # Disk full, I/O error, a damaged file: the database's fault, not the input's.
            raise ServiceError(MSG_DB_FAILED.format(path=self.path, error=exc), HINT_DB_FAILED) from exc
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        else:
            try:
                self._db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise ServiceError(
                    MSG_DB_COMMIT_FAILED.format(path=self.path, error=exc), HINT_DB_FAILED
                ) from exc

    def _require(self, db: sqlite3.Connection, key: str) -> sqlite3.Row | tuple:
        key = check_issue_key(key)
        row = db.execute(
            "SELECT key, summary, description, labels, issue_type, status, created, updated FROM issues "
            "WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            raise IssueNotFoundError(key, self.name)
        return row

    def browse_url(self, key: str) -> str:
        """Return a locator for issue ``key`` (the database path and the key)."""
        return f"{self.path}#{key}"

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    # -- reads ----------------------------------------------------------------------
    def _issue_from_row(self, row: Sequence) -> Issue:
        key, summary, description, labels, issue_type, status, created, updated = row
        db = self._db
        links: list[IssueLink] = []
        for link_id, link_type, from_key, to_key in db.execute(
            "SELECT id, link_type, from_key, to_key FROM links WHERE from_key = ? OR to_key = ? ORDER BY id",
            (key, key),
        ):
            other = to_key if from_key == key else from_key
            other_summary = db.execute("SELECT summary FROM issues WHERE key = ?", (other,)).fetchone()
            links.append(
                IssueLink(
                    str(link_id),
                    link_type,
                    "outward" if from_key == key else "inward",
                    other,
                    other_summary[0] if other_summary else "",
                )
            )
        attachments = [
            Attachment(str(i), fn, size, created)
            for i, fn, size, created in db.execute(
                "SELECT id, filename, length(content), created FROM attachments WHERE issue_key = ? ORDER BY id",
                (key,),
            )
        ]
        comments = [
            Comment(str(i), body, created)
            for i, body, created in db.execute(
                "SELECT id, body, created FROM comments WHERE issue_key = ? ORDER BY id", (key,)
            )
        ]
        return Issue(
            key=key,
            summary=summary,
            description=description,
            labels=json.loads(labels),
            issue_type=issue_type,
            status=status,
            links=links,
            attachments=attachments,
            comments=comments,
            url=self.browse_url(key),
            created=created,
            updated=updated,
        )

    def get_issue(self, key: str) -> Issue:
        """Return issue ``key`` with links, attachments and comments."""
        return self._issue_from_row(self._require(self._db, key))

    def search(
        self,
        *,
        keys: Sequence[str] = (),
        labels: Sequence[str] = (),
        summaries: Sequence[str] = (),
        project: str | None = None,
        texts: Sequence[str] = (),
    ) -> list[Issue]:
        """Return issues matching any of ``keys``, ``labels``, exact ``summaries`` or ``texts``, in one query."""
        clauses: list[str] = []
        params: list[str] = []
        if keys:
            clauses.append(f"key IN ({','.join('?' * len(keys))})")
            params.extend(k.upper() for k in keys)
        scoped: list[str] = []
        scoped_params: list[str] = []
        if labels:
            scoped.append(
                f"EXISTS (SELECT 1 FROM json_each(issues.labels) WHERE value IN ({','.join('?' * len(labels))}))"
            )
            scoped_params.extend(labels)
        if summaries:
            scoped.append(f"summary IN ({','.join('?' * len(summaries))})")
            scoped_params.extend(summaries)
        for text in texts:
            scoped.append("instr(description, ?) > 0")
            scoped_params.append(text)
        if scoped:
            scope = " OR ".join(scoped)
            if project:
                scope = f"project = ? AND ({scope})"
                scoped_params.insert(0, project)
            clauses.append(f"({scope})")
            params.extend(scoped_params)
        if not clauses:
            return []
        rows = self._db.execute(
            "SELECT key, summary, description, labels, issue_type, status, created, updated FROM issues "
            f"WHERE {' OR '.join(clauses)} ORDER BY project, CAST(substr(key, instr(key, '-') + 1) AS INTEGER)",
            params,
        ).fetchall()
        return [self._issue_from_row(r) for r in rows]

    def read_attachment(self, key: str, filename: str, *, current: Issue | None = None) -> bytes | None:
        """Return the newest attachment ``filename`` of ``key``, or `None`."""
        self._require(self._db, key)
        row = self._db.execute(
            "SELECT content FROM attachments WHERE issue_key = ? AND filename = ? ORDER BY id DESC LIMIT 1",
            (key.upper(), filename),
        ).fetchone()
        return None if row is None else bytes(row[0])

    # -- writes ---------------------------------------------------------------------
    def create_issue(
        self,
        summary: str,
        description: str = "",
        *,
        labels: Sequence[str] = (),
        project: str | None = None,
        issue_type: str | None = None,
    ) -> Issue:
        """Create an issue with the next key of ``project``."""
        project = project or self.project
        checked = [check_label(label) for label in labels]
        if not summary.strip():
            raise InputError(MSG_EMPTY_SUMMARY)
        now = _now()
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO counters(project, last) VALUES (?, 0)", (project,))
            db.execute("UPDATE counters SET last = last + 1 WHERE project = ?", (project,))
            (number,) = db.execute("SELECT last FROM counters WHERE project = ?", (project,)).fetchone()
            key = f"{project}-{number}"
            db.execute(
                "INSERT INTO issues(key, project, summary, description, issue_type, labels, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    project,
                    summary,
                    description,
                    issue_type or self.issue_type,
                    json.dumps(checked),
                    now,
                    now,
                ),
            )
        return self.get_issue(key)

    def update_issue(
        self,
        key: str,
        *,
        summary: str | None = None,
        description: str | None = None,
        add_labels: Sequence[str] = (),
    ) -> None:
        """Set summary/description and add labels, in one transaction."""
        checked = [check_label(label) for label in add_labels]
        with self._write() as db:
            row = self._require(db, key)
            labels = json.loads(row[3])
            labels.extend(label for label in checked if label not in labels)
            db.execute(
                "UPDATE issues SET summary = ?, description = ?, labels = ?, updated = ? WHERE key = ?",
                (
                    row[1] if summary is None else summary,
                    row[2] if description is None else description,
                    json.dumps(labels),
                    _now(),
                    row[0],
                ),
            )

    def update_sections(
        self,
        key: str,
        sections: Mapping[str, str | None],
        *,
        summary: str | None = None,
        head: str | None = None,
        add_labels: Sequence[str] = (),
        remove_labels: Sequence[str] = (),
        current: Issue | None = None,
    ) -> Issue:
        """Replace managed sections (and optionally the head and summary) atomically.

        ``current`` is accepted for protocol compatibility; the database is re-read inside
        the transaction so concurrent writers never lose each other's updates.
        """
        checked = [check_label(label) for label in add_labels]
        with self._write() as db:
            row = self._require(db, key)
            try:
                new_description = replace_sections(row[2], sections, head=head)
            except DamagedSectionError as exc:
                raise exc.for_issue(row[0]) from None
            labels = [label for label in json.loads(row[3]) if label not in remove_labels]
            labels.extend(label for label in checked if label not in labels)
            new_summary = row[1] if summary is None else summary
            if (new_summary, new_description, labels) != (row[1], row[2], json.loads(row[3])):
                # Only a real change touches the row, so re-running leaves "updated" alone.
                db.execute(
                    "UPDATE issues SET summary = ?, description = ?, labels = ?, updated = ? WHERE key = ?",
                    (new_summary, new_description, json.dumps(labels), _now(), row[0]),
                )
        return self.get_issue(key)

    def link(
        self, from_key: str, to_key: str, link_type: str | None = None, *, current: Issue | None = None
    ) -> bool:
        """Link ``from_key`` → ``to_key``; no-op (returns `False`) when already linked either way."""
        link_type = link_type or self.link_type
        with self._write() as db:
            a = self._require(db, from_key)[0]
            b = self._require(db, to_key)[0]
            if a == b:
                raise InputError(MSG_SELF_LINK.format(key=a))
            exists = db.execute(
                "SELECT 1 FROM links WHERE link_type = ? AND ((from_key = ? AND to_key = ?) "
                "OR (from_key = ? AND to_key = ?))",
                (link_type, a, b, b, a),
            ).fetchone()
            if exists:
                return False
            db.execute("INSERT INTO links(link_type, from_key, to_key) VALUES (?, ?, ?)", (link_type, a, b))
        return True

    def attach(self, key: str, filename: str, data: bytes, *, current: Issue | None = None) -> Attachment:
        """Attach ``data`` as ``filename``, replacing same-name attachments, in one transaction."""
        if not filename or "/" in filename:
            raise InputError(MSG_BAD_ATTACHMENT_NAME.format(filename=filename), HINT_BAD_ATTACHMENT_NAME)
        now = _now()
        with self._write() as db:
            issue_key = self._require(db, key)[0]
            db.execute("DELETE FROM attachments WHERE issue_key = ? AND filename = ?", (issue_key, filename))
            cursor = db.execute(
                "INSERT INTO attachments(issue_key, filename, content, created) VALUES (?, ?, ?, ?)",
                (issue_key, filename, sqlite3.Binary(data), now),
            )
        return Attachment(str(cursor.lastrowid), filename, len(data), now)

    def delete_issue(self, key: str) -> None:
        """Delete issue ``key`` with its links, attachments and comments."""
        with self._write() as db:
            issue_key = self._require(db, key)[0]
            db.execute("DELETE FROM links WHERE from_key = ? OR to_key = ?", (issue_key, issue_key))
            db.execute("DELETE FROM attachments WHERE issue_key = ?", (issue_key,))
            db.execute("DELETE FROM comments WHERE issue_key = ?", (issue_key,))
            db.execute("DELETE FROM issues WHERE key = ?", (issue_key,))

    def transition_issue(self, key: str, name: str) -> bool:
        """Set the status of ``key`` (the local tracker has no workflow: ``name`` is the new status).

        Returns `False` when the issue has that status already.
        """
        with self._write() as db:
            row = self._require(db, key)
            if row[5] == name:
                return False
            db.execute("UPDATE issues SET status = ?, updated = ? WHERE key = ?", (name, _now(), row[0]))
        return True

    def delete_attachment(self, key: str, attachment_id: str) -> None:
        """Delete attachment ``attachment_id`` of ``key`` (no error when it is gone)."""
        with self._write() as db:
            db.execute(
                "DELETE FROM attachments WHERE id = ? AND issue_key = ?", (int(attachment_id), key.upper())
            )

    def delete_link(self, link_id: str) -> None:
        """Delete link ``link_id`` (no error when it is gone)."""
        with self._write() as db:
            db.execute("DELETE FROM links WHERE id = ?", (int(link_id),))

    def add_comment(self, key: str, body: str) -> Comment:
        """Add a comment to ``key``."""
        now = _now()
        with self._write() as db:
            issue_key = self._require(db, key)[0]
            cursor = db.execute(
                "INSERT INTO comments(issue_key, body, created, updated) VALUES (?, ?, ?, ?)",
                (issue_key, body, now, now),
            )
        return Comment(str(cursor.lastrowid), body, now)

    def update_comment(self, key: str, comment_id: str, body: str) -> None:
        """Replace the body of comment ``comment_id`` of ``key``."""
        with self._write() as db:
            issue_key = self._require(db, key)[0]
            cursor = db.execute(
                "UPDATE comments SET body = ?, updated = ? WHERE id = ? AND issue_key = ?",
                (body, _now(), comment_id, issue_key),
            )
            if cursor.rowcount == 0:
                raise InputError(MSG_NO_COMMENT.format(key=issue_key, comment_id=comment_id))
