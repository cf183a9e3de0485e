"""The emulator's JQL: a tokenizer, a recursive-descent parser and an evaluator.

Only the subset of JQL that prodstat and its tests use is understood, but what is
understood is checked the way Jira checks it: unknown fields, operators a field does not
support and (in strict mode) values that do not exist are rejected with Jira's messages,
so a query that the emulator accepts is one that Jira accepts too.

The evaluator reads the store through the `Corpus` protocol, so this module knows nothing
of HTTP or of how the store keeps its records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["ISSUE_KEY_RE", "Corpus", "JqlError", "JqlQuery", "parse_jql", "select"]


class JqlError(ValueError):
    """A JQL query that Jira would reject with HTTP 400."""


# --------------------------------------------------------------------------------------------------
# Syntax tree
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "string", "op", "(", ")", ",", "eof"
    text: str
    pos: int


@dataclass(frozen=True)
class _Clause:
    field: str  # as written, lower case
    op: str  # "=", "!=", "~", "!~", "in", "not in", "is", "is not", "<", ...
    values: tuple[str, ...]  # empty for "is"/"is not"
    pos: int


@dataclass(frozen=True)
class _And:
    parts: tuple[Any, ...]


@dataclass(frozen=True)
class _Or:
    parts: tuple[Any, ...]


@dataclass(frozen=True)
class _Not:
    part: Any


@dataclass(frozen=True)
class JqlQuery:
    """A parsed JQL query.

    Attributes
    ----------
    where : `object` or `None`
        Root of the condition tree, `None` for a query with no restriction.
    order : `tuple` [`tuple` [`str`, `bool`], ...]
        ``(field, descending)`` pairs from ``ORDER BY``.
    """

    where: Any
    order: tuple[tuple[str, bool], ...]


# --------------------------------------------------------------------------------------------------
# Tokenizer and parser
# --------------------------------------------------------------------------------------------------


_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"})
# Longest first so "!=" wins over "!" and ">=" over ">".
_OPERATORS = ("!=", "!~", ">=", "<=", "&&", "||", "=", "~", ">", "<")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r", " ": " "}
_WORD_STOP = frozenset("()\"',=!~<>&|")


def _where(pos: int) -> str:
    return f"(line 1, character {pos + 1})"


def _tokenize(jql: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(jql)
    while i < n:
        ch = jql[i]
        if ch.isspace():
            i += 1
        elif ch in "(),":
            tokens.append(_Token(ch, ch, i))
            i += 1
        elif ch in "\"'":
            text, i = _read_string(jql, i)
            tokens.append(_Token("string", text, i))
        elif op := next((o for o in _OPERATORS if jql.startswith(o, i)), None):
            # JQL accepts C-style && and || as spellings of AND and OR.
            if op in ("&&", "||"):
                tokens.append(_Token("word", "AND" if op == "&&" else "OR", i))
            else:
                tokens.append(_Token("op", op, i))
            i += len(op)
        elif ch == "!":
            tokens.append(_Token("word", "NOT", i))
            i += 1
        else:
            j = i
            while j < n and not jql[j].isspace() and jql[j] not in _WORD_STOP:
                j += 1
            if j == i:
                raise JqlError(
                    f"Error in the JQL Query: The character '{ch}' is a reserved JQL character. "
                    f"You must enclose it in a string or use the escape '\\u{ord(ch):04x}' instead. "
                    f"{_where(i)}"
                )
            tokens.append(_Token("word", jql[i:j], i))
            i = j
    tokens.append(_Token("eof", "", n))
    return tokens


def _read_string(jql: str, start: int) -> tuple[str, int]:
    quote_char = jql[start]
    out: list[str] = []
    i = start + 1
    while i < len(jql):
        ch = jql[i]
        if ch == quote_char:
            return "".join(out), i + 1
        if ch == "\\":
            nxt = jql[i + 1 : i + 2]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", jql[i + 2 : i + 6]):
                out.append(chr(int(jql[i + 2 : i + 6], 16)))
                i += 6
                continue
            if nxt not in _ESCAPES:
                raise JqlError(
                    f"Error in the JQL Query: '\\{nxt}' is an illegal JQL escape sequence. {_where(i)}"
                )
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise JqlError(f"Error in the JQL Query: Missing closing quote {_where(start)}")


class _Parser:
    """Recursive-descent parser for the JQL subset.

    Grammar::

        query   := [or] [ORDER BY item ("," item)*] EOF
        or      := and (OR and)*
        and     := not (AND not)*
        not     := NOT not | "(" or ")" | clause
        clause  := field operator operand
    """

    def __init__(self, jql: str) -> None:
        self._tokens = _tokenize(jql)
        self._i = 0

    def _peek(self) -> _Token:
        return self._tokens[self._i]

    def _next(self) -> _Token:
        tok = self._tokens[self._i]
        if tok.kind != "eof":
            self._i += 1
        return tok

    @staticmethod
    def _is(tok: _Token, keyword: str) -> bool:
        return tok.kind == "word" and tok.text.lower() == keyword

    @staticmethod
    def _fail(expected: str, tok: _Token) -> JqlError:
        if tok.kind == "eof":
            return JqlError(f"Error in the JQL Query: Expecting {expected} before the end of the query.")
        return JqlError(
            f"Error in the JQL Query: Expecting {expected} but got '{tok.text}'. {_where(tok.pos)}"
        )

    def parse(self) -> JqlQuery:
        where = None
        tok = self._peek()
        if tok.kind != "eof" and not self._is(tok, "order"):
            where = self._or()
        order: list[tuple[str, bool]] = []
        if self._is(self._peek(), "order"):
            self._next()
            if not self._is(self._next(), "by"):
                raise self._fail("'by'", self._tokens[self._i - 1])
            order.append(self._order_item())
            while self._peek().kind == ",":
                self._next()
                order.append(self._order_item())
        tok = self._peek()
        if tok.kind != "eof":
            raise self._fail("either 'OR' or 'AND'", tok)
        return JqlQuery(where, tuple(order))

    def _or(self) -> Any:
        parts = [self._and()]
        while self._is(self._peek(), "or"):
            self._next()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else _Or(tuple(parts))

    def _and(self) -> Any:
        parts = [self._not()]
        while self._is(self._peek(), "and"):
            self._next()
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else _And(tuple(parts))

    def _not(self) -> Any:
        tok = self._peek()
        if self._is(tok, "not"):
            self._next()
            return _Not(self._not())
        if tok.kind == "(":
            self._next()
            node = self._or()
            if self._peek().kind != ")":
                raise self._fail("')'", self._peek())
            self._next()
            return node
        return self._clause()

    def _clause(self) -> _Clause:
        tok = self._next()
        if tok.kind not in ("word", "string") or (tok.kind == "word" and tok.text.lower() in _KEYWORDS):
            raise self._fail("a field name", tok)
        op = self._operator()
        values: tuple[str, ...]
        if op in ("in", "not in"):
            values = self._value_list()
        elif op in ("is", "is not"):
            operand = self._next()
            if not (self._is(operand, "empty") or self._is(operand, "null")):
                raise self._fail("'EMPTY' or 'NULL'", operand)
            values = ()
        else:
            value = self._value()
            if value is None:
                # "= EMPTY" is Jira's alternative spelling of "is EMPTY".
                if op not in ("=", "!="):
                    raise JqlError(
                        f"Error in the JQL Query: EMPTY cannot be used with '{op}'. {_where(tok.pos)}"
                    )
                op, values = ("is" if op == "=" else "is not"), ()
            else:
                values = (value,)
        return _Clause(tok.text.lower(), op, values, tok.pos)

    def _operator(self) -> str:
        tok = self._next()
        if tok.kind == "op":
            return tok.text
        if self._is(tok, "in"):
            return "in"
        if self._is(tok, "not"):
            if not self._is(self._next(), "in"):
                raise self._fail("'IN' after 'NOT'", self._tokens[self._i - 1])
            return "not in"
        if self._is(tok, "is"):
            if self._is(self._peek(), "not"):
                self._next()
                return "is not"
            return "is"
        raise self._fail("operator", tok)

    def _value(self) -> str | None:
        tok = self._next()
        if tok.kind == "string":
            return tok.text
        if tok.kind == "word":
            low = tok.text.lower()
            if low in ("empty", "null"):
                return None
            if low in _KEYWORDS:
                raise self._fail("a value", tok)
            if self._peek().kind == "(":
                raise JqlError(
                    f"Error in the JQL Query: JQL functions such as '{tok.text}()' are not supported "
                    f"by the emulator. {_where(tok.pos)}"
                )
            return tok.text
        raise self._fail("a value", tok)

    def _value_list(self) -> tuple[str, ...]:
        if self._peek().kind != "(":
            raise self._fail("'('", self._peek())
        self._next()
        values: list[str] = []
        while True:
            value = self._value()
            if value is None:
                raise JqlError("Error in the JQL Query: EMPTY cannot be used inside a list.")
            values.append(value)
            tok = self._next()
            if tok.kind == ")":
                return tuple(values)
            if tok.kind != ",":
                raise self._fail("')' or ','", tok)

    def _order_item(self) -> tuple[str, bool]:
        tok = self._next()
        if tok.kind not in ("word", "string") or (tok.kind == "word" and tok.text.lower() in _KEYWORDS):
            raise self._fail("a field name", tok)
        descending = False
        if self._is(self._peek(), "asc") or self._is(self._peek(), "desc"):
            descending = self._next().text.lower() == "desc"
        return tok.text.lower(), descending


def parse_jql(jql: str) -> JqlQuery:
    """Parse the JQL subset understood by the emulator.

    Parameters
    ----------
    jql : `str`
        Query text.

    Returns
    -------
    query : `JqlQuery`
        The parsed query.

    Raises
    ------
    JqlError
        If the query is not valid JQL (or uses an unsupported construct).
    """
    return _Parser(jql).parse()


# --------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------


class Corpus(Protocol):
    """What the evaluator reads from the store (`state.JiraState` provides it).

    Issue records are the store's dictionaries: ``key``, ``id``, ``project`` (key),
    ``summary``, ``description``, ``labels``, ``status``, ``issuetype``, ``created``
    and ``updated``.
    """

    @property
    def issues(self) -> Mapping[str, dict[str, Any]]:
        """Issue records by key."""
        ...

    @property
    def projects(self) -> Mapping[str, dict[str, str]]:
        """Projects (``id``, ``key``, ``name``) by key."""
        ...

    @property
    def statuses(self) -> tuple[str, ...]:
        """Status names, in workflow order (which is also their sort order)."""
        ...

    @property
    def issue_types(self) -> tuple[str, ...]:
        """Issue type names."""
        ...

    def comment_bodies(self, issue: dict[str, Any]) -> list[str]:
        """Return the bodies of an issue's comments, oldest first."""
        ...


# Field spellings JQL accepts, mapped to the emulator's canonical names.
_JQL_FIELDS = {
    "key": "key",
    "issue": "key",
    "issuekey": "key",
    "id": "key",
    "project": "project",
    "labels": "labels",
    "summary": "summary",
    "description": "description",
    "text": "text",
    "comment": "comment",
    "status": "status",
    "issuetype": "issuetype",
    "type": "issuetype",
    "created": "created",
    "createddate": "created",
    "updated": "updated",
    "updateddate": "updated",
}
_EQUALITY_OPS = frozenset({"=", "!=", "in", "not in"})
_TEXT_OPS = frozenset({"~", "!~", "is", "is not"})
_JQL_OPERATORS: dict[str, frozenset[str]] = {
    "key": _EQUALITY_OPS,
    "project": _EQUALITY_OPS,
    "labels": _EQUALITY_OPS | {"is", "is not"},
    "summary": _TEXT_OPS,
    "description": _TEXT_OPS,
    "text": frozenset({"~"}),
    "comment": frozenset({"~", "!~"}),
    "status": _EQUALITY_OPS,
    "issuetype": _EQUALITY_OPS,
    # Searchable by date in Jira, but only sortable here: no date comparison is emulated.
    "created": frozenset(),
    "updated": frozenset(),
}
_TEXT_FIELDS = ("summary", "description", "text", "comment")
ISSUE_KEY_RE = re.compile(r"^([A-Z][A-Z0-9_]*)-([1-9][0-9]*)$")
"""Jira's issue key syntax, ``PROJECT-NUMBER`` (the store checks keys with it too)."""


def select(
    query: JqlQuery, corpus: Corpus, *, strict: bool = True, allow_text_equality: bool = False
) -> list[dict[str, Any]]:
    """Check a parsed query against the store and return the issues it selects, in order.

    Parameters
    ----------
    query : `JqlQuery`
        The parsed query.
    corpus : `Corpus`
        The store to search; the caller holds whatever lock guards it.
    strict : `bool`
        Reject values that do not exist (issue keys, projects, statuses, issue types), as
        Jira's default ``validateQuery=strict`` does.
    allow_text_equality : `bool`
        Accept ``=``/``!=`` on ``summary`` and ``description`` (exact, case-insensitive),
        which real Jira rejects.

    Returns
    -------
    issues : `list` [`dict`]
        Matching issue records, sorted by ``ORDER BY`` (then creation time and key).

    Raises
    ------
    JqlError
        If Jira would reject the query.
    """
    if query.where is not None:
        _check(query.where, corpus, strict, allow_text_equality)
    sort_keys = [(_order_key(name, corpus), descending) for name, descending in query.order]
    issues = [i for i in corpus.issues.values() if _matches(query.where, i, corpus)]
    issues.sort(key=lambda i: (i["created"], _key_order(i["key"])))
    # Stable sorts, least significant first, give the multi-key ORDER BY.
    for key, descending in reversed(sort_keys):
        issues.sort(key=key, reverse=descending)
    return issues


def _text_needle(value: str) -> str:
    # Quotes only mark a phrase for Jira's text index and backslashes escape Lucene
    # specials, so neither is part of the text being looked for.
    return re.sub(r"\\(.)", r"\1", value.replace('"', "")).strip().lower()


def _key_order(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return project, int(number)


def _order_key(name: str, corpus: Corpus) -> Callable[[dict[str, Any]], Any]:
    canonical = _JQL_FIELDS.get(name)
    statuses = corpus.statuses
    keys: dict[str | None, Callable[[dict[str, Any]], Any]] = {
        "key": lambda i: _key_order(i["key"]),
        "created": lambda i: i["created"],
        "updated": lambda i: i["updated"],
        "summary": lambda i: i["summary"].lower(),
        "project": lambda i: i["project"],
        "status": lambda i: statuses.index(i["status"]),
        "issuetype": lambda i: i["issuetype"],
    }
    if canonical not in keys:
        raise JqlError(f"Not able to sort using field '{name}'.")
    return keys[canonical]


def _find_project(corpus: Corpus, ref: str) -> dict[str, str] | None:
    projects = corpus.projects
    return projects.get(ref.upper()) or next((p for p in projects.values() if p["id"] == ref), None)


def _check(node: Any, corpus: Corpus, strict: bool, allow_text_equality: bool) -> None:
    """Reject what Jira rejects: unknown fields, bad operators and (when strict) unknown values."""
    if isinstance(node, _And | _Or):
        for part in node.parts:
            _check(part, corpus, strict, allow_text_equality)
        return
    if isinstance(node, _Not):
        _check(node.part, corpus, strict, allow_text_equality)
        return
    clause: _Clause = node
    canonical = _JQL_FIELDS.get(clause.field)
    if canonical is None:
        raise JqlError(f"Field '{clause.field}' does not exist or you do not have permission to view it.")
    allowed = _JQL_OPERATORS[canonical]
    if allow_text_equality and canonical in ("summary", "description"):
        allowed = allowed | {"=", "!="}
    if clause.op not in allowed:
        raise JqlError(f"The operator '{clause.op}' is not supported by the '{clause.field}' field.")
    if canonical in _TEXT_FIELDS:
        if clause.values and not _text_needle(clause.values[0]):
            raise JqlError(f"The field '{clause.field}' does not support searching for an empty string.")
        return
    if strict:
        for value in clause.values:
            _check_value(canonical, clause.field, value, corpus)


def _check_value(canonical: str, field: str, value: str, corpus: Corpus) -> None:
    if canonical == "key":
        if value.isdigit():
            known = any(i["id"] == value for i in corpus.issues.values())
        elif ISSUE_KEY_RE.match(value.upper()) is None:
            raise JqlError(f"The issue key '{value}' for field '{field}' is invalid.")
        else:
            known = value.upper() in corpus.issues
        if not known:
            raise JqlError(f"An issue with key '{value}' does not exist for field '{field}'.")
    elif canonical == "project":
        if _find_project(corpus, value) is None and not any(
            p["name"].lower() == value.lower() for p in corpus.projects.values()
        ):
            raise JqlError(f"The value '{value}' does not exist for the field 'project'.")
    elif canonical in ("status", "issuetype"):
        names = corpus.statuses if canonical == "status" else corpus.issue_types
        if value.lower() not in {n.lower() for n in names}:
            raise JqlError(f"The value '{value}' does not exist for the field '{field}'.")


def _matches(node: Any, issue: dict[str, Any], corpus: Corpus) -> bool:
    if node is None:
        return True
    if isinstance(node, _And):
        return all(_matches(part, issue, corpus) for part in node.parts)
    if isinstance(node, _Or):
        return any(_matches(part, issue, corpus) for part in node.parts)
    if isinstance(node, _Not):
        return not _matches(node.part, issue, corpus)
    clause: _Clause = node
    canonical = _JQL_FIELDS[clause.field]
    negated = clause.op in ("!=", "not in", "!~", "is not")
    if canonical in _TEXT_FIELDS:
        return _text_match(canonical, clause, issue, corpus)
    if canonical == "labels":
        labels = set(issue["labels"])
        if clause.op in ("is", "is not"):
            return bool(labels) == (clause.op == "is not")
        hit = bool(labels & set(clause.values))
        # Like Jira, negative label clauses never match issues that have no labels at all.
        return bool(labels) and not hit if negated else hit
    values = {v.lower() for v in clause.values}
    if canonical == "key":
        hit = issue["key"].lower() in values or issue["id"] in values
    elif canonical == "project":
        project = corpus.projects[issue["project"]]
        hit = bool({project["key"].lower(), project["id"], project["name"].lower()} & values)
    else:
        hit = issue[canonical].lower() in values
    return not hit if negated else hit


def _text_match(canonical: str, clause: _Clause, issue: dict[str, Any], corpus: Corpus) -> bool:
    texts: list[str]
    if canonical == "text":
        texts = [issue["summary"], issue["description"] or "", *corpus.comment_bodies(issue)]
    elif canonical == "comment":
        texts = corpus.comment_bodies(issue)
    else:
        texts = [issue[canonical] or ""]
    present = any(texts)
    if clause.op in ("is", "is not"):
        return present == (clause.op == "is not")
    # Jira's index drops quotes from the stored text as well, so compare without them.
    haystack = "\n".join(texts).lower().replace('"', "")
    if clause.op in ("=", "!="):
        hit = any(t.lower() == clause.values[0].lower() for t in texts)
    else:
        hit = _text_needle(clause.values[0]) in haystack
    # Negated text clauses, as in Jira, do not match issues where the field is empty.
    return present and not hit if clause.op in ("!~", "!=") else hit
