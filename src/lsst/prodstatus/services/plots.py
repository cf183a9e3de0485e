"""Figures as PNG bytes (matplotlib, Agg backend, imported when a figure is drawn).

* `running_jobs_png`: running jobs over time, one line per label, from a
  `~lsst.prodstatus.core.timeline.Timeline`;
* `distributions_png`: per-label distributions (box plots) of wall time, CPU time and
  peak memory.

Every figure has labelled axes, a title and says its times are UTC. Nothing here reads
or writes files: callers save or attach the bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.timeline import Timeline

__all__ = ["DISTRIBUTION_METRICS", "bars_png", "distributions_png", "running_jobs_png"]

_COLOURS = {"green": "#1a7f37", "red": "#cf222e", "blue": "#0969da", "black": "#57606a"}

DISTRIBUTION_METRICS: tuple[tuple[str, str], ...] = (
    ("wall_hours", "Wall time per job (h)"),
    ("cpu_hours", "CPU time per job (h)"),
    ("max_rss_gib", "Peak memory per job (GiB)"),
)
"""(key, axis label) of the metrics `distributions_png` draws, in order."""


def _pyplot() -> Any:
    import matplotlib

    # No display: files only (also under a test runner or on a batch node).
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _mpl_at_least(major: int, minor: int) -> bool:
    import matplotlib

    found = tuple(int(p) for p in matplotlib.__version__.split(".")[:2] if p.isdigit())
    return found >= (major, minor)


def _png(fig: Any) -> bytes:
    out = io.BytesIO()
    # No timestamps in the PNG metadata: the same data gives the same bytes (attachments
    # are uploaded only when their bytes change).
    fig.savefig(out, format="png", dpi=100, metadata={"Software": None})
    _pyplot().close(fig)
    return out.getvalue()


def running_jobs_png(timeline: Timeline, title: str, *, labels: Sequence[str] | None = None) -> bytes:
    """Running jobs per bin over time, one step line per label (all of them, or ``labels``).

    The x axis is hours since the timeline's origin, whose UTC date and time the axis
    label gives.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 5), layout="constrained")
    hours = timeline.hours()
    chosen = list(labels) if labels is not None else list(timeline.counts)
    colours = plt.get_cmap("tab10")
    for n, label in enumerate(chosen):
        series = timeline.counts.get(label, [])
        if not series:
            continue
        # The last bin's right edge, so the final step is drawn.
        xs = [*hours[: len(series)], len(series) * timeline.bin_width / 3600]
        ax.step(xs, [*series, series[-1]], where="post", label=label, color=colours(n % 10), linewidth=1.5)
    peak = timeline.peak()
    ax.set_ylim(0, max(1.0, 1.2 * (peak + 1)))
    ax.set_xlim(left=0)
    origin = timeline.origin_time.strftime("%Y-%m-%d %H:%M:%S")
    ax.set_xlabel(f"Hours since first job start at {origin} UTC (bins of {timeline.bin_width:g} s)")
    ax.set_ylabel("Number of running jobs")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if chosen:
        ax.legend(loc="upper right", fontsize="small", ncols=1 + len(chosen) // 12)
    return _png(fig)


def distributions_png(samples: Mapping[str, Mapping[str, Sequence[float]]], title: str) -> bytes:
    """Box plots per label of each metric of `DISTRIBUTION_METRICS`.

    Parameters
    ----------
    samples : `~collections.abc.Mapping`
        ``{label: {metric key: values}}``; a metric missing for a label is left blank.
    title : `str`
        Figure title.
    """
    plt = _pyplot()
    labels = list(samples)
    height = max(3.0, 0.35 * len(labels) + 1.5)
    fig, axes = plt.subplots(
        1, len(DISTRIBUTION_METRICS), figsize=(15, height), layout="constrained", sharey=True
    )
    for ax, (key, axis_label) in zip(axes, DISTRIBUTION_METRICS, strict=True):
        data = [list(samples[label].get(key, [])) or [float("nan")] for label in labels]
        # "orientation" replaced "vert" in matplotlib 3.10.
        horizontal = {"orientation": "horizontal"} if _mpl_at_least(3, 10) else {"vert": False}
        ax.boxplot(data, showfliers=True, flierprops={"markersize": 2}, **horizontal)
        ax.set_yticks(range(1, len(labels) + 1), labels, fontsize="small")
        ax.set_xlabel(axis_label)
        ax.grid(True, axis="x", alpha=0.3)
    axes[0].set_ylabel("Label")
    fig.suptitle(title)
    return _png(fig)


def bars_png(
    names: Sequence[str], values: Sequence[float], colours: Sequence[str], *, title: str, xlabel: str
) -> bytes:
    """Horizontal bars, one per name, coloured by the original tool's colour names (green, red, blue, black)."""
    plt = _pyplot()
    height = max(2.5, 0.32 * len(names) + 1.4)
    fig, ax = plt.subplots(figsize=(10, height), layout="constrained")
    positions = list(range(len(names)))[::-1]
    ax.barh(positions, values, color=[_COLOURS.get(c, c) for c in colours])
    ax.set_yticks(positions, [n if len(n) <= 48 else n[:47] + "…" for n in names], fontsize="small")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    return _png(fig)
