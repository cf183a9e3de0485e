"""Campaign and step documents: the messages of malformed workflows."""

from __future__ import annotations

import pytest
import yaml

from lsst.prodstatus.core.campaign import (
    HINT_WORKFLOW_NO_NAME,
    HINT_WORKFLOW_NOT_MAPPING,
    MSG_WORKFLOW_NO_NAME,
    MSG_WORKFLOW_NOT_MAPPING,
    parse_step,
)
from lsst.prodstatus.errors import InputError

SOURCE = "step yaml step1.yaml"


def test_workflow_that_is_not_a_mapping() -> None:
    data = yaml.safe_load("name: step1\nworkflow_base: /bps\nworkflows:\n  step1_1248: step1_1248.yaml\n")
    with pytest.raises(InputError) as info:
        parse_step(data, SOURCE)
    wrong = MSG_WORKFLOW_NOT_MAPPING.format(source=SOURCE, key="step1_1248", kind="a string")
    assert info.value.one_line() == f"{wrong}; {HINT_WORKFLOW_NOT_MAPPING}"


def test_workflow_without_a_name() -> None:
    # The original tool's list form, where a workflow's name is not its key.
    data = yaml.safe_load("name: step1\nworkflow_base: /bps\nworkflows:\n  - bps_name: step1_1248.yaml\n")
    with pytest.raises(InputError) as info:
        parse_step(data, SOURCE)
    assert info.value.one_line() == f"{MSG_WORKFLOW_NO_NAME.format(source=SOURCE)}; {HINT_WORKFLOW_NO_NAME}"
