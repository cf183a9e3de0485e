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

__all__ = ["JobSpan", "Timeline", "bin_running", "spans_from_jobs"]


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
