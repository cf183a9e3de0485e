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
    "cli/render.py": {
        "DUPLICATE_REMOVED_NOTE",
        "MERGED_AGAIN_NOTE",
        "UNREADABLE_WARNING",
        "NO_STARTED_JOB_NOTE",
        "NEVER_STARTED_NOTE",
        "NOT_DRAWN_NOTE",
        "DRY_RUN_NOTHING_WRITTEN",
    },
    "config.py": {
        "TRACKER_NAMES",
        "HINT_CONFIG_MISSING",
        "HINT_CONFIG_UNREADABLE",
        "HINT_UNKNOWN_SETTING",
        "HINT_NETRC_INVALID",
        "MSG_NETRC_NO_ACCOUNT",
        "HINT_NETRC_NO_ACCOUNT",
        "HINT_BAD_PROJECT",
        "MSG_BAD_FAILURE_SHARE",
        "HINT_BAD_FAILURE_SHARE",
        "MSG_BAD_SUMMARY_ISSUES",
        "HINT_BAD_SUMMARY_ISSUES",
        "MSG_BAD_STATUS_TRANSITIONS",
        "HINT_BAD_STATUS_TRANSITIONS",
        "HINT_BAD_URL",
        "MSG_DIR_NOT_WRITABLE",
    },
    "core/bps.py": {"BLOCK_HEADER", "MSG_EXPANSION_OVERFLOW"},
    "core/campaign.py": {
        "MSG_WORKFLOW_NOT_MAPPING",
        "HINT_WORKFLOW_NOT_MAPPING",
        "MSG_WORKFLOW_NO_NAME",
        "HINT_WORKFLOW_NO_NAME",
    },
    "core/failures.py": {
        "HINT_RULES",
        "MSG_RULE_NOT_MAPPING",
        "MSG_RULE_NO_NAME",
        "HINT_RULE_SOURCE",
        "MSG_RULE_ZERO_CODE",
    },
    "core/summary.py": {
        "MSG_ENTRY_SHAPE",
        "MSG_ENTRY_COUNTS",
        "MSG_STATE_NOT_OBJECT",
        "MSG_STATE_DAMAGED",
        "HINT_STATE_DAMAGED",
    },
    "errors.py": {"REASON_DROPPED", "REASON_NOT_UTF8"},
    "script/_gather.py": {"MSG_PANDA_STOPPED"},
    "script/apply.py": {
        "MSG_DUPLICATE_NOT_REMOVED",
        "HINT_DUPLICATE_NOT_REMOVED",
        "MSG_CREATE_LOST",
        "HINT_CREATE_LOST",
        "MISSING_UNKNOWN",
    },
    "script/campaign_yaml.py": {
        "MSG_CAMPAIGN_NAME_EMPTY",
        "HINT_CAMPAIGN_NAME_EMPTY",
        "MSG_IS_DIRECTORY",
        "HINT_IS_DIRECTORY",
        "MSG_ATTACHMENT_NOT_YAML",
        "HINT_ATTACHMENT_NOT_YAML",
        "MSG_STEP_NAME_EMPTY",
        "HINT_STEP_NAME_EMPTY",
        "MSG_NOT_STEP_YAML",
        "NOTE_KEPT_STEP_YAML",
    },
    "script/discovery.py": {"NOTE_NO_RUN_OF_YAML"},
    "script/error_rules.py": {"HINT_RULES_NOT_YAML"},
    "script/files.py": {"MSG_NOT_A_FILE", "MSG_CANNOT_READ", "HINT_CANNOT_READ", "HINT_CANNOT_WRITE"},
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
    "script/summary.py": {
        "MSG_SUMMARY_ITSELF",
        "HINT_SUMMARY_ITSELF",
        "MSG_SUMMARY_HELD",
        "HINT_SUMMARY_HELD",
        "MSG_STATE_REPLACED",
        "HINT_STATE_REPLACED",
    },
    "script/timing.py": {
        "MSG_JOB_NAMES_NOT_LIST",
        "MSG_STOP_AT_NOT_AFTER",
        "MSG_NOT_TIMING_CSV",
        "HINT_WRITE_AGAIN",
        "MSG_BAD_ROW",
        "MSG_NO_JOB_IN_DATA",
        "HINT_NO_JOB_IN_DATA",
    },
    "script/tree.py": {
        "MSG_ATTACHMENT_NOT_YAML",
        "STEP_FIX",
        "NOTE_STEP_YAML_UNUSABLE",
        "NOTE_NO_STEP_NAME",
        "NOTE_NAMED_LEFT_OUT",
        "CAMPAIGN_FIX",
        "MSG_NO_STEP_LIST",
        "NOTE_STEP_WRONG_KIND",
    },
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
        "MSG_NO_BPS_BLOCK",
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
        "MSG_STATE_UNREADABLE",
        "HINT_STATE_UNREADABLE",
        "MSG_NOT_WATCHABLE",
        "HINT_NOT_WATCHABLE",
        "WARN_CYCLE_FAILED",
        "NOTE_NOT_WATCHED",
        "MSG_NO_WORKFLOW_NAMED",
        "HINT_NO_WORKFLOW_NAMED",
        "NOTE_STATS_NOT_UPDATED",
        "WARN_NO_TRANSITIONS",
        "WARN_TRANSITION_FAILED",
        "NOTE_ROLLUP_NOT_REFRESHED",
        "WARN_NO_REPORT_COMMAND",
        "WARN_REPORT_NOT_WRITTEN",
    },
    "services/butler.py": {
        "NO_EXCEPTION",
        "MSG_REPO_FAILED",
        "HINT_CHILDREN_MORE",
        "MSG_CANCELLED",
        "MSG_NO_PROVENANCE_USAGE",
        "WARN_PROVENANCE_UNUSABLE",
    },
    "services/panda.py": {
        "MSG_ABANDONED",
        "MSG_ABANDONED_AFTER_OTHER",
        "MSG_JOBS_ABANDONED",
        "PROBLEM_CUT_OFF",
        "MSG_UNEXPECTED_REPLY",
        "WARN_JOB_LIMIT",
    },
    "services/submit.py": {"REASON_NOT_UTF8", "WARN_EXPANDED_NOT_MAPPING"},
    "services/tracker/base.py": {"MSG_EMPTY_SUMMARY"},
    "services/tracker/jira.py": {
        "HINT_NO_TOKEN",
        "MSG_HTML_REPLY",
        "MSG_INCOMPLETE_REPLY",
        "HINT_INCOMPLETE_REPLY",
        "MSG_REQUEST_FAILED",
        "MSG_CANNOT_READ",
        "HINT_CANNOT_READ",
        "MSG_AMBIGUOUS",
        "HINT_AMBIGUOUS",
        "REASON_HTTP",
        "REASON_NO_REPLY",
        "REASON_CUT_OFF",
        "REASON_CONNECTION_DROPPED",
        "REASON_UNREADABLE",
        "REASON_NO_KEY",
        "REASON_NO_ATTACHMENT",
        "MSG_FORBIDDEN",
        "HINT_FORBIDDEN",
        "MSG_BAD_REQUEST",
        "HINT_BAD_REQUEST",
        "MSG_FAILED_HTTP",
        "MSG_ISSUE_UNREADABLE",
        "HINT_ISSUE_UNREADABLE",
        "MSG_LINK_NOT_MADE",
    },
    "services/tracker/local.py": {
        "MSG_DB_LOCKED",
        "HINT_DB_LOCKED",
        "MSG_DB_FAILED",
        "MSG_DB_COMMIT_FAILED",
        "HINT_DB_FAILED",
        "MSG_NO_COMMENT",
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
