"""The shared reasons of `lsst.prodstatus.errors`, as the commands show them."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsst.prodstatus.errors import REASON_NOT_UTF8, InputError
from lsst.prodstatus.script.files import MSG_PARAM_NOT_YAML, load_param_file


def test_a_yaml_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_bytes(b"Jira: DM-42000\ncollTypes: caf\xe9\n")
    with pytest.raises(InputError) as info:
        load_param_file("params.yaml", path, "Jira, collTypes", "fix it")
    reason = REASON_NOT_UTF8.format(byte=len(b"Jira: DM-42000\ncollTypes: caf"))
    assert info.value.one_line() == f"{MSG_PARAM_NOT_YAML.format(path=path, reason=reason)}; fix it"
