"""The statistics of one workflow from PanDA and the Butler, both sides at once.

The PanDA queries start first, in a background thread, and the Butler is opened and read
meanwhile in the calling thread (``import lsst.daf.butler`` alone takes 1-1.6 s), so
the two take about as long as the slower side. PanDA's job replies are folded into a
`PandaAggregator` as they arrive, so only the replies in flight are held. When one side
fails the other is stopped, and PanDA's failure is reported first, as when the sides
ran one after the other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..core.panda import PandaWorkflow
from ..core.stats import JobAccumulator, PandaAggregator, PandaStats
from ..errors import ServiceError

if TYPE_CHECKING:
    from ..config import PandaSettings
    from .update_stat import WorkflowRef

__all__ = [
    "MSG_PANDA_STOPPED",
    "ProgressFactory",
    "gather_statistics",
]

ProgressFactory = Callable[[str, int], Callable[[int, int], None]]


def gather_statistics(
    ref: WorkflowRef,
    repo: str | None,
    *,
    panda: PandaSettings | None,
    sample: int | None = None,
    progress: ProgressFactory | None = None,
    max_workers: int = 8,
    failures: JobAccumulator | None = None,
    found: tuple[PandaWorkflow, int] | None = None,
    accumulators: Sequence[JobAccumulator] = (),
) -> tuple[PandaStats | None, Any]:
    """Return the PanDA and Butler statistics of a workflow (`None` for a side not asked for).

    Parameters
    ----------
    ref : `WorkflowRef`
        The workflow.
    repo : `str` or `None`
        Butler repository; `None`: no Butler statistics.
    panda : `~lsst.prodstatus.config.PandaSettings` or `None`
        The PanDA monitor; `None`: no PanDA statistics.
    sample, progress, max_workers
        As for ``update_workflow_stats``.
    failures : `JobAccumulator`, optional
        Fed the failed records (every attempt) of each task that has failures, queried
        after the statistics with a second, small query per such task.
    found : `tuple` [`PandaWorkflow`, `int`], optional
        The workflow's request and ``days`` window, when the caller has just read them
        (``watch`` asks for every workflow at once): no wfprogress query then.
    accumulators : `~collections.abc.Sequence` [`JobAccumulator`]
        More accumulators fed every job of the main job queries (e.g. the plots' job times).

    Raises
    ------
    InputError
        Workflow not in PanDA, Butler repo or RUN missing (exit 1).
    ServiceError
        PanDA or the Butler failed (exit 3).
    """
    panda_side: _PandaSide | None = None
    if panda is not None:
        panda_side = _PandaSide(
            ref,
            panda,
            max_workers=max_workers,
            failures=failures,
            found=found,
            accumulators=accumulators,
        )
        panda_side.start()  # before the Butler is even imported
    panda_stats: PandaStats | None = None
    butler_stats: Any = None
    try:
        if repo is not None:
            from ..services.butler import ReadsCancelledError, butler_statistics

            bar = progress("Butler metadata reads", 0) if progress else None
            try:
                butler_stats = butler_statistics(
                    repo,
                    ref.output_run,
                    sample=sample,
                    max_workers=max_workers,
                    progress=bar,
                    cancel=panda_side.failed if panda_side else None,
                )
            except ReadsCancelledError:
                assert panda_side is not None
                panda_side.wait(progress)  # raises what made PanDA fail
                raise
        if panda_side is not None:
            panda_stats = panda_side.wait(progress)
    except BaseException:
        if panda_side is not None:
            error = panda_side.stop()
            # PanDA's own failure first, as when the two sides ran one after the other.
            if error is not None:
                raise error from None
        raise
    return panda_stats, butler_stats


MSG_PANDA_STOPPED = "the PanDA queries were stopped"


class _PandaSide:
    """The PanDA statistics of a workflow, gathered in a background thread.

    The thread finds the workflow and its tasks, then streams the job queries into a
    `PandaAggregator`, so only the replies in flight are held. `failed` is set as soon as
    it fails (the Butler side then stops reading); `stop` ends it early.
    """

    PROGRESS_LABEL = "PanDA job queries"

    def __init__(
        self,
        ref: WorkflowRef,
        panda: PandaSettings,
        *,
        max_workers: int,
        failures: JobAccumulator | None = None,
        found: tuple[PandaWorkflow, int] | None = None,
        accumulators: Sequence[JobAccumulator] = (),
    ) -> None:
        self.ref = ref
        self.failures = failures
        self.found = found
        self.accumulators = tuple(accumulators)
        self.panda = panda
        self.max_workers = max_workers
        self.failed = threading.Event()
        self.abort = threading.Event()
        self.error: BaseException | None = None
        self.stats: PandaStats | None = None
        self._done = False
        self._progress: tuple[int, int] | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="panda-stats", daemon=True)
        self._client: Any = None

    def start(self) -> None:
        """Start the queries."""
        # Made in the calling thread, so that requests is imported before the Butler is,
        # not at the same time: two threads importing packages that share modules can
        # meet in a cycle of import locks, which Python breaks by failing an import.
        self._client = self.panda.client(max_workers=self.max_workers, abort=self.abort)
        self._thread.start()

    def _report(self, done: int, total: int) -> None:
        # Progress is drawn by the calling thread (in wait): two bars drawn at once from
        # two threads would garble the terminal.
        with self._changed:
            self._progress = (done, total)
            self._changed.notify_all()

    def _run(self) -> None:
        try:
            client = self._client
            try:
                workflow, days = self.found or client.find_workflow(
                    self.ref.uniq_proc_name, self.ref.timestamp, request_id=self.ref.request_id
                )
                tasks = client.tasks(workflow.request_id, self.ref.uniq_proc_name, days)
                aggregator = PandaAggregator(workflow, tasks, days, accumulators=self.accumulators)
                self._report(0, len(aggregator.task_ids))
                replies = client.iter_jobs(
                    aggregator.task_ids, days, progress=self._report, fields=aggregator.fields
                )
                self.stats = aggregator.consume(replies)
                if self.failures is not None:
                    # Only tasks that have failures, and only their failed records: a few
                    # small replies instead of every job's error fields in the big ones.
                    failed = client.iter_failed_jobs(
                        aggregator.figures.failed_task_ids(), days, fields=self.failures.fields
                    )
                    for task_id, jobs in failed:
                        self.failures.add_task(task_id, aggregator.label_of(task_id), jobs)
                        del jobs
            finally:
                client.close()
        except BaseException as exc:
            if not self.abort.is_set():  # not the echo of our own stop()
                self.error = exc
            self.failed.set()
        finally:
            with self._changed:
                self._done = True
                self._changed.notify_all()

    def wait(self, progress: ProgressFactory | None) -> PandaStats:
        """Wait for the statistics, drawing the progress of the job queries; raise what failed."""
        bar: Callable[[int, int], None] | None = None
        while True:
            with self._changed:
                if not self._done:
                    self._changed.wait(0.5)
                done, state = self._done, self._progress
            if progress is not None and state is not None and state[1] and self.error is None:
                bar = bar or progress(self.PROGRESS_LABEL, state[1])
                bar(*state)
            if done:
                break
        self._thread.join()
        if self.error is not None:
            raise self.error
        if self.stats is None:
            raise ServiceError(MSG_PANDA_STOPPED)
        return self.stats

    def stop(self, grace: float = 5.0) -> BaseException | None:
        """Stop the queries (a request in flight may take up to its timeout; the thread is a daemon).

        Returns the PanDA side's own failure, if it had failed before being stopped.
        """
        self.abort.set()
        self._thread.join(grace)
        return self.error
