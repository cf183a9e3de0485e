"""`JiraEmulator`: the store, the REST endpoints and the HTTP server put together."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .endpoints import JiraApi
from .http import HttpEmulator
from .render import Renderer
from .state import JiraState

__all__ = ["JiraEmulator"]


class JiraEmulator(HttpEmulator):
    """A Jira REST server emulator for tests, speaking real HTTP on ``127.0.0.1``.

    The request log and fault injection (`recorded`, `count`, `inject`, ...) are
    `HttpEmulator`'s; this class adds the Jira site behind them.

    Parameters
    ----------
    deployment : `str`
        ``"Server"`` (Jira Server / Data Center) or ``"Cloud"``.
    users : `dict` [`str`, `str`], optional
        Accepted HTTP basic credentials, ``{user_or_email: token}``.
    pats : `set` [`str`], optional
        Accepted bearer personal access tokens (Server only; Cloud has no PATs).
    projects : `tuple` [`str`, ...]
        Project keys that exist.
    link_types : `tuple` [`str`, ...]
        Issue link type names that exist.
    max_page_size : `int`, optional
        Server-side cap on search page sizes, to exercise client pagination. Defaults to what
        Jira does: 1000 on Server, 100 on Cloud (5000 when only ids/keys are requested).
    allow_text_equality : `bool`
        Accept ``summary = "..."`` (exact, case-insensitive). Real Jira rejects ``=`` on text
        fields with a 400, which is the default here too.

    Attributes
    ----------
    deployment : `str`
        ``"Server"`` or ``"Cloud"``.
    requests : `list` [`RecordedRequest`]
        Every request received, oldest first.
    internal_errors : `list` [`str`]
        Tracebacks of emulator bugs, each answered with a 500; tests expect none.
    """

    def __init__(
        self,
        *,
        deployment: str = "Server",
        users: dict[str, str] | None = None,
        pats: set[str] | None = None,
        projects: tuple[str, ...] = ("DRP", "PREOPS"),
        link_types: tuple[str, ...] = ("Relates", "Blocks", "Cloners"),
        max_page_size: int | None = None,
        allow_text_equality: bool = False,
    ) -> None:
        if deployment not in ("Server", "Cloud"):
            raise ValueError(f"deployment must be 'Server' or 'Cloud', not {deployment!r}")
        self.deployment = deployment
        cloud = deployment == "Cloud"
        self._state = JiraState(
            users=users if users is not None else {"operator@example.org": "secret-token"},
            pats=pats if pats is not None else {"pat-token"},
            projects=projects,
            link_types=link_types,
        )
        # The base URL is only known once start() binds a port, hence the late lookup.
        renderer = Renderer(self._state, cloud=cloud, base_url=lambda: self.url)
        api = JiraApi(
            self._state,
            renderer,
            cloud=cloud,
            max_page_size=max_page_size,
            allow_text_equality=allow_text_equality,
        )
        super().__init__(self._state, api.routes(), cloud=cloud)

    def snapshot(self) -> dict[str, Any]:
        """Return a deep copy of the whole store.

        Returns
        -------
        state : `dict`
            Issues, links, comments, attachments (with bytes), remote links and id counters.
        """
        return self._state.snapshot()

    def seed_issue(self, key: str, summary: str, description: str = "", labels: Iterable[str] = ()) -> None:
        """Create an issue directly with a chosen key, bypassing HTTP.

        Parameters
        ----------
        key : `str`
            Issue key such as ``"PREOPS-1248"``; its project must exist.
        summary : `str`
            Issue summary.
        description : `str`
            Issue description.
        labels : iterable of `str`
            Issue labels.

        Raises
        ------
        ValueError
            If the key is malformed, taken or of an unknown project, or the issue is invalid.
        """
        self._state.seed_issue(key, summary, description, labels)
