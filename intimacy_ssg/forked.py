"""Apart: one function's result worked out by a forked process while the build goes on.

The build has a few steps that need nothing from the steps beside them: the stats of what
the last build wrote, while the cache loads; the mention check, while the graph and the FAQ
check run. With two cores, one of them would otherwise sit idle. A forked process sees the
build's memory as it was at the fork (nothing is copied or sent over), and sends back only
its result, pickled. If it cannot be started or sends nothing whole (it failed, or was
killed), the caller works the result out itself: the answer is the same either way, so a
failure in the forked process is met again, and reported, in the build's own.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_HEADER = 8  # the pickled result's length, then the result


class Apart(Generic[T]):
    """`work(*args)`, in a forked process when `fork` is true and the system can fork.
    Ask for the value with result(); use as a context manager: leaving it stops and reaps
    the process if its result was never asked for. `otherwise`: what result() gives when
    the forked process sends nothing (by default, work(*args) worked out here)."""

    def __init__(
        self,
        work: Callable[..., T],
        *args: Any,
        fork: bool = True,
        otherwise: Callable[[], T] | None = None,
    ) -> None:
        self._work, self._args, self._otherwise = work, args, otherwise
        self._pid, self._pipe = 0, -1
        self._done = False
        self._value: T | None = None
        if fork and hasattr(os, "fork"):
            self._start()

    @property
    def forked(self) -> bool:
        return self._pid != 0

    def _start(self) -> None:
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the forked process: the result, then out, whatever happens
            try:
                os.close(read)
                data = pickle.dumps(self._work(*self._args), pickle.HIGHEST_PROTOCOL)
                view = memoryview(len(data).to_bytes(_HEADER, "little") + data)
                while view:
                    view = view[os.write(write, view) :]
            finally:
                os._exit(0)  # never the build's own way out (no atexit, no flushing)
        os.close(write)
        self._pid, self._pipe = pid, read

    def ready(self) -> bool:
        """Whether result() would not wait for the forked process: it has begun to send (it
        sends once the work is done) or has ended; or there is none."""
        if self._done or not self._pid:
            return True
        readable, _, _ = select.select([self._pipe], [], [], 0)
        return bool(readable)

    def result(self) -> T:
        if not self._done:
            forked = bool(self._pid)
            sent = self._collect() if forked else None
            if sent is not None:
                self._value = sent[0]
            elif forked and self._otherwise is not None:
                self._value = self._otherwise()
            else:
                self._value = self._work(*self._args)
            self._done = True
        return self._value  # type: ignore[return-value]

    def _collect(self) -> tuple[T] | None:
        """What the forked process sent, or None if it sent nothing whole. Plain pickle: the
        bytes come from this build's own forked process, over a pipe, never from a file."""
        try:
            with open(self._pipe, "rb") as pipe:
                data = pipe.read()
        except OSError:
            return None
        finally:
            self._pipe = -1
            self._reap()
        size = int.from_bytes(data[:_HEADER], "little")
        if len(data) < _HEADER or len(data) != _HEADER + size:
            return None
        return (pickle.loads(data[_HEADER:]),)

    def _reap(self) -> None:
        if self._pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = 0

    def close(self) -> None:
        if self._pipe >= 0:  # never asked for: the process is not needed any more
            os.close(self._pipe)
            self._pipe = -1
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
        self._reap()

    def __enter__(self) -> Apart[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
