"""``prodstat report KEY --html FILE``: the page's content on both trackers, and how it renders in
headless Chromium (screenshot kept as a test artefact; no console errors)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lsst.prodstatus.core.ids import kind_phrase
from lsst.prodstatus.core.report_html import wiki_cell_html
from lsst.prodstatus.script.report import (
    HINT_CANNOT_WRITE_REPORT,
    HINT_NO_PRODUCTION_WORKFLOWS,
    MSG_CANNOT_WRITE_REPORT,
    MSG_NO_PRODUCTION_WORKFLOWS,
    NOT_A_REPORT_KEY,
    NOTE_NOT_IN_TRACKER,
    WHERE_NOT_IN_TRACKER,
    WHERE_OTHER_ISSUE,
)
from tests.cli.test_cli_maps import Seed, plant_stats
from tests.cli.test_cli_maps import seed as seed  # the fixture, shared

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
)


@pytest.fixture
def campaign(seed: Seed) -> Iterator[Seed]:
    """The seed campaign DRP-491 (steps DRP-489/490, workflows DRP-486..488) with statistics."""
    plant_stats(seed.tracker, "DRP-486", core_hours=3.5)
    plant_stats(seed.tracker, "DRP-487", state="failed", counts=(3, 212, 1, 2, 0), core_hours=1.25)
    plant_stats(seed.tracker, "DRP-488", core_hours=0.5)
    result = seed.run("map-drp-steps", "--auto", "DRP-491")
    assert result.exit_code == 0, result.stderr
    yield seed


def assert_self_contained(page: str) -> None:
    # No fetch of anything: no external scripts, styles, images or fonts.
    assert not re.search(r'<(script|img|link|iframe)[^>]+(src|href)="(https?:)?//', page)
    assert "@import" not in page and "url(http" not in page


def test_campaign_report(campaign: Seed, tmp_path: Path) -> None:
    out = tmp_path / "campaign.html"
    result = campaign.run("report", "DRP-491", "--html", str(out))
    assert result.exit_code == 0, result.stderr
    assert f"wrote {out}: campaign DRP-491, 6 issues" in result.stdout
    page = out.read_text()
    assert_self_contained(page)
    for key in ("DRP-491", "DRP-489", "DRP-490", "DRP-486", "DRP-487", "DRP-488"):
        assert f'id="{key}"' in page
    # Links to the tracker and to PanDA; status colours; the tables; a chart as a data URI.
    assert f'href="{campaign.url("DRP-486")}"' in page
    assert "https://panda-doma.cern.ch/idds/wfprogress/?requestid=1486" in page
    assert ">Failed</span>" in page and ">Complete</span>" in page
    assert "<h3>Workflows</h3>" in page and "<h3>PanDA statistics</h3>" in page
    assert page.count("data:image/png;base64,") >= 4  # the overview chart and one per workflow
    assert '<table class="sortable">' in page


def test_dry_run_builds_the_page_and_writes_nothing(campaign: Seed, tmp_path: Path) -> None:
    out = tmp_path / "campaign.html"
    for args in (
        ("report", "DRP-491", "--html", str(out), "--dry-run"),
        ("--dry-run", "report", "DRP-491", "--html", str(out)),
    ):
        result = campaign.run(*args)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.splitlines() == [
            f"would write {out}: campaign DRP-491, 6 issues",
            "dry run: nothing written",
        ]
        assert not out.exists() and not list(tmp_path.glob(".*.tmp"))


def test_workflow_and_production_reports(campaign: Seed, tmp_path: Path) -> None:
    wf = campaign.run("report", "DRP-486", "--html", str(tmp_path / "wf.html"))
    assert wf.exit_code == 0, wf.stderr
    assert "workflow DRP-486, 1 issue" in wf.stdout
    prod = campaign.run("report", "PREOPS-1248", "--html", str(tmp_path / "prod.html"))
    assert prod.exit_code == 0, prod.stderr
    assert "production PREOPS-1248, 4 issues" in prod.stdout
    page = (tmp_path / "prod.html").read_text()
    assert all(f'id="{k}"' in page for k in ("DRP-486", "DRP-487", "DRP-488"))


def test_not_a_report_key(campaign: Seed, tmp_path: Path) -> None:
    campaign.setup.seed("DRP-900", "A question about the weather")
    for key in ("DRP-900", "PREOPS-4", "DRP-9999"):
        out = tmp_path / f"{key}.html"
        result = campaign.run("report", key, "--html", str(out))
        assert result.exit_code == 1, result.stdout
        assert NOT_A_REPORT_KEY in result.stderr and len(result.stderr.strip().splitlines()) == 1
        where = (
            WHERE_OTHER_ISSUE.format(
                key=key, kind=kind_phrase("other"), summary="A question about the weather"
            )
            if key == "DRP-900"
            else WHERE_NOT_IN_TRACKER.format(key=key, tracker=campaign.setup.name)
        )
        message = MSG_NO_PRODUCTION_WORKFLOWS.format(where=where)
        assert result.stderr == f"prodstat: error: {message}; {HINT_NO_PRODUCTION_WORKFLOWS}\n"
        assert not out.exists()


def test_unwritable_file(campaign: Seed, tmp_path: Path) -> None:
    result = campaign.run("report", "DRP-486", "--html", str(tmp_path / "no-such-dir" / "r.html"))
    assert result.exit_code == 1
    message = MSG_CANNOT_WRITE_REPORT.format(
        path=tmp_path / "no-such-dir" / "r.html", reason="No such file or directory"
    )
    assert result.stderr == f"prodstat: error: {message}; {HINT_CANNOT_WRITE_REPORT}\n"


def test_cells_are_escaped_and_links_safe() -> None:
    html = wiki_cell_html("<b>x</b> [DRP-1|javascript:alert(1)] {color:red}3,1{color} *total*")
    assert "<b>x</b>" not in html and "&lt;b&gt;" in html
    assert 'href="#"' in html and "javascript" not in html
    assert "#cf222e" in html and "<b>total</b>" in html


@pytest.mark.parametrize("setup", ["local"], indirect=True)
def test_renders_in_headless_chromium(campaign: Seed, tmp_path: Path) -> None:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make test installs it with apt-get where it can)")
    out = tmp_path / "campaign.html"
    assert campaign.run("report", "DRP-491", "--html", str(out)).exit_code == 0
    flags = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars"]
    flags += ["--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'chromium-profile'}"]
    dom = subprocess.run(
        [*flags, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120, check=False
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    # Chromium logs the page's console messages and uncaught errors as CONSOLE lines.
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    # The DOM after the scripts ran still holds the tables, rows and images.
    assert dom.stdout.count('<table class="sortable">') >= 5
    assert "DRP-487" in dom.stdout and "data:image/png;base64," in dom.stdout
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1280,1800", out.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and shot.read_bytes().startswith(b"\x89PNG"), done.stderr[-2000:]
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one
    # The docs' copy is refreshed on request (the page carries the time it was made).
    doc_copy = ROOT / "doc" / "_static" / "report.png"
    if doc_copy.parent.is_dir() and (not doc_copy.exists() or os.environ.get("PRODSTAT_UPDATE_DOC_IMAGES")):
        shutil.copyfile(shot, doc_copy)


@pytest.mark.parametrize("setup", ["local"], indirect=True)  # with Jira, jira_url links it: no note
def test_production_issue_outside_the_tracker_is_noted_on_the_page(seed: Seed, tmp_path: Path) -> None:
    import html

    out = tmp_path / "prod.html"
    result = seed.run("report", "PREOPS-1248", "--html", str(out))
    assert result.exit_code == 0, result.stderr
    # The page cannot link PREOPS-1248 anywhere: no Jira knows it. The note is the page's
    # (its readers follow its links), not the command's: stderr stays empty.
    note = NOTE_NOT_IN_TRACKER.format(key="PREOPS-1248", tracker="local")
    page = out.read_text()
    assert page.count(f'<p class="note">{html.escape(note)}</p>') == 1
    assert result.stderr == ""
