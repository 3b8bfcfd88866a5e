"""The command line, called in-process (and once as the installed console script)."""

from __future__ import annotations

import datetime
import errno
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest

from intimacy_ssg import cache
from intimacy_ssg.cli import main
from intimacy_ssg.schema import schema_json

from .support import SITES, chdir, make_project, page, tree


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A small project of its own: site.yaml, the repo's templates and static files."""
    return make_project(
        tmp_path,
        "title: T\nbase_url: /\nauthors:\n  team:\n    name: Team\n    url: /about/\n"
        "severity:\n  dead-end: 'off'\n  orphan: 'off'\n  structured-data-recommended: 'off'\n",
        {"index.md": page("Home", "[[about]]\n"), "about.md": page("About")},
    )


def test_build_writes_the_site_and_summarises(
    capsys: pytest.CaptureFixture[str], site: Path
) -> None:
    with chdir(site):
        code, out, err = run(capsys, "build")
    assert code == 0
    assert out == ""
    assert err.startswith(f"built 2 pages into {site / 'output'} (0 errors, 0 warnings, ")
    assert (site / "output/about/index.html").exists()


def test_a_second_build_is_up_to_date_and_no_cache_rebuilds(
    capsys: pytest.CaptureFixture[str], site: Path
) -> None:
    with chdir(site), mock.patch.object(cache, "RACY_NS", 0):  # the files are seconds old
        first = run(capsys, "build")
        second = run(capsys, "build")
        third = run(capsys, "build", "--no-cache")
    assert first[0] == second[0] == third[0] == 0
    assert "; 4 rendered, " in first[2] and "; 4 rendered, " in third[2]  # every output
    assert second[2].startswith(f"{site / 'output'} is up to date: no input changed (2 pages")
    assert third[2].startswith(f"built 2 pages into {site / 'output'}")
    assert list((site / ".cache/intimacy-ssg").glob("*.state"))


def test_site_yaml_is_kept_parsed_with_the_cache_and_never_with_no_cache(
    capsys: pytest.CaptureFixture[str], site: Path
) -> None:
    """`build` keeps site.yaml's parse beside the build cache and takes it while the file
    is unchanged; `--no-cache` neither writes nor reads it."""
    memo = cache.site_yaml_memo(site / ".cache")
    with chdir(site):
        assert run(capsys, "build", "--no-cache")[0] == 0
        assert not memo.exists()
        # a kept parse for these very bytes, with another title: taken only with the cache
        cache.keep_value(memo, (site / "site.yaml").read_bytes(), {"title": "Kept"})
        assert run(capsys, "build", "--no-cache")[0] == 0
        assert "Kept" not in (site / "output/index.html").read_text()
        assert run(capsys, "build")[0] == 0
        assert "Kept" in (site / "output/index.html").read_text()


def test_each_build_loads_only_the_modules_it_needs(tmp_path: Path) -> None:
    """A new process per build, as on the command line: a no-op loads neither Jinja2 nor
    markdown-it nor PyYAML, nor the pages' model, json, tempfile or ctypes; and no build
    without a search index loads subprocess or the index's own module (only the index and
    deleting a swapped-out tree in the background use subprocess)."""
    root = make_project(
        tmp_path,
        "title: T\nbase_url: /\nsearch: false\n",
        {"index.md": page("Home", "[[about]]\n"), "about.md": page("About", "[[index]]\n")},
    )
    code = (
        "import sys\n"
        "from intimacy_ssg import cache, cli\n"
        "cache.RACY_NS = 0  # the files are seconds old\n"
        "code = cli.main(['build'])\n"
        "names = ('jinja2', 'markdown_it', 'subprocess', 'yaml', 'intimacy_ssg.model',\n"
        "         'json', 'tempfile', 'ctypes', 'intimacy_ssg.searchindex')\n"
        "loaded = [m for m in names if m in sys.modules]\n"
        "print(code, *loaded)\n"
    )

    def build() -> str:
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    built = "0 jinja2 markdown_it yaml intimacy_ssg.model json tempfile ctypes"
    assert build() == built  # the first
    assert build() == "0"  # nothing changed: not even PyYAML, for site.yaml (kept parsed)
    (root / "content/about.md").write_text(page("About", "[[index]] Edited.\n"))
    assert build() == built  # parsed here: a small site


def test_check_writes_nothing(capsys: pytest.CaptureFixture[str], site: Path) -> None:
    code, _, err = run(capsys, "check", "--project", str(site))
    assert code == 0 and err.startswith("checked 2 pages: 0 errors, 0 warnings")
    assert not (site / "output").exists()


def test_content_errors_exit_1_with_every_diagnostic(
    capsys: pytest.CaptureFixture[str], site: Path
) -> None:
    (site / "content/bad.md").write_text("---\ntitle: no\n---\n[[nope]]\n")
    with chdir(site):
        code, _, err = run(capsys, "build")
    assert code == 1
    assert err.splitlines() == [
        "content/bad.md:1:1: error[missing-field]: 'description' is required and must not be empty",
        "    hint: add 'description: ...' to the front matter",
        "content/bad.md:2:8: error[field-type]: 'title' must be a string, got a boolean",
        '    hint: quote it: "no"',
        "content/bad.md:4:1: error[broken-link]: wikilink [[nope]] matches no page",
        err.splitlines()[-1],
    ]
    assert err.splitlines()[-1].startswith(
        "failed: 3 errors, 0 warnings; the output folder was left as it was (3 pages, "
    )
    assert "Traceback" not in err
    assert not (site / "output").exists()


def test_strict_fails_on_warnings(capsys: pytest.CaptureFixture[str], site: Path) -> None:
    (site / "content/warn.md").write_text(page("W", colour="blue"))
    assert run(capsys, "check", "--project", str(site))[0] == 0
    code, _, err = run(capsys, "check", "--project", str(site), "--strict")
    assert code == 1
    assert "failed: 0 errors, 1 warning (warnings fail under --strict)" in err


def test_content_folder_outside_the_project(capsys: pytest.CaptureFixture[str], site: Path) -> None:
    code, _, err = run(
        capsys,
        "build",
        "--project",
        str(site),
        "--content",
        str(SITES / "valid-basic/content"),
        "--output",
        str(site / "elsewhere"),
    )
    assert code == 0, err
    assert (site / "elsewhere/closeness/self-disclosure/index.html").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "--project", "/nonexistent"], "error[config]: no site.yaml"),
        (["build", "--base-url", "ftp://x/"], "error[config]: base_url must be http(s)"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["build", "--unknown"], "unrecognized arguments: --unknown"),
    ],
)
def test_usage_and_config_errors_exit_2(
    capsys: pytest.CaptureFixture[str], site: Path, args: list[str], message: str
) -> None:
    with chdir(site):
        if args[0] == "frobnicate" or "--unknown" in args:
            with pytest.raises(SystemExit) as info:
                main(args)
            code, err = info.value.code, capsys.readouterr().err
        else:
            code, _, err = run(capsys, *args)
    assert code == 2
    assert message in err


def test_output_into_content_is_refused(capsys: pytest.CaptureFixture[str], site: Path) -> None:
    with chdir(site):
        code, _, err = run(capsys, "build", "--output", "content/out")
    assert code == 2
    assert "output folder content/out is inside the content folder" in err


def test_new_scaffolds_pages_and_refuses_to_overwrite(
    capsys: pytest.CaptureFixture[str], site: Path
) -> None:
    with chdir(site):
        code, out, _ = run(capsys, "new", "desire/responsive-desire")
        assert (code, out) == (0, "content/desire/responsive-desire.md\n")
        text = (site / "content/desire/responsive-desire.md").read_text()
        assert text.startswith("---\ntitle: Responsive desire\n")
        assert f"date: {datetime.date.today().isoformat()}\n" in text
        assert "author: team\n" in text and "faq: []\n" in text
        assert run(capsys, "new", "desire", "--hub")[0] == 0
        assert (site / "content/desire/index.md").read_text().startswith("---\ntitle: Desire\n")
        code, _, err = run(capsys, "new", "desire/responsive-desire")
        assert code == 2 and "already exists" in err
        code, _, err = run(capsys, "new", "Bad_Name")
        assert code == 2 and "'Bad_Name' is not a valid slug" in err
        code, _, err = run(capsys, "new", "a/b/c")
        assert code == 2
        # a scaffold fails the build only for the description the author must still write
        code, _, err = run(capsys, "check")
    assert code == 1
    assert [line.split(": ")[1] for line in err.splitlines() if "error[" in line] == [
        "error[missing-field]",
        "error[missing-field]",
    ]


def test_schema_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert (code, out) == (0, schema_json())


def test_console_script_runs_and_never_prints_a_traceback_for_bad_content(site: Path) -> None:
    (site / "content/bad.md").write_bytes(b"---\ntitle: \xff\n---\n")
    script = Path(sys.executable).parent / "intimacy-ssg"
    done = subprocess.run(
        [str(script), "check"], cwd=site, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "content/bad.md:2:8: error[encoding]: invalid UTF-8 at byte 11 (0xff)" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_command_exits_at_once_with_its_output_flushed(site: Path) -> None:
    """`python -m intimacy_ssg` ends with os._exit (cli.run): whatever it wrote to a pipe,
    both streams, must still arrive whole, and the exit code must be main()'s."""
    for n in range(40):
        (site / f"content/bad-{n:02}.md").write_text("---\ntitle: [\n---\n")
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run(
        [sys.executable, "-m", "intimacy_ssg", "check", "--format", "github"],
        cwd=site,
        capture_output=True,
        text=True,
        check=False,
        env=buffered,
    )
    assert done.returncode == 1
    found = [line for line in done.stdout.splitlines() if "title=yaml-syntax::" in line]
    assert len(found) == 40  # one print each: lost from stdout's buffer unless flushed
    assert done.stderr.rstrip().splitlines()[-1].startswith("failed: 40 errors")


class _Lines:
    """A running command's stderr, line by line, read in the background."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.code: int | None = None  # the exit code, once the command ended (see _watching)
        assert process.stderr is not None
        self.stream = process.stderr
        self.reader = threading.Thread(target=self._read, args=(self.stream,), daemon=True)
        self.reader.start()

    def close(self) -> None:
        """After the command ended: the rest of its lines, then the pipe closed."""
        self.reader.join(timeout=15)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        self.stream.close()

    def _read(self, stream: Iterable[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def wait_for(self, start: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if line.startswith(start):
                return line
        raise AssertionError(f"no line starting {start!r} in:\n{''.join(self.seen)}")


@contextmanager
def _watching(
    site: Path, stop: signal.Signals = signal.SIGINT, script: str = ""
) -> Iterator[_Lines]:
    """`intimacy-ssg build --watch` (or a Python `script`) running in `site`, its stderr
    read line by line; sent `stop` when the block ends, its lines then read to the end and
    its exit code kept in `.code`."""
    command = [sys.executable, "-m", "intimacy_ssg", "build", "--watch"]
    if script:
        command = [sys.executable, "-c", script]
    process = subprocess.Popen(command, cwd=site, stderr=subprocess.PIPE, text=True)
    lines = _Lines(process)
    try:
        yield lines
    finally:
        process.send_signal(stop)
        lines.code = process.wait(timeout=15)
        lines.close()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_build_watch_builds_again_after_every_change_until_stopped(
    site: Path, stop: signal.Signals
) -> None:
    output = site / "output/about/index.html"
    about = site / "content/about.md"
    with _watching(site, stop) as lines:
        lines.wait_for("built 2 pages")
        lines.wait_for("watching ")
        about.write_text(page("About", "A watched edit.\n"))
        lines.wait_for("built 2 pages")
        assert "A watched edit." in output.read_text()
        about.write_text("---\ntitle: [\n---\n")
        lines.wait_for("content/about.md:3:1: error[yaml-syntax]")
        lines.wait_for("failed: 1 error")
        assert "A watched edit." in output.read_text()  # the last good output, as it was
        yaml = site / "site.yaml"
        yaml.write_text(yaml.read_text().replace("title: T\n", "title: Renamed\n"))
        lines.wait_for("failed: 1 error")  # read again: the page is still broken
        about.write_text(page("About", "Fixed.\n"))
        lines.wait_for("built 2 pages")
        assert "Fixed." in output.read_text() and "Renamed" in output.read_text()
    assert lines.code == 0
    assert lines.seen[-1] == "stopped watching\n"
    assert not [line for line in lines.seen if "Traceback" in line]
    # each watched build saved the cache: a build now has nothing left to render
    again = subprocess.run(
        [sys.executable, "-m", "intimacy_ssg", "build"], cwd=site, capture_output=True, text=True
    )
    assert again.returncode == 0 and "; 0 rendered, 0 files changed" in again.stderr


def test_build_watch_confirms_its_builds_once_all_is_quiet(site: Path) -> None:
    """A watched rebuild lists only the folders the watcher named and trusts output/ to
    hold what the last build wrote. Once all is quiet, a full build checks both: here it
    finds a file removed from output/ meanwhile (where the watcher does not look), writes
    it again and says so."""
    home = site / "output/index.html"
    with _watching(site) as lines:
        lines.wait_for("watching ")
        (site / "content/about.md").write_text(page("About", "A watched edit.\n"))
        lines.wait_for("built 2 pages")
        assert "1 rendered" in lines.seen[-1]
        kept = home.read_bytes()
        home.unlink()
        lines.wait_for("note: found a change the watcher had not reported; built again")
        lines.wait_for("built 2 pages")
        assert home.read_bytes() == kept
    assert lines.code == 0
    assert not [line for line in lines.seen if "Traceback" in line]


# `build --watch` whose first watched rebuild fails for the machine's reasons (a disk that
# fills up while a file is replaced, faked), after taking a file from output/ with it; the
# quiet time before a check is made an hour, so only the check made at once after such a
# failure can mend the output within the test.
_FAILING_WATCH = """
import errno, sys
from intimacy_ssg import cli
real, failed = cli.build, []
def build(config, **options):
    if options.get("touched") is not None and not failed:
        failed.append(True)
        (config.output_dir / "index.html").unlink()
        raise OSError(errno.ENOSPC, "No space left on device", str(config.output_dir))
    return real(config, **options)
cli.build, cli.CONFIRM_AFTER = build, 3600.0
sys.exit(cli.main(["build", "--watch"]))
"""


def test_build_watch_checks_at_once_after_a_rebuild_the_machine_failed(site: Path) -> None:
    """A watched rebuild trusts output/ to hold what the last build wrote. When the machine
    fails one midway, output/ may have lost files: the check follows at once, not after
    the usual quiet second, and a full build mends output/ and says so."""
    home = site / "output/index.html"
    with _watching(site, script=_FAILING_WATCH) as lines:
        lines.wait_for("watching ")
        kept = home.read_bytes()
        (site / "content/about.md").write_text(page("About", "A watched edit.\n"))
        failed = lines.wait_for("error: could not write ")
        assert "No space left on device; the previous output was left as it was" in failed
        assert not home.exists()
        lines.wait_for("note: found a change the watcher had not reported; built again")
        lines.wait_for("built 2 pages")
        assert home.read_bytes() == kept
        assert "A watched edit." in (site / "output/about/index.html").read_text()
    assert lines.code == 0
    assert not [line for line in lines.seen if "Traceback" in line]


# `build --watch` keeping an index of the pages' words whatever the site's size, and saying
# when a build's mention search asks it which pages hold a word
_INDEXED_WATCH = """
import sys
from intimacy_ssg import cli, mentions
real = mentions.WordIndex.holding
def holding(self, words):
    print("asked the index", file=sys.stderr, flush=True)
    return real(self, words)
mentions.INDEX_MIN, mentions.WordIndex.holding = 0, holding
sys.exit(cli.main(["build", "--watch"]))
"""


def test_build_watch_keeps_an_index_of_the_pages_words_for_its_mention_search(
    site: Path,
) -> None:
    """Between its builds, `build --watch` makes an index of the pages' words in a forked
    process; a later title edit's mention search asks it rather than reading every page,
    and finds the page that mentions the new title without linking it."""
    about, home = site / "content/about.md", site / "content/index.md"
    home.write_text(page("Home", "Who we are, in brief.\n"))  # not linking it
    with _watching(site, script=_INDEXED_WATCH) as lines:
        lines.wait_for("watching ")
        for n in range(20):  # until a build finds the index made (it takes milliseconds)
            time.sleep(0.2)
            about.write_text(page(f"Who we are {n}", "Words.\n"))
            lines.wait_for("built 2 pages")
            if any(line.startswith("asked the index") for line in lines.seen):
                break
        assert any(line.startswith("asked the index") for line in lines.seen)
        about.write_text(page("Who we are", "Words.\n"))
        lines.wait_for("content/index.md:")
        assert "mentions 'Who we are' without linking it" in lines.seen[-1]
        lines.wait_for("built 2 pages")
    assert lines.code == 0
    assert not [line for line in lines.seen if "Traceback" in line]


_KEEPERS_WATCH = """
import sys
from intimacy_ssg import cli, mentions
made, close = mentions.WordKeeper.__init__, mentions.WordKeeper.close
def kept(self, *args, **kwargs):
    print(f"a word index kept: {id(self)}", file=sys.stderr, flush=True)
    made(self, *args, **kwargs)
def closed(self):
    print(f"a word index closed: {id(self)}", file=sys.stderr, flush=True)
    close(self)
mentions.WordKeeper.__init__, mentions.WordKeeper.close = kept, closed
sys.exit(cli.main(["build", "--watch"]))
"""


def test_build_watch_closes_its_word_index_when_site_yaml_changes_and_when_it_ends(
    site: Path,
) -> None:
    """Another site.yaml is another cache: the watcher closes the old one's word index
    (which may still be being made, by a forked process) before it makes the new cache,
    with a word index of its own; and closes that one when it ends."""
    with _watching(site, script=_KEEPERS_WATCH) as lines:
        lines.wait_for("watching ")
        yaml = site / "site.yaml"
        yaml.write_text(yaml.read_text().replace("title: T\n", "title: Renamed\n"))
        lines.wait_for("built 2 pages")
        assert "Renamed" in (site / "output/about/index.html").read_text()
    assert lines.code == 0
    said = [line.split(": ", 1) for line in lines.seen if line.startswith("a word index ")]
    assert [what for what, _ in said] == [
        "a word index kept",
        "a word index closed",
        "a word index kept",
        "a word index closed",
    ]
    first, second = said[0][1], said[2][1]
    assert [who for _, who in said] == [first, first, second, second]


def test_ctrl_c_during_a_watched_build_leaves_the_output_as_it_was(site: Path) -> None:
    with _watching(site) as lines:
        lines.wait_for("watching ")
        before = tree(site / "output")
        layout = site / "templates/base.html"
        slow = "{% for _ in range(10 ** 8) %}{% endfor %}</body>"  # a build of many seconds
        layout.write_text(layout.read_text().replace("</body>", slow))
        deadline = time.monotonic() + 30
        while not list(site.glob(".output.staging-*")) and time.monotonic() < deadline:
            time.sleep(0.05)  # the change is seen: the build stages its files (for seconds)
        time.sleep(0.2)
    assert lines.code == 130
    assert lines.seen[-1] == "interrupted: the previous output was left as it was\n"
    assert tree(site / "output") == before


def test_watch_does_not_take_a_report(capsys: pytest.CaptureFixture[str], site: Path) -> None:
    with chdir(site):
        code, _, err = run(capsys, "build", "--watch", "--report", "r.json")
    assert code == 2 and "--report and --watch do not go together" in err


def test_watch_says_when_the_folders_cannot_be_watched(
    capsys: pytest.CaptureFixture[str], site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from intimacy_ssg.serve import watcher

    def no_watches(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(watcher, "observe", no_watches)
    with chdir(site):
        code, _, err = run(capsys, "build", "--watch")
    assert code == 2
    assert err.splitlines()[0].startswith("built 2 pages")  # built once all the same
    assert err.splitlines()[-1] == (
        "intimacy-ssg build: cannot watch .: inotify watch limit reached "
        "(on Linux, raise fs.inotify.max_user_watches)"
    )


def test_importing_the_package_leaves_the_garbage_collector_as_it_found_it() -> None:
    """The package turns the cyclic collector off while its modules load (see __init__.py),
    then on again only if it was on."""
    code = (
        "import gc, sys\n"
        "if sys.argv[1] == 'off': gc.disable()\n"
        "import intimacy_ssg.cli\n"
        "print(gc.isenabled())\n"
    )
    for state, expected in (("on", "True"), ("off", "False")):
        done = subprocess.run(
            [sys.executable, "-c", code, state], capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == expected
