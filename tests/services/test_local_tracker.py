"""Local tracker specifics: transactions, two processes at once, damaged files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lsst.prodstatus.errors import EXIT_SERVICE, InputError, ServiceError
from lsst.prodstatus.services.tracker import local as local_module
from lsst.prodstatus.services.tracker.local import (
    DB_FILENAME,
    HINT_DB_FAILED,
    HINT_DB_LOCKED,
    HINT_DB_UNREADABLE,
    MSG_DB_COMMIT_FAILED,
    MSG_DB_FAILED,
    MSG_DB_LOCKED,
    MSG_DB_UNREADABLE,
    MSG_NO_COMMENT,
    LocalTracker,
)


def test_failed_update_leaves_issue_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tracker = LocalTracker(tmp_path)
    issue = tracker.create_issue("wf", "head\n")
    tracker.update_sections(issue.key, {"panda": "v1"})
    before = tracker.get_issue(issue.key)

    def explode(*_args: object, **_kwargs: object) -> str:
        raise RuntimeError("disk full while rendering")

    monkeypatch.setattr(local_module, "replace_sections", explode)
    with pytest.raises(RuntimeError):
        tracker.update_sections(issue.key, {"panda": "v2"}, summary="changed")
    after = tracker.get_issue(issue.key)
    assert (after.summary, after.description, after.updated) == (
        before.summary,
        before.description,
        before.updated,
    )
    # the connection is usable again after the rollback
    tracker.add_comment(issue.key, "still works")


def test_attach_replacement_is_atomic(tmp_path: Path) -> None:
    tracker = LocalTracker(tmp_path)
    issue = tracker.create_issue("wf")
    tracker.attach(issue.key, "a.yaml", b"one")
    with pytest.raises(InputError):
        tracker.attach("DRP-77", "a.yaml", b"two")
    assert tracker.read_attachment(issue.key, "a.yaml") == b"one"


def test_two_processes_create_issues_at_once(tmp_path: Path) -> None:
    LocalTracker(tmp_path).close()
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from lsst.prodstatus.services.tracker.local import LocalTracker
        t = LocalTracker(Path({str(tmp_path)!r}))
        for i in range(40):
            issue = t.create_issue(f"{{sys.argv[1]}}-{{i}}")
            t.update_sections(issue.key, {{"panda": sys.argv[1]}})
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, name]) for name in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    tracker = LocalTracker(tmp_path)
    keys = [f"DRP-{n}" for n in range(1, 81)]
    found = tracker.search(keys=keys)
    assert [i.key for i in found] == keys
    assert sorted(i.summary for i in found) == sorted(
        [f"a-{i}" for i in range(40)] + [f"b-{i}" for i in range(40)]
    )
    assert all(i.description.endswith(f"{i.summary[0]}\n{{anchor:prodstat-panda-end}}\n") for i in found)


def test_damaged_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / DB_FILENAME).write_bytes(b"this is not a database" * 100)
    with pytest.raises(InputError) as info:
        LocalTracker(tmp_path)
    assert info.value.message.startswith(MSG_DB_UNREADABLE.format(path=tmp_path / DB_FILENAME, error=""))
    assert info.value.hint == HINT_DB_UNREADABLE


def test_keys_survive_reopen(tmp_path: Path) -> None:
    LocalTracker(tmp_path).create_issue("first")
    assert LocalTracker(tmp_path).create_issue("second").key == "DRP-2"
    assert LocalTracker(tmp_path, project="PREOPS").create_issue("request").key == "PREOPS-1"


def test_locked_by_another_writer(tmp_path: Path) -> None:
    tracker = LocalTracker(tmp_path)
    tracker.create_issue("an issue")
    # The tracker waits 30 s for a lock; this test waits 0.1 s.
    tracker._db.execute("PRAGMA busy_timeout = 100")
    writer = sqlite3.connect(tmp_path / DB_FILENAME, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        with pytest.raises(ServiceError) as info:
            tracker.update_issue("DRP-1", summary="changed")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    locked = MSG_DB_LOCKED.format(path=tmp_path / DB_FILENAME, error="database is locked")
    assert info.value.one_line() == f"{locked}; {HINT_DB_LOCKED}"
    assert info.value.exit_code == EXIT_SERVICE
    tracker.update_issue("DRP-1", summary="changed")  # free again: works
    assert tracker.get_issue("DRP-1").summary == "changed"


def test_database_full_writes_nothing(tmp_path: Path) -> None:
    tracker = LocalTracker(tmp_path)
    tracker.create_issue("an issue")
    # A disk that is full: no page may be added to the file.
    pages = tracker._db.execute("PRAGMA page_count").fetchone()[0]
    tracker._db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(ServiceError) as info:
        tracker.create_issue("a big one", "x" * 200_000)
    failed = MSG_DB_FAILED.format(path=tmp_path / DB_FILENAME, error="database or disk is full")
    assert info.value.one_line() == f"{failed}; {HINT_DB_FAILED}"
    assert [i.key for i in tracker.search(keys=["DRP-1", "DRP-2"])] == ["DRP-1"]


def test_commit_fails_when_the_disk_fills_up(tmp_path: Path) -> None:
    # The pages of a transaction reach the file (its WAL) only at COMMIT: a file size limit
    # (RLIMIT_FSIZE, as a full disk) makes the commit itself fail. In a child process.
    LocalTracker(tmp_path).create_issue("an issue")
    script = textwrap.dedent(
        f"""
        import resource, signal
        from pathlib import Path
        from lsst.prodstatus.errors import ServiceError
        from lsst.prodstatus.services.tracker.local import LocalTracker
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        tracker = LocalTracker(Path({str(tmp_path)!r}))
        tracker.get_issue("DRP-1")
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, resource.RLIM_INFINITY))
        try:
            tracker.create_issue("a big one", "x" * 1_000_000)
        except ServiceError as exc:
            print(exc.one_line())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    failed = MSG_DB_COMMIT_FAILED.format(path=tmp_path / DB_FILENAME, error="disk I/O error")
    assert done.stdout == f"{failed}; {HINT_DB_FAILED}\n"
    tracker = LocalTracker(tmp_path)
    assert [i.key for i in tracker.search(keys=["DRP-1", "DRP-2"])] == ["DRP-1"]


def test_update_of_a_comment_that_is_not_there(tmp_path: Path) -> None:
    tracker = LocalTracker(tmp_path)
    issue = tracker.create_issue("an issue")
    comment = tracker.add_comment(issue.key, "first")
    with pytest.raises(InputError) as info:
        tracker.update_comment(issue.key, str(int(comment.comment_id) + 1), "second")
    assert info.value.one_line() == MSG_NO_COMMENT.format(
        key=issue.key, comment_id=int(comment.comment_id) + 1
    )
    assert [c.body for c in tracker.get_issue(issue.key).comments] == ["first"]
