"""The threads tool calls run in: reused between calls, never shared with a call still running."""

from __future__ import annotations

import contextvars
import multiprocessing
import threading

import pytest

from orchestration.agents.tool_threads import ToolThreads


def test_consecutive_calls_reuse_one_thread_and_hand_back_values_and_errors() -> None:
    threads = ToolThreads()
    first = threads.call(threading.get_ident, 5)
    second = threads.call(threading.get_ident, 5)
    assert first.finished and second.finished
    assert first.value == second.value != threading.get_ident()

    def explode() -> None:
        raise RuntimeError("kaboom")

    failed = threads.call(explode, 5)
    assert failed.finished and isinstance(failed.error, RuntimeError)
    assert threads.call(threading.get_ident, 5).value == first.value  # still in the pool


_SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")


def test_what_a_call_sets_in_its_context_is_gone_for_the_next_call_on_that_thread() -> None:
    threads = ToolThreads()

    def set_and_read() -> tuple[int, str]:
        before = _SEEN.get()
        _SEEN.set("set by a call")
        return threading.get_ident(), before

    first = threads.call(set_and_read, 5)
    second = threads.call(set_and_read, 5)
    assert first.value[0] == second.value[0]  # the same thread
    assert first.value[1] == second.value[1] == "unset"


def test_a_timed_out_call_keeps_its_thread_and_the_next_call_gets_another() -> None:
    threads = ToolThreads()
    release = threading.Event()
    held: list[int] = []

    def stuck() -> None:
        held.append(threading.get_ident())
        release.wait(30)

    late = threads.call(stuck, 0.05)
    assert not late.finished and held
    try:
        other = threads.call(threading.get_ident, 5)
        again = threads.call(threading.get_ident, 5)
        assert other.finished and other.value == again.value != held[0]
    finally:
        release.set()


def _call_in_child(threads: ToolThreads, answers: multiprocessing.SimpleQueue[object]) -> None:
    outcome = threads.call(lambda: 42, 5)
    answers.put((outcome.finished, outcome.value))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_forked_child_starts_threads_of_its_own() -> None:
    threads = ToolThreads()
    assert threads.call(threading.get_ident, 5).finished  # the parent now has an idle thread
    context = multiprocessing.get_context("fork")
    answers: multiprocessing.SimpleQueue[object] = context.SimpleQueue()
    child = context.Process(target=_call_in_child, args=(threads, answers))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert answers.get() == (True, 42)
