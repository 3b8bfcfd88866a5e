"""forked.Apart: work done by a forked process gives what the build's own process would."""

from __future__ import annotations

import os
import time

import pytest

from intimacy_ssg.forked import Apart

PARENT = os.getpid()


def squares(n: int) -> dict[int, int]:
    return {i: i * i for i in range(n)}


def dies_when_forked(n: int) -> list[int]:
    if os.getpid() != PARENT:
        os._exit(3)  # killed, crashed: the forked process sends nothing
    return [n, os.getpid()]


def fails(n: int) -> int:
    raise ValueError(f"bad {n}")


@pytest.mark.parametrize("fork", [False, True], ids=["here", "forked"])
def test_the_result_is_the_same_forked_or_not(fork: bool) -> None:
    with Apart(squares, 2000, fork=fork) as apart:
        assert apart.forked == fork
        assert apart.result() == squares(2000)  # larger than a pipe's buffer when pickled
        assert apart.result() is apart.result()  # worked out once


def test_without_an_answer_the_work_is_done_here() -> None:
    with Apart(dies_when_forked, 7) as apart:
        assert apart.forked
        assert apart.result() == [7, PARENT]


def test_without_an_answer_otherwise_is_used_when_given() -> None:
    with Apart(dies_when_forked, 7, otherwise=list) as apart:
        assert apart.result() == []


def test_a_failure_is_raised_here_as_it_would_be_without_forking() -> None:
    with Apart(fails, 2) as apart, pytest.raises(ValueError, match="bad 2"):
        apart.result()


def test_a_result_never_asked_for_leaves_no_process_behind() -> None:
    with Apart(squares, 10) as apart:
        pid = apart._pid
        assert pid != 0
    with pytest.raises(ChildProcessError):  # reaped: no zombie left
        os.waitpid(pid, os.WNOHANG)


def sleeps_then_squares(n: int) -> dict[int, int]:
    if os.getpid() != PARENT:
        time.sleep(60)  # stopped long before, in the test
    return squares(n)


def test_ready_says_whether_the_result_would_wait() -> None:
    with Apart(squares, 2000, fork=False) as here:
        assert here.ready()  # nothing to wait for: worked out here when asked
    with Apart(sleeps_then_squares, 10) as slow:
        assert slow.forked and not slow.ready()
    with Apart(squares, 2000) as apart:
        deadline = time.monotonic() + 30
        while not apart.ready():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert apart.result() == squares(2000)
        assert apart.ready()
