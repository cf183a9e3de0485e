"""The JSON documents the emulator answers with, in the shapes the ``jira`` client reads.

`Renderer` turns the store's records into Jira's REST representations: ``self`` URLs
under the emulator's base URL, nested users, statuses, issue types and links, and the
``fields`` selection of issue reads and searches. Users differ between deployments:
Cloud identifies them by ``accountId`` only, Server by ``name`` and ``key``.

Callers hold `state.JiraState.lock` while rendering, so that an issue and the records
nested in it are read consistently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from .state import STATUSES, Identity, JiraState, Record

__all__ = ["ALL_FIELDS", "Renderer", "select_fields"]

ALL_FIELDS = (
    "summary",
    "description",
    "labels",
    "issuetype",
    "project",
    "status",
    "created",
    "updated",
    "reporter",
    "creator",
    "assignee",
    "resolution",
    "issuelinks",
    "attachment",
    "comment",
)
"""Every field an issue has, in the order Jira lists them."""
# Jira does not treat comments as "navigable", so *navigable (the search default) omits them.
_NAVIGABLE_FIELDS = tuple(f for f in ALL_FIELDS if f != "comment")
# Status categories (key, name, id) of the statuses, in the order of STATUSES.
_STATUS_CATEGORIES = (("new", "To Do", 2), ("indeterminate", "In Progress", 4), ("done", "Done", 3))


def select_fields(spec: list[str] | None, default: str) -> set[str]:
    """Resolve a ``fields`` request (``*all``, ``*navigable``, names, ``-name``) to field names.

    Parameters
    ----------
    spec : `list` [`str`] or `None`
        The ``fields`` values sent, each possibly comma-separated.
    default : `str`
        What an empty request means: ``"all"``, ``"navigable"`` or ``"none"``.

    Returns
    -------
    fields : `set` [`str`]
        Names from `ALL_FIELDS`.
    """
    items = [item.strip() for chunk in (spec or []) for item in str(chunk).split(",") if item.strip()]
    if not items:
        return {"all": set(ALL_FIELDS), "navigable": set(_NAVIGABLE_FIELDS)}.get(default, set())
    selected: set[str] = set()
    excluded: set[str] = set()
    for item in items:
        if item == "*all":
            selected |= set(ALL_FIELDS)
        elif item == "*navigable":
            selected |= set(_NAVIGABLE_FIELDS)
        elif item.startswith("-"):
            excluded.add(item[1:])
        else:
            # Jira silently ignores names of fields that do not exist.
            selected |= {item} & set(ALL_FIELDS)
    if not selected and excluded:
        selected = set(_NAVIGABLE_FIELDS)
    return selected - excluded


class Renderer:
    """Renders store records as Jira REST JSON.

    Parameters
    ----------
    state : `JiraState`
        The store the records come from (for nested records).
    cloud : `bool`
        Render users the Jira Cloud way.
    base_url : callable
        Returns the emulator's base URL; it is only known once the server listens.
    """

    def __init__(self, state: JiraState, *, cloud: bool, base_url: Callable[[], str]) -> None:
        self._state = state
        self._cloud = cloud
        self._base_url = base_url

    @property
    def url(self) -> str:
        """The emulator's base URL, ``http://127.0.0.1:<port>``."""
        return self._base_url()

    def api(self, path: str) -> str:
        """Return the REST v2 URL of ``path``, as in ``self`` links."""
        return f"{self.url}/rest/api/2/{path}"

    def user(self, identity: Identity) -> dict[str, Any]:
        """Render a user."""
        if self._cloud:
            return {
                "self": self.api(f"user?accountId={identity['accountId']}"),
                "accountId": identity["accountId"],
                "emailAddress": identity["email"],
                "displayName": identity["displayName"],
                "active": True,
                "timeZone": "UTC",
                "accountType": "atlassian",
            }
        return {
            "self": self.api(f"user?username={quote(identity['name'])}"),
            "name": identity["name"],
            "key": identity["name"],
            "emailAddress": identity["email"],
            "displayName": identity["displayName"],
            "active": True,
            "timeZone": "UTC",
        }

    def project(self, project: dict[str, str]) -> dict[str, Any]:
        """Render a project (without its issue types)."""
        return {
            "self": self.api(f"project/{project['id']}"),
            "id": project["id"],
            "key": project["key"],
            "name": project["name"],
            "projectTypeKey": "software",
        }

    def issue_type(self, name: str) -> dict[str, Any]:
        """Render an issue type."""
        type_id = self._state.issue_type_ids[name]
        return {
            "self": self.api(f"issuetype/{type_id}"),
            "id": type_id,
            "name": name,
            "subtask": False,
            "description": f"A {name.lower()}.",
        }

    def status(self, name: str) -> dict[str, Any]:
        """Render a status with its category."""
        index = STATUSES.index(name)
        key, category, category_id = _STATUS_CATEGORIES[index]
        return {
            "self": self.api(f"status/{index + 1}"),
            "id": str(index + 1),
            "name": name,
            "statusCategory": {
                "self": self.api(f"statuscategory/{category_id}"),
                "id": category_id,
                "key": key,
                "name": category,
            },
        }

    def transitions(self, status: str) -> dict[str, Any]:
        """Render the transitions available from a status."""
        available = [
            {"id": tid, "name": name, "to": self.status(target)}
            for tid, name, target in self._state.transitions_from(status)
        ]
        return {"expand": "transitions", "transitions": available}

    def link_type(self, link_type: dict[str, str]) -> dict[str, Any]:
        """Render an issue link type."""
        return {**link_type, "self": self.api(f"issueLinkType/{link_type['id']}")}

    def issue_self(self, issue: Record) -> str:
        """Return an issue's ``self`` URL (by id, as Jira gives it)."""
        return self.api(f"issue/{issue['id']}")

    def brief_issue(self, key: str) -> dict[str, Any]:
        """Render the short form of an issue that links embed."""
        issue = self._state.issues[key]
        return {
            "id": issue["id"],
            "key": issue["key"],
            "self": self.issue_self(issue),
            "fields": {
                "summary": issue["summary"],
                "status": self.status(issue["status"]),
                "issuetype": self.issue_type(issue["issuetype"]),
            },
        }

    def link(self, link: Record) -> dict[str, Any]:
        """Render an issue link with both ends."""
        return {
            "id": link["id"],
            "self": self.api(f"issueLink/{link['id']}"),
            "type": self.link_type(self._state.link_types[link["type"]]),
            "inwardIssue": self.brief_issue(link["inward"]),
            "outwardIssue": self.brief_issue(link["outward"]),
        }

    def issue_links(self, key: str) -> list[dict[str, Any]]:
        """Render an issue's ``issuelinks`` field: each link with its other end only."""
        result = []
        for link in self._state.links_of(key):
            base = {
                "id": link["id"],
                "self": self.api(f"issueLink/{link['id']}"),
                "type": self.link_type(self._state.link_types[link["type"]]),
            }
            # Seen from the inward issue the other end is the outward one, and vice versa.
            if link["inward"] == key:
                result.append({**base, "outwardIssue": self.brief_issue(link["outward"])})
            if link["outward"] == key:
                result.append({**base, "inwardIssue": self.brief_issue(link["inward"])})
        return result

    def comment(self, comment: Record) -> dict[str, Any]:
        """Render a comment."""
        return {
            "self": self.api(f"issue/{comment['issue']}/comment/{comment['id']}"),
            "id": comment["id"],
            "author": self.user(comment["author"]),
            "body": comment["body"],
            "updateAuthor": self.user(comment["updateAuthor"]),
            "created": comment["created"],
            "updated": comment["updated"],
        }

    def attachment(self, attachment: Record) -> dict[str, Any]:
        """Render an attachment's metadata, with its ``content`` download URL."""
        return {
            "self": self.api(f"attachment/{attachment['id']}"),
            "id": attachment["id"],
            "filename": attachment["filename"],
            "author": self.user(attachment["author"]),
            "created": attachment["created"],
            "size": attachment["size"],
            "mimeType": attachment["mimeType"],
            "content": (
                f"{self.url}/secure/attachment/{attachment['id']}/{quote(attachment['filename'], safe='')}"
            ),
        }

    def remote_link(self, issue: Record, link: Record) -> dict[str, Any]:
        """Render a remote link; ``globalId`` and ``relationship`` only when set."""
        payload: dict[str, Any] = {
            "id": link["id"],
            "self": self.api(f"issue/{issue['key']}/remotelink/{link['id']}"),
            "application": link["application"] or {},
            "object": link["object"],
        }
        if link["globalId"] is not None:
            payload["globalId"] = link["globalId"]
        if link["relationship"] is not None:
            payload["relationship"] = link["relationship"]
        return payload

    def issue(self, issue: Record, spec: list[str] | None, default: str = "all") -> dict[str, Any]:
        """Render an issue with the fields a ``fields`` request selects.

        Parameters
        ----------
        issue : `dict`
            The issue record.
        spec : `list` [`str`] or `None`
            The ``fields`` values sent; see `select_fields`.
        default : `str`
            The selection when ``spec`` names nothing.

        Returns
        -------
        issue : `dict`
            ``id``, ``key``, ``self`` and the selected ``fields``.
        """
        return {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue["id"],
            "self": self.issue_self(issue),
            "key": issue["key"],
            "fields": self._issue_fields(issue, select_fields(spec, default)),
        }

    def _issue_fields(self, issue: Record, wanted: set[str]) -> dict[str, Any]:
        # Lambdas, so that only the selected (possibly expensive) fields are rendered.
        renderers: dict[str, Callable[[], Any]] = {
            "summary": lambda: issue["summary"],
            "description": lambda: issue["description"],
            "labels": lambda: sorted(issue["labels"]),
            "issuetype": lambda: self.issue_type(issue["issuetype"]),
            "project": lambda: self.project(self._state.projects[issue["project"]]),
            "status": lambda: self.status(issue["status"]),
            "created": lambda: issue["created"],
            "updated": lambda: issue["updated"],
            "reporter": lambda: self.user(issue["reporter"]),
            "creator": lambda: self.user(issue["reporter"]),
            "assignee": lambda: None,
            "resolution": lambda: None,
            "issuelinks": lambda: self.issue_links(issue["key"]),
            "attachment": lambda: [self.attachment(a) for a in self._state.attachments_of(issue)],
            "comment": lambda: self._comment_container(issue),
        }
        return {name: renderers[name]() for name in ALL_FIELDS if name in wanted}

    def _comment_container(self, issue: Record) -> dict[str, Any]:
        comments = [self.comment(c) for c in self._state.comments_of(issue)]
        return {"comments": comments, "maxResults": len(comments), "total": len(comments), "startAt": 0}
