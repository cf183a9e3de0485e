"""The summary issue's state attachment: a damaged one is refused with a way out."""

from __future__ import annotations

import json

import pytest

from lsst.prodstatus.core.summary import (
    HINT_STATE_DAMAGED,
    MSG_ENTRY_COUNTS,
    MSG_ENTRY_SHAPE,
    MSG_STATE_DAMAGED,
    MSG_STATE_NOT_OBJECT,
    STATE_FILENAME,
    SummaryEntry,
    dump_state,
    load_state,
)
from lsst.prodstatus.errors import InputError

WHERE = f"{STATE_FILENAME} of DRP-53"
ENTRY_ID = "step1#20220728T192631Z"
GOOD = ["step1", "DRP-486", [10, 0, 9, 1, 0], "https://panda/x", "step1 w_2022_27"]


def test_state_round_trip() -> None:
    state = {ENTRY_ID: SummaryEntry.from_json(ENTRY_ID, GOOD)}
    assert load_state(dump_state(state), WHERE) == state


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (json.dumps([GOOD]).encode(), MSG_STATE_NOT_OBJECT),
        (json.dumps({ENTRY_ID: GOOD[:4]}).encode(), MSG_ENTRY_SHAPE.format(entry_id=ENTRY_ID)),
        (
            json.dumps({ENTRY_ID: [*GOOD[:2], [10, 0, 9], *GOOD[3:]]}).encode(),
            MSG_ENTRY_COUNTS.format(entry_id=ENTRY_ID, count=3),
        ),
    ],
    ids=["list", "short-entry", "three-counts"],
)
def test_damaged_state(data: bytes, error: str) -> None:
    with pytest.raises(InputError) as info:
        load_state(data, WHERE)
    assert (
        info.value.one_line() == f"{MSG_STATE_DAMAGED.format(where=WHERE, error=error)}; {HINT_STATE_DAMAGED}"
    )


def test_state_that_is_not_json() -> None:
    data = b'{"step1#20220728T192631Z": ['
    with pytest.raises(InputError) as info:
        load_state(data, WHERE)
    try:
        json.loads(data)
    except ValueError as exc:
        error = exc
    assert (
        info.value.one_line() == f"{MSG_STATE_DAMAGED.format(where=WHERE, error=error)}; {HINT_STATE_DAMAGED}"
    )
