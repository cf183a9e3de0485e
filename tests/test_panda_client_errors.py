"""PanDA client HTTP error paths (``responses``; the real paths use the loopback emulator)."""

from __future__ import annotations

import re
import time

import pytest
import requests
import responses

from lsst.prodstatus.errors import AuthenticationError, InputError, ServiceError
from lsst.prodstatus.services.panda import PandaClient, days_covering, parse_panda_time

BASE = "https://panda.example.org/"
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
    assert re.fullmatch(
        re.escape(f"the PanDA monitor at {BASE} failed: HTTP 502 (idds/wfprogress/, 3 attempts over ")
        + r"\d+\.\d s\); retry later, or check PANDAMON_URL and the network",
        str(info.value),
    ), str(info.value)
    assert len(responses.calls) == 3


@responses.activate
def test_html_instead_of_json() -> None:
    responses.add(responses.GET, WF_URL, body="<!DOCTYPE html><html>login</html>", content_type="text/html")
    with pytest.raises(ServiceError, match="answered HTML instead of JSON"):
        client().get_json("idds/wfprogress/", {})
    assert len(responses.calls) == 1


@responses.activate
def test_garbage_is_not_json() -> None:
    responses.add(responses.GET, WF_URL, body="{not json", content_type="application/json")
    with pytest.raises(ServiceError, match="answered something that is not JSON"):
        client().get_json("idds/wfprogress/", {})


@responses.activate
def test_bad_token_is_auth_error() -> None:
    responses.add(responses.GET, WF_URL, status=401, json={"detail": "Invalid token"})
    with pytest.raises(
        AuthenticationError, match=r"refused the request \(HTTP 401\); check PRODSTAT_PANDA_TOKEN"
    ):
        client(token="bad").get_json("idds/wfprogress/", {})
    assert responses.calls[0].request.headers["Authorization"] == "Bearer bad"


@responses.activate
def test_timeouts_and_connection_errors_are_retried() -> None:
    responses.add(responses.GET, WF_URL, body=requests.exceptions.ReadTimeout("slow"))
    responses.add(responses.GET, WF_URL, body=requests.exceptions.ConnectionError("Connection refused"))
    responses.add(responses.GET, WF_URL, body=requests.exceptions.ConnectionError("Connection refused"))
    with pytest.raises(
        ServiceError,
        match=r"cannot connect \(connection refused\) \(idds/wfprogress/, 3 attempts over \d+\.\d s\)",
    ):
        client(retries=2).get_json("idds/wfprogress/", {})


@responses.activate
def test_workflow_not_found_names_what_was_searched() -> None:
    responses.add(responses.GET, WF_URL, json=[{"request_id": 5, "r_name": "other_20220101t000000z"}])
    with pytest.raises(InputError) as info:
        client().find_workflow("2.2i_runs_X_20220127T205042Z", "20220127T205042Z", request_id=777)
    message = str(info.value)
    assert message.startswith(
        f"workflow 2.2i_runs_x_20220127t205042z not found in the PanDA monitor {BASE} (searched idds/wfprogress/ "
        f"with days={days_covering('20220127T205042Z')}, requestid=777: 1 workflows there)"
    )
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
    assert re.search(r"HTTP 429 \(idds/wfprogress/, \d+ attempts over \d+\.\d s\)", message), message
    assert len(responses.calls) < 50  # the time budget stopped it, not the count
    notes = [r.getMessage() for r in caplog.records if r.name == RETRY_LOGGER]
    assert notes and notes[0].startswith("PanDA monitor: HTTP 429 (idds/wfprogress/); retrying (1/50) in ")
