"""`intimacy-ssg serve`: build, serve on 127.0.0.1, rebuild and reload on every save.

The preview is built into a temporary folder with the server's own address as base_url, so
output/ is never touched by previewing. A save that breaks the build keeps the last good
site served and shows the diagnostics in the terminal and over the page; the server never
dies on content.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from watchdog.observers.api import BaseObserver

from ..build import CONFIRM_AFTER, MISSED, BuildResult, build, confirmed
from ..cache import BuildCache, touched_folders
from ..config import Config, ConfigError, load_config
from ..diagnostics import Diagnostic, plural
from ..mentions import WordKeeper
from .server import LiveState, PreviewServer, start_server
from .watcher import Classifier, Debouncer, observe

__all__ = ["Preview"]


@dataclass
class Preview:
    """A running preview: start() builds and serves, stop() tears everything down."""

    project: Path
    content: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    drafts: bool = False
    out: TextIO = field(default_factory=lambda: sys.stderr)
    builds: int = 0  # finished builds, good or bad, for tests and the terminal
    last: BuildResult | None = None  # the last build's result

    def start(self) -> None:
        self.site_dir = Path(tempfile.mkdtemp(prefix="intimacy-ssg-serve-")) / "site"
        self.state = LiveState(self.site_dir)
        self.server: PreviewServer = start_server(self.state, self.host, self.port)
        self.port = self.server.server_address[1]  # when asked for port 0
        self.cache = BuildCache()  # in memory: every rebuild is incremental
        self.cache.words = WordKeeper()  # an index of the pages' words, made between builds
        self.stopping = threading.Event()
        self.config = self._load_config()
        self.rebuild()
        project = self.project.resolve()
        content = (self.content or project / "content").resolve()
        templates, static = project / "templates", project / "static"
        self.debouncer = Debouncer(
            Classifier(
                project,
                content,
                templates,
                static,
                ignored=(self.site_dir.parent, project / "output", project / ".cache"),
            )
        )
        self.observer: BaseObserver = observe(self.debouncer, project, (content, templates, static))
        self.worker = threading.Thread(target=self._loop, name="builder", daemon=True)
        self.worker.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def _load_config(self) -> Config | None:
        try:
            config = load_config(
                self.project, content_dir=self.content, output_dir=self.site_dir, drafts=self.drafts
            )
        except ConfigError as exc:
            self._report(exc.diagnostics)
            return None
        return replace(config, base_url=self.url)

    def _report(self, problems: tuple[Diagnostic, ...]) -> None:
        self.builds += 1
        for problem in problems:
            print(problem.format(), file=self.out)
        print(
            f"build failed: {plural(len(problems), 'problem')}; serving the last good site",
            file=self.out,
        )
        self.state.published(problems)

    def rebuild(
        self, touched: frozenset[str] | None = None, confirming: bool = False
    ) -> BuildResult | None:
        """Build again. `touched`: the folders where the watcher saw changes (see
        build.build). `confirming`: first check the last such build (build.confirmed);
        build in full only if the watcher missed a change, and say so only if that build
        made, changed or found anything new (see cli._watch)."""
        if self.config is None:
            return None
        started = time.perf_counter()
        said = self.last.diagnostics if self.last is not None else ()
        if confirming and confirmed(self.config, self.cache, write=True):
            return self.last  # the watcher missed nothing
        try:
            result = build(self.config, cache=self.cache, touched=touched)
        except ConfigError as exc:
            self._report(exc.diagnostics)
            return None
        if confirming and result.adds_nothing(self.config.strict, said):
            return result
        if confirming:
            print(f"note: {MISSED}", file=self.out)
        self.last = result
        if self.cache.note:  # the cache was not used, and why
            print(f"note: {self.cache.note}", file=self.out)
            self.cache.note = ""
        if result.failed(self.config.strict):
            self._report(result.diagnostics)
            return result
        self.builds += 1
        for problem in result.diagnostics:
            print(problem.format(), file=self.out)
        seconds = time.perf_counter() - started
        print(
            f"rebuilt {plural(result.pages, 'page')} in {seconds:.2f} s"
            f" ({result.rendered} rendered, {plural(result.changed, 'file')} changed)",
            file=self.out,
        )
        self.state.published(None)
        return result

    def _loop(self) -> None:
        """Build on every change the watcher reports, listing again only the folders it
        names; once all is quiet, check the last such build (see rebuild and cli._watch)."""
        confirm_at: float | None = None
        while not self.stopping.is_set():
            changes = self.debouncer.wait_changes(self.stopping, confirm_at)
            if changes is None:
                return
            kinds, paths = changes
            confirming, confirm_at = not kinds, None
            if "config" in kinds or self.config is None:
                self.config = self._load_config()  # a new configuration resets the cache
                self.rebuild()
                continue
            config, touched = self.config, None
            if not confirming and self.cache.scans:
                roots = (config.content_dir, config.templates_dir, config.static_dir)
                touched = touched_folders(paths, roots)
            result = self.rebuild(touched, confirming)
            if touched is not None and result is not None and not result.failed(config.strict):
                confirm_at = time.monotonic() + CONFIRM_AFTER

    def stop(self) -> None:
        self.stopping.set()
        self.state.stop()
        self.server.shutdown()
        self.server.server_close()
        self.observer.stop()
        self.observer.join(timeout=5)
        self.worker.join(timeout=5)
        self.cache.close()
        shutil.rmtree(self.site_dir.parent, ignore_errors=True)
