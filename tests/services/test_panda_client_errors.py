"""PanDA client HTTP error paths (``responses``; the real paths use the loopback emulator)."""

from __future__ import annotations

import re
import time

import pytest
import requests
import responses

from lsst.prodstatus.errors import AuthenticationError, InputError, ServiceError
from lsst.prodstatus.services.panda import (
    HINT_FAILED,
    HINT_HTML,
    HINT_NOT_JSON,
    HINT_REFUSED,
    HINT_WORKFLOW_NOT_FOUND,
    MSG_FAILED,
    MSG_HTML,
    MSG_NOT_JSON,
    MSG_REFUSED,
    MSG_WORKFLOW_NOT_FOUND,
    PROBLEM_CONNECT,
    PROBLEM_HTTP,
    REQUEST_ID_PART,
    RETRY_NOTE,
    PandaClient,
    days_covering,
    parse_panda_time,
)
from tests.services.messages import message_re

BASE = "https://panda.example.org/"
SPENT = re.compile(r"\d+\.\d")
"""The seconds of `MSG_FAILED`: one decimal."""
WF_URL = re.compile(r"https://panda\.example\.org/idds/wfprogress/\?json=.*")


def client(**kwargs: object) -> PandaClient:
    defaults: dict[str, object] = {"retries": 2, "backoff": 0.01, "timeout": (1.0, 1.0)}
    defaults.update(kwargs)
    return PandaClient(BASE, **defaults)  # type: ignore[arg-type]


@responses.activate
def test_retry_after_429_then_success() -> None:
    responses.add(responses.GET, WF_URL, status=429, headers={"Retry-After": "1"})
    responses.add(responses.GET, WF_URL, json=[{"request_id": 1, "r_name": "x_20220101t000000z"}])
    start = time.monotonic()
    assert client().get_json("idds/wfprogress/", {"days": 3}) == [
        {"request_id": 1, "r_name": "x_20220101t000000z"}
    ]
    assert time.monotonic() - start >= 1.0
    assert len(responses.calls) == 2
    assert "json=" in responses.calls[0].request.url


@responses.activate
def test_5xx_retried_then_gives_up_with_exit_3() -> None:
    responses.add(responses.GET, WF_URL, status=502)
    with pytest.raises(ServiceError) as info:
        client(retries=2).get_json("idds/wfprogress/", {})
    assert info.value.exit_code == 3
    failed = message_re(
        MSG_FAILED,
        HINT_FAILED,
        monitor=BASE,
        problem=PROBLEM_HTTP.format(status=502),
        path="idds/wfprogress/",
        attempts=3,
        spent=SPENT,
    )
    assert re.fullmatch(failed, str(info.value)), str(info.value)
    assert len(responses.calls) == 3


@responses.activate
def test_html_instead_of_json() -> None:
    responses.add(responses.GET, WF_URL, body="<!DOCTYPE html><html>login</html>", content_type="text/html")
    with pytest.raises(ServiceError, match=message_re(MSG_HTML, HINT_HTML, monitor=BASE)):
        client().get_json("idds/wfprogress/", {})
    assert len(responses.calls) == 1


@responses.activate
def test_garbage_is_not_json() -> None:
    responses.add(responses.GET, WF_URL, body="{not json", content_type="application/json")
    with pytest.raises(ServiceError, match=message_re(MSG_NOT_JSON, HINT_NOT_JSON, monitor=BASE)):
        client().get_json("idds/wfprogress/", {})


@responses.activate
def test_bad_token_is_auth_error() -> None:
    responses.add(responses.GET, WF_URL, status=401, json={"detail": "Invalid token"})
    with pytest.raises(
        AuthenticationError, match=message_re(MSG_REFUSED, HINT_REFUSED, monitor=BASE, status=401)
    ):
        client(token="bad").get_json("idds/wfprogress/", {})
    assert responses.calls[0].request.headers["Authorization"] == "Bearer bad"


@responses.activate
def test_timeouts_and_connection_errors_are_retried() -> None:
    responses.add(responses.GET, WF_URL, body=requests.exceptions.ReadTimeout("slow"))
    responses.add(responses.GET, WF_URL, body=requests.exceptions.ConnectionError("Connection refused"))
    responses.add(responses.GET, WF_URL, body=requests.exceptions.ConnectionError("Connection refused"))
    refused = PROBLEM_CONNECT.format(reason="connection refused")
    with pytest.raises(
        ServiceError,
        match=message_re(
            MSG_FAILED,
            HINT_FAILED,
            monitor=BASE,
            problem=refused,
            path="idds/wfprogress/",
            attempts=3,
            spent=SPENT,
        ),
    ):
        client(retries=2).get_json("idds/wfprogress/", {})


@responses.activate
def test_workflow_not_found_names_what_was_searched() -> None:
    responses.add(responses.GET, WF_URL, json=[{"request_id": 5, "r_name": "other_20220101t000000z"}])
    with pytest.raises(InputError) as info:
        client().find_workflow("2.2i_runs_X_20220127T205042Z", "20220127T205042Z", request_id=777)
    assert info.value.message == MSG_WORKFLOW_NOT_FOUND.format(
        name="2.2i_runs_x_20220127t205042z",
        monitor=BASE,
        days=days_covering("20220127T205042Z"),
        request=REQUEST_ID_PART.format(request_id=777),
        count=1,
    )
    assert info.value.hint == HINT_WORKFLOW_NOT_FOUND
    assert "requestid=777" in responses.calls[0].request.url


def test_time_parsing_and_windows() -> None:
    assert parse_panda_time("2022-01-27 20:57:26").isoformat() == "2022-01-27T20:57:26+00:00"  # type: ignore[union-attr]
    assert parse_panda_time("2022-01-27T21:44:07").isoformat() == "2022-01-27T21:44:07+00:00"  # type: ignore[union-attr]
    assert parse_panda_time("2022-01-27 20:56:46.123456").microsecond == 123456  # type: ignore[union-attr]
    assert parse_panda_time(None) is None and parse_panda_time("n/a") is None
    from datetime import UTC, datetime

    now = datetime(2022, 2, 3, tzinfo=UTC)
    assert days_covering("20220127T205042Z", now) == 9  # 6.1 days, rounded up, plus 2


@responses.activate
def test_retries_are_announced_and_bounded_in_time(caplog: pytest.LogCaptureFixture) -> None:
    from lsst.prodstatus.errors import RETRY_LOGGER

    responses.add(responses.GET, WF_URL, status=429)  # no Retry-After, forever
    caplog.set_level("INFO", logger=RETRY_LOGGER)
    with pytest.raises(ServiceError) as info:
        client(retries=50, backoff=0.2, retry_budget=1.0).get_json("idds/wfprogress/", {"days": 3})
    message = info.value.one_line()
    failed = message_re(
        MSG_FAILED,
        HINT_FAILED,
        monitor=BASE,
        problem=PROBLEM_HTTP.format(status=429),
        path="idds/wfprogress/",
        attempts=re.compile(r"\d+"),
        spent=SPENT,
    )
    assert re.fullmatch(failed, message), message
    assert len(responses.calls) < 50  # the time budget stopped it, not the count
    notes = [r.getMessage() for r in caplog.records if r.name == RETRY_LOGGER]
    first_note = message_re(
        RETRY_NOTE,
        problem=PROBLEM_HTTP.format(status=429),
        path="idds/wfprogress/",
        attempt=1,
        retries=50,
        delay=SPENT,
    )
    assert notes and re.fullmatch(first_note, notes[0]), notes
