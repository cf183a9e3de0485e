"""Fixtures of the Jira emulator's self-tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.emulators.jira_client import Env, make_client
from tests.support.jira import JiraEmulator


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., JiraEmulator]]:
    """Start emulators on demand; stop them and check they had no internal errors."""
    started: list[JiraEmulator] = []

    def factory(**kwargs: Any) -> JiraEmulator:
        emu = JiraEmulator(**kwargs).start()
        started.append(emu)
        return emu

    yield factory
    for emu in started:
        emu.stop()
        assert emu.internal_errors == []


@pytest.fixture(
    params=[("Server", "pat"), ("Server", "basic"), ("Cloud", "basic")],
    ids=["server-pat", "server-basic", "cloud-basic"],
)
def env(request: pytest.FixtureRequest, start_emulator: Callable[..., JiraEmulator]) -> Env:
    """An emulator with 4-issue search pages and a client, for each deployment and login."""
    deployment, auth = request.param
    emu = start_emulator(deployment=deployment, max_page_size=4)
    return Env(emu, make_client(emu, auth), auth)
