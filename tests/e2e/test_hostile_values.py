"""Hostile values at the command line: Jira markup in every value that reaches an issue.

Property: whatever text a bps submit yaml carries (table bars, braces, ``{code}``, anchors,
brackets, unicode), ``update-issue`` writes an issue whose BPS block reads back exactly, whose
managed sections stay intact, and which a second run leaves unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lsst.prodstatus.core.bps import parse_bps_block
from lsst.prodstatus.core.markup import check_markers
from tests.conftest import CliResult
from tests.support.submit_trees import make_sample_campaign

RunCli = Callable[..., CliResult]

_MARKUP = [
    "|",
    "||",
    "{code}",
    "{CODE}",
    "\\{code}",
    "{anchor:prodstat-production}",
    "{anchor:x-end}",
    "[",
    "]",
    "*",
    "_",
    "{",
    "}",
    "\\",
    "#",
    "!",
    "~",
    "-",
    "h1. ",
    "{noformat}",
    "{{",
    "}}",
    "é",
    "✓",
]
_values = (
    st.lists(st.sampled_from(_MARKUP) | st.text(alphabet="abc XYZ 019=().,'", max_size=4), max_size=8)
    .map("".join)
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=_values, note=_values)
def test_markup_in_values_reads_back_exactly(
    query: str,
    note: str,
    run_cli: RunCli,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path_factory.mktemp("hostile")
    make_sample_campaign(root)
    step1 = root / "work" / "step1"
    monkeypatch.chdir(step1)
    home = root / "home"
    env = {"PRODSTAT_HOME": str(home), "PRODSTAT_TRACKER": "local"}
    data = yaml.safe_load((step1 / "step1_1248.yaml").read_text())
    data["payload"]["dataQuery"] = query
    data["payload"]["sw_image"] = note
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    (step1 / "step1_1248.yaml").write_text(text)
    for copy in (step1 / "submit").rglob("step1_1248.yaml"):
        copy.write_text(text)

    first = run_cli("update-issue", "step1_1248.yaml", "PREOPS-1248", "DRP0", env=env)
    assert first.exit_code == 0, first.stderr
    shown = run_cli("--json", "show", "DRP-1", env=env)
    description = json.loads(shown.stdout)["description"]
    block = parse_bps_block(description)
    assert block["dataQuery"] == query and block["sw_image"] == note
    check_markers(description)  # no value breaks prodstat's own sections
    again = run_cli("update-issue", "step1_1248.yaml", "PREOPS-1248", "DRP0", env=env)
    assert again.exit_code == 0 and "unchanged DRP-1" in again.stdout, again.stdout + again.stderr


def test_paths_with_spaces_and_unicode(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "my campaign ✓"
    make_sample_campaign(root)
    step1 = root / "work" / "step1"
    monkeypatch.chdir(tmp_path)
    env = {"PRODSTAT_HOME": str(tmp_path / "home dir é"), "PRODSTAT_TRACKER": "local"}
    result = run_cli("update-issue", str(step1 / "step1_1248.yaml"), "PREOPS-1248", "DRP0", env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "issue:DRP-1"
