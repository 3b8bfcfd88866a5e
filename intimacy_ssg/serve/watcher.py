"""File events -> kinds of change, debounced into as few builds as possible.

watchdog reports an editor's atomic save (write a temp file, rename it over the page) as
`moved(temp -> page)` with no `modified` event for the page, so moves count by their
destination (and their source, which disappeared). Editors' temp and swap files, hidden
files and anything under output/ or a cache are ignored.

A burst of events settles once none has come for a while (`quiet`), or sooner
(`written`) when the last event at every path that matters says its writing is done: the
file was closed after writing (Linux's inotify says so) or another was renamed onto it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

IGNORED = re.compile(
    r"(^|/)\.[^/]*$|~$|\.sw[a-p]$|(^|/)4913$|___jb_(tmp|old)___$|(^|/)\.goutputstream-|"
    r"(^|/)#[^/]*#$|\.tmp$"
)
KINDS = ("config", "template", "content", "static")

# The events that can change the site. Not opening or reading a file: every build scans the
# watched folders, and on Linux each directory it opens would wake the watcher (at 10,000
# pages, thousands of events per build competing with it).
EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]


class Classifier:
    """Which kind of change a path is, or None when it does not matter."""

    def __init__(
        self, project: Path, content: Path, templates: Path, static: Path, ignored: tuple[Path, ...]
    ) -> None:
        self.site_yaml = project / "site.yaml"
        self.roots = (("template", templates), ("content", content), ("static", static))
        self.ignored = ignored

    def kind(self, raw: str) -> str | None:
        path = Path(raw)
        if IGNORED.search(path.as_posix()):
            return None
        if any(path.is_relative_to(i) for i in self.ignored):
            return None
        if path == self.site_yaml:
            return "config"
        for kind, root in self.roots:
            if path.is_relative_to(root):
                return kind
        return None


class Debouncer(FileSystemEventHandler):
    """Collects the kinds of change seen, and the paths they were seen at;
    `wait_changes()` returns both once events settle. Paths are kept for every
    event, the ignored ones too (a swap file still changes its folder's listing), but only
    a change that matters wakes a waiter."""

    def __init__(
        self,
        classify: Classifier,
        quiet: float = 0.12,
        longest: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        written: float = 0.03,
    ) -> None:
        self.classify = classify
        self.quiet, self.longest, self.clock = quiet, longest, clock
        self.written = written
        self.lock = threading.Condition()
        self.pending: set[str] = set()
        self.paths: set[str] = set()
        self.writing: set[str] = set()  # paths that matter whose last event left them open
        self.first = self.last = 0.0

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [str(event.src_path)]
        if getattr(event, "dest_path", ""):
            paths.append(str(event.dest_path))
        if event.is_directory and event.event_type == "modified":
            self.notify(set(), paths)  # a directory's mtime changing says nothing its files do not
            return
        # a file closed after writing, or renamed onto (an atomic save), is written whole; a
        # path renamed away is not done with (an editor may write it again at once)
        done = not event.is_directory and event.event_type in ("closed", "moved")
        kinds: set[str] = set()
        written: list[str] = []
        writing: list[str] = []
        for n, path in enumerate(paths):
            if kind := self.classify.kind(path):
                kinds.add(kind)
                (written if done and n == len(paths) - 1 else writing).append(path)
        self.notify(kinds, paths, written, writing)

    def notify(
        self,
        kinds: set[str],
        paths: Iterable[str] = (),
        written: Iterable[str] = (),
        writing: Iterable[str] = (),
    ) -> None:
        """Record an event: the `kinds` of change it makes, every path it names, and of
        the paths that matter, those it says are `written` whole and those it leaves
        `writing` (a path named in neither keeps its state)."""
        with self.lock:
            self.paths.update(paths)
            if not kinds:
                return
            self.writing.difference_update(written)
            self.writing.update(writing)
            now = self.clock()
            if not self.pending:
                self.first = now
            self.pending |= kinds
            self.last = now
            self.lock.notify_all()

    def settles(self) -> float:
        """When the pending burst settles, by `clock` (with the lock held, something
        pending): `written` after its last event when every path that matters was last
        said to be written whole, `quiet` after it otherwise; `longest` after its first
        event at the latest."""
        wait = self.quiet if self.writing else self.written
        return min(self.last + wait, self.first + self.longest)

    def wait_changes(
        self, stop: threading.Event, until: float | None = None
    ) -> tuple[set[str], frozenset[str]] | None:
        """Block until a burst of events has settled: its kinds, and every path seen since
        the last call (taken together: none is left behind for the next); None when asked
        to stop. With `until` (a time by `clock`): no kinds and the paths once it has
        passed with nothing pending."""
        with self.lock:
            while not stop.is_set():
                now = self.clock()
                if self.pending:
                    settles = self.settles()
                    if now >= settles:
                        kinds, self.pending = self.pending, set()
                        self.writing.clear()
                        paths, self.paths = frozenset(self.paths), set()
                        return kinds, paths
                    self.lock.wait(settles - now)  # woken early by each new event
                elif until is not None and now >= until:
                    paths, self.paths = frozenset(self.paths), set()
                    return set(), paths
                else:
                    wait = 0.2 if until is None else min(0.2, until - now)
                    self.lock.wait(wait)
        return None


def observe(
    handler: FileSystemEventHandler, project: Path, folders: tuple[Path, ...]
) -> BaseObserver:
    """Start watching the project folder itself (for site.yaml) and, recursively, each of
    `folders` that exists; stop() and join() the returned observer when done."""
    observer = Observer()
    observer.schedule(handler, str(project), recursive=False, event_filter=EVENTS)
    for folder in folders:
        if folder.is_dir():
            observer.schedule(handler, str(folder), recursive=True, event_filter=EVENTS)
    observer.start()
    return observer
