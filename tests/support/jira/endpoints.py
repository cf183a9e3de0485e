"""The Jira REST resources the emulator serves, as a table of `http.Route`.

Each handler reads the request (`http.Call`), checks what Jira checks at the HTTP level
(body shapes, the XSRF header on uploads, upload size, paging parameters), works on the
store (`state.JiraState`) and renders the answer (`render.Renderer`). The resources are
those prodstat's tracker and the tests reach through the real ``jira`` client: login
(``serverInfo``, ``myself``, ``field``), issues, comments, remote links, attachments,
issue links, transitions and search (v2 offset paging on Server, the Cloud-only
``search/jql`` with page tokens).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from .http import ApiError, Call, Reply, Route, json_reply, parse_multipart
from .jql import parse_jql, select
from .render import Renderer, select_fields
from .state import EDITABLE_FIELDS, ISSUE_TYPES, JiraState

__all__ = ["JiraApi"]

_UPLOAD_LIMIT = 10 * 1024 * 1024
# What GET /field lists: (id, name, JQL clause names, schema type).
_FIELD_SPECS = (
    ("issuekey", "Key", ["id", "issue", "issuekey", "key"], "string"),
    ("summary", "Summary", ["summary"], "string"),
    ("description", "Description", ["description"], "string"),
    ("labels", "Labels", ["labels"], "array"),
    ("issuetype", "Issue Type", ["issuetype", "type"], "issuetype"),
    ("project", "Project", ["project"], "project"),
    ("status", "Status", ["status"], "status"),
    ("created", "Created", ["created", "createdDate"], "datetime"),
    ("updated", "Updated", ["updated", "updatedDate"], "datetime"),
    ("reporter", "Reporter", ["reporter"], "user"),
    ("creator", "Creator", ["creator"], "user"),
    ("assignee", "Assignee", ["assignee"], "user"),
    ("resolution", "Resolution", ["resolution"], "resolution"),
    ("issuelinks", "Linked Issues", ["issueLink"], "array"),
    ("attachment", "Attachment", ["attachments"], "array"),
    ("comment", "Comment", ["comment"], "comments-page"),
)


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int_param(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(HTTPStatus.BAD_REQUEST, f"'{name}' must be an integer, not '{value}'.") from None


class JiraApi:
    """The REST endpoints of one emulated Jira site.

    Parameters
    ----------
    state : `JiraState`
        The store.
    renderer : `Renderer`
        Renders the store's records.
    cloud : `bool`
        Behave as Jira Cloud (enhanced search only) rather than Server (v2 search only).
    max_page_size : `int` or `None`
        Server-side cap on search pages; `None` for Jira's own caps.
    allow_text_equality : `bool`
        Accept ``=`` on text fields in JQL.
    """

    def __init__(
        self,
        state: JiraState,
        renderer: Renderer,
        *,
        cloud: bool,
        max_page_size: int | None,
        allow_text_equality: bool,
    ) -> None:
        self._state = state
        self._render = renderer
        self._cloud = cloud
        self._max_page_size = max_page_size
        self._allow_text_equality = allow_text_equality

    def routes(self) -> list[Route]:
        """Return the route table, in matching order.

        Returns
        -------
        routes : `list` [`Route`]
            Every endpoint; REST paths answer under ``/rest/api/2`` and ``/rest/api/latest``
            (and ``/rest/api/3`` for the login and search resources, as Cloud clients use it).
        """

        def api(pattern: str, *, v3: bool = False) -> re.Pattern[str]:
            versions = "2|3|latest" if v3 else "2|latest"
            return re.compile(rf"^/rest/api/(?:{versions})/{pattern}/?$")

        issue = r"issue/([^/]+)"
        return [
            Route("GET", api("serverInfo", v3=True), self._server_info, needs_auth=False),
            Route("GET", api("myself", v3=True), self._myself),
            Route("GET", api("field", v3=True), self._fields),
            Route("GET", api(r"project/([^/]+)"), self._get_project),
            Route("POST", api("issue"), self._create_issue),
            Route("GET", api(issue), self._get_issue),
            Route("PUT", api(issue), self._edit_issue),
            Route("DELETE", api(issue), self._delete_issue),
            Route("GET", api(issue + "/comment"), self._list_comments),
            Route("POST", api(issue + "/comment"), self._add_comment),
            Route("GET", api(issue + r"/comment/([^/]+)"), self._get_comment),
            Route("PUT", api(issue + r"/comment/([^/]+)"), self._edit_comment),
            Route("DELETE", api(issue + r"/comment/([^/]+)"), self._delete_comment),
            Route("GET", api(issue + "/remotelink"), self._list_remote_links),
            Route("POST", api(issue + "/remotelink"), self._add_remote_link),
            Route("POST", api(issue + "/attachments"), self._add_attachments),
            Route("GET", api(issue + "/transitions"), self._list_transitions),
            Route("POST", api(issue + "/transitions"), self._do_transition),
            Route("GET", api(r"attachment/([^/]+)"), self._get_attachment),
            Route("DELETE", api(r"attachment/([^/]+)"), self._delete_attachment),
            Route("GET", re.compile(r"^/secure/attachment/([^/]+)/([^/]+)$"), self._attachment_content),
            Route("GET", api("issueLinkType"), self._list_link_types),
            Route("POST", api("issueLink"), self._create_link),
            Route("GET", api(r"issueLink/([^/]+)"), self._get_link),
            Route("DELETE", api(r"issueLink/([^/]+)"), self._delete_link),
            Route("GET", api("search", v3=True), self._search_v2),
            Route("POST", api("search", v3=True), self._search_v2),
            Route("GET", api("search/jql", v3=True), self._search_jql),
            Route("POST", api("search/jql", v3=True), self._search_jql),
            Route("GET", re.compile(r"^/rest/applinks/latest/listApplicationlinks$"), self._app_links),
        ]

    # -- server and metadata -----------------------------------------------------------------------

    def _server_info(self, call: Call) -> Reply:
        if self._cloud:
            version, numbers, build = "1001.0.0-SNAPSHOT", [1001, 0, 0], 100242
        else:
            version, numbers, build = "9.12.2", [9, 12, 2], 9120002
        payload = {
            "baseUrl": self._render.url,
            "version": version,
            "versionNumbers": numbers,
            "deploymentType": "Cloud" if self._cloud else "Server",
            "buildNumber": build,
            "buildDate": "2024-01-01T00:00:00.000+0000",
            "serverTime": self._state.now(),
            "scmInfo": "0" * 40,
            "serverTitle": "Jira emulator",
        }
        headers = {}
        if call.identity is None and call.headers.get("Authorization") and not self._cloud:
            # Jira Server answers anonymous-friendly resources even with bad credentials, but says so.
            headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
        return json_reply(200, payload, headers)

    def _myself(self, call: Call) -> Reply:
        assert call.identity is not None
        return json_reply(200, {**self._render.user(call.identity), "locale": "en_US"})

    def _fields(self, call: Call) -> Reply:
        payload = [
            {
                "id": fid,
                "key": fid,
                "name": name,
                "custom": False,
                "orderable": fid in EDITABLE_FIELDS,
                "navigable": fid != "comment",
                "searchable": True,
                "clauseNames": clauses,
                "schema": {"type": schema, "system": fid},
            }
            for fid, name, clauses, schema in _FIELD_SPECS
        ]
        return json_reply(200, payload)

    def _get_project(self, call: Call, ref: str) -> Reply:
        project = self._state.find_project(ref)
        if project is None:
            raise ApiError(HTTPStatus.NOT_FOUND, f"No project could be found with key '{ref}'.")
        issue_types = [self._render.issue_type(n) for n in ISSUE_TYPES]
        return json_reply(200, {**self._render.project(project), "issueTypes": issue_types})

    def _app_links(self, call: Call) -> Reply:
        # add_remote_link() asks for application links first; an empty list is the common answer.
        return json_reply(200, {"list": []})

    # -- issues ------------------------------------------------------------------------------------

    def _create_issue(self, call: Call) -> Reply:
        body = call.json()
        fields = body.get("fields") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            raise ApiError(HTTPStatus.BAD_REQUEST, "Issue create request must contain a 'fields' object.")
        assert call.identity is not None
        with self._state.lock:
            issue = self._state.create_issue(fields, call.identity)
            payload = {"id": issue["id"], "key": issue["key"], "self": self._render.issue_self(issue)}
        return json_reply(201, payload)

    def _get_issue(self, call: Call, ref: str) -> Reply:
        with self._state.lock:
            return json_reply(200, self._render.issue(self._state.find_issue(ref), call.query.get("fields")))

    def _edit_issue(self, call: Call, ref: str) -> Reply:
        body = call.json()
        if not isinstance(body, dict):
            raise ApiError(HTTPStatus.BAD_REQUEST, "Issue edit request must be a JSON object.")
        fields = body.get("fields") or {}
        update = body.get("update") or {}
        if not isinstance(fields, dict) or not isinstance(update, dict):
            raise ApiError(HTTPStatus.BAD_REQUEST, "'fields' and 'update' must be JSON objects.")
        self._state.edit_issue(ref, fields, update)
        return Reply(204)

    def _delete_issue(self, call: Call, ref: str) -> Reply:
        self._state.delete_issue(ref)
        return Reply(204)

    def _list_transitions(self, call: Call, ref: str) -> Reply:
        with self._state.lock:
            return json_reply(200, self._render.transitions(self._state.find_issue(ref)["status"]))

    def _do_transition(self, call: Call, ref: str) -> Reply:
        body = call.json()
        wanted = str(((body or {}).get("transition") or {}).get("id", "")) if isinstance(body, dict) else ""
        self._state.transition(ref, wanted)
        return Reply(204)

    # -- comments ----------------------------------------------------------------------------------

    @staticmethod
    def _comment_body(call: Call) -> str:
        body = call.json()
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise ApiError(HTTPStatus.BAD_REQUEST, errors={"comment": "Comment body can not be empty!"})
        return text

    def _list_comments(self, call: Call, ref: str) -> Reply:
        with self._state.lock:
            comments = self._state.comments_of(self._state.find_issue(ref))
            start = _int_param(call.param("startAt"), "startAt", 0)
            limit = _int_param(call.param("maxResults"), "maxResults", 5000)
            page = comments[start : start + limit]
            payload = {
                "startAt": start,
                "maxResults": len(page),
                "total": len(comments),
                "comments": [self._render.comment(c) for c in page],
            }
        return json_reply(200, payload)

    def _add_comment(self, call: Call, ref: str) -> Reply:
        text = self._comment_body(call)
        assert call.identity is not None
        with self._state.lock:
            return json_reply(201, self._render.comment(self._state.add_comment(ref, text, call.identity)))

    def _get_comment(self, call: Call, ref: str, comment_id: str) -> Reply:
        with self._state.lock:
            comment = self._state.find_comment(self._state.find_issue(ref), comment_id)
            return json_reply(200, self._render.comment(comment))

    def _edit_comment(self, call: Call, ref: str, comment_id: str) -> Reply:
        text = self._comment_body(call)
        assert call.identity is not None
        with self._state.lock:
            comment = self._state.edit_comment(ref, comment_id, text, call.identity)
            return json_reply(200, self._render.comment(comment))

    def _delete_comment(self, call: Call, ref: str, comment_id: str) -> Reply:
        self._state.delete_comment(ref, comment_id)
        return Reply(204)

    # -- remote links ------------------------------------------------------------------------------

    def _list_remote_links(self, call: Call, ref: str) -> Reply:
        with self._state.lock:
            issue = self._state.find_issue(ref)
            links = [self._render.remote_link(issue, r) for r in self._state.remote_links_of(issue)]
        return json_reply(200, links)

    def _add_remote_link(self, call: Call, ref: str) -> Reply:
        body = call.json()
        if not isinstance(body, dict):
            raise ApiError(HTTPStatus.BAD_REQUEST, "Remote link must be a JSON object.")
        obj = body.get("object")
        errors = {}
        if not isinstance(obj, dict):
            errors["object"] = "'object' is required"
        else:
            for key in ("url", "title"):
                if not isinstance(obj.get(key), str) or not obj[key]:
                    errors[key] = f"'{key}' is required"
        if errors:
            raise ApiError(HTTPStatus.BAD_REQUEST, errors=errors)
        data = {
            "globalId": body.get("globalId"),
            "application": body.get("application"),
            "relationship": body.get("relationship"),
            "object": obj,
        }
        with self._state.lock:
            link, created = self._state.add_remote_link(ref, data)
            payload = self._render.remote_link(self._state.find_issue(ref), link)
        return json_reply(201 if created else 200, {"id": payload["id"], "self": payload["self"]})

    # -- attachments -------------------------------------------------------------------------------

    def _add_attachments(self, call: Call, ref: str) -> Reply:
        if (call.headers.get("X-Atlassian-Token") or "").lower() != "no-check":
            # Jira's XSRF filter answers in plain text, not JSON.
            return Reply(403, b"XSRF check failed", {"Content-Type": "text/plain;charset=UTF-8"})
        self._state.find_issue(ref)
        if len(call.body) > _UPLOAD_LIMIT:
            raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "The file exceeds the maximum upload size.")
        parts = parse_multipart(call.headers.get("Content-Type") or "", call.body)
        files = [(fname, data, ctype) for name, fname, data, ctype in parts if name == "file" and fname]
        if not files:
            raise ApiError(HTTPStatus.BAD_REQUEST, "No file was attached; expected a 'file' form field.")
        assert call.identity is not None
        with self._state.lock:
            created = self._state.add_attachments(ref, files, call.identity)
            return json_reply(200, [self._render.attachment(a) for a in created])

    def _get_attachment(self, call: Call, attachment_id: str) -> Reply:
        with self._state.lock:
            return json_reply(200, self._render.attachment(self._state.find_attachment(attachment_id)))

    def _delete_attachment(self, call: Call, attachment_id: str) -> Reply:
        self._state.delete_attachment(attachment_id)
        return Reply(204)

    def _attachment_content(self, call: Call, attachment_id: str, filename: str) -> Reply:
        with self._state.lock:
            attachment = self._state.find_attachment(attachment_id)
            if attachment["filename"] != filename:
                raise ApiError(HTTPStatus.NOT_FOUND, f"No attachment named '{filename}'.")
            headers = {
                "Content-Type": attachment["mimeType"],
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            }
            return Reply(200, attachment["data"], headers)

    # -- issue links -------------------------------------------------------------------------------

    def _list_link_types(self, call: Call) -> Reply:
        types = [self._render.link_type(t) for t in self._state.link_types.values()]
        return json_reply(200, {"issueLinkTypes": types})

    def _create_link(self, call: Call) -> Reply:
        body = call.json()
        if not isinstance(body, dict):
            raise ApiError(HTTPStatus.BAD_REQUEST, "Issue link must be a JSON object.")
        type_ref = _as_dict(body.get("type"))
        link_type = self._state.find_link_type(type_ref)
        if link_type is None:
            raise ApiError(
                HTTPStatus.NOT_FOUND, f"No issue link type with name '{type_ref.get('name')}' found."
            )
        with self._state.lock:
            ends = []
            for role in ("inwardIssue", "outwardIssue"):
                ref = _as_dict(body.get(role))
                ref_value = ref.get("key") or ref.get("id")
                if not ref_value:
                    raise ApiError(HTTPStatus.BAD_REQUEST, f"'{role}' is required.")
                ends.append(self._state.find_issue(str(ref_value)))
            self._state.create_link(link_type["name"], *ends)
        return Reply(201)

    def _get_link(self, call: Call, link_id: str) -> Reply:
        with self._state.lock:
            return json_reply(200, self._render.link(self._state.find_link(link_id)))

    def _delete_link(self, call: Call, link_id: str) -> Reply:
        self._state.delete_link(link_id)
        return Reply(204)

    # -- search ------------------------------------------------------------------------------------

    @staticmethod
    def _search_params(call: Call) -> dict[str, Any]:
        """Collect search parameters from the query string (GET) or the JSON body (POST)."""
        if call.method == "POST":
            body = call.json()
            if not isinstance(body, dict):
                raise ApiError(HTTPStatus.BAD_REQUEST, "Search request must be a JSON object.")
            fields = body.get("fields")
            if isinstance(fields, str):
                fields = [fields]
            return {**body, "fields": fields}
        params: dict[str, Any] = {name: call.param(name) for name in call.query}
        params["fields"] = call.query.get("fields")
        return params

    @staticmethod
    def _strict(value: Any) -> bool:
        # The client sends validate_query as a boolean ("True"/"False" in a query string); Jira
        # also accepts strict/warn/none, and only "strict" (the default) rejects unknown values.
        if value is None:
            return True
        return str(value).strip().lower() in ("true", "strict", "")

    def _run_jql(self, jql: str, *, strict: bool, bounded: bool = False) -> list[dict[str, Any]]:
        query = parse_jql(jql)
        if bounded and query.where is None:
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
            )
        with self._state.lock:
            return select(query, self._state, strict=strict, allow_text_equality=self._allow_text_equality)

    def _page_cap(self, selected: set[str]) -> int:
        if self._max_page_size is not None:
            return self._max_page_size
        if not self._cloud:
            return 1000
        return 5000 if not selected else 100

    def _search_v2(self, call: Call) -> Reply:
        if self._cloud:
            raise ApiError(
                HTTPStatus.GONE,
                "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
                "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046",
            )
        if "/rest/api/3/" in call.path:
            raise ApiError(HTTPStatus.NOT_FOUND, f"null for uri: {self._render.url}{call.path}")
        params = self._search_params(call)
        issues = self._run_jql(str(params.get("jql") or ""), strict=self._strict(params.get("validateQuery")))
        spec = params.get("fields")
        selected = select_fields(spec, "navigable")
        start = max(_int_param(params.get("startAt"), "startAt", 0), 0)
        limit = _int_param(params.get("maxResults"), "maxResults", 50)
        limit = min(50 if limit < 0 else limit, self._page_cap(selected))
        with self._state.lock:
            page = [self._render.issue(i, spec, "navigable") for i in issues[start : start + limit]]
        payload = {"expand": "schema,names", "startAt": start, "maxResults": limit, "total": len(issues)}
        return json_reply(200, {**payload, "issues": page})

    def _search_jql(self, call: Call) -> Reply:
        if not self._cloud:
            # Jira Server / Data Center 9.x has no enhanced search.
            raise ApiError(HTTPStatus.NOT_FOUND, f"null for uri: {self._render.url}{call.path}")
        params = self._search_params(call)
        jql = str(params.get("jql") or "")
        issues = self._run_jql(jql, strict=self._strict(params.get("validateQuery")), bounded=True)
        spec = params.get("fields")
        selected = select_fields(spec, "none")
        requested = any(str(item).strip(", ") for item in spec or [])
        limit = _int_param(params.get("maxResults"), "maxResults", 50)
        limit = min(50 if limit <= 0 else limit, self._page_cap(selected))
        start = _decode_token(params.get("nextPageToken"), jql)
        with self._state.lock:
            page = issues[start : start + limit]
            # Without a fields list the enhanced search returns bare ids, not even keys.
            rendered = [self._render.issue(i, spec, "none") if requested else {"id": i["id"]} for i in page]
        payload: dict[str, Any] = {"issues": rendered, "isLast": start + limit >= len(issues)}
        if not payload["isLast"]:
            payload["nextPageToken"] = _encode_token(start + limit, jql)
        return json_reply(200, payload)


# Cloud page tokens are opaque to clients; here they carry the offset and a tag of the query,
# so that a token replayed with another query is refused as Jira refuses it.
def _token_tag(jql: str) -> str:
    return hashlib.sha1(jql.encode()).hexdigest()[:8]


def _encode_token(offset: int, jql: str) -> str:
    raw = json.dumps({"o": offset, "q": _token_tag(jql)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: Any, jql: str) -> int:
    if not token:
        return 0
    try:
        text = str(token)
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if data["q"] != _token_tag(jql):
            raise ValueError("token belongs to another query")
        return int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(HTTPStatus.BAD_REQUEST, f"Invalid nextPageToken '{token}'.") from None
