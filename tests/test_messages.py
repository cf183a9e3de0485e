"""Every user-facing message is a module constant that some test uses.

The messages of prodstat are ``str.format`` templates beside the code that prints or
raises them; tests import the constant instead of retyping the text, so a reworded
message fails no test by accident and an untested one shows up here.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "lsst" / "prodstatus"
TESTS = Path(__file__).resolve().parent

NOT_YET_TESTED: dict[str, set[str]] = {
    "cli/main.py": {"INTERRUPTED"},
    "cli/render.py": {"UNREADABLE_WARNING"},
    "config.py": {"TRACKER_NAMES"},  # not a message: the tracker names (a pair of words)
    "core/bps.py": {"BLOCK_HEADER"},  # not a message: the BPS block's header line
    "script/_gather.py": {"MSG_PANDA_STOPPED"},
    "script/discovery.py": {"NOTE_NO_RUN_OF_YAML"},
    "script/hierarchy.py": {
        "MSG_CANNOT_READ_BPS_YAML",
        "HINT_CANNOT_READ_BPS_YAML",
        "NOTE_NO_ISSUE_RECORDS_RUN",
        "NOTE_NO_BPS_YAMLS",
    },
    "script/make_prod_groups.py": {
        "EXPLIST_MISSING",
        "CANNOT_READ",
        "NOT_TEXT",
        "CANNOT_WRITE",
        "OTHER_BANDS_WARNING",
    },
    "script/maps.py": {"NOTE_TABLE_ATTACHED", "NOTE_NO_TIMESTAMP", "NOTE_NOT_RECORDED"},
    "script/param_stats.py": {
        "HINT_PARAM_FIX",
        "MSG_COLLTYPES_NOT_LIST",
        "HINT_NO_MATCH",
        "MSG_NO_RUN_COLLECTION",
    },
    "script/report.py": {"NOTE_NOT_IN_TRACKER"},
    "script/tree.py": {"NOTE_NAMED_LEFT_OUT"},
    "script/update_campaign.py": {
        "NOTE_CAMPAIGN_ISSUE_OVERRIDES",
        "HINT_CAMPAIGN_NOT_FOUND_YAML",
        "MSG_ISSUE_TWICE",
        "HINT_ISSUE_TWICE",
    },
    "script/update_issue.py": {
        "MSG_WORKFLOW_IS_PRODUCTION",
        "HINT_WORKFLOW_IS_PRODUCTION",
        "INFO_PRODUCTION_ELSEWHERE",
    },
    "script/update_stat.py": {
        "MSG_CANNOT_EXPAND",
        "HINT_CANNOT_EXPAND",
        "HINT_NO_BPS_BLOCK",
    },
    "script/update_step.py": {
        "HINT_CAMPAIGN_NOT_FOUND",
        "HINT_STEP_NOT_FOUND_OPTION",
        "MSG_STEP_IS_CAMPAIGN",
        "HINT_STEP_IS_CAMPAIGN",
        "HINT_WORKFLOW_KIND",
        "NOTE_BPS_YAML_MISSING",
    },
    "script/watch.py": {
        "WARN_NO_TRANSITIONS",  # unreachable: every tracker (local, Jira) has transition_issue
        "WARN_NO_REPORT_COMMAND",  # unreachable: script/report.py ships with watch (no ImportError)
    },
    "services/butler.py": {
        "NO_EXCEPTION",  # not a message: the exception type shown for a failed quantum with none recorded
        # not reached yet: needs a run_provenance lacking some quanta's usage (make_executed_repo has all)
        "MSG_NO_PROVENANCE_USAGE",
    },
}
"""Message constants no test references yet, per module (shrinks as tests are added)."""


def message_constants(path: Path) -> list[str]:
    """Module-level UPPER_CASE constants of ``path`` holding a sentence (or a message, hint pair)."""
    names = []
    for node in ast.parse(path.read_text()).body:
        if not (
            isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        ):
            continue
        name = node.targets[0].id
        if not re.fullmatch(r"[A-Z][A-Z0-9_]+", name):
            continue
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            continue
        pair = isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value)
        if pair or (isinstance(value, str) and " " in value):
            names.append(name)
    return names


@functools.cache
def _tests_text() -> str:
    return "\n".join(p.read_text() for p in TESTS.rglob("*.py") if p.name != Path(__file__).name)


@pytest.mark.parametrize("module", sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py")))
def test_message_constants_are_used_by_tests(module: str) -> None:
    text = _tests_text()
    untested = {n for n in message_constants(SRC / module) if not re.search(rf"\b{n}\b", text)}
    assert untested == NOT_YET_TESTED.get(module, set()), (
        f"untested now: {sorted(untested - NOT_YET_TESTED.get(module, set()))}; "
        f"tested now, drop from NOT_YET_TESTED: {sorted(NOT_YET_TESTED.get(module, set()) - untested)}"
    )


def test_no_stale_entries() -> None:
    assert set(NOT_YET_TESTED) <= {str(p.relative_to(SRC)) for p in SRC.rglob("*.py")}
