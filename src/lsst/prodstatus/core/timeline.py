"""Running jobs over time: binning (label, start, end) spans. Pure, no I/O, no numpy.

A job counts in every bin its run overlaps, from the bin of its start to the bin of its
end: the bins reach the last end, so a long job is never cut off (the original sized the
bins by the last *start* and dropped the tail of long jobs).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .panda import parse_panda_time

__all__ = ["JobSpan", "JobTimes", "Timeline", "bin_running", "spans_from_jobs"]


@dataclass(frozen=True)
class JobSpan:
    """One job's run: ``start`` and ``end`` in seconds since the epoch (UTC)."""

    label: str
    start: float
    end: float


def spans_from_jobs(
    label: str, jobs: Iterable[Mapping[str, Any]], now: datetime | None = None
) -> tuple[list[JobSpan], int]:
    """Spans of PanDA job dicts (``starttime``, ``endtime``); return them and the jobs never started.

    A job still running (no ``endtime``) runs until ``now`` (default: the current time).
    """
    until = (now or datetime.now(UTC)).timestamp()
    spans: list[JobSpan] = []
    not_started = 0
    for job in jobs:
        start = parse_panda_time(job.get("starttime"))
        if start is None:
            not_started += 1
            continue
        end = parse_panda_time(job.get("endtime"))
        stop = end.timestamp() if end is not None else until
        spans.append(JobSpan(label, start.timestamp(), max(stop, start.timestamp())))
    return spans, not_started


@dataclass
class Timeline:
    """Number of running jobs per bin and label."""

    origin: float
    """Start of the first bin, seconds since the epoch (UTC)."""
    bin_width: float
    """Seconds per bin."""
    counts: dict[str, list[int]] = field(default_factory=dict)

    @property
    def n_bins(self) -> int:
        """Number of bins (the same for every label)."""
        return max((len(c) for c in self.counts.values()), default=0)

    @property
    def origin_time(self) -> datetime:
        """`origin` as a UTC datetime."""
        return datetime.fromtimestamp(self.origin, UTC)

    def hours(self) -> list[float]:
        """Start of each bin in hours since `origin`."""
        return [i * self.bin_width / 3600 for i in range(self.n_bins)]

    def bin_start(self, index: int) -> datetime:
        """Start of bin ``index`` as a UTC datetime."""
        return self.origin_time + timedelta(seconds=index * self.bin_width)

    def peak(self, label: str | None = None) -> int:
        """Most jobs running in one bin (of ``label``, or of any label)."""
        series = [self.counts[label]] if label is not None else list(self.counts.values())
        return max((max(c, default=0) for c in series), default=0)


def bin_running(
    spans: Sequence[JobSpan],
    bin_width: float,
    *,
    origin: float | None = None,
    start_hours: float | None = None,
    stop_hours: float | None = None,
) -> Timeline:
    """Count the jobs running in each ``bin_width``-second bin, per label.

    Parameters
    ----------
    spans : `~collections.abc.Sequence` [`JobSpan`]
        The jobs.
    bin_width : `float`
        Seconds per bin (> 0).
    origin : `float`, optional
        Time of hour 0 (default: the first start).
    start_hours, stop_hours : `float`, optional
        Window in hours since ``origin``; bins outside it are dropped.

    Returns
    -------
    timeline : `Timeline`
        Bins from ``origin`` (or ``start_hours``) to the last end (or ``stop_hours``).
    """
    if bin_width <= 0:
        raise ValueError(f"bin width must be positive, not {bin_width}")
    if not spans:
        return Timeline(origin or 0.0, bin_width, {})
    zero = origin if origin is not None else min(s.start for s in spans)
    first = zero + (start_hours or 0.0) * 3600
    last = max(s.end for s in spans)
    if stop_hours is not None:
        last = min(last, zero + stop_hours * 3600)
    # Up to the last end; a zero-length job starting on the last edge still gets its bin.
    last_start = max((s.start for s in spans if s.start <= last), default=first)
    n_bins = max(1, math.ceil((last - first) / bin_width), math.floor((last_start - first) / bin_width) + 1)
    counts: dict[str, list[int]] = {}
    for label in dict.fromkeys(s.label for s in spans):
        # A difference array: +1 at the start bin, -1 after the end bin; O(jobs + bins).
        delta = [0] * (n_bins + 1)
        for span in spans:
            if span.label != label or span.end < first or span.start > last:
                continue
            lo = max(0, math.floor((span.start - first) / bin_width))
            # A job ending exactly on a bin edge does not run in the next bin.
            hi = min(n_bins - 1, max(lo, math.ceil((span.end - first) / bin_width) - 1))
            delta[lo] += 1
            delta[hi + 1] -= 1
        running, series = 0, []
        for step in delta[:n_bins]:
            running += step
            series.append(running)
        counts[label] = series
    return Timeline(first, bin_width, counts)


def _number(value: object) -> float | None:
    try:
        return None if value is None or value == "" else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


class JobTimes:
    """A job accumulator (`~lsst.prodstatus.core.stats.JobAccumulator`) for the plots of update-stat.

    Keeps, per label, each job's run span and its wall time, CPU time and peak memory as
    plain floats — a few dozen bytes a job, and only when plots are asked for (the
    statistics themselves keep no per-job data).

    Parameters
    ----------
    now : `~datetime.datetime`, optional
        End of the jobs still running (default: the current time).
    """

    fields: Sequence[str] = ("starttime", "endtime", "durationsec", "cpuconsumptiontime", "maxrss")

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)
        self.spans: list[JobSpan] = []
        self.not_started = 0
        self.samples: dict[str, dict[str, list[float]]] = {}

    def add_task(self, task_id: int, label: str, jobs: Sequence[Mapping[str, Any]]) -> None:
        """Keep the spans and figures of one task's jobs."""
        spans, not_started = spans_from_jobs(label, jobs, self.now)
        self.spans.extend(spans)
        self.not_started += not_started
        figures = self.samples.setdefault(label, {"wall_hours": [], "cpu_hours": [], "max_rss_gib": []})
        for job in jobs:
            wall, cpu, rss = (_number(job.get(k)) for k in ("durationsec", "cpuconsumptiontime", "maxrss"))
            if wall is not None and wall > 0:
                figures["wall_hours"].append(wall / 3600)
            if cpu is not None and cpu > 0:
                figures["cpu_hours"].append(cpu / 3600)
            if rss is not None and rss > 0:
                figures["max_rss_gib"].append(rss / 2**20)  # PanDA's maxrss is in kB

    def timeline(self, max_bins: int = 400) -> Timeline:
        """Running jobs per label, in bins of a round width giving at most ``max_bins`` bins."""
        if not self.spans:
            return bin_running(self.spans, 3600.0)
        length = max(s.end for s in self.spans) - min(s.start for s in self.spans)
        width = next((w for w in _ROUND_WIDTHS if length / w <= max_bins), _ROUND_WIDTHS[-1])
        return bin_running(self.spans, width)


_ROUND_WIDTHS = (60.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 43200.0, 86400.0)
"""Bin widths tried for the timeline plot (1 min … 1 day)."""
