"""State machines, the priority queue and the retry policy, without executors."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batchgui.core import (
    Batch,
    BatchStatus,
    ErrorKind,
    IllegalTransition,
    Priority,
    RetryPolicy,
    Task,
    TaskStatus,
)
from batchgui.core.queue import TaskQueue


def test_illegal_task_moves_are_refused_and_counts_stay_exact():
    task = Task(Path("/x/a.txt"), 10)
    batch = Batch("noop", [task])
    with pytest.raises(IllegalTransition, match="pending -> completed"):
        task.move_to(TaskStatus.COMPLETED)
    task.move_to(TaskStatus.RUNNING)
    task.move_to(TaskStatus.COMPLETED)
    with pytest.raises(IllegalTransition):
        task.move_to(TaskStatus.PENDING)
    assert batch.counts[TaskStatus.COMPLETED] == 1
    assert sum(batch.counts.values()) == 1


def test_illegal_batch_moves_are_refused():
    batch = Batch("noop", [])
    with pytest.raises(IllegalTransition):
        batch.move_to(BatchStatus.FINISHED)
    batch.move_to(BatchStatus.RUNNING)
    batch.move_to(BatchStatus.PAUSED)
    batch.move_to(BatchStatus.RUNNING)


def test_priority_parses_names_and_rejects_others():
    assert Priority.parse("Urgent") is Priority.URGENT
    assert Priority.LOW < Priority.NORMAL < Priority.HIGH < Priority.URGENT
    with pytest.raises(ValueError, match="unknown priority 'asap'"):
        Priority.parse("asap")


@given(
    st.lists(st.sampled_from(list(Priority)), max_size=60),
    st.lists(st.tuples(st.integers(0, 59), st.sampled_from(list(Priority))), max_size=20),
)
def test_queue_pops_highest_priority_first_and_fifo_within_a_level(levels, changes):
    queue = TaskQueue()
    tasks = [Task(Path(f"/t/{i}"), priority=p) for i, p in enumerate(levels)]
    arrival = {}
    for n, task in enumerate(tasks):
        queue.push(task)
        arrival[task.id] = n
    for k, (index, level) in enumerate(changes):
        if index < len(tasks):
            queue.reprioritise(tasks[index], level)
            arrival[tasks[index].id] = len(tasks) + k  # to the back of its new level
    popped = []
    while (task := queue.pop()) is not None:
        popped.append(task)
    assert len(popped) == len(tasks) and len(queue) == 0
    expected = sorted(tasks, key=lambda t: (-t.priority, arrival[t.id]))
    assert [t.id for t in popped] == [t.id for t in expected]


def test_queue_remove_skips_the_removed_task():
    queue = TaskQueue()
    a, b = Task(Path("/a")), Task(Path("/b"))
    queue.push(a)
    queue.push(b)
    assert queue.remove(a)
    assert not queue.remove(a)
    assert queue.pop() is b and queue.pop() is None


def test_backoff_doubles_with_jitter_below_the_cap():
    policy = RetryPolicy(max_retries=10, base_delay_s=0.5, max_delay_s=5, jitter=0.5)
    rng = random.Random(1)
    for attempts, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 5.0), (9, 5.0)]:
        delays = [policy.delay_for(attempts, rng) for _ in range(200)]
        assert max(delays) <= ceiling
        assert min(delays) >= ceiling * 0.5
        assert max(delays) - min(delays) > 0  # jittered: not all retries at once


def test_policy_never_retries_permanent_timeout_or_cancelled():
    policy = RetryPolicy(max_retries=3)
    assert policy.should_retry(1, ErrorKind.ERROR, permanent=False)
    assert policy.should_retry(3, ErrorKind.ERROR, permanent=False)
    assert not policy.should_retry(4, ErrorKind.ERROR, permanent=False)
    assert not policy.should_retry(1, ErrorKind.CORRUPT, permanent=True)
    assert not policy.should_retry(1, ErrorKind.TIMEOUT, permanent=False)
    assert not policy.should_retry(1, ErrorKind.CANCELLED, permanent=False)
