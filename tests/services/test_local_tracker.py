"""Local tracker specifics: transactions, two processes at once, damaged files."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lsst.prodstatus.errors import InputError
from lsst.prodstatus.services.tracker import local as local_module
from lsst.prodstatus.services.tracker.local import (
    DB_FILENAME,
    HINT_DB_UNREADABLE,
    MSG_DB_UNREADABLE,
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
