"""Click parameter types of prodstat: values checked (and normalised) once, at the command line."""

from __future__ import annotations

from typing import Any

import click

__all__ = [
    "BANDS",
    "IssueKeyType",
    "TimestampType",
    "WorkflowIssueType",
    "issue_key_type",
    "timestamp_type",
    "workflow_issue_type",
]

BANDS = ("all", "f", "u", "g", "r", "i", "z", "y")
"""make-prod-groups' BAND values: all (or f, full) or one LSST filter band."""


class IssueKeyType(click.ParamType):
    """An issue key (``DRP-486``), checked and upper-cased.

    A malformed key is a data problem, so it exits 1 (bad input) like an unknown key,
    not click's usage code 2.
    """

    name = "KEY"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from ...core.ids import check_issue_key

        return check_issue_key(str(value))


class TimestampType(click.ParamType):
    """A bps run timestamp (``20220728T192631Z``), checked and upper-cased."""

    name = "TIMESTAMP"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from ...core.ids import check_timestamp

        return check_timestamp(str(value))


class WorkflowIssueType(click.ParamType):
    """update-issue's DRP_ISSUE: ``DRP0`` (or ``0``) for a new issue, or an issue key, upper-cased."""

    name = "DRP_ISSUE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from ...script.update_issue import explicit_key

        return explicit_key(str(value)) or "DRP0"


issue_key_type = IssueKeyType()
workflow_issue_type = WorkflowIssueType()
timestamp_type = TimestampType()
