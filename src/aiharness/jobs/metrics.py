"""Prometheus view of jobs, read from the database and queue at scrape time.

Workers are separate processes, so in-process counters in the API would see nothing; the job
table already holds the truth (``duration_s`` makes the histogram one aggregate query).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from aiharness.db.base import utcnow
from aiharness.jobs.models import Job, Worker
from aiharness.jobs.queue import QueueHub
from aiharness.jobs.registry import JobRegistry
from aiharness.jobs.schemas import JOB_STATUSES
from aiharness.jobs.service import worker_state
from aiharness.observability.logging import get_logger

log = get_logger("aiharness.jobs.metrics")
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0)


class JobsCollector(Collector):
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        queues: QueueHub,
        registry: JobRegistry,
        heartbeat_timeout_s: float,
    ) -> None:
        self.session_factory = session_factory
        self.queues = queues
        self.registry = registry
        self.heartbeat_timeout_s = heartbeat_timeout_s

    def describe(self) -> Iterator[Metric]:
        # Describing nothing keeps registration from calling collect() (no DB at startup).
        return iter(())

    def collect(self) -> Iterator[Metric]:
        try:
            with self.session_factory() as session:
                yield from self._from_database(session)
        except Exception as exc:
            log.warning("job metrics unavailable", error=str(exc).splitlines()[0])
        yield from self._queue_depth()

    def _from_database(self, session: Session) -> Iterator[Metric]:
        jobs = GaugeMetricFamily(
            "aiharness_jobs", "Job records by type and status", labels=["type", "status"]
        )
        counts = {
            (row.type, row.status): row.n
            for row in session.execute(
                select(Job.type, Job.status, func.count().label("n")).group_by(Job.type, Job.status)
            )
        }
        types = sorted({t for t, _ in counts} | set(self.registry.names()))
        for job_type in types:
            for status in JOB_STATUSES:
                jobs.add_metric([job_type, status], counts.get((job_type, status), 0))
        yield jobs

        histogram = HistogramMetricFamily(
            "aiharness_job_duration_seconds",
            "Duration of finished job attempts by type",
            labels=["type"],
        )
        columns = [
            func.sum(case((Job.duration_s <= bound, 1), else_=0)) for bound in DURATION_BUCKETS
        ]
        query = (
            select(Job.type, func.count(), func.coalesce(func.sum(Job.duration_s), 0.0), *columns)
            .where(Job.duration_s.is_not(None), Job.status.in_(("succeeded", "failed")))
            .group_by(Job.type)
        )
        for row in session.execute(query):
            job_type, total, total_s, *cumulative = row
            buckets = [
                (str(bound), int(n or 0))
                for bound, n in zip(DURATION_BUCKETS, cumulative, strict=True)
            ]
            buckets.append(("+Inf", int(total)))
            histogram.add_metric([job_type], buckets, float(total_s))
        yield histogram

        workers = GaugeMetricFamily(
            "aiharness_workers", "Worker processes by heartbeat state", labels=["state"]
        )
        now = utcnow()
        states = {"live": 0, "dead": 0, "stopped": 0}
        for worker in session.scalars(select(Worker)):
            states[worker_state(worker, now, self.heartbeat_timeout_s)] += 1
        for state, n in states.items():
            workers.add_metric([state], n)
        yield workers

    def _queue_depth(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "aiharness_queue_depth",
            "Messages waiting in the queue (ready) or its schedule (delayed)",
            labels=["queue", "state"],
        )
        names = sorted({"default", *(t.queue for t in self.registry.all())})
        for name in names:
            try:
                queue = self.queues.get(name)
                depth.add_metric([name, "ready"], queue.pending())
                depth.add_metric([name, "scheduled"], queue.scheduled())
            except Exception as exc:
                log.warning("queue depth unavailable", queue=name, error=str(exc))
        yield depth
