"""A journal of the issues this machine created, by identity label.

Jira Cloud's search is eventually consistent: an issue created a moment ago may be missing
from a search made right after (by seconds, sometimes minutes). Two commands run back to
back — ``update-issue … DRP0`` twice, as the seed session does — would then each create an
issue. Reading an issue by its key is consistent, so every create is recorded here, and
before creating, the executor reads the issues recorded for the same identity label.

One small SQLite file in ``$PRODSTAT_HOME`` (``created.sqlite3``), shared safely by
concurrent prodstat processes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["JOURNAL_FILENAME", "CreatedJournal"]

JOURNAL_FILENAME = "created.sqlite3"


class CreatedJournal:
    """Keys of the issues created from this machine, per tracker URL and identity label.

    Parameters
    ----------
    home : `~pathlib.Path`
        The prodstat home directory.
    tracker_url : `str`
        Which tracker the keys belong to.
    """

    def __init__(self, home: Path, tracker_url: str) -> None:
        self.path = Path(home) / JOURNAL_FILENAME
        self.tracker_url = tracker_url.rstrip("/")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS created (tracker TEXT NOT NULL, label TEXT NOT NULL, key TEXT NOT NULL, "
            "PRIMARY KEY (tracker, label, key))"
        )
        return db

    def record(self, label: str, key: str) -> None:
        """Remember that issue ``key`` was created with identity label ``label``."""
        try:
            with self._connect() as db:
                db.execute("INSERT OR IGNORE INTO created VALUES (?, ?, ?)", (self.tracker_url, label, key))
        except (OSError, sqlite3.Error):
            # The journal only narrows a window; losing an entry must not fail a write.
            pass

    def keys(self, label: str) -> list[str]:
        """Keys created with identity label ``label`` (oldest first); empty if unknown."""
        if not self.path.exists():
            return []
        try:
            with self._connect() as db:
                rows = db.execute(
                    "SELECT key FROM created WHERE tracker = ? AND label = ?", (self.tracker_url, label)
                ).fetchall()
        except (OSError, sqlite3.Error):
            return []
        return sorted((str(r[0]) for r in rows), key=lambda k: int(k.rsplit("-", 1)[-1]))
