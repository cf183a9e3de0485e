"""Jira implementation of the Tracker protocol, on the pycontribs ``jira`` client.

Authentication: Jira Cloud (e-mail + API token as basic auth), Server/Data Center
(personal access token as a bearer token when no user is configured), or the legacy
``~/.netrc`` ``lsstjira`` entry (resolved in `lsst.prodstatus.config`). The client is
built with an explicit timeout and retries on 429/503 honouring ``Retry-After``
(the client's own ``ResilientSession``); proxies come from the environment.

Round trips are counted: the client's convenience calls that reload a resource after a
write (``Issue.update``, ``create_issue(prefetch=True)``) are avoided, and writes go
through the client's own session as single requests.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, TypeVar

from ...core.markup import DamagedSectionError, replace_sections
from ...errors import (
    RETRY_LOGGER,
    AmbiguousWriteError,
    AuthenticationError,
    ConfigError,
    InputError,
    IssueNotFoundError,
    ServiceError,
    redact_url,
    short_reason,
    without_userinfo,
)
from .base import (
    HINT_BAD_ATTACHMENT_NAME,
    ISSUE_KEY_RE,
    MSG_BAD_ATTACHMENT_NAME,
    MSG_EMPTY_SUMMARY,
    MSG_SELF_LINK,
    Attachment,
    Comment,
    Issue,
    IssueLink,
    check_issue_key,
    check_label,
)

if TYPE_CHECKING:
    from jira import JIRA

    from .journal import CreatedJournal

__all__ = [
    "AFTER_RETRIES",
    "HINT_AMBIGUOUS",
    "HINT_BAD_REQUEST",
    "HINT_CANNOT_READ",
    "HINT_CREDENTIALS",
    "HINT_FORBIDDEN",
    "HINT_HTML_REPLY",
    "HINT_INCOMPLETE_REPLY",
    "HINT_ISSUE_UNREADABLE",
    "HINT_NOT_DONE",
    "HINT_NOT_JIRA",
    "HINT_NOT_JSON",
    "HINT_NO_TOKEN",
    "HINT_NO_TRANSITION",
    "HINT_RETRY_LATER",
    "HINT_TIMEOUT",
    "HINT_UNREACHABLE",
    "ISSUE_FIELDS",
    "MSG_AMBIGUOUS",
    "MSG_BAD_REQUEST",
    "MSG_CANNOT_READ",
    "MSG_CREDENTIALS",
    "MSG_FAILED",
    "MSG_FAILED_HTTP",
    "MSG_FORBIDDEN",
    "MSG_HTML_REPLY",
    "MSG_INCOMPLETE_REPLY",
    "MSG_ISSUE_UNREADABLE",
    "MSG_LINK_NOT_MADE",
    "MSG_NOT_JIRA",
    "MSG_NOT_JSON",
    "MSG_NO_TOKEN",
    "MSG_NO_TRANSITION",
    "MSG_REQUEST_FAILED",
    "MSG_TIMEOUT",
    "MSG_UNAVAILABLE",
    "MSG_UNREACHABLE",
    "MSG_UPDATE_NOT_MADE",
    "REASON_CONNECTION_DROPPED",
    "REASON_CUT_OFF",
    "REASON_HTTP",
    "REASON_NO_ATTACHMENT",
    "REASON_NO_KEY",
    "REASON_NO_REPLY",
    "REASON_UNREADABLE",
    "RETRY_NOTE",
    "JiraTracker",
]

_log = logging.getLogger(__name__)
_retry_log = logging.getLogger(RETRY_LOGGER)
T = TypeVar("T")

ISSUE_FIELDS = "summary,description,labels,issuetype,status,issuelinks,attachment,comment,created,updated"
"""Fields requested for every issue read (Cloud search returns none unless asked)."""

SEARCH_PAGE = 1000
"""Issues asked for per search page (Jira Server's default cap; Cloud serves at most 100)."""

# User-facing messages (tests import them). ``jira`` is the Jira URL, token masked; ``what``
# names the request (``read DRP-1``, ``create an issue``, ``connect``, ...).
MSG_NO_TOKEN = "no Jira token configured for {jira}"
HINT_NO_TOKEN = (
    "set PRODSTAT_JIRA_TOKEN (and PRODSTAT_JIRA_USER for Jira Cloud), add a netrc entry, "
    "or use --tracker local"
)
RETRY_NOTE = "{message}; retrying ({attempt}/{retries}) in {delay:.1f} s…"
"""The note on the retry logger before each retry."""
MSG_HTML_REPLY = (
    "Jira at {jira} answered with an HTML page (a login or proxy page?) instead of its reply "
    "({what}, HTTP {status}); nothing was taken as done"
)
HINT_HTML_REPLY = (
    "check PRODSTAT_JIRA_URL and the credentials, or ask whether an SSO proxy sits in front of Jira"
)
MSG_TIMEOUT = "Jira at {jira} did not answer within {seconds:g} s ({what})"
HINT_TIMEOUT = "retry later or raise PRODSTAT_JIRA_TIMEOUT"
MSG_INCOMPLETE_REPLY = "Jira at {jira} sent an incomplete reply ({what}): the connection was closed mid-reply"
HINT_INCOMPLETE_REPLY = "retry later; check for a proxy in front of Jira"
MSG_UNREACHABLE = "cannot reach Jira at {jira} ({what}): {reason}"
HINT_UNREACHABLE = "check PRODSTAT_JIRA_URL, the network and any proxy, or use --tracker local"
MSG_REQUEST_FAILED = "Jira request failed ({what}): {reason}"
MSG_NOT_JSON = "Jira at {jira} answered something that is not JSON ({what})"
HINT_NOT_JSON = "check PRODSTAT_JIRA_URL and any proxy in front of Jira; retry later"
MSG_CANNOT_READ = "Jira at {jira} sent a reply prodstat cannot read ({what}): {reason}"
HINT_CANNOT_READ = "check PRODSTAT_JIRA_URL; retry later"
MSG_AMBIGUOUS = "Jira at {jira} may or may not have done it ({what}): {reason}"
"""``reason`` is one of the ``REASON_…`` constants."""
HINT_AMBIGUOUS = "re-run the same command: it finds what was made and completes it"
REASON_HTTP = "HTTP {status}"
REASON_NO_REPLY = "no reply within {seconds:g} s"
REASON_CUT_OFF = "the reply was cut off"
REASON_CONNECTION_DROPPED = "the connection dropped: {reason}"
REASON_UNREADABLE = "its reply cannot be read"
REASON_NO_KEY = "the reply names no issue key ({key!r})"
REASON_NO_ATTACHMENT = "the reply names no attachment"
MSG_CREDENTIALS = "Jira at {jira} refused the credentials of {who} (HTTP 401)"
"""``who`` is ``user <user>`` or ``the personal access token``."""
HINT_CREDENTIALS = (
    "Jira Cloud needs your e-mail as PRODSTAT_JIRA_USER and an API token as PRODSTAT_JIRA_TOKEN; "
    "Server/DC a personal access token with no user"
)
MSG_FORBIDDEN = "Jira at {jira} does not allow this ({what}, HTTP 403): {detail}"
HINT_FORBIDDEN = "ask a Jira admin for permission on the project"
MSG_NOT_JIRA = "{jira} does not look like a Jira server (HTTP 404 for /rest/api/2/serverInfo)"
HINT_NOT_JIRA = "check PRODSTAT_JIRA_URL: it is the site's base URL, e.g. https://rubinobs.atlassian.net"
MSG_UNAVAILABLE = "Jira at {jira} is {state} (HTTP {status}, {what})"
"""``state`` is ``rate limiting`` (HTTP 429) or ``unavailable`` (HTTP 503)."""
HINT_RETRY_LATER = "retry later"
MSG_BAD_REQUEST = "Jira rejected the request ({what}): {detail}"
HINT_BAD_REQUEST = "check the values given"
MSG_FAILED = "Jira at {jira} failed ({what}): {detail}"
MSG_FAILED_HTTP = "Jira at {jira} failed ({what}, HTTP {status}): {detail}"
MSG_ISSUE_UNREADABLE = "Jira at {jira} sent an issue prodstat cannot read ({what}): {kind}: {error}"
HINT_ISSUE_UNREADABLE = "check PRODSTAT_JIRA_URL and any proxy in front of Jira; retry later"
MSG_UPDATE_NOT_MADE = "Jira at {jira} answered the update of {key} but did not make it ({fields} unchanged)"
MSG_LINK_NOT_MADE = (
    "Jira at {jira} answered the link {from_key} → {to_key} (HTTP {status}) but did not make it"
)
HINT_NOT_DONE = "check for a proxy in front of Jira; re-run the same command"
MSG_NO_TRANSITION = "{key} ({status}) has no transition {name!r}; available now: {names}"
HINT_NO_TRANSITION = "set status_transitions to names of your Jira workflow's transitions"
AFTER_RETRIES = "{message} after {times} over {waited:.1f} s"
"""A failure's message once retries are spent; ``times`` is ``1 retry`` or ``<n> retries``."""

# The client looks up custom-field ids with GET /field before its first search; the
# fields we ask for are system fields whose id equals their name, so pre-seed the map.
_SYSTEM_FIELDS = {name: name for name in ISSUE_FIELDS.split(",")}


def _jql_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class JiraTracker:
    """Issues in a Jira server (Cloud or Server/DC).

    Parameters
    ----------
    url : `str`
        Jira base URL.
    user : `str`, optional
        Cloud e-mail (basic auth with ``token``); `None` means ``token`` is a PAT.
    token : `str`
        API token (Cloud) or personal access token (Server/DC).
    project, issue_type, link_type : `str`
        Defaults for new issues and links.
    timeout : `float`
        Seconds per request.
    max_retries : `int`
        Retries on 429/503.
    """

    name = "jira"
    transactional = False
    """Jira has no transactions: the executor orders writes and verifies them instead."""

    retry_backoff = 0.5
    """First wait (s) before retrying an idempotent request; doubled each time, at most 8 s."""
    retry_budget = 90.0
    """No retry starts once this many seconds have passed since the first try of a request
    (so one request gives up after at most this plus one time-out)."""

    def __init__(
        self,
        url: str,
        user: str | None,
        token: str | None,
        *,
        project: str = "DRP",
        issue_type: str = "Task",
        link_type: str = "Relates",
        timeout: float = 30.0,
        max_retries: int = 3,
    ) -> None:
        self.url = url.rstrip("/")
        self.shown_url = redact_url(self.url)
        """The URL as messages show it (a token in it masked)."""
        self.user = user
        self.project = project
        self.issue_type = issue_type
        self.link_type = link_type
        self.timeout = timeout
        if not token:
            # A configuration problem (exit 1), found before any request.
            raise ConfigError(MSG_NO_TOKEN.format(jira=self.shown_url), HINT_NO_TOKEN)
        # Set by open_tracker: the issues this machine created (Cloud search lags behind).
        self.journal: CreatedJournal | None = None
        # No retries while connecting: an unreachable URL must fail at once.
        self.max_retries = 0
        self.client = self._connect(token, max_retries)

    # -- connection -------------------------------------------------------------------
    def _connect(self, token: str, max_retries: int) -> JIRA:
        from jira import JIRA
        from jira.resources import Issue as JiraIssue

        auth: dict[str, Any] = {"basic_auth": (self.user, token)} if self.user else {"token_auth": token}
        # No retries while connecting: an unreachable URL must fail at once, not after the
        # client's 20-60 s connection-error backoff.
        client = self._call(
            lambda: JIRA(
                server=self.url,
                options={"rest_api_version": "2", "agile_rest_path": "agile"},
                get_server_info=True,
                timeout=self.timeout,
                max_retries=0,
                # The client sets its logger to INFO unless told otherwise; follow ours.
                logging=_log.isEnabledFor(logging.INFO),
                **auth,
            ),
            "connect",
        )
        # Retries are ours (`_call`): the client's session would re-send a POST whose reply was
        # lost (a duplicate issue) and never retries a 500/502.
        client._session.max_retries = 0
        self.max_retries = max_retries
        client._session.hooks["response"].append(_refuse_html)
        client._fields_cache_value = dict(_SYSTEM_FIELDS)
        # Search pages as large as Jira serves (Server: 1000; Cloud caps at 100 whatever is
        # asked), so that a campaign's 1,000 workflows take one page on Server, not ten.
        client._options["default_batch_size"][JiraIssue] = SEARCH_PAGE
        # serverInfo is anonymous: only an authenticated call proves the credentials.
        self._call(client.myself, "check the credentials")
        return client

    def _call(
        self, func: Callable[[], T], what: str, key: str | None = None, *, idempotent: bool = True
    ) -> T:
        """Run one client call, turning its exceptions into prodstat errors.

        An idempotent request (a read, a PUT, a DELETE) is retried on 429, 5xx, a dropped
        connection or a timeout, with growing waits (``Retry-After`` honoured) for at most
        `max_retries` retries and `retry_budget` seconds. A request that is not
        (``idempotent=False``: the POSTs that create things) is sent once, except after a
        429, which says it was not processed; if its reply is lost or a 5xx comes back,
        `AmbiguousWriteError` tells the caller to find out what happened instead.
        """
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                return self._call_once(func, what, key, idempotent)
            except _TransientError as transient:
                attempt += 1
                delay = (
                    transient.retry_after
                    if transient.retry_after is not None
                    else (min(self.retry_backoff * 2 ** (attempt - 1), 8.0))
                )
                may_repeat = idempotent or transient.status == 429
                if (
                    not may_repeat
                    or attempt > self.max_retries
                    or self._spent(started) + delay > self.retry_budget
                ):
                    if attempt > 1:
                        raise transient.after_retries(attempt - 1, self._spent(started)) from transient.cause
                    raise transient.error from transient.cause
                _retry_log.info(
                    RETRY_NOTE.format(
                        message=transient.error.message,
                        attempt=attempt,
                        retries=self.max_retries,
                        delay=delay,
                    )
                )
                time.sleep(delay)

    @staticmethod
    def _spent(started: float) -> float:
        return time.monotonic() - started

    def _call_once(self, func: Callable[[], T], what: str, key: str | None, idempotent: bool) -> T:
        import requests
        from jira.exceptions import JIRAError

        try:
            return func()
        except _HtmlReplyError as exc:
            raise ServiceError(
                MSG_HTML_REPLY.format(jira=self.shown_url, what=what, status=exc.status), HINT_HTML_REPLY
            ) from None
        except JIRAError as exc:
            status = getattr(exc, "status_code", None)
            if not idempotent and (status is None or 200 <= status < 300):
                # Jira answered, and the client could not make sense of the reply (a 201
                # without a key, an empty list for an attachment): it may have done it.
                raise self._ambiguous(what, REASON_UNREADABLE) from exc
            error = self._translate(exc, what, key)
            if status in _TRANSIENT_STATUS and isinstance(error, ServiceError):
                if not idempotent and status != 429:
                    error = self._ambiguous(what, REASON_HTTP.format(status=status))
                retry_after = _retry_after(getattr(exc, "response", None))
                raise _TransientError(error, status, retry_after, exc) from exc
            raise error from exc
        except requests.exceptions.Timeout as exc:
            sent = not isinstance(exc, requests.exceptions.ConnectTimeout)
            error = ServiceError(
                MSG_TIMEOUT.format(jira=self.shown_url, seconds=self.timeout, what=what), HINT_TIMEOUT
            )
            if sent and not idempotent:
                error = self._ambiguous(what, REASON_NO_REPLY.format(seconds=self.timeout), pending=True)
            raise _TransientError(error, None, None, exc) from exc
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            # The reply was cut off mid-body: the request arrived and was (probably) done.
            error = ServiceError(
                MSG_INCOMPLETE_REPLY.format(jira=self.shown_url, what=what), HINT_INCOMPLETE_REPLY
            )
            if not idempotent:
                error = self._ambiguous(what, REASON_CUT_OFF)
            raise _TransientError(error, None, None, exc) from exc
        except requests.exceptions.ConnectionError as exc:
            error = ServiceError(
                MSG_UNREACHABLE.format(jira=self.shown_url, what=what, reason=short_reason(exc)),
                HINT_UNREACHABLE,
            )
            if not idempotent:
                if _never_sent(exc):
                    raise error from exc
                error = self._ambiguous(what, REASON_CONNECTION_DROPPED.format(reason=short_reason(exc)))
            raise _TransientError(error, None, None, exc) from exc
        except requests.exceptions.RequestException as exc:
            if not isinstance(exc, ValueError):  # requests' JSONDecodeError is both
                raise ServiceError(MSG_REQUEST_FAILED.format(what=what, reason=short_reason(exc))) from exc
            if not idempotent:
                raise self._ambiguous(what, REASON_UNREADABLE) from exc
            raise ServiceError(MSG_NOT_JSON.format(jira=self.shown_url, what=what), HINT_NOT_JSON) from exc
        except (ValueError, KeyError, TypeError, AttributeError, NotImplementedError) as exc:
            # The client decodes JSON itself; a reply of the wrong shape surfaces here.
            if not idempotent:
                raise self._ambiguous(what, REASON_UNREADABLE) from exc
            raise ServiceError(
                MSG_CANNOT_READ.format(jira=self.shown_url, what=what, reason=short_reason(exc)),
                HINT_CANNOT_READ,
            ) from exc

    def _ambiguous(self, what: str, reason: str, *, pending: bool = False) -> AmbiguousWriteError:
        return AmbiguousWriteError(
            MSG_AMBIGUOUS.format(jira=self.shown_url, what=what, reason=reason),
            HINT_AMBIGUOUS,
            pending=pending,
        )

    def _translate(self, exc: Any, what: str, key: str | None) -> Exception:
        status = getattr(exc, "status_code", None)
        detail = _jira_messages(exc)
        if status == 401:
            who = f"user {self.user}" if self.user else "the personal access token"
            return AuthenticationError(MSG_CREDENTIALS.format(jira=self.shown_url, who=who), HINT_CREDENTIALS)
        if status == 403:
            return AuthenticationError(
                MSG_FORBIDDEN.format(jira=self.shown_url, what=what, detail=detail), HINT_FORBIDDEN
            )
        if status == 404 and key is not None:
            return IssueNotFoundError(key, self.name)
        if status == 404 and what == "connect":
            return ServiceError(MSG_NOT_JIRA.format(jira=self.shown_url), HINT_NOT_JIRA)
        if status in (429, 503):
            state = "rate limiting" if status == 429 else "unavailable"
            return ServiceError(
                MSG_UNAVAILABLE.format(jira=self.shown_url, state=state, status=status, what=what),
                HINT_RETRY_LATER,
            )
        if status == 400:
            return InputError(MSG_BAD_REQUEST.format(what=what, detail=detail), HINT_BAD_REQUEST)
        if status is None:
            return ServiceError(MSG_FAILED.format(jira=self.shown_url, what=what, detail=detail))
        return ServiceError(
            MSG_FAILED_HTTP.format(jira=self.shown_url, what=what, status=status, detail=detail),
            HINT_RETRY_LATER,
        )

    def browse_url(self, key: str) -> str:
        """Return the browse URL of ``key`` (never with credentials in it)."""
        return f"{without_userinfo(self.url)}/browse/{key}"

    def close(self) -> None:
        """Close the HTTP session."""
        self.client.close()

    def _rest(self, path: str) -> str:
        return f"{self.shown_url}/rest/api/2/{path}"

    # -- conversion -------------------------------------------------------------------
    def _issues_from_raw(self, raws: Sequence[Any], what: str) -> list[Issue]:
        try:
            return [self._issue_from_raw(raw) for raw in raws]
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ServiceError(
                MSG_ISSUE_UNREADABLE.format(
                    jira=self.shown_url, what=what, kind=type(exc).__name__, error=exc
                ),
                HINT_ISSUE_UNREADABLE,
            ) from exc

    def _issue_from_raw(self, raw: Mapping[str, Any]) -> Issue:
        fields = raw.get("fields") or {}
        links: list[IssueLink] = []
        for link in fields.get("issuelinks") or []:
            if "outwardIssue" in link:
                direction, other = "outward", link["outwardIssue"]
            else:
                direction, other = "inward", link.get("inwardIssue") or {}
            links.append(
                IssueLink(
                    str(link.get("id", "")),
                    (link.get("type") or {}).get("name", ""),
                    direction,
                    other.get("key", ""),
                    ((other.get("fields") or {}).get("summary")) or "",
                )
            )
        attachments: list[Attachment] = [
            _JiraAttachment(
                str(a["id"]),
                a.get("filename", ""),
                int(a.get("size", 0)),
                a.get("created", ""),
                a.get("content", ""),
            )
            for a in fields.get("attachment") or []
        ]
        comment_block = fields.get("comment") or {}
        comments = [
            Comment(str(c["id"]), c.get("body") or "", c.get("created", ""))
            for c in comment_block.get("comments", [])
        ]
        return Issue(
            key=raw["key"],
            summary=fields.get("summary") or "",
            description=fields.get("description") or "",
            labels=list(fields.get("labels") or []),
            issue_type=(fields.get("issuetype") or {}).get("name", ""),
            status=(fields.get("status") or {}).get("name", ""),
            links=links,
            attachments=attachments,
            comments=comments,
            url=self.browse_url(raw["key"]),
            created=fields.get("created") or "",
            updated=fields.get("updated") or "",
        )

    # -- reads ------------------------------------------------------------------------
    def get_issue(self, key: str) -> Issue:
        """Return issue ``key`` (one request)."""
        key = check_issue_key(key)
        issue = self._call(lambda: self.client.issue(key, fields=ISSUE_FIELDS), f"read {key}", key)
        return self._issues_from_raw([issue.raw], f"read {key}")[0]

    def search(
        self,
        *,
        keys: Sequence[str] = (),
        labels: Sequence[str] = (),
        summaries: Sequence[str] = (),
        project: str | None = None,
        texts: Sequence[str] = (),
    ) -> list[Issue]:
        """Return issues matching any of ``keys``, ``labels``, exact ``summaries`` or ``texts`` (one JQL search)."""
        keys = [check_issue_key(k) for k in keys]
        scoped: list[str] = []
        if labels:
            scoped.append(f"labels in ({', '.join(_jql_string(check_label(lb)) for lb in labels)})")
        # JQL "~" is a tokenised text match: filter to exact summaries below.
        scoped.extend(f"summary ~ {_jql_string(_fuzzy_phrase(s))}" for s in summaries)
        # Jira's text search is tokenised: ask for the text's most distinctive term and
        # check the exact text below.
        scoped.extend(f"description ~ {_jql_string(_distinctive_term(t))}" for t in texts)
        scope = None
        if scoped:
            scope = " OR ".join(scoped)
            scope = f"(project = {project} AND ({scope}))" if project else f"({scope})"
        issues = self._search_jql(keys, scope)
        wanted_summaries = set(summaries)
        wanted_labels = set(labels)
        return [
            i
            for i in issues
            if i.key in keys
            or wanted_labels.intersection(i.labels)
            or i.summary in wanted_summaries
            or any(t in i.description for t in texts)
        ]

    def _search_jql(self, keys: list[str], scope: str | None) -> list[Issue]:
        """Run ``key in (keys) OR scope``, dropping keys that Jira says do not exist."""
        from jira.exceptions import JIRAError

        missing: set[str] = set()
        while True:
            present = [k for k in keys if k not in missing]
            parts = ([f"key in ({', '.join(present)})"] if present else []) + ([scope] if scope else [])
            if not parts:
                return []
            jql = " OR ".join(parts) + " ORDER BY key ASC"
            try:
                found = self._call(
                    # validate_query=False makes Server/DC ignore unknown keys; Cloud's
                    # search/jql has no such switch and answers 400 naming them instead.
                    # POST: a campaign's search names a label per workflow, and a GET's URL
                    # would outgrow what Jira's front end accepts (8 KB on a stock Server).
                    # maxResults=False: the client pages through every result.
                    lambda jql=jql: self.client.search_issues(  # type: ignore[misc]
                        jql,
                        maxResults=False,
                        fields=ISSUE_FIELDS,
                        validate_query=False,
                        json_result=False,
                        use_post=True,
                    ),
                    "search",
                )
            except InputError as exc:
                cause = exc.__cause__
                named = set(_MISSING_KEY_RE.findall(str(getattr(cause, "text", "") or exc)))
                if not isinstance(cause, JIRAError) or not named or named <= missing:
                    raise
                missing |= named
                continue
            return self._issues_from_raw([i.raw for i in found], "search")

    def read_attachment(self, key: str, filename: str, *, current: Issue | None = None) -> bytes | None:
        """Return the bytes of the newest attachment ``filename`` of ``key``, or `None`."""
        issue = current or self.get_issue(key)
        att = issue.attachment(filename)
        if att is None:
            return None
        url = getattr(att, "content_url", "") or self._rest(f"attachment/content/{att.attachment_id}")
        response = self._call(
            lambda: self.client._session.get(url), f"read attachment {filename} of {key}", key
        )
        return bytes(response.content)

    # -- writes -----------------------------------------------------------------------
    def create_issue(
        self,
        summary: str,
        description: str = "",
        *,
        labels: Sequence[str] = (),
        project: str | None = None,
        issue_type: str | None = None,
    ) -> Issue:
        """Create an issue with one request."""
        if not summary.strip():
            raise InputError(MSG_EMPTY_SUMMARY)
        fields: dict[str, Any] = {
            # dicts, not strings: a string makes the client look the project/type up first.
            "project": {"key": project or self.project},
            "issuetype": {"name": issue_type or self.issue_type},
            "summary": summary,
            "description": description,
            "labels": [check_label(lb) for lb in labels],
        }
        created = self._call(
            lambda: self.client.create_issue(fields=fields, prefetch=False),
            "create an issue",
            idempotent=False,
        )
        key = str(getattr(created, "key", "") or "")
        if not ISSUE_KEY_RE.match(key):
            raise self._ambiguous("create an issue", REASON_NO_KEY.format(key=key))
        return Issue(
            key=key,
            summary=summary,
            description=description,
            labels=list(fields["labels"]),
            issue_type=fields["issuetype"]["name"],
            url=self.browse_url(key),
        )

    def _put_fields(self, key: str, payload: dict[str, Any]) -> None:
        response = self._call(
            lambda: self.client._session.put(self._rest(f"issue/{key}"), data=json.dumps(payload)),
            f"update {key}",
            key,
        )
        if response.status_code == 204:
            return
        # Jira answers an edit with 204 and no body; anything else may come from something in
        # between that did not pass the edit on, so read the issue back before calling it done.
        self._verify_fields(key, payload)

    def _verify_fields(self, key: str, payload: Mapping[str, Any]) -> None:
        issue = self.get_issue(key)
        wanted = payload.get("fields") or {}
        wrong = [name for name, value in wanted.items() if getattr(issue, name, None) != value]
        for change in (payload.get("update") or {}).get("labels", []):
            if "add" in change and change["add"] not in issue.labels:
                wrong.append(f"label {change['add']}")
            if "remove" in change and change["remove"] in issue.labels:
                wrong.append(f"label {change['remove']}")
        if wrong:
            raise ServiceError(
                MSG_UPDATE_NOT_MADE.format(jira=self.shown_url, key=key, fields=", ".join(wrong)),
                HINT_NOT_DONE,
            )

    def update_issue(
        self,
        key: str,
        *,
        summary: str | None = None,
        description: str | None = None,
        add_labels: Sequence[str] = (),
    ) -> None:
        """Set summary/description and add labels with one request."""
        key = check_issue_key(key)
        payload: dict[str, Any] = {"fields": {}}
        if summary is not None:
            payload["fields"]["summary"] = summary
        if description is not None:
            payload["fields"]["description"] = description
        if add_labels:
            payload["update"] = {"labels": [{"add": check_label(lb)} for lb in add_labels]}
        if payload["fields"] or add_labels:
            self._put_fields(key, payload)

    def update_sections(
        self,
        key: str,
        sections: Mapping[str, str | None],
        *,
        summary: str | None = None,
        head: str | None = None,
        add_labels: Sequence[str] = (),
        remove_labels: Sequence[str] = (),
        current: Issue | None = None,
    ) -> Issue:
        """Replace managed sections: one read (skipped when ``current`` is given) and one write."""
        issue = current or self.get_issue(key)
        try:
            description = replace_sections(issue.description, sections, head=head)
        except DamagedSectionError as exc:
            raise exc.for_issue(issue.key) from None
        fields: dict[str, Any] = {}
        if description != issue.description:
            fields["description"] = description
        if summary is not None and summary != issue.summary:
            fields["summary"] = summary
        new_labels = [check_label(lb) for lb in add_labels if lb not in issue.labels]
        old_labels = [lb for lb in remove_labels if lb in issue.labels and lb not in add_labels]
        payload: dict[str, Any] = {"fields": fields}
        if new_labels or old_labels:
            payload["update"] = {
                "labels": [{"remove": lb} for lb in old_labels] + [{"add": lb} for lb in new_labels]
            }
            issue.labels = [lb for lb in issue.labels if lb not in old_labels] + new_labels
        if fields or new_labels or old_labels:
            self._put_fields(issue.key, payload)
        issue.description = description
        if summary is not None:
            issue.summary = summary
        return issue

    def link(
        self, from_key: str, to_key: str, link_type: str | None = None, *, current: Issue | None = None
    ) -> bool:
        """Link ``from_key`` → ``to_key`` unless linked already (``current``: ``from_key`` as just read)."""
        link_type = link_type or self.link_type
        from_key, to_key = check_issue_key(from_key), check_issue_key(to_key)
        if from_key == to_key:
            raise InputError(MSG_SELF_LINK.format(key=from_key))
        issue = current if current is not None and current.key == from_key else self.get_issue(from_key)
        if any(li.other_key == to_key and li.link_type == link_type for li in issue.links):
            return False
        # One POST through the client's session: create_issue_link() first fetches every
        # link type (an extra request) and then warns about a type it compared wrongly.
        body = {
            "type": {"name": link_type},
            "inwardIssue": {"key": from_key},
            "outwardIssue": {"key": to_key},
        }
        response = self._call(
            lambda: self.client._session.post(self._rest("issueLink"), data=json.dumps(body)),
            f"link {from_key} to {to_key}",
            # from_key was just read, so a 404 means the target is missing.
            to_key,
            idempotent=False,
        )
        if response.status_code != 201:
            # Jira answers 201 with no body; anything else is checked by reading the link back.
            fresh = self.get_issue(from_key)
            if not any(li.other_key == to_key and li.link_type == link_type for li in fresh.links):
                raise ServiceError(
                    MSG_LINK_NOT_MADE.format(
                        jira=self.shown_url, from_key=from_key, to_key=to_key, status=response.status_code
                    ),
                    HINT_NOT_DONE,
                )
        issue.links.append(IssueLink("", link_type, "outward", to_key))
        return True

    def attach(self, key: str, filename: str, data: bytes, *, current: Issue | None = None) -> Attachment:
        """Attach ``data`` as ``filename``; then delete older attachments of that name.

        The new file is uploaded before the old ones are deleted, so a failure never
        leaves the issue without the attachment.
        """

        if not filename or "/" in filename:
            raise InputError(MSG_BAD_ATTACHMENT_NAME.format(filename=filename), HINT_BAD_ATTACHMENT_NAME)
        issue = current if current is not None and current.key == key else self.get_issue(key)
        old = [a for a in issue.attachments if a.filename == filename]
        raw = self._call(
            lambda: self._upload(issue.key, filename, data),
            f"attach {filename} to {key}",
            key,
            idempotent=False,
        )
        if not isinstance(raw, dict) or "id" not in raw:
            raise self._ambiguous(f"attach {filename} to {key}", REASON_NO_ATTACHMENT)
        for att in old:
            self._delete_attachment(att.attachment_id, filename, key)
        new = _JiraAttachment(
            str(raw["id"]),
            raw.get("filename", filename),
            int(raw.get("size", len(data))),
            raw.get("created", ""),
            raw.get("content", ""),
        )
        issue.attachments = [a for a in issue.attachments if a.filename != filename] + [new]
        return new

    def _upload(self, key: str, filename: str, data: bytes) -> Any:
        """POST one attachment; return the reply's attachment (a dict), or what came instead."""
        import io

        if data:
            return getattr(self.client.add_attachment(key, io.BytesIO(data), filename=filename), "raw", None)
        # The client refuses an empty attachment it has just made ("Added empty attachment?!"):
        # the same request, sent through its session, and the reply read here.
        reply = self.client._session.post(
            self._rest(f"issue/{key}/attachments"),
            files={"file": (filename, b"")},
            headers={"content-type": None, "X-Atlassian-Token": "no-check"},
        )
        body = reply.json()
        return body[0] if isinstance(body, list) and body else body

    def _delete_attachment(self, attachment_id: str, filename: str, key: str) -> None:
        # Gone already (a concurrent run replaced the same file first) is what we wanted.
        with suppress(IssueNotFoundError):
            self._call(lambda: self.client.delete_attachment(attachment_id), f"replace {filename}", key)

    def delete_issue(self, key: str) -> None:
        """Delete issue ``key`` (one request; Jira removes its links and attachments)."""
        key = check_issue_key(key)
        self._call(lambda: self.client._session.delete(self._rest(f"issue/{key}")), f"delete {key}", key)

    def transition_issue(self, key: str, name: str) -> bool:
        """Move ``key`` through the workflow transition called ``name`` (or to the status so named).

        Two requests: the transitions available now, then the move. Returns `False` when the
        issue is in that status already.

        Raises
        ------
        InputError
            No such transition from the issue's current status (the message lists them).
        """
        key = check_issue_key(key)
        reply = self._call(
            lambda: self.client._session.get(self._rest(f"issue/{key}/transitions")),
            f"transitions of {key}",
            key,
        ).json()
        available = [t for t in (reply.get("transitions") or []) if isinstance(t, dict)]
        wanted = name.strip().lower()
        match = [
            t
            for t in available
            if str(t.get("name", "")).lower() == wanted
            or str((t.get("to") or {}).get("name", "")).lower() == wanted
        ]
        if not match:
            issue = self.get_issue(key)
            if issue.status.lower() == wanted:
                return False
            names = ", ".join(str(t.get("name")) for t in available) or "none"
            raise InputError(
                MSG_NO_TRANSITION.format(key=key, status=issue.status, name=name, names=names),
                HINT_NO_TRANSITION,
            )
        body = json.dumps({"transition": {"id": str(match[0]["id"])}})
        try:
            self._call(
                lambda: self.client._session.post(self._rest(f"issue/{key}/transitions"), data=body),
                f"transition {key} ({name})",
                key,
                idempotent=False,
            )
        except AmbiguousWriteError:
            # Look instead of moving twice: done if the issue is in the target status now.
            target = str((match[0].get("to") or {}).get("name", ""))
            if self.get_issue(key).status != target:
                raise
        return True

    def delete_attachment(self, key: str, attachment_id: str) -> None:
        """Delete one attachment (one request); an attachment already gone is not an error."""
        self._delete_attachment(attachment_id, f"attachment {attachment_id}", key)

    def delete_link(self, link_id: str) -> None:
        """Delete one issue link (one request); a link already gone is not an error."""
        with suppress(IssueNotFoundError):
            self._call(
                lambda: self.client._session.delete(self._rest(f"issueLink/{link_id}")),
                f"delete link {link_id}",
                key=f"link {link_id}",
            )

    @contextmanager
    def batch(self) -> Iterator[None]:
        """No transactions in Jira: writes inside the block happen one by one."""
        yield

    def add_comment(self, key: str, body: str) -> Comment:
        """Add a comment (one request)."""
        comment = self._call(
            lambda: self.client.add_comment(key, body), f"comment on {key}", key, idempotent=False
        )
        return Comment(str(comment.id), body, getattr(comment, "created", ""))

    def update_comment(self, key: str, comment_id: str, body: str) -> None:
        """Replace a comment's body (one request)."""
        self._call(
            lambda: self.client._session.put(
                self._rest(f"issue/{key}/comment/{comment_id}"), data=json.dumps({"body": body})
            ),
            f"update comment {comment_id} of {key}",
            key,
        )


class _JiraAttachment(Attachment):
    """An attachment that also remembers its content URL (saves a metadata request)."""

    content_url: str

    def __init__(self, attachment_id: str, filename: str, size: int, created: str, content_url: str):
        super().__init__(attachment_id, filename, size, created)
        object.__setattr__(self, "content_url", content_url)


_TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


class _HtmlReplyError(Exception):
    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(f"HTML reply (HTTP {status})")


def _refuse_html(response: Any, *args: Any, **kwargs: Any) -> None:
    """Session hook: a 2xx HTML page is never Jira's REST reply (attachments' bytes excepted)."""
    if not response.ok or "/attachment/content/" in response.url or "/secure/attachment/" in response.url:
        return
    ctype = (response.headers.get("Content-Type") or "").lower()
    head = response.content[:200].lstrip().lower() if response.content else b""
    if "html" in ctype or head.startswith((b"<!doctype html", b"<html")):
        raise _HtmlReplyError(response.status_code)


def _never_sent(exc: BaseException) -> bool:
    """Whether a connection error happened before the request left (refused, no route, DNS)."""
    import requests

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    text = repr(exc)
    return any(m in text for m in ("NewConnectionError", "Connection refused", "Name or service not known"))


def _retry_after(response: Any) -> float | None:
    value = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    try:
        return min(max(float(value), 0.0), 60.0) if value is not None else None
    except ValueError:
        return None


class _TransientError(Exception):
    """A failure that a wait may cure; carries the error to show if it is not retried."""

    def __init__(
        self, error: ServiceError, status: int | None, retry_after: float | None, cause: BaseException
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.status = status
        self.retry_after = retry_after
        self.cause = cause

    def after_retries(self, retries: int, waited: float) -> ServiceError:
        """The error, saying how long prodstat kept trying."""
        times = "1 retry" if retries == 1 else f"{retries} retries"
        message = AFTER_RETRIES.format(message=self.error.message, times=times, waited=waited)
        return type(self.error)(message, self.error.hint)


_MISSING_KEY_RE = re.compile(r"An issue with key '([A-Z][A-Z0-9_]*-\d+)' does not exist")


def _distinctive_term(text: str) -> str:
    """The longest run of ``text`` made of letters, digits, ``_.-`` (an issue key, a timestamp)."""
    runs = re.findall(r"[A-Za-z0-9_.\-]+", text)
    return max(runs, key=len) if runs else text


def _fuzzy_phrase(summary: str) -> str:
    """Return the longest alphanumeric run of ``summary``: a term JQL ``~`` surely indexes.

    JQL text search is tokenised and treats ``#/+-&|!(){}[]^~*?\\:`` as operators, so the
    whole summary cannot be searched for; its most distinctive plain term (for workflow
    issues, the bps timestamp) narrows the search and exact matching is done afterwards.
    """
    runs = re.findall(r"[A-Za-z0-9]+", summary)
    return max(runs, key=len) if runs else summary


def _jira_messages(exc: Any) -> str:
    response = getattr(exc, "response", None)
    try:
        body = response.json() if response is not None else {}
    except ValueError:
        body = {}
    messages = list(body.get("errorMessages") or []) if isinstance(body, dict) else []
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, dict):
        messages.extend(f"{k}: {v}" for k, v in errors.items())
    if messages:
        return "; ".join(messages)
    text = getattr(exc, "text", "") or str(exc)
    return " ".join(str(text).split())[:300]
