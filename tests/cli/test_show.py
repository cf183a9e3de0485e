"""``prodstat show`` fits the terminal: wide tables in column groups or as records, the BPS
block aligned and folded, a title between sections; the stored description keeps the original tool's lines."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lsst.prodstatus.cli.show_render import render_issue
from lsst.prodstatus.services.tracker.base import Attachment, Issue

CLUSTER = (
    "{"
    + ", ".join(
        f"cluster_{i}: {{dimensions: 'visit,detector', pipetasks: 'isr,calibrate'}}" for i in range(12)
    )
    + "}"
)
HEADERS = [f"Column number {i}" for i in range(12)]
DESCRIPTION = (
    "BPS Submit Keywords:\n{code}\nproject:dp02\ncluster:"
    + CLUSTER
    + "\nuniqProcName:u_20220728T192631Z\n{code}\n"
    "{anchor:prodstat-panda}\nh3. PanDA statistics\n"
    "||Label||" + "||".join(HEADERS) + "||\n"
    "|isr|" + "|".join(str(100 + i) for i in range(12)) + "|\n"
    "|*workflow*|" + "|".join(f"{{color:red}}{i}{{color}}" for i in range(12)) + "|\n"
    "{anchor:prodstat-panda-end}\n"
    "{anchor:prodstat-status}\nStatus:finished nTasks:3 nFiles:212 nRemain:0 nProc: nFinish:3 nFail:0 nSubFinish:0\n"
    "{anchor:prodstat-status-end}\n"
)


def issue() -> Issue:
    return Issue(
        "DRP-486",
        "step1#w/PREOPS-1248/20220728T192631Z",
        DESCRIPTION,
        labels=["prodstat_20220728T192631Z"],
        url="https://jira/browse/DRP-486",
        attachments=[Attachment("1", "x.yaml", 1)],
    )


@pytest.mark.parametrize("width", [60, 80, 120, 250])
def test_every_line_fits(width: int) -> None:
    lines = render_issue(issue(), width=width)
    assert max(len(line) for line in lines) <= width
    text = "\n".join(lines)
    # Titles after a blank line; the BPS block aligned; nothing of the markup left.
    assert "\n\nBPS Submit Keywords\n" in text and "\n\nPanDA statistics\n" in text and "\n\nStatus\n" in text
    assert "{code}" not in text and "{anchor" not in text and "{color" not in text and "||" not in text
    assert "x.yaml  (1 byte)" in text
    # The ~900-character cluster value is folded, not cut: every character is there.
    folded = "".join(line.strip() for line in lines if line.startswith(" " * 14) or "cluster" in line)
    assert "cluster_11" in folded.replace(" ", "")


def test_wide_table_in_column_groups_then_records() -> None:
    wide = render_issue(issue(), width=250)
    assert sum(1 for line in wide if line.strip().startswith("Label")) == 1  # one table
    groups = render_issue(issue(), width=80)
    headers = [line for line in groups if line.strip().startswith("Label")]
    assert len(headers) > 1  # column groups, each starting with the row's name
    assert all("Column number" in h for h in headers)
    assert sum(line.count("Column number") for line in headers) == 12
    narrow = render_issue(issue(), width=28)
    # Too narrow for even two columns: one "header  value" line per cell.
    assert any(line.startswith("Column number 11") and line.rstrip().endswith("111") for line in narrow)


def test_bps_block_aligned() -> None:
    lines = render_issue(issue(), width=100)
    project = next(line for line in lines if line.startswith("project"))
    uniq = next(line for line in lines if line.startswith("uniqProcName"))
    assert project.index("dp02") == uniq.index("u_2022")


def test_help_does_not_import_rich() -> None:
    code = "import sys\nfrom lsst.prodstatus.cli.main import cli\nprint('rich' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
