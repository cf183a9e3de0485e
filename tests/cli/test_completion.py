"""Shell completion, as doc/quickstart.rst tells operators to enable it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PRODSTAT = [sys.executable, str(Path(__file__).resolve().parents[2] / "bin" / "prodstat")]


def complete(words: str, shell: str = "bash", home: Path | None = None) -> list[str]:
    """The completions ``prodstat`` offers for the last of ``words`` (click's protocol)."""
    return [value for _type, value in complete_typed(words, shell, home)]


def complete_typed(words: str, shell: str = "bash", home: Path | None = None) -> list[tuple[str, str]]:
    """The ``(type, value)`` completions (type ``plain``, ``file`` or ``dir``) for ``words``."""
    env = {
        **os.environ,
        "_PRODSTAT_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    if home is not None:
        env["PRODSTAT_HOME"] = str(home)
    reply = subprocess.run(PRODSTAT, env=env, capture_output=True, text=True, timeout=60, check=True)
    pairs = (line.partition(",") for line in reply.stdout.splitlines())
    return [(kind, value) for kind, comma, value in pairs if comma]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_documented_source_line_prints_a_completion_script(shell: str) -> None:
    env = {**os.environ, "_PRODSTAT_COMPLETE": f"{shell}_source"}
    script = subprocess.run(PRODSTAT, env=env, capture_output=True, text=True, timeout=60, check=True)
    assert "_PRODSTAT_COMPLETE" in script.stdout
    doc = (Path(__file__).resolve().parents[2] / "doc" / "quickstart.rst").read_text()
    assert f"_PRODSTAT_COMPLETE={shell}_source prodstat" in doc


def test_commands_complete_by_prefix() -> None:
    assert complete("prodstat update-") == ["update-issue", "update-stat", "update-campaign", "update-step"]


def test_options_and_choices_complete(tmp_path: Path) -> None:
    assert complete("prodstat update-stat --no-") == ["--no-butler", "--no-panda"]
    assert complete("prodstat --tracker ") == ["local", "jira"]
    assert complete("prodstat make-prod-groups t.yaml ") == ["all", "f", "u", "g", "r", "i", "z", "y"]


@pytest.mark.parametrize(
    "words",
    [
        "prodstat update-issue step1",
        "prodstat make-prod-groups tmpl",
        "prodstat make-prod-groups t.yaml all 10 0 1 exp",
        "prodstat update-campaign camp",
        "prodstat get-panda-stat par",
        "prodstat map-drp-steps ma",
    ],
)
def test_file_arguments_let_the_shell_complete_file_names(words: str) -> None:
    # bash's completion script turns the "file" type into compgen -f.
    assert complete_typed(words) == [("file", words.rsplit(" ", 1)[1])]


def test_a_directory_argument_completes_directories() -> None:
    assert complete_typed("prodstat create-step-yaml s.yaml step1 wo") == [("dir", "wo")]


def test_completion_touches_no_tracker(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert complete("prodstat show ", home=home) == []
    assert not home.exists()  # no tracker database was made to answer
