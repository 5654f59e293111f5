"""One conformance class for the JobQueue interface, run against the SQLite, Redis and PostgreSQL
storages: the enqueue/dequeue/schedule/flush behaviour the job system relies on."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from aiharness.config import ConfigError
from aiharness.jobs.queue import (
    HueyQueue,
    PostgresQueue,
    QueueHub,
    QueueUnavailable,
    RedisQueue,
    SqliteQueue,
    open_queue,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def queue(queue_url: str) -> Iterator[HueyQueue]:
    q = open_queue(queue_url, "default")
    yield q
    q.flush()
    q.close()


class TestJobQueueConformance:
    def test_empty_queue_gives_nothing(self, queue: HueyQueue) -> None:
        assert queue.pending() == 0
        assert queue.receive() is None or queue.backend != "sqlite"

    def test_dispatch_then_receive_in_order(self, queue: HueyQueue) -> None:
        for i in range(5):
            queue.dispatch(f"job{i}")
        assert queue.pending() == 5
        got = [queue.receive() for _ in range(5)]
        assert got == [f"job{i}" for i in range(5)]
        assert queue.pending() == 0

    def test_delayed_dispatch_waits_in_the_schedule(self, queue: HueyQueue) -> None:
        queue.dispatch("later", delay_s=0.6)
        queue.dispatch("now")
        assert queue.scheduled() == 1
        assert queue.promote_due() == 0  # not due yet
        assert queue.receive() == "now"
        time.sleep(0.7)
        assert queue.promote_due() == 1
        assert queue.scheduled() == 0
        assert queue.receive() == "later"

    def test_flush_empties_queue_and_schedule(self, queue: HueyQueue) -> None:
        queue.dispatch("a")
        queue.dispatch("b", delay_s=60)
        queue.flush()
        assert (queue.pending(), queue.scheduled()) == (0, 0)

    def test_named_queues_are_separate(self, queue_url: str, queue: HueyQueue) -> None:
        other = open_queue(queue_url, "gpu")
        try:
            queue.dispatch("for-default")
            other.dispatch("for-gpu")
            assert (queue.pending(), other.pending()) == (1, 1)
            assert other.receive() == "for-gpu"
            assert queue.receive() == "for-default"
        finally:
            other.flush()
            other.close()

    def test_each_message_goes_to_exactly_one_consumer(self, queue: HueyQueue) -> None:
        ids = [f"j{i}" for i in range(60)]
        for job_id in ids:
            queue.dispatch(job_id)
        received: list[str] = []
        lock = threading.Lock()

        def consume() -> None:
            while True:
                job_id = queue.receive()
                if job_id is None:
                    if queue.pending() == 0:
                        return
                    continue
                with lock:
                    received.append(job_id)

        threads = [threading.Thread(target=consume) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(received) == sorted(ids)

    def test_two_handles_share_one_storage(self, queue_url: str, queue: HueyQueue) -> None:
        """A producer (the API) and a consumer (a worker) open the queue separately."""
        producer = open_queue(queue_url, "default")
        try:
            producer.dispatch("shared")
            assert queue.receive() == "shared"
        finally:
            producer.close()

    def test_ping_describes_the_storage(self, queue: HueyQueue) -> None:
        detail = queue.ping()
        assert queue.backend in detail
        assert "0 waiting" in detail


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("sqlite:////tmp/aiharness-no-such-dir/x/queue.db", SqliteQueue),
        ("redis://127.0.0.1:1/0", RedisQueue),
        ("postgresql://postgres@127.0.0.1:1/postgres", PostgresQueue),
    ],
)
def test_unreachable_queue_is_one_clear_error(url: str, kind: type[HueyQueue]) -> None:
    queue = open_queue(url)
    assert isinstance(queue, kind)
    with pytest.raises(QueueUnavailable) as info:
        queue.dispatch("x")
    message = str(info.value)
    assert queue.describe() in message
    assert "\n" not in message


@pytest.mark.unit
@pytest.mark.parametrize(
    "url",
    ["mysql://localhost/db", "nonsense", "redis://h/0?prefix=bad-prefix!", "sqlite:///:memory:"],
)
def test_bad_queue_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="AIHARNESS_QUEUE_URL"):
        QueueHub(url)
