"""Run a command and measure it: wall-clock seconds and the peak RSS of that very process.

os.wait4 returns the child's own resource usage; its ru_maxrss is the largest resident set
of the child or of any process it waited for (our parse workers, for instance), i.e. the
"largest process" figure. getrusage(RUSAGE_CHILDREN) would instead give the largest of every
child this benchmark ever ran.

With `tree=True`, a thread also samples (every 50 ms, from /proc) the proportional set size
of the process and all its descendants together: "all processes together", with memory
shared between a parent and its forked workers counted once. Sampling costs CPU, so it is
done on a run of its own, never on a timed one.

With `timeout`, a process still running after that many seconds is killed, and the result
says so (`timed_out`): a tool that hangs fails the benchmark instead of stalling it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_kb: int
    returncode: int
    stdout: str
    stderr: str
    tree_peak_kb: int = 0  # with tree=True: the largest PSS of the process tree, summed
    timed_out: bool = False  # killed after `timeout` seconds (see run_measured)


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(child) for child in task.read_text().split()]
    return found


def _pss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def _sample_tree(pid: int, done: threading.Event, peak: list[int]) -> None:
    while not done.wait(0.05):
        peak[0] = max(peak[0], sum(_pss_kb(p) for p in _descendants(pid)))


def run_measured(
    argv: list[str],
    tree: bool = False,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Measured:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=cwd)
        done, peak = threading.Event(), [0]
        sampler = threading.Thread(target=_sample_tree, args=(process.pid, done, peak))
        if tree:  # never on a timed run: sampling costs CPU
            sampler.start()
        expired, ended, lock = threading.Event(), [False], threading.Lock()

        def expire() -> None:
            with lock:
                if not ended[0]:  # not yet reaped, so the pid is still this process's
                    expired.set()
                    os.kill(process.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, expire) if timeout is not None else None
        if timer is not None:
            timer.start()
        # Waited for without reaping first (the pid stays this process's while the timer
        # may still fire), then reaped with its resource usage.
        os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
        with lock:
            ended[0] = True
        if timer is not None:
            timer.cancel()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        if tree:
            sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            seconds,
            usage.ru_maxrss,
            process.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            peak[0],
            expired.is_set(),
        )


SET_ASIDE = "set-aside"  # the folder, beside a run's trees, where set_aside() moves them


def set_aside(path: Path) -> None:
    """Clear `path` (a build's output or cache folder) before a cold build by moving it
    into a SET_ASIDE folder beside it, not by deleting it: the folder is deleted with the
    benchmark's work folder, after every timing. On this project's machines (ext4 mounted
    with online discard, on a virtual disk), making files is several times slower for
    many seconds after thousands were deleted, so a cold build timed after a deletion
    times the deletion too, and most for whichever build writes soonest (Hugo's
    10,000-page builds took 9.4-11.6 s after deleting the last one's output, and 6.6-8.7 s
    with it set aside; our render, 6.7-9.8 s and 5.0-6.9 s)."""
    if not path.exists():
        return
    aside = path.parent / SET_ASIDE
    aside.mkdir(exist_ok=True)
    path.rename(aside / f"{sum(1 for _ in aside.iterdir())}-{path.name}")


class Watcher:
    """A command that runs until closed (`intimacy-ssg build --watch`), its standard error
    read line by line by a thread of its own: said() waits for a line, and a command
    silent for `patience` seconds fails the run rather than hangs it. `name` is how
    failures name it."""

    def __init__(
        self,
        argv: list[str],
        name: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        patience: float = 300.0,
    ) -> None:
        self.name, self.patience = name, patience
        self.process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)
        self.lines.put(None)  # it has ended

    def said(self, start: str) -> str:
        """Its next line starting with `start`, once it says it; a line starting with
        "failed" (a build that failed) ends the run."""
        deadline = time.monotonic() + self.patience
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise SystemExit(f"{self.name} said no {start!r} in {self.patience:g} s") from None
            if line is None:
                raise SystemExit(f"{self.name} ended before saying {start!r}")
            if line.startswith(start):
                return line
            if line.startswith("failed"):
                raise SystemExit(f"{self.name} failed: {line}")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.reader.join(timeout=30)  # it reads to the end of what the command said
        if self.process.stderr is not None:
            self.process.stderr.close()


@dataclass
class Rival:
    """Another generator building the corpus (bench/hugo.py, bench/eleventy.py), ready to
    be timed: `build` runs one cold build and returns its seconds and peak RSS (KB, or
    None); `pages` counts the HTML files the last build wrote. `make bench`'s runs take turns
    with ours (see bench/run.py), so that a machine whose file system slows down over a
    benchmark's minutes (seen here: Hugo's build from 5 s to 12 s within ten minutes, most
    of it system time creating files) does not favour whichever runs first."""

    version: str
    build: Callable[[], tuple[float, int | None]]
    pages: Callable[[], int]
    times: list[float] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)

    def run(self) -> None:
        seconds, peak = self.build()
        self.times.append(seconds)
        if peak is not None:
            self.peaks.append(peak)

    def result(self) -> dict[str, Any]:
        """`version`, `cold_s` (the median of the runs), `runs_s` (each run's, in order),
        `peak_rss_mb` (the largest) and `pages`."""
        if not self.times:
            raise ValueError("no run was timed")
        return {
            "version": self.version,
            "cold_s": round(statistics.median(self.times), 3),
            "runs_s": [round(t, 3) for t in self.times],
            "peak_rss_mb": round(max(self.peaks) / 1024, 1) if self.peaks else None,
            "pages": self.pages(),
        }


def time_rival(make: Callable[[], Rival | None], runs: int) -> dict[str, Any] | None:
    """Make a rival (None when it is not installed) and time `runs` cold builds of it:
    Rival.result(), or None."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    rival = make()
    if rival is None:
        return None
    for _ in range(runs):
        rival.run()
    return rival.result()


def rival_main(
    description: str, name: str, make: Callable[[Path, Path], Rival | None], missing: str
) -> None:
    """A rival's own command (`python -m bench.hugo`, ...): a fresh corpus of --pages
    pages built --runs times by `make(content, work)`'s rival; `missing` is the error
    when it is not installed."""
    import argparse

    from .corpus import write_corpus

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix=f"intimacy-ssg-{name}-") as tmp:
        content = Path(tmp) / "content"
        count = write_corpus(content, args.pages)
        result = time_rival(lambda: make(content, Path(tmp)), args.runs)
    if result is None:
        raise SystemExit(missing)
    print(f"{count} corpus pages: {result}")
