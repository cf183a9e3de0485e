"""Failure classification rules: the shipped file, a user's file first, and bad rules refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from lsst.prodstatus.core.failures import (
    FLAVOURS,
    MSG_RULE_BAD_DIAG,
    MSG_RULE_BAD_FLAVOUR,
    MSG_RULE_BAD_SOURCE,
    MSG_RULE_MATCHES_NOTHING,
    MSG_RULE_UNKNOWN_KEYS,
    MSG_RULES_NOT_LIST,
    classify,
    parse_rules,
)
from lsst.prodstatus.core.markup import read_section
from lsst.prodstatus.errors import InputError
from lsst.prodstatus.script.error_rules import (
    HINT_CANNOT_READ_RULES,
    MSG_CANNOT_READ_RULES,
    MSG_RULES_NOT_YAML,
    default_rules_text,
    load_rules,
)
from tests.conftest import CliResult
from tests.core.test_failures import TS, planted_workflow, workflow_description
from tests.support.panda_emulator import PandaEmulator
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]


@pytest.fixture
def panda() -> Iterator[PandaEmulator]:
    with PandaEmulator() as emulator:
        emulator.add_workflow(planted_workflow())
        yield emulator


def test_shipped_rules_load_and_classify() -> None:
    rules = load_rules()
    assert len(rules) == len(yaml.safe_load(default_rules_text())["rules"])
    assert all(rule.flavour in ("infrastructure", "configuration", "pipelines") for rule in rules)

    def name(source: str, code: int, diag: str = "") -> str | None:
        rule = classify(source, code, diag, rules)
        return rule.name if rule else None

    assert name("pilot", 1150, "Looping job killed by pilot") == "looping-job"
    assert name("pilot", 1305, "Failed to execute payload: Killed") == "payload-killed"
    assert name("trans", 137) == "killed-sigkill"
    assert name("exe", 3, "RuntimeError: no good stars") == "python-exception"
    assert name("exe", 8, "payload returned an unexpected status") is None


def test_user_rules_come_first(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n"
        "  - {name: odd-status, source: exe, code: 8, flavour: pipelines, action: review, ticket: DM-4711}\n"
        "  - {name: site-oom, source: trans, code: [137], flavour: infrastructure, action: retry}\n"
    )
    rules = load_rules(path)
    first = classify("exe", 8, "", rules)
    assert first is not None and (first.name, first.ticket, first.origin) == (
        "odd-status",
        "DM-4711",
        str(path),
    )
    sigkill = classify("trans", 137, "", rules)
    assert sigkill is not None and sigkill.name == "site-oom"


def _bad_diag(where: str, diag: str) -> str:
    """`MSG_RULE_BAD_DIAG` up to the regex library's own words, ``{origin}`` left to fill."""
    return MSG_RULE_BAD_DIAG.partition(" ({error})")[0].format(origin="{origin}", where=where, diag=diag)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [\n", MSG_RULES_NOT_YAML.partition("{where}")[0] + " at line 2"),
        (
            "rules:\n  - {name: bad-regex, diag: '(unclosed', flavour: pipelines}\n",
            _bad_diag("rule 1 (bad-regex)", "(unclosed"),
        ),
        (
            "rules:\n  - {name: x, code: 1, flavour: weather}\n",
            MSG_RULE_BAD_FLAVOUR.format(
                origin="{origin}", where="rule 1 (x)", flavour="weather", flavours=", ".join(FLAVOURS)
            ),
        ),
        (
            "rules:\n  - {name: y, source: cosmic, flavour: pipelines}\n",
            MSG_RULE_BAD_SOURCE.format(origin="{origin}", where="rule 1 (y)", source="cosmic"),
        ),
        (
            "rules:\n  - {name: z, flavour: pipelines}\n",
            MSG_RULE_MATCHES_NOTHING.format(origin="{origin}", where="rule 1 (z)"),
        ),
        (
            "rules:\n  - {name: w, code: 1, flavour: pipelines, colour: red}\n",
            MSG_RULE_UNKNOWN_KEYS.format(origin="{origin}", where="rule 1 (w)", keys="colour"),
        ),
        ("rules: 3\n", MSG_RULES_NOT_LIST),
    ],
)
def test_bad_rules_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_rules(path)
    assert message.format(origin=path) in info.value.one_line() and str(path) in info.value.one_line()


def test_parse_rules_accepts_a_bare_list() -> None:
    rules = parse_rules([{"name": "a", "source": "ddmerrorcode", "flavour": "Infrastructure"}], "x")
    assert rules[0].source == "ddm" and rules[0].flavour == "infrastructure"


def test_user_rules_in_update_stat(
    run_cli: RunCli, setup: TrackerSetup, panda: PandaEmulator, tmp_path: Path
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - {name: odd-status, source: exe, code: 8, flavour: pipelines, ticket: DM-4711}\n"
    )
    setup.seed("DRP-1", f"step1#w_2024_03/{TS}", workflow_description())
    env = {**setup.env, "PANDAMON_URL": panda.url, "PRODSTAT_ERROR_RULES": str(path)}
    result = run_cli("update-stat", "DRP-1", "--no-butler", env=env)
    assert result.exit_code == 0, result.stderr
    section = read_section(setup.open().get_issue("DRP-1").description, "failures")
    assert section is not None
    assert "|pipelines (odd-status)|DM-4711|" in section
    assert "no rule explains 0% of the failed attempts" in section
    assert "unexplained" not in section.split("\n")[-2].split("(")[1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n  - name: [\n", MSG_RULES_NOT_YAML.partition("{where}")[0] + " at line"),
        (
            "rules:\n  - {name: broken, diag: '[a-', flavour: pipelines}\n",
            _bad_diag("rule 1 (broken)", "[a-"),
        ),
    ],
)
def test_bad_rules_file_exits_1_before_any_query(
    run_cli: RunCli, setup: TrackerSetup, panda: PandaEmulator, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    setup.seed("DRP-1", f"step1#w_2024_03/{TS}", workflow_description())
    before = setup.snapshot()
    panda.clear_log()
    env = {**setup.env, "PANDAMON_URL": panda.url, "PRODSTAT_ERROR_RULES": str(path)}
    result = run_cli("update-stat", "DRP-1", "--no-butler", env=env)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("prodstat: error: error rules ")
    assert message.format(origin=path) in lines[0]
    assert str(path) in lines[0] and "Traceback" not in result.stderr
    assert panda.count("/") == 0
    assert setup.snapshot() == before


def test_missing_rules_file(
    run_cli: RunCli, setup: TrackerSetup, panda: PandaEmulator, tmp_path: Path
) -> None:
    setup.seed("DRP-1", f"step1#w_2024_03/{TS}", workflow_description())
    env = {**setup.env, "PANDAMON_URL": panda.url, "PRODSTAT_ERROR_RULES": str(tmp_path / "none.yaml")}
    result = run_cli("update-stat", "DRP-1", "--no-butler", env=env)
    assert result.exit_code == 1
    message = MSG_CANNOT_READ_RULES.format(path=tmp_path / "none.yaml", reason="No such file or directory")
    assert result.stderr == f"prodstat: error: {message}; {HINT_CANNOT_READ_RULES}\n"
