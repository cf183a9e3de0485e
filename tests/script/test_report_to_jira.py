"""``report-to-jira``: comments replaced in place by their tokens, attachments by exact name, both trackers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from lsst.prodstatus.errors import HINT_ISSUE_NOT_FOUND, MSG_ISSUE_NOT_FOUND
from lsst.prodstatus.script.files import MSG_PARAM_LACKS
from lsst.prodstatus.script.report_to_jira import (
    HINT_ATTACHMENT_TWICE,
    HINT_FILES_ABSENT,
    HINT_TOKENS_MISSING,
    MSG_ATTACHMENT_TWICE,
    MSG_FILES_ABSENT,
    MSG_TOKENS_MISSING,
    PARAM_HELP,
)
from tests.conftest import CliResult
from tests.services.messages import message_re
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup: TrackerSetup) -> Path:
    """A report dir under a fake $HOME; PREOPS-905 exists with an unrelated comment-less issue."""
    home = tmp_path / "user"
    (home / "stats").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    (home / "stats" / "pandaStat-PREOPS-905.txt").write_text(
        " Panda campaign statistics PREOPS-905\npandaStat\n|x||a||\n|r|1|\n||"
    )
    (home / "stats" / "pandaWfStat-PREOPS-905.html").write_text("<table>1</table>\n")
    # A file whose name is part of the other's path: the original deleted the wrong one.
    (home / "stats" / "PREOPS-905.html").write_text("<p>other</p>\n")
    setup.seed("PREOPS-905", "Campaign request")
    params = tmp_path / "report.yaml"
    params.write_text(
        "project: 'Pre-Operations'\n"
        "Jira: PREOPS-905\n"
        "comments:\n"
        "- file: ~/stats/pandaStat-PREOPS-905.txt\n"
        "  tokens: ['pandaStat', 'campaign', 'PREOPS-905']\n"
        "attachments:\n"
        "- ~/stats/pandaWfStat-PREOPS-905.html\n"
        "- ~/stats/PREOPS-905.html\n"
    )
    return params


def issue(run_cli: RunCli, setup: TrackerSetup, key: str = "PREOPS-905") -> dict:
    result = run_cli("--json", "show", key, env=setup.env)
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_replaced_in_place(run_cli: RunCli, setup: TrackerSetup, files: Path, tmp_path: Path) -> None:
    first = run_cli("report-to-jira", str(files), env=setup.env)
    assert first.exit_code == 0, first.stderr
    assert first.stdout.splitlines()[-1] == "issue:PREOPS-905"
    data = issue(run_cli, setup)
    assert sorted(a["filename"] for a in data["attachments"]) == [
        "PREOPS-905.html",
        "pandaWfStat-PREOPS-905.html",
    ]
    assert len(data["comments"]) == 1
    comment_id = data["comments"][0]["id"]

    # Same files again: nothing is written.
    before = setup.snapshot()
    again = run_cli("report-to-jira", str(files), env=setup.env)
    assert again.exit_code == 0, again.stderr
    assert "unchanged" in again.stdout
    assert setup.snapshot() == before

    # Changed files: the same comment is edited (one request), one upload per changed file.
    stats = tmp_path / "user" / "stats"
    (stats / "pandaStat-PREOPS-905.txt").write_text(
        " Panda campaign statistics PREOPS-905\npandaStat\n|x||b||"
    )
    (stats / "pandaWfStat-PREOPS-905.html").write_text("<table>2</table>\n")
    if setup.emulator is not None:
        writes_before = setup.writes()
    third = run_cli("report-to-jira", str(files), env=setup.env)
    assert third.exit_code == 0, third.stderr
    assert f"replaced comment {comment_id}" in third.stdout
    data = issue(run_cli, setup)
    assert [c["id"] for c in data["comments"]] == [comment_id]
    assert data["comments"][0]["body"].endswith("|x||b||")
    assert sorted(a["filename"] for a in data["attachments"]) == [
        "PREOPS-905.html",
        "pandaWfStat-PREOPS-905.html",
    ]
    if setup.emulator is not None:
        # One upload and one delete of the old copy, one comment edit.
        assert setup.writes() - writes_before == 3


def test_a_comment_without_the_tokens_gets_a_new_one(
    run_cli: RunCli, setup: TrackerSetup, files: Path
) -> None:
    tracker = setup.open()
    tracker.add_comment("PREOPS-905", "pandaStat of another campaign")
    tracker.close()
    result = run_cli("report-to-jira", str(files), env=setup.env)
    assert result.exit_code == 0, result.stderr
    assert "added comment" in result.stdout
    assert len(issue(run_cli, setup)["comments"]) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "comments:\n- file: x.txt\n",
            (MSG_PARAM_LACKS, PARAM_HELP, {"missing": "Jira, comments[0].tokens"}),
        ),
        ("project: x\n", (MSG_PARAM_LACKS, PARAM_HELP, {"missing": "Jira, comments or attachments"})),
        (
            "Jira: PREOPS-905\nattachments:\n- ~/stats/missing.html\n",
            (MSG_FILES_ABSENT, HINT_FILES_ABSENT, {"absent": re.compile(r"\S*/missing\.html")}),
        ),
        (
            "Jira: PREOPS-905\ncomments:\n- file: ~/stats/nothere.txt\n  tokens: [a]\n",
            (MSG_FILES_ABSENT, HINT_FILES_ABSENT, {"absent": re.compile(r"\S*/nothere\.txt")}),
        ),
        (
            "Jira: PREOPS-905\ncomments:\n- file: ~/stats/pandaStat-PREOPS-905.txt\n  tokens: [butlerStat]\n",
            (
                MSG_TOKENS_MISSING,
                HINT_TOKENS_MISSING,
                {"path": re.compile(r"\S*/stats/pandaStat-PREOPS-905\.txt"), "tokens": "butlerStat"},
            ),
        ),
        (
            "Jira: PREOPS-905\nattachments:\n- ~/stats/PREOPS-905.html\n- ~/stats/../stats/PREOPS-905.html\n",
            (MSG_ATTACHMENT_TWICE, HINT_ATTACHMENT_TWICE, {"twice": "PREOPS-905.html"}),
        ),
        (
            "Jira: PREOPS-906\nattachments:\n- ~/stats/PREOPS-905.html\n",
            (MSG_ISSUE_NOT_FOUND, HINT_ISSUE_NOT_FOUND, {"key": "PREOPS-906"}),
        ),
    ],
)
def test_bad_input_writes_nothing(
    run_cli: RunCli,
    setup: TrackerSetup,
    files: Path,
    tmp_path: Path,
    text: str,
    message: tuple[str, str, dict[str, object]],
) -> None:
    params = tmp_path / "bad.yaml"
    params.write_text(text)
    before = setup.snapshot()
    result = run_cli("report-to-jira", str(params), env=setup.env)
    assert result.exit_code == 1, result.stdout
    template, hint, fields = message
    assert result.stderr.startswith("prodstat: error: "), result.stderr
    line = result.stderr.removeprefix("prodstat: error: ").rstrip("\n")
    assert re.match(message_re(template, hint, **{"path": params, **fields}), line), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert setup.snapshot() == before


def test_dry_run(run_cli: RunCli, setup: TrackerSetup, files: Path) -> None:
    before = setup.snapshot()
    result = run_cli("--dry-run", "report-to-jira", str(files), env=setup.env)
    assert result.exit_code == 0, result.stderr
    assert "attach pandaWfStat-PREOPS-905.html" in result.stdout and "add a comment" in result.stdout
    assert setup.snapshot() == before
