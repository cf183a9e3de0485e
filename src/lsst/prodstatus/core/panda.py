"""The PanDA monitor's reply shapes as plain data: workflow entries and times. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["PandaWorkflow", "parse_panda_time"]


def parse_panda_time(value: object) -> datetime | None:
    """Parse a PanDA monitor time (``YYYY-MM-DD HH:MM:SS`` or ``...THH:MM:SS[.ffffff]``) as UTC."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("T", " ").rstrip("Z")
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


@dataclass
class PandaWorkflow:
    """A workflow as the PanDA monitor's ``/idds/wfprogress/`` reports it."""

    request_id: int
    name: str
    status: str
    created_at: datetime | None
    total_tasks: int | None
    tasks_statuses: dict[str, int] = field(default_factory=dict)
    total_files: int | None = None
    finished_files: float | None = None
    failed_files: float | None = None
    remaining_files: int | None = None
    files_are_percent: bool = False
    """Since 2023 the monitor reports finished/failed files as percentages."""
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_reply(cls, entry: Mapping[str, Any]) -> PandaWorkflow:
        """Build from one wfprogress entry, 2022 (counts) or 2023+ (lower-case keys, percentages)."""
        lower = {str(k).lower(): v for k, v in entry.items()}
        statuses = lower.get("tasks_statuses") or {}
        percent = "finished_files" in lower and "processed_files" not in lower
        if percent:
            finished, failed = lower.get("finished_files"), lower.get("failed_files")
        else:
            finished, failed = lower.get("processed_files"), None
        return cls(
            request_id=int(lower["request_id"]),
            name=str(lower.get("r_name", "")),
            status=str(lower.get("r_status", "")),
            created_at=parse_panda_time(lower.get("created_at")),
            total_tasks=_int_or_none(lower.get("total_tasks")),
            tasks_statuses={str(k).lower(): int(v) for k, v in dict(statuses).items()},
            total_files=_int_or_none(lower.get("total_files")),
            finished_files=_float_or_none(finished),
            failed_files=_float_or_none(failed),
            remaining_files=_int_or_none(lower.get("remaining_files")),
            files_are_percent=percent,
            raw=dict(entry),
        )


def _int_or_none(value: object) -> int | None:
    try:
        return None if value is None else int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _float_or_none(value: object) -> float | None:
    try:
        return None if value is None else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
