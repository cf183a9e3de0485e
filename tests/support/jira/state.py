"""The emulator's Jira data: issues, links, comments, attachments, remote links and accounts.

`JiraState` is the store behind the REST endpoints, with no HTTP in it: operations take
plain values, return the store's records (dictionaries) and raise `NotFoundError` or
`InvalidError` with Jira's messages, which the HTTP layer turns into 404 and 400 replies.
Rendering records as the JSON the ``jira`` client reads is `render`'s job.

Operations that name an issue, comment, attachment or link raise `NotFoundError` when
it does not exist. Every method takes `JiraState.lock` itself; callers that read several
records and must see them consistent (rendering an issue with its links and comments, a
search) hold the lock around the whole sequence, which is why it is re-entrant.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import mimetypes
import re
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .jql import ISSUE_KEY_RE

__all__ = [
    "CREATABLE_FIELDS",
    "EDITABLE_FIELDS",
    "ISSUE_TYPES",
    "STATUSES",
    "TRANSITIONS",
    "Identity",
    "InvalidError",
    "JiraState",
    "NotFoundError",
    "Record",
    "check_labels",
    "check_summary",
    "identity",
]

ISSUE_TYPES = ("Epic", "Story", "Task", "Bug")
STATUSES = ("To Do", "In Progress", "Done")
TRANSITIONS = (
    ("11", "Back to To Do", "To Do"),
    ("21", "Start Progress", "In Progress"),
    ("31", "Done", "Done"),
)
"""(id, name, target status) of the emulator's workflow: any status to any other."""
CREATABLE_FIELDS = frozenset({"project", "issuetype", "summary", "description", "labels"})
EDITABLE_FIELDS = frozenset({"summary", "description", "labels"})
# Descriptions Jira ships for its stock link types; other names get a neutral pair.
_LINK_DESCRIPTIONS = {
    "Relates": ("relates to", "relates to"),
    "Blocks": ("is blocked by", "blocks"),
    "Cloners": ("is cloned by", "clones"),
    "Duplicate": ("is duplicated by", "duplicates"),
}
_ISSUE_MISSING = "Issue does not exist or you do not have permission to see it."
_CANNOT_SET = "Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."

Record = dict[str, Any]
"""One stored issue, comment, attachment, link or remote link."""
Identity = dict[str, str]
"""A user as the store knows it: ``name``, ``email``, ``displayName``, ``accountId``."""


class NotFoundError(LookupError):
    """A record that does not exist (Jira answers 404).

    Parameters
    ----------
    message : `str`
        Jira's error message.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.messages = [message]
        self.errors: dict[str, str] = {}


class InvalidError(ValueError):
    """A request Jira refuses as invalid (Jira answers 400).

    Parameters
    ----------
    *messages : `str`
        General error messages (Jira's ``errorMessages``).
    errors : `dict` [`str`, `str`], optional
        Messages per field (Jira's ``errors``).
    """

    def __init__(self, *messages: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(*messages, errors)
        self.messages = list(messages)
        self.errors = dict(errors or {})


def identity(user: str) -> Identity:
    """Return the identity the emulator gives a user name or e-mail address.

    Parameters
    ----------
    user : `str`
        User name or e-mail address.

    Returns
    -------
    identity : `dict` [`str`, `str`]
        ``name``, ``email``, ``displayName`` (from the local part) and a stable ``accountId``.
    """
    local = user.split("@", 1)[0]
    return {
        "name": user,
        "email": user if "@" in user else f"{user}@example.org",
        "displayName": " ".join(p.capitalize() for p in re.split(r"[._-]+", local) if p) or user,
        "accountId": "emu-" + hashlib.sha1(user.encode()).hexdigest()[:20],
    }


def check_summary(summary: Any) -> dict[str, str]:
    """Return Jira's field errors for an issue summary (empty if it is valid)."""
    if not isinstance(summary, str) or not summary.strip():
        return {"summary": "You must specify a summary of the issue."}
    if "\n" in summary or "\r" in summary:
        return {"summary": "The summary is invalid because it contains newline characters."}
    if len(summary) > 255:
        return {"summary": "Summary must be less than 255 characters."}
    return {}


def check_labels(labels: Any) -> dict[str, str]:
    """Return Jira's field errors for a list of labels (empty if it is valid)."""
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        return {"labels": "Labels must be a list of strings."}
    for label in labels:
        if not label or any(ch.isspace() for ch in label):
            return {"labels": f"The label '{label}' contains spaces which is invalid."}
        if len(label) > 255:
            return {"labels": f"The label '{label}' exceeds maximum length of 255 characters."}
    return {}


class JiraState:
    """The store of one emulated Jira site.

    Parameters
    ----------
    users : `dict` [`str`, `str`]
        Accepted HTTP basic credentials, ``{user_or_email: token}``.
    pats : `set` [`str`]
        Accepted personal access tokens.
    projects : `tuple` [`str`, ...]
        Project keys that exist.
    link_types : `tuple` [`str`, ...]
        Issue link type names that exist.
    """

    statuses = STATUSES
    issue_types = ISSUE_TYPES

    def __init__(
        self, *, users: dict[str, str], pats: set[str], projects: tuple[str, ...], link_types: tuple[str, ...]
    ) -> None:
        self.lock = threading.RLock()
        self._users = dict(users)
        self._pats = set(pats)
        self._last_stamp = datetime(2000, 1, 1, tzinfo=UTC)
        self._projects = {
            key: {"id": str(10000 + i), "key": key, "name": f"{key} project"}
            for i, key in enumerate(projects)
        }
        self.issue_type_ids = {name: str(10000 + i) for i, name in enumerate(ISSUE_TYPES)}
        self.link_types = {
            name: {
                "id": str(10000 + i),
                "name": name,
                "inward": _LINK_DESCRIPTIONS.get(name, (name.lower(), name.lower()))[0],
                "outward": _LINK_DESCRIPTIONS.get(name, (name.lower(), name.lower()))[1],
            }
            for i, name in enumerate(link_types)
        }
        self._data: dict[str, Any] = {
            "issues": {},  # key -> issue record
            "links": {},  # id -> {"id", "type", "inward", "outward"} (issue keys)
            "comments": {},  # id -> comment record
            "attachments": {},  # id -> attachment record (with the bytes)
            "remote_links": {},  # id -> remote link record
            "counters": {"project": dict.fromkeys(self._projects, 0), "id": {}},
        }

    # -- what the JQL evaluator reads (jql.Corpus) -------------------------------------------------

    @property
    def issues(self) -> Mapping[str, Record]:
        """Issue records by key (live: hold `lock` while reading)."""
        return self._data["issues"]

    @property
    def projects(self) -> Mapping[str, dict[str, str]]:
        """Projects (``id``, ``key``, ``name``) by key."""
        return self._projects

    def comment_bodies(self, issue: Record) -> list[str]:
        """Return the bodies of an issue's comments, oldest first."""
        return [c["body"] for c in self.comments_of(issue)]

    # -- accounts ----------------------------------------------------------------------------------

    def login(self, user: str, token: str) -> Identity | None:
        """Return the identity of basic credentials, `None` if they are wrong."""
        expected = self._users.get(user)
        if expected is not None and hmac.compare_digest(expected.encode(), token.encode()):
            return identity(user)
        return None

    def token_login(self, token: str) -> Identity | None:
        """Return the identity of a personal access token (all are ``pat-user``'s), `None` if unknown."""
        return identity("pat-user") if token in self._pats else None

    # -- snapshots and seeding ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Return a deep copy of the whole store.

        Returns
        -------
        state : `dict`
            Issues, links, comments, attachments (with bytes), remote links and id counters.
        """
        with self.lock:
            return copy.deepcopy(self._data)

    def seed_issue(self, key: str, summary: str, description: str = "", labels: Iterable[str] = ()) -> None:
        """Create a Task with a chosen key, reported by the first configured user.

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
        match = ISSUE_KEY_RE.match(key)
        if match is None:
            raise ValueError(f"not an issue key: {key!r}")
        project, number = match.group(1), int(match.group(2))
        with self.lock:
            if project not in self._projects:
                raise ValueError(f"unknown project {project!r}")
            if key in self._data["issues"]:
                raise ValueError(f"issue {key} already exists")
            errors = check_summary(summary) | check_labels(list(labels))
            if errors:
                raise ValueError(f"invalid issue: {errors}")
            counters = self._data["counters"]["project"]
            # Jira never reuses numbers, so later creations continue after the seeded one.
            counters[project] = max(counters[project], number)
            reporter = identity(next(iter(self._users), "operator@example.org"))
            self._insert_issue(key, project, "Task", summary, description, list(labels), reporter)

    # -- helpers -----------------------------------------------------------------------------------

    def now(self) -> str:
        """Return a Jira timestamp for now, later than every one given before.

        Strictly increasing stamps keep "order by created" deterministic within a test.
        """
        now = datetime.now(UTC)
        with self.lock:
            stamp = now.replace(microsecond=now.microsecond // 1000 * 1000)
            if stamp <= self._last_stamp:
                stamp = self._last_stamp + timedelta(milliseconds=1)
            self._last_stamp = stamp
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"

    def _next_id(self, kind: str) -> str:
        ids = self._data["counters"]["id"]
        ids[kind] = ids.get(kind, 9999) + 1
        return str(ids[kind])

    def find_issue(self, ref: str) -> Record:
        """Return an issue by key (any case) or numeric id; `NotFoundError` if there is none."""
        with self.lock:
            issues = self._data["issues"]
            issue = issues.get(ref.upper())
            if issue is None and ref.isdigit():
                issue = next((i for i in issues.values() if i["id"] == ref), None)
            if issue is None:
                raise NotFoundError(_ISSUE_MISSING)
            return issue

    def find_project(self, ref: str) -> dict[str, str] | None:
        """Return a project by key (any case) or id, `None` if there is none."""
        return self._projects.get(ref.upper()) or next(
            (p for p in self._projects.values() if p["id"] == ref), None
        )

    # -- issues ------------------------------------------------------------------------------------

    def _insert_issue(
        self,
        key: str,
        project: str,
        issuetype: str,
        summary: str,
        description: str | None,
        labels: list[str],
        reporter: Identity,
    ) -> Record:
        stamp = self.now()
        issue = {
            "id": self._next_id("issue"),
            "key": key,
            "project": project,
            "issuetype": issuetype,
            "summary": summary,
            # Jira stores an empty description as null.
            "description": description or None,
            "labels": sorted(set(labels)),
            "status": "To Do",
            "created": stamp,
            "updated": stamp,
            "reporter": reporter,
        }
        self._data["issues"][key] = issue
        return issue

    def create_issue(self, fields: dict[str, Any], reporter: Identity) -> Record:
        """Create an issue from the ``fields`` of a create request.

        Parameters
        ----------
        fields : `dict`
            ``project`` and ``issuetype`` references (``{"key"|"id"|"name": ...}``),
            ``summary``, and optionally ``description`` and ``labels``.
        reporter : `dict` [`str`, `str`]
            Identity of the creating user.

        Returns
        -------
        issue : `dict`
            The new issue record, keyed with the project's next number.

        Raises
        ------
        InvalidError
            With every field error at once, as Jira reports them; nothing is stored.
        """
        errors = {name: _CANNOT_SET.format(name=name) for name in fields if name not in CREATABLE_FIELDS}
        with self.lock:
            project = self._resolve_project(fields.get("project"), errors)
            issuetype = self._resolve_issue_type(fields.get("issuetype"), errors)
            errors |= check_summary(fields.get("summary"))
            description = fields.get("description")
            if description is not None and not isinstance(description, str):
                errors["description"] = "Operation value must be a string"
            labels = fields.get("labels", [])
            errors |= check_labels(labels)
            if errors:
                raise InvalidError(errors=errors)
            assert project is not None and issuetype is not None
            counters = self._data["counters"]["project"]
            counters[project] += 1
            key = f"{project}-{counters[project]}"
            return self._insert_issue(
                key, project, issuetype, fields["summary"], description, labels, reporter
            )

    def _resolve_project(self, value: Any, errors: dict[str, str]) -> str | None:
        if not isinstance(value, dict) or not value:
            errors["project"] = "project is required"
            return None
        ref = value.get("key") or value.get("id")
        project = self.find_project(str(ref)) if ref is not None else None
        if project is None:
            errors["project"] = "valid project is required"
            return None
        return project["key"]

    def _resolve_issue_type(self, value: Any, errors: dict[str, str]) -> str | None:
        if not isinstance(value, dict) or not value:
            errors["issuetype"] = "issue type is required"
            return None
        name = value.get("name")
        if name is None and "id" in value:
            name = next((n for n, i in self.issue_type_ids.items() if i == str(value["id"])), None)
        if name not in self.issue_type_ids:
            errors["issuetype"] = "valid issue type is required"
            return None
        return str(name)

    def edit_issue(self, ref: str, fields: dict[str, Any], update: dict[str, Any]) -> None:
        """Apply an edit request's ``fields`` (new values) and ``update`` (operations).

        Parameters
        ----------
        ref : `str`
            Issue key or id.
        fields : `dict`
            New values of editable fields.
        update : `dict`
            Operations per field; only ``labels`` ``add``/``remove`` are supported.

        Raises
        ------
        NotFoundError
            If the issue does not exist.
        InvalidError
            With every field error at once; the issue is left untouched.
        """
        errors = {
            name: _CANNOT_SET.format(name=name) for name in [*fields, *update] if name not in EDITABLE_FIELDS
        }
        with self.lock:
            issue = self.find_issue(ref)
            # Work on a copy so a rejected edit leaves the issue untouched.
            new = copy.deepcopy(issue)
            for name, value in fields.items():
                if name in EDITABLE_FIELDS:
                    new[name] = value
            for name, operations in update.items():
                # Fields that cannot be edited at all keep their "cannot be set" error.
                if name in EDITABLE_FIELDS:
                    _apply_operations(new, name, operations, errors)
            if "summary" in fields or "summary" in update:
                errors |= check_summary(new["summary"])
            if "labels" in fields or "labels" in update:
                errors |= check_labels(new["labels"])
            if new.get("description") is not None and not isinstance(new["description"], str):
                errors["description"] = "Operation value must be a string"
            if errors:
                raise InvalidError(errors=errors)
            new["description"] = new["description"] or None
            new["labels"] = sorted(set(new["labels"]))
            if new != issue:
                new["updated"] = self.now()
                issue.update(new)

    def delete_issue(self, ref: str) -> None:
        """Delete an issue with its comments, attachments, remote links and issue links."""
        with self.lock:
            issue = self.find_issue(ref)
            key, issue_id = issue["key"], issue["id"]
            del self._data["issues"][key]
            for table in ("comments", "attachments", "remote_links"):
                rows = self._data[table]
                for row_id in [i for i, row in rows.items() if row["issue"] == issue_id]:
                    del rows[row_id]
            links = self._data["links"]
            for link_id in [i for i, link in links.items() if key in (link["inward"], link["outward"])]:
                del links[link_id]

    @staticmethod
    def transitions_from(status: str) -> list[tuple[str, str, str]]:
        """Return the ``(id, name, target status)`` transitions available from a status."""
        return [t for t in TRANSITIONS if t[2] != status]

    def transition(self, ref: str, transition_id: str) -> None:
        """Move an issue along a transition; `InvalidError` if its status has no such transition."""
        with self.lock:
            issue = self.find_issue(ref)
            match = [t for t in self.transitions_from(issue["status"]) if t[0] == transition_id]
            if not match:
                raise InvalidError(f"Transition id '{transition_id}' is not valid for this issue.")
            issue["status"] = match[0][2]
            issue["updated"] = self.now()

    # -- comments ----------------------------------------------------------------------------------

    def comments_of(self, issue: Record) -> list[Record]:
        """Return an issue's comments, oldest first."""
        with self.lock:
            comments = [c for c in self._data["comments"].values() if c["issue"] == issue["id"]]
        return sorted(comments, key=lambda c: int(c["id"]))

    def find_comment(self, issue: Record, comment_id: str) -> Record:
        """Return one comment of an issue; `NotFoundError` if the issue has no such comment."""
        comment = self._data["comments"].get(comment_id)
        if comment is None or comment["issue"] != issue["id"]:
            raise NotFoundError(f"Can not find a comment for the id: {comment_id}.")
        return comment

    def add_comment(self, ref: str, body: str, author: Identity) -> Record:
        """Add a comment to an issue and return it."""
        with self.lock:
            issue = self.find_issue(ref)
            stamp = self.now()
            comment = {
                "id": self._next_id("comment"),
                "issue": issue["id"],
                "body": body,
                "author": author,
                "updateAuthor": author,
                "created": stamp,
                "updated": stamp,
            }
            self._data["comments"][comment["id"]] = comment
            issue["updated"] = stamp
            return comment

    def edit_comment(self, ref: str, comment_id: str, body: str, author: Identity) -> Record:
        """Replace a comment's body (a no-op if it is unchanged) and return the comment."""
        with self.lock:
            comment = self.find_comment(self.find_issue(ref), comment_id)
            if comment["body"] != body:
                comment.update(body=body, updateAuthor=author, updated=self.now())
            return comment

    def delete_comment(self, ref: str, comment_id: str) -> None:
        """Delete a comment of an issue."""
        with self.lock:
            self.find_comment(self.find_issue(ref), comment_id)
            del self._data["comments"][comment_id]

    # -- remote links ------------------------------------------------------------------------------

    def remote_links_of(self, issue: Record) -> list[Record]:
        """Return an issue's remote links, oldest first."""
        with self.lock:
            links = [r for r in self._data["remote_links"].values() if r["issue"] == issue["id"]]
        return sorted(links, key=lambda r: r["id"])

    def add_remote_link(self, ref: str, data: dict[str, Any]) -> tuple[Record, bool]:
        """Add a remote link, or update the issue's link with the same ``globalId``.

        Parameters
        ----------
        ref : `str`
            Issue key or id.
        data : `dict`
            ``globalId``, ``application``, ``relationship`` and ``object`` (validated).

        Returns
        -------
        link : `dict`
            The stored link.
        created : `bool`
            Whether the link is new (rather than an update by ``globalId``).

        Raises
        ------
        NotFoundError
            If the issue does not exist.
        """
        with self.lock:
            issue = self.find_issue(ref)
            existing = None
            if data["globalId"] is not None:
                existing = next(
                    (r for r in self.remote_links_of(issue) if r["globalId"] == data["globalId"]), None
                )
            if existing is not None:
                # Jira treats a POST with a known globalId as an update of that link.
                existing.update(data)
                link, created = existing, False
            else:
                link = {"id": int(self._next_id("remote_link")), "issue": issue["id"], **data}
                self._data["remote_links"][str(link["id"])] = link
                created = True
            issue["updated"] = self.now()
            return link, created

    # -- attachments -------------------------------------------------------------------------------

    def attachments_of(self, issue: Record) -> list[Record]:
        """Return an issue's attachments, oldest first."""
        with self.lock:
            attachments = [a for a in self._data["attachments"].values() if a["issue"] == issue["id"]]
        return sorted(attachments, key=lambda a: int(a["id"]))

    def find_attachment(self, attachment_id: str) -> Record:
        """Return an attachment by id; `NotFoundError` if there is none."""
        attachment = self._data["attachments"].get(attachment_id)
        if attachment is None:
            raise NotFoundError(f"The attachment with id '{attachment_id}' does not exist")
        return attachment

    def add_attachments(
        self, ref: str, files: list[tuple[str, bytes, str | None]], author: Identity
    ) -> list[Record]:
        """Attach files to an issue.

        Parameters
        ----------
        ref : `str`
            Issue key or id.
        files : `list` [`tuple` [`str`, `bytes`, `str` or `None`]]
            ``(filename, data, content type sent by the client)`` for each file.
        author : `dict` [`str`, `str`]
            Identity of the uploading user.

        Returns
        -------
        attachments : `list` [`dict`]
            The new attachment records, in upload order.

        Raises
        ------
        NotFoundError
            If the issue does not exist.
        """
        with self.lock:
            issue = self.find_issue(ref)
            created = []
            for filename, data, ctype in files:
                # Jira derives the type from the name rather than trusting the client's part header.
                guessed = mimetypes.guess_type(filename)[0]
                record = {
                    "id": self._next_id("attachment"),
                    "issue": issue["id"],
                    "filename": filename,
                    "author": author,
                    "created": self.now(),
                    "size": len(data),
                    "mimeType": guessed or ctype or "application/octet-stream",
                    "data": bytes(data),
                }
                self._data["attachments"][record["id"]] = record
                created.append(record)
            issue["updated"] = self.now()
            return created

    def delete_attachment(self, attachment_id: str) -> None:
        """Delete an attachment."""
        with self.lock:
            attachment = self.find_attachment(attachment_id)
            del self._data["attachments"][attachment_id]
            issue = next((i for i in self._data["issues"].values() if i["id"] == attachment["issue"]), None)
            if issue is not None:
                issue["updated"] = self.now()

    # -- issue links -------------------------------------------------------------------------------

    def find_link_type(self, ref: dict[str, Any]) -> dict[str, str] | None:
        """Return the link type a ``{"name": ...}`` (any case) or ``{"id": ...}`` reference names."""
        name = ref.get("name")
        return next(
            (
                t
                for t in self.link_types.values()
                if (name is not None and t["name"].lower() == str(name).lower())
                or (name is None and t["id"] == str(ref.get("id")))
            ),
            None,
        )

    def create_link(self, link_type: str, inward: Record, outward: Record) -> None:
        """Link two issues (found with `find_issue`, under `lock`).

        Real Jira happily stores duplicate links, so there is deliberately no deduplication.
        """
        with self.lock:
            link_id = self._next_id("link")
            self._data["links"][link_id] = {
                "id": link_id,
                "type": link_type,
                "inward": inward["key"],
                "outward": outward["key"],
            }
            inward["updated"] = outward["updated"] = self.now()

    def links_of(self, key: str) -> list[Record]:
        """Return the issue links with an issue at either end, oldest first."""
        with self.lock:
            links = [
                link for link in self._data["links"].values() if key in (link["inward"], link["outward"])
            ]
        return sorted(links, key=lambda link: int(link["id"]))

    def find_link(self, link_id: str) -> Record:
        """Return an issue link by id; `NotFoundError` if there is none."""
        link = self._data["links"].get(link_id)
        if link is None:
            raise NotFoundError(f"No issue link with id '{link_id}' exists.")
        return link

    def delete_link(self, link_id: str) -> None:
        """Delete an issue link."""
        with self.lock:
            self.find_link(link_id)
            del self._data["links"][link_id]


def _apply_operations(issue: Record, name: str, operations: Any, errors: dict[str, str]) -> None:
    """Apply one field's edit operations to ``issue`` (a copy), collecting errors."""
    if not isinstance(operations, list):
        errors[name] = f"Update operations for '{name}' must be a list."
        return
    for operation in operations:
        if not isinstance(operation, dict) or len(operation) != 1:
            errors[name] = f"Invalid update operation for '{name}': {operation!r}"
            return
        verb, value = next(iter(operation.items()))
        if name == "labels" and verb in ("add", "remove"):
            if not isinstance(value, str):
                errors[name] = "Label operations take a string."
            elif verb == "add" and value not in issue["labels"]:
                issue["labels"] = [*issue["labels"], value]
            elif verb == "remove":
                issue["labels"] = [label for label in issue["labels"] if label != value]
        else:
            errors[name] = f"Operation '{verb}' is not supported for field '{name}'."
