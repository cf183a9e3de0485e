"""One test, two trackers: the local SQLite tracker and Jira (Cloud) on the loopback emulator."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsst.prodstatus.services.tracker import Tracker
from lsst.prodstatus.services.tracker.local import LocalTracker
from tests.support.jira import JiraEmulator

__all__ = ["JIRA_CLOUD_ENV", "TrackerSetup", "db_dump"]

JIRA_CLOUD_ENV = {"PRODSTAT_JIRA_USER": "operator@example.org", "PRODSTAT_JIRA_TOKEN": "secret-token"}
"""Credentials the emulator accepts on Jira Cloud (with PRODSTAT_JIRA_URL = its URL)."""


def db_dump(home: Path) -> list[str]:
    """Every row of the local tracker, to check that nothing changed."""
    import sqlite3

    path = home / "tracker.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        return list(db.iterdump())


@dataclass
class TrackerSetup:
    """How a test talks to one tracker kind."""

    name: str
    env: dict[str, str]
    home: Path
    emulator: JiraEmulator | None

    def snapshot(self) -> Any:
        return self.emulator.snapshot() if self.emulator else db_dump(self.home)

    def seed(self, key: str, summary: str, description: str = "", labels: tuple[str, ...] = ()) -> None:
        if self.emulator:
            self.emulator.seed_issue(key, summary, description, labels=labels)
            return
        self.home.mkdir(parents=True, exist_ok=True)
        tracker = LocalTracker(self.home, project=key.split("-")[0])
        while True:
            issue = tracker.create_issue(summary, description, labels=labels)
            if issue.key == key:
                return
            assert int(issue.key.split("-")[1]) < int(key.split("-")[1])

    def writes(self) -> int:
        assert self.emulator is not None
        return sum(
            1
            for r in self.emulator.requests
            if r.method in ("POST", "PUT", "DELETE") and "/search" not in r.path
        )

    def reads_after_login(self) -> int:
        assert self.emulator is not None
        return sum(1 for r in self.emulator.requests if not r.path.endswith(("/serverInfo", "/myself")))

    def open(self) -> Tracker:
        """The tracker itself, as prodstat opens it with this setup's environment."""
        from lsst.prodstatus.config import resolve_settings
        from lsst.prodstatus.services.tracker import open_tracker

        return open_tracker(resolve_settings({}, {**os.environ, **self.env}))
