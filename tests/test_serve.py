"""The live preview: a real server on a free port, real file edits in a temp project."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from watchdog.events import (
    DirCreatedEvent,
    DirModifiedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
)

from intimacy_ssg.serve import Preview
from intimacy_ssg.serve.server import resolve
from intimacy_ssg.serve.watcher import Classifier, Debouncer, observe

from .support import make_project, page

SITE = {
    "index.md": page("Home", "[[topic]] [[about]]\n"),
    "about.md": page("About", "[[index]]\n"),
    "topic/index.md": page("Topic", "[[a]]\n"),
    "topic/a.md": page("Alpha", "First version. [[topic]]\n"),
}


class Events:
    """A Server-Sent Events client on its own thread, collecting `state` payloads."""

    def __init__(self, url: str) -> None:
        self.states: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self.lock = threading.Condition()
        host, port = url.split("//")[1].rstrip("/").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.sock.sendall(b"GET /__livereload HTTP/1.1\r\nHost: x\r\n\r\n")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        try:
            while chunk := self.sock.recv(65536):
                buffer += chunk
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    for line in block.decode().splitlines():
                        if line.startswith("data: "):
                            with self.lock:
                                self.states.append(json.loads(line[6:]))
                                self.lock.notify_all()
        except OSError:
            return

    def wait_for(
        self, test: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for state in self.states:
                    if test(state):
                        return state
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching event in {self.states}")
                self.lock.wait(left)

    def close(self) -> None:
        self.sock.close()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(
        tmp_path,
        "title: T\nauthors:\n  team:\n    name: Team\n    url: /about/\n"
        "severity: {structured-data-recommended: 'off'}\n",
        SITE,
    )


@pytest.fixture
def preview(project: Path) -> Iterator[Preview]:
    running = Preview(project, port=0, out=io.StringIO())
    running.start()
    try:
        yield running
    finally:
        running.stop()


def version(events: Events) -> int:
    return int(events.wait_for(lambda s: True)["version"])


@pytest.fixture
def events(preview: Preview) -> Iterator[Events]:
    client = Events(preview.url)
    try:
        yield client
    finally:
        client.close()


def test_an_edit_reloads_and_serves_the_new_page(
    project: Path, preview: Preview, events: Events
) -> None:
    start = version(events)
    assert "First version." in get(preview.url + "topic/a/")[1]
    (project / "content/topic/a.md").write_text(page("Alpha", "Second version. [[topic]]\n"))
    events.wait_for(lambda s: s["version"] == start + 1)
    status, html = get(preview.url + "topic/a/")
    assert status == 200 and "Second version." in html
    assert preview.last is not None and preview.last.rendered == 1  # incremental: this page
    assert '<script src="/__livereload.js"></script></body>' in html
    assert "__livereload" not in (preview.site_dir / "topic/a/index.html").read_text()


def test_an_atomic_save_counts(project: Path, preview: Preview, events: Events) -> None:
    start = version(events)
    temp = project / "content/topic/.a.md.tmp1234"
    temp.write_text(page("Alpha", "Saved atomically. [[topic]]\n"))
    os.replace(temp, project / "content/topic/a.md")
    events.wait_for(lambda s: s["version"] == start + 1)
    assert "Saved atomically." in get(preview.url + "topic/a/")[1]


def test_deleted_and_renamed_pages(project: Path, preview: Preview, events: Events) -> None:
    start = version(events)
    os.rename(project / "content/about.md", project / "content/about-us.md")
    (project / "content/index.md").write_text(page("Home", "[[topic]] [[about-us]]\n"))
    events.wait_for(lambda s: s["version"] > start)
    assert get(preview.url + "about/")[0] == 404
    assert get(preview.url + "about-us/")[0] == 200


def test_a_broken_save_shows_the_errors_and_keeps_the_last_good_site(
    project: Path, preview: Preview, events: Events
) -> None:
    start = version(events)
    (project / "content/topic/a.md").write_text("---\ntitle: [broken\n---\n")
    state = events.wait_for(lambda s: bool(s["problems"]))
    problems = state["problems"]
    assert isinstance(problems, list)
    [syntax] = [p for p in problems if p["code"] == "yaml-syntax"]
    assert syntax["where"].endswith("content/topic/a.md:3:1")
    assert syntax["severity"] == "error" and syntax["message"]
    assert "First version." in get(preview.url + "topic/a/")[1]
    (project / "content/topic/a.md").write_text(page("Alpha", "Fixed. [[topic]]\n"))
    events.wait_for(lambda s: s["version"] == start + 1 and not s["problems"])
    assert "Fixed." in get(preview.url + "topic/a/")[1]


def test_a_burst_of_changes_gives_at_most_two_builds(
    project: Path, preview: Preview, events: Events
) -> None:
    version(events)
    before = preview.builds
    for i in range(200):
        (project / f"content/topic/p{i:03}.md").write_text(page(f"P{i}", "[[topic]]\n"))
    deadline = time.monotonic() + 20
    while get(preview.url + "topic/p199/")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.6)  # let any straggling event settle
    assert 1 <= preview.builds - before <= 2


def test_reading_files_and_scanning_folders_wake_nothing(
    project: Path, preview: Preview, events: Events
) -> None:
    """Every build scans the watched folders: that must not look like a change, nor cost
    the watcher any work (it is not even told)."""
    version(events)
    before = preview.builds
    seen: list[str] = []
    real = preview.debouncer.on_any_event

    def spy(event: FileSystemEvent) -> None:
        seen.append(event.event_type)
        real(event)

    preview.debouncer.on_any_event = spy  # type: ignore[method-assign]
    for path in sorted((project / "content").rglob("*")):
        if path.is_file():
            path.read_bytes()
    list((project / "templates").iterdir())
    time.sleep(0.6)
    assert seen == [] and preview.builds == before


def classifier(project: Path) -> Classifier:
    folders = (project / "content", project / "templates", project / "static")
    return Classifier(project, *folders, ignored=(project / "output",))


def test_temp_files_and_the_output_folder_are_ignored(project: Path) -> None:
    classify = classifier(project)
    assert classify.kind(str(project / "content/a.md")) == "content"
    assert classify.kind(str(project / "templates/base.html")) == "template"
    assert classify.kind(str(project / "static/css/site.css")) == "static"
    assert classify.kind(str(project / "site.yaml")) == "config"
    for ignored in (
        "content/.a.md.swp",
        "content/a.md~",
        "content/4913",
        "content/a.md___jb_tmp___",
        "content/.goutputstream-XYZ1",
        "output/index.html",
        "README.md",
    ):
        assert classify.kind(str(project / ignored)) is None, ignored


def test_the_debouncer_hands_over_every_path_seen_with_the_kinds_that_woke_it(
    project: Path,
) -> None:
    """A watcher's build lists again only the folders whose paths the debouncer hands over
    (build's `touched`): every path an event named since the last hand-over, the ignored
    ones too (a swap file changes its folder's listing), taken with the kinds at once."""
    debouncer = Debouncer(classifier(project), quiet=0.01)
    stop = threading.Event()
    swap, temp, a = (str(project / "content/topic" / n) for n in (".a.swp", "a.tmp", "a.md"))
    debouncer.on_any_event(FileCreatedEvent(swap))  # wakes nothing on its own
    assert debouncer.wait_changes(stop, until=time.monotonic() + 0.05) == (set(), frozenset({swap}))
    assert debouncer.wait_changes(stop, until=time.monotonic()) == (set(), frozenset())
    debouncer.on_any_event(FileModifiedEvent(swap))
    debouncer.on_any_event(FileMovedEvent(temp, a))  # an editor's atomic save
    assert debouncer.wait_changes(stop) == ({"content"}, frozenset({swap, temp, a}))
    yaml = str(project / "site.yaml")
    debouncer.on_any_event(FileModifiedEvent(yaml))
    assert debouncer.wait_changes(stop) == ({"config"}, frozenset({yaml}))
    assert debouncer.wait_changes(stop, until=time.monotonic()) == (set(), frozenset())  # all taken


# Each burst of events, by name (in content/topic: "a.md" a page, ".a.swp" a swap file,
# "a.tmp" a temp file, "a.md~" a backup, "" the folder), and whether it settles soon after
# its last event (`written`) rather than once all is `quiet`.
BURSTS = [
    ("a plain save: modified, then closed", [("modified", "a.md"), ("closed", "a.md")], True),
    ("modified, not yet closed", [("modified", "a.md")], False),
    (
        "an atomic save: renamed onto the page",
        [("closed", "a.tmp"), ("moved", "a.tmp", "a.md")],
        True,
    ),
    (
        "vim's save: the page renamed away, written again, closed",
        [("moved", "a.md", "a.md~"), ("created", "a.md"), ("modified", "a.md"), ("closed", "a.md")],
        True,
    ),
    ("the page renamed away, nothing yet in its place", [("moved", "a.md", "a.md~")], False),
    ("a page renamed", [("moved", "a.md", "b.md")], False),
    ("one page closed, another still open", [("closed", "a.md"), ("modified", "b.md")], False),
    ("modified again after closing", [("closed", "a.md"), ("modified", "a.md")], False),
    ("a page deleted", [("deleted", "a.md")], False),
    ("a folder made", [("dir-created", "new")], False),
    ("closed, then its folder's time", [("closed", "a.md"), ("dir-modified", "")], True),
    ("closed, then a swap file written", [("closed", "a.md"), ("modified", ".a.swp")], True),
]
EVENT: dict[str, Callable[..., FileSystemEvent]] = {
    "modified": FileModifiedEvent,
    "closed": FileClosedEvent,
    "created": FileCreatedEvent,
    "deleted": FileDeletedEvent,
    "moved": FileMovedEvent,
    "dir-created": DirCreatedEvent,
    "dir-modified": DirModifiedEvent,
}


@pytest.mark.parametrize(("burst", "events", "soon"), BURSTS, ids=[b[0] for b in BURSTS])
def test_a_burst_settles_soon_when_every_page_in_it_was_written_whole(
    project: Path, burst: str, events: list[tuple[str, ...]], soon: bool
) -> None:
    """Editors save in a burst of events; the build waits for it to settle. When the last
    event at every path that matters says the writing is done (closed after writing, or
    renamed onto), the wait is short; otherwise it is the whole quiet time."""
    now = [100.0]
    debouncer = Debouncer(classifier(project), quiet=1.0, written=0.1, clock=lambda: now[0])
    folder = project / "content/topic"
    for kind, *names in events:  # at one moment: the burst's last event is timed below
        debouncer.on_any_event(EVENT[kind](*(str(folder / name) for name in names)))
    assert debouncer.settles() == pytest.approx(now[0] + (0.1 if soon else 1.0))
    stop = threading.Event()
    now[0] = debouncer.settles()
    assert debouncer.wait_changes(stop) is not None  # due: handed over without waiting
    debouncer.on_any_event(FileModifiedEvent(str(folder / "a.md")))  # the next burst: anew
    assert debouncer.settles() == pytest.approx(now[0] + 1.0)


def test_a_burst_settles_on_no_event_later_than_the_longest_wait(project: Path) -> None:
    now = [0.0]
    debouncer = Debouncer(classifier(project), quiet=1.0, longest=2.5, clock=lambda: now[0])
    for _ in range(5):  # a writer that never stops
        debouncer.on_any_event(FileModifiedEvent(str(project / "content/a.md")))
        now[0] += 0.9
    assert debouncer.settles() == pytest.approx(2.5)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify's close events")
def test_real_saves_settle_without_the_quiet_wait(project: Path) -> None:
    """On Linux the watcher is told when a file written is closed: a save is built as soon
    as it is whole. With a quiet time of 20 s, only that hands the change over in 10 s."""
    debouncer = Debouncer(classifier(project), quiet=20.0, longest=20.0, written=0.01)
    folders = (project / "content", project / "templates", project / "static")
    observer = observe(debouncer, project, folders)
    stop = threading.Event()
    timer = threading.Timer(10, stop.set)  # if it never settles soon: asserted below
    timer.start()
    try:
        page_md = project / "content/topic/a.md"
        page_md.write_text(page("Alpha", "Saved in place. [[topic]]\n"))
        kinds, paths = debouncer.wait_changes(stop) or (None, None)
        assert kinds == {"content"} and str(page_md) in (paths or ())
        temp = project / "content/topic/.a.md.tmp"
        temp.write_text(page("Alpha", "Saved atomically. [[topic]]\n"))
        os.replace(temp, page_md)
        kinds, paths = debouncer.wait_changes(stop) or (None, None)
        assert kinds == {"content"} and str(page_md) in (paths or ())
        assert not stop.is_set()
    finally:
        timer.cancel()
        observer.stop()
        observer.join(timeout=5)


def test_a_change_the_watcher_missed_is_built_once_all_is_quiet(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild lists again only the folders the watcher named; a change it never
    reported (its queue can overflow) is found by the full build made once all is quiet,
    which builds it and says so."""
    from intimacy_ssg import cache

    monkeypatch.setattr(cache, "RACY_NS", 0)  # else a page just written is read every build
    (project / "content/other").mkdir()
    other = project / "content/other/index.md"
    other.write_text(page("Other", "First words. [[topic]]\n"))
    running = Preview(project, port=0, out=io.StringIO())
    running.start()
    try:
        missed = str((project / "content/other").resolve())
        real = running.debouncer.on_any_event

        def lossy(event: FileSystemEvent) -> None:
            if not str(event.src_path).startswith(missed):
                real(event)

        running.debouncer.on_any_event = lossy  # type: ignore[method-assign]
        other.write_text(page("Other", "Missed. [[topic]]\n"))
        (project / "content/topic/a.md").write_text(page("Alpha", "Second version. [[topic]]\n"))
        deadline = time.monotonic() + 20
        while "Second version." not in get(running.url + "topic/a/")[1]:
            assert time.monotonic() < deadline, running.out.getvalue()  # type: ignore[attr-defined]
            time.sleep(0.05)
        assert "Missed." not in get(running.url + "other/")[1]  # not seen by that build
        while "Missed." not in get(running.url + "other/")[1]:
            assert time.monotonic() < deadline, running.out.getvalue()  # type: ignore[attr-defined]
            time.sleep(0.05)
        # The build writes the page, then says so: the note may come a moment after it.
        note = "note: found a change the watcher had not reported"
        while note not in (said := running.out.getvalue()):  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, said
            time.sleep(0.05)
        time.sleep(0.3)  # anything else it would say comes with that build
        assert running.out.getvalue().count(note) == 1  # type: ignore[attr-defined]
    finally:
        running.stop()


@pytest.mark.parametrize(
    "path",
    [
        "/../site.yaml",
        "/%2e%2e/site.yaml",
        "/%2E%2E%2Fsite.yaml",
        "//etc/passwd",
        "/..%2f..%2fetc/passwd",
        "/a/%00",
        "/link/secret.txt",
        "/css/",
    ],
)
def test_traversal_is_refused(tmp_path: Path, path: str) -> None:
    root = tmp_path / "site"
    (root / "css").mkdir(parents=True)
    (root / "css/site.css").write_text("x")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "link").symlink_to(tmp_path)
    assert resolve(root, path) is None
    assert resolve(root, "/css/site.css") == (root / "css/site.css").resolve()


def test_traversal_over_the_wire_gets_404(preview: Preview) -> None:
    for raw in (b"/../site.yaml", b"/%2e%2e/%2e%2e/etc/passwd", b"/static/../../site.yaml"):
        with socket.create_connection(("127.0.0.1", preview.port), timeout=10) as sock:
            sock.sendall(b"GET " + raw + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 404"), raw
        assert b"secret" not in reply


def test_cli_serve_stops_cleanly_and_releases_the_port(project: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "intimacy_ssg", "serve", "--port", str(port)],
        cwd=project,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if line.startswith("serving"):
                break
        assert get(f"http://127.0.0.1:{port}/")[0] == 200
        busy = subprocess.run(
            [sys.executable, "-m", "intimacy_ssg", "serve", "--port", str(port)],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert busy.returncode == 2
        assert f"port {port} is already in use; try --port {port + 1}" in busy.stderr
        assert "Traceback" not in busy.stderr
    finally:
        process.send_signal(2)  # Ctrl-C
        assert process.wait(timeout=15) == 0
        assert process.stderr is not None
        process.stderr.close()
    with socket.socket() as again:  # no listener is left: a new server can bind the port
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))


def test_an_open_page_reloads_itself_after_an_edit(
    project: Path, preview: Preview, tab: Any
) -> None:
    tab.goto(preview.url + "topic/a/")
    assert "First version." in tab.content()
    tab.wait_for_function("() => window.performance !== undefined")
    time.sleep(0.3)  # the page's EventSource connects
    (project / "content/topic/a.md").write_text(page("Alpha", "Reloaded by itself. [[topic]]\n"))
    tab.wait_for_function(
        "() => document.body.innerText.includes('Reloaded by itself.')", timeout=15000
    )
    (project / "content/topic/a.md").write_text("---\ntitle: [broken\n---\n")
    tab.wait_for_selector("#intimacy-ssg-errors", timeout=15000)
    overlay = tab.inner_text("#intimacy-ssg-errors")
    assert "content/topic/a.md:3:1" in overlay and "yaml-syntax" in overlay


def test_the_preview_says_why_it_rebuilt_without_its_cache(project: Path, preview: Preview) -> None:
    """A fault met while the in-memory cache was used: the page is built again without it,
    and the terminal says so."""
    from intimacy_ssg.build import CacheFallback

    preview.observer.stop()  # this test calls rebuild() itself
    preview.observer.join(timeout=5)
    preview.cache.mentions = {page_id: 5 for page_id in preview.cache.mentions}  # type: ignore[misc]
    (project / "content/topic/a.md").write_text(page("Alpha", "Second version. [[topic]]\n"))
    with pytest.warns(CacheFallback):
        result = preview.rebuild()
    assert result is not None and not result.failed(True)
    said = preview.out.getvalue()  # type: ignore[attr-defined]
    assert "note: the build cache led to an internal error (TypeError" in said
    assert "Second version." in get(preview.url + "topic/a/")[1]


def test_the_preview_keeps_an_index_of_the_pages_words_and_drops_it_when_stopped(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preview gives its cache a WordKeeper (mentions.INDEX_MIN pages or more: none
    here), which makes an index of the pages' words after the first build; a title edit's
    mention search then asks it, and finds the page that names the new title without
    linking it. Stopping the preview drops the index."""
    from intimacy_ssg import mentions

    monkeypatch.setattr(mentions, "INDEX_MIN", 0)
    asked: list[object] = []
    real = mentions.WordIndex.holding

    def holding(self: mentions.WordIndex, words: Any) -> Any:
        asked.append(words)
        return real(self, words)

    monkeypatch.setattr(mentions.WordIndex, "holding", holding)
    (project / "content/index.md").write_text(page("Home", "Who we are. [[topic]]\n"))
    running = Preview(project, port=0, out=io.StringIO())
    running.start()
    try:
        keeper = running.cache.words
        assert isinstance(keeper, mentions.WordKeeper)
        deadline = time.monotonic() + 30
        while keeper.ready() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # made by a forked process: milliseconds
        assert keeper.index is not None
        before = running.builds
        (project / "content/about.md").write_text(page("Who we are", "[[index]]\n"))
        while running.builds == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running.last is not None and asked
        said = [d.format() for d in running.last.diagnostics]
        assert any("mentions 'Who we are' without linking it" in line for line in said)
    finally:
        running.stop()
    assert keeper.index is None and keeper.ready() is None
