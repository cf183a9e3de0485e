"""files.py: a yaml argument that is a directory or not text, a write that fails after its temp file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lsst.prodstatus.errors import InputError
from lsst.prodstatus.script.files import (
    HINT_CANNOT_READ,
    HINT_CANNOT_WRITE,
    MSG_CANNOT_READ,
    MSG_CANNOT_WRITE,
    MSG_NOT_A_FILE,
    write_text_atomically,
)
from lsst.prodstatus.script.update_campaign import HINT_NO_CAMPAIGN_YAML
from lsst.prodstatus.script.update_step import HINT_NO_STEP_YAML
from tests.conftest import CliResult

RunCli = Callable[..., CliResult]


@pytest.mark.parametrize(
    ("command", "what", "hint"),
    [
        ("update-campaign", "campaign yaml", HINT_NO_CAMPAIGN_YAML.format(path="conf")),
        ("update-step", "step yaml", HINT_NO_STEP_YAML.format(path="conf")),
    ],
)
def test_yaml_argument_that_is_a_directory(
    run_cli: RunCli, chdir_tmp: Path, command: str, what: str, hint: str
) -> None:
    (chdir_tmp / "conf").mkdir()
    result = run_cli(command, "conf")
    assert result.exit_code == 1
    message = MSG_NOT_A_FILE.format(what=what, given="conf", path=chdir_tmp / "conf")
    assert result.stderr == f"prodstat: error: {message}; {hint}\n"


def test_yaml_argument_that_is_not_utf8(run_cli: RunCli, chdir_tmp: Path) -> None:
    (chdir_tmp / "c.yaml").write_bytes(b"name: caf\xe9\n")  # Latin-1
    try:
        (chdir_tmp / "c.yaml").read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        reason = exc
    result = run_cli("update-campaign", "c.yaml")
    assert result.exit_code == 1
    message = MSG_CANNOT_READ.format(what="campaign yaml", given="c.yaml", reason=reason)
    assert result.stderr == f"prodstat: error: {message}; {HINT_CANNOT_READ}\n"


def test_write_that_fails_after_the_temporary_file_leaves_nothing(tmp_path: Path) -> None:
    # The target is a directory (made by mistake): the rename onto it fails.
    target = tmp_path / "c.yaml"
    target.mkdir()
    with pytest.raises(InputError) as info:
        write_text_atomically(target, "name: c\n")
    assert info.value.one_line() == (
        f"{MSG_CANNOT_WRITE.format(path=target, reason='Is a directory')}; {HINT_CANNOT_WRITE}"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["c.yaml"] and not any(target.iterdir())
