"""Hostile files at the command line: yaml alias bombs, symlink loops in submit trees.

Every command runs as a subprocess under a 2 GB address-space limit and a generous
timeout: those bound a hang or a memory blow-up by design, so a regression fails the
test instead of hanging the suite. A refusal is exit 1 with one line on stderr.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lsst.prodstatus.core import yamlsafe
from lsst.prodstatus.core.maps import HINT_STEP_MAP_EXAMPLE, MSG_MAP_BAD_ENTRIES, STEP_MAP_SHAPE
from tests.support.submit_trees import make_sample_campaign

PRODSTAT = [sys.executable, str(Path(__file__).resolve().parents[2] / "bin" / "prodstat")]
MEMORY = 2 * 2**30


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _prodstat(root: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(root),
        "PRODSTAT_HOME": str(root / "home"),
        "PRODSTAT_TRACKER": "local",
        "NETRC": str(root / "no-netrc"),
        "XDG_CONFIG_HOME": str(root / "xdg"),
    }
    return subprocess.run(
        [*PRODSTAT, *args],
        cwd=cwd or root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,
    )


def billion_laughs(width: int = 9, depth: int = 10, *, mapping: bool = True) -> str:
    """The classic: each level is ``width`` aliases of the level before."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, depth):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    text = "\n".join(lines) + "\n"
    if not mapping:  # a bomb under a key the command reads
        text = text.replace("\n", "\n  ").rstrip() + "\n"
    return text


# (command line, where the bomb goes): every yaml reader of the CLI.
BOMBED = [
    pytest.param(["update-issue", "{bomb}", "PREOPS-1", "DRP0"], id="bps-yaml"),
    pytest.param(["update-campaign", "{bomb}"], id="campaign-yaml"),
    pytest.param(["update-step", "{bomb}"], id="step-yaml"),
    pytest.param(["map-drp-steps", "{bomb}", "DRP-1", "0"], id="map-yaml"),
    pytest.param(["get-panda-stat", "{bomb}"], id="param-file"),
    pytest.param(["prep-timing-data", "{bomb}"], id="timing-params"),
    pytest.param(["report-to-jira", "{bomb}"], id="report-params"),
]


@pytest.mark.parametrize("command", BOMBED)
def test_alias_bomb_is_refused_in_one_line(tmp_path: Path, command: list[str]) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs())
    result = _prodstat(tmp_path, *(arg.format(bomb=bomb) for arg in command))
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "an alias bomb?" in result.stderr and "Traceback" not in result.stderr
    assert "DRP-" not in result.stdout  # nothing was written


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(2, 12), depth=st.integers(1, 12))
def test_alias_guard_counts_expansion(width: int, depth: int) -> None:
    """In-process: refused exactly when the aliases add more than MAX_ALIAS_NODES nodes."""
    text = billion_laughs(width, depth)
    # Expanded nodes: the top mapping, its keys, and level k = 1 + width * level k-1.
    level = [1 + width]
    for _ in range(1, depth):
        level.append(1 + width * level[-1])
    expanded = 1 + depth + sum(level)
    try:
        loaded = yamlsafe.load(text)
    except yamlsafe.yaml.YAMLError as exc:
        assert expanded - _distinct(text) > yamlsafe.MAX_ALIAS_NODES, exc
    else:
        assert expanded - _distinct(text) <= yamlsafe.MAX_ALIAS_NODES
        assert len(loaded) == depth


def _distinct(text: str) -> int:
    import yaml

    node = yaml.compose(text)
    seen: set[int] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
        elif isinstance(n, yaml.MappingNode):
            stack.extend(x for pair in n.value for x in pair)
    return len(seen)


def test_plain_big_document_and_ordinary_anchors_load(tmp_path: Path) -> None:
    """No aliases: never refused, whatever the size; bps-style anchors and merges load."""
    # 200,001 nodes, twice what aliases may add: the limit is on aliases, not on size.
    text = "".join(f"w{i}: [{i}, x, y, z]\n" for i in range(40_000))
    assert len(yamlsafe.load(text)) == 40_000
    text = "base: &b {a: 1, b: [1, 2]}\nx: {<<: *b, c: 3}\ny: *b\n"
    assert yamlsafe.load(text) == {
        "base": {"a": 1, "b": [1, 2]},
        "x": {"a": 1, "b": [1, 2], "c": 3},
        "y": {"a": 1, "b": [1, 2]},
    }


def test_symlink_loops_in_submit_tree_do_not_hang(tmp_path: Path) -> None:
    """``submit/<output>/<ts>`` as a link to itself, two links to each other, a link to the
    parent inside a run: update-issue picks the real run, create-step-yaml lists the yaml;
    a bps yaml that is a link loop is one line."""
    make_sample_campaign(tmp_path)
    step2 = tmp_path / "work" / "step2"
    runs = step2 / "submit" / "2.2i" / "runs" / "test-med-1" / "w_2022_27" / "PREOPS-1248"
    (runs / "20990101T000000Z").symlink_to("20990101T000000Z")
    (runs / "20990103T000000Z").symlink_to("20990104T000000Z")
    (runs / "20990104T000000Z").symlink_to("20990103T000000Z")
    (runs / "20990102T000000Z").mkdir()
    (runs / "20990102T000000Z" / "up").symlink_to("..")
    (runs / "20220729T142653Z" / "self").symlink_to(".")
    (step2 / "loop.yaml").symlink_to("loop.yaml")

    done = _prodstat(tmp_path, "update-issue", "step2_1248.yaml", "PREOPS-1", "DRP0", cwd=step2)
    assert done.returncode == 0, done.stderr
    assert "run 20220729T142653Z of step2_1248.yaml" in done.stdout and "issue:DRP-1" in done.stdout
    listed = _prodstat(tmp_path, "create-step-yaml", "s2.yaml", "step2", "work/step2")
    assert listed.returncode == 0 and "step2_1248 (DRP-1)" in listed.stdout, listed.stderr
    loop = _prodstat(tmp_path, "update-issue", "loop.yaml", "PREOPS-1", "DRP0", cwd=step2)
    assert loop.returncode == 1 and len(loop.stderr.splitlines()) == 1, loop.stderr
    assert "Too many levels of symbolic links" in loop.stderr
    assert os.path.islink(step2 / "loop.yaml")


def test_huge_map_yaml_error_line_is_short(tmp_path: Path) -> None:
    """A big yaml given as the map (here 5 MB): the error quotes its entries cut short, not
    the megabytes (before, all 50 MB of a 50 MB file went to stderr after 40 s)."""
    big = tmp_path / "big.yaml"
    row = "  - " + "a" * 60 + "\n"
    big.write_text("payload: {output: x}\nbig:\n" + row * (5 * 2**20 // len(row)))
    result = _prodstat(tmp_path, "map-drp-steps", str(big), "DRP-1", "0")
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr[:500]
    assert len(result.stderr) < 1000, result.stderr[:500]
    entries = MSG_MAP_BAD_ENTRIES.format(source=big, shape=STEP_MAP_SHAPE, entries="payload: {'output': 'x'}")
    assert entries in result.stderr
    assert "...]" in result.stderr and HINT_STEP_MAP_EXAMPLE in result.stderr


def test_many_bad_map_entries_are_counted_not_listed(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("".join(f"w{i}: not-a-key-{i}\n" for i in range(500)))
    result = _prodstat(tmp_path, "map-drp-steps", str(bad), "DRP-1", "0")
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr[:500]
    assert "w9: 'not-a-key-9'; and 490 more; e.g." in result.stderr
