"""The only stage that writes: OutputWriter stages files, then commits them all or nothing.

Files are rendered straight into a staging folder beside output/ (so the site's HTML is
never all in memory), and only the files whose bytes changed since the last build are
staged at all: unchanged files are not rewritten, so their mtimes stay. Then commit():

- A **full** commit (the first build, `--no-cache`, a changed configuration, a search
  index to rebuild) stages the complete tree, hard-linking unchanged files from the current
  output, and swaps it in with Linux's atomic renameat2(RENAME_EXCHANGE) (elsewhere, two
  renames). Stale files cannot survive: the tree is new. The old tree, which the swap
  leaves beside output/, is deleted before the build ends; a large one (BACKGROUND_MIN
  outputs or more: seconds of work at 10,000 pages) is renamed `.output.old-*` and
  deleted by a separate process, so the build does not wait for it.
- An **incremental** commit (a cached rebuild) moves the staged files into output/ one
  atomic rename each and deletes the files this build no longer makes. It first writes a
  journal of those steps; a build killed part-way through leaves the journal, and the next
  build (or recover()) completes it before doing anything else. The staging folder those
  moves empty is deleted like an old tree (by a separate process from BACKGROUND_MIN
  moves). A cached rebuild that stages more than half the site (WHOLE_MIN files or more: a
  template edited, say) commits whole instead: it has fewer files to link than to move.

A failure or Ctrl-C before commit removes the staging folder and leaves output/ as it was.
output/ carries a marker file; a non-empty folder without it is refused rather than replaced,
so a mistyped --output can never wipe someone's documents.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from . import pickling
from .config import ConfigError
from .diagnostics import Diagnostic, Location, Severity, display_path
from .forked import Apart

if TYPE_CHECKING:
    import subprocess  # imported where used: a rebuild that writes in place never is

    from .model import OutputFacts, OutputFile, StaticFile, WriteReport

MARKER = ".intimacy-ssg-output"
BACKGROUND_MIN = 1000  # outputs from which an old tree is deleted in the background
WHOLE_MIN = 100  # files staged from which a commit swaps in a whole new tree, when they
# are more than the files kept (see commit())
MARKER_TEXT = b"Built by intimacy-ssg; replaced on every build.\n"


# What a build left at one path of output/: its bytes' digest, then how to recognise the
# very same file later (a changed size, mtime or inode means someone else touched it):
# (digest, size, mtime_ns, inode). A plain tuple: every build's state file holds one per
# output (11,700 at 10,000 pages), and a tuple loads and saves at twice a class's speed.
FileState = tuple[bytes, int, int, int]


def file_state(digest: bytes, st: os.stat_result) -> FileState:
    return (digest, st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass(frozen=True, slots=True)
class Staged:
    """An output a forked render process staged itself (see OutputWriter.stage_apart): its
    bytes' digest and the staged file's state, or None when output/ already held it (or
    nothing is being written); and, for a build report, its facts."""

    digest: bytes
    state: FileState | None = None
    facts: OutputFacts | None = None  # made there too, for a build report (Sink.facts)


Manifest = dict[str, FileState]  # output-relative path -> what was written there


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def check_output_dir(output_dir: Path) -> None:
    """Refuse to replace anything that is not a previous build."""
    problem = ""
    if output_dir.exists() and not output_dir.is_dir():
        problem = "is not a folder"
    elif output_dir.is_symlink():
        problem = "is a symbolic link"
    elif output_dir.is_dir() and any(output_dir.iterdir()) and not (output_dir / MARKER).exists():
        problem = "exists and was not made by intimacy-ssg"
    if problem:
        shown = display_path(output_dir)
        raise ConfigError(
            (
                Diagnostic(
                    "config",
                    f"output folder {shown} {problem}",
                    Location(shown),
                    Severity.ERROR,
                    "every build replaces the output folder: remove it or pass --output DIR",
                ),
            )
        )


class OutputWriter:
    """Use as a context manager: it holds the output lock from entry to exit, and anything
    not committed by then is thrown away.

    `previous` is the manifest of the last build into this folder (from the build cache);
    entries that no longer match the files on disk are forgotten, so a file someone edited
    by hand is rewritten. `incremental=False` forces a full commit."""

    def __init__(
        self,
        output_dir: Path,
        previous: Manifest | None = None,
        *,
        incremental: bool = True,
        lock: IO[str] | None = None,
        check: OutputCheck | None = None,
    ) -> None:
        """`lock`: the output lock, when the caller holds it already (see output_lock());
        `check`: the verification of `previous`, when the caller started it already."""
        self.output_dir = output_dir
        self.parent = output_dir.parent
        self.previous = previous
        self.incremental = incremental
        self._held = lock
        self._check = check
        self.manifest: Manifest = {}  # what output/ will hold after commit
        self.staged: list[str] = []
        self._lock: IO[str] | None = None
        self.staging = self.parent / f".{output_dir.name}.staging-{os.getpid()}"
        self.swapped = False  # staging holds the old tree: see commit()

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> OutputWriter:
        check_output_dir(self.output_dir)
        self.parent.mkdir(parents=True, exist_ok=True)
        if self._held is None:
            self._lock = _take_lock(_lock_path(self.output_dir), self.output_dir)
        try:
            if recover(self.output_dir):
                self.previous = None  # a build was interrupted: trust nothing about output/
            for stale in self.parent.glob(f".{self.output_dir.name}.staging-*"):
                shutil.rmtree(stale, ignore_errors=True)  # left by a build that was killed
            if any(self.parent.glob(f".{self.output_dir.name}.old-*")):
                delete_apart(None, self.output_dir)  # old trees a deleting process left
            self.trusted = _trusted(self.output_dir, self.previous, self._check)
            if not self.trusted or not (self.output_dir / MARKER).exists():
                self.incremental = False
            self.staging.mkdir()
            self.root = self.staging.resolve()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if _journal(self.output_dir).exists():
                pass  # recover() needs the staged files
            elif (len(self.manifest) if self.swapped else len(self.staged)) >= BACKGROUND_MIN:
                # the old tree after a swap, or the folders left by the files moved out
                delete_apart(self.staging, self.output_dir)
            else:
                shutil.rmtree(self.staging, ignore_errors=True)
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- staging -----------------------------------------------------------------------------

    def unchanged(self, rel: str, known: bytes) -> bool:
        """Does output/ already hold exactly the bytes with digest `known` at `rel`? If so the
        file is kept as it is (the caller need not even produce the bytes)."""
        state = self.trusted.get(rel)
        if state is None or state[0] != known:
            return False
        self.manifest[rel] = state
        return True

    def stage_apart(self, rel: str, data: bytes, known: bytes = b"") -> Staged:
        """The first half of put(), which a forked render process does alone: the file is
        staged (unless output/ holds it), and what must be recorded comes back as a Staged,
        for adopt() in the build's own process. `known`: the bytes' digest, if computed."""
        known = known or digest(data)
        state = self.trusted.get(rel)
        if state is not None and state[0] == known:
            return Staged(known, None)  # output/ holds it already: nothing to write
        target = self._target(rel)
        target.write_bytes(data)
        st = os.stat(target)
        return Staged(known, file_state(known, st))

    def adopt(self, rel: str, staged: Staged) -> None:
        """The second half of put(): record an output staged by stage_apart()."""
        if staged.state is None:
            if not self.unchanged(rel, staged.digest):
                raise AssertionError(f"{rel} was neither staged nor held by output/")
            return
        self.manifest[rel] = staged.state
        self.staged.append(rel)

    def put(self, rel: str, data: bytes, known: bytes = b"") -> None:
        """Stage `data` unless output/ already holds it (`known`: its digest, if computed)."""
        self.adopt(rel, self.stage_apart(rel, data, known))

    def put_file(self, rel: str, source: Path) -> None:
        """A static file: copied when its bytes differ from what output/ holds."""
        self.put(rel, source.read_bytes())

    def _target(self, rel: str) -> Path:
        target = _inside_staging(self.root, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    # -- commit ------------------------------------------------------------------------------

    @property
    def changes(self) -> int:
        """Files this commit writes or deletes."""
        return len(self.staged) + len(self.trusted.keys() - self.manifest.keys())

    def commit(self, search: bool = False) -> WriteReport:
        if self.incremental and search and self.changes:
            self.incremental = False  # the search index covers every page: rebuild it whole
        staged = len(self.staged)
        if self.incremental and staged >= WHOLE_MIN and 2 * staged > len(self.manifest):
            # Most of the site changed (a template edited, say). Moving each file over its
            # old version takes a rename (0.25-0.7 ms each on ext4 at 10,000 pages), and
            # the staging folder's emptied tree must be deleted after; a whole commit only
            # links the fewer unchanged files (about as costly each) and swaps the tree in.
            self.incremental = False
        if self.incremental:
            if self.changes:
                self._commit_in_place()
            indexed = "indexed" if search else "off"
        else:
            indexed = self._commit_whole(search)
        from .model import WriteReport  # here: a no-op build never loads the model

        return WriteReport(written=len(self.staged), copied=0, search=indexed)

    def _commit_whole(self, search: bool) -> str:
        staged = set(self.staged)
        for rel, state in self.manifest.items():
            if rel not in staged:  # unchanged: the same file, linked (its mtime stays)
                target = self._target(rel)
                try:
                    os.link(self.output_dir / rel, target)
                except OSError:
                    shutil.copy2(self.output_dir / rel, target)
                    st = target.stat()
                    self.manifest[rel] = file_state(state[0], st)
        (self.staging / MARKER).write_bytes(MARKER_TEXT)
        indexed = index_search(self.staging) if search else "off"
        _swap_in(self.staging, self.output_dir)
        self.swapped = True
        return indexed

    def _commit_in_place(self) -> None:
        journal = _journal(self.output_dir)
        steps = {
            "staging": str(self.staging),
            "moves": sorted(self.staged),
            "deletes": sorted(self.trusted.keys() - self.manifest.keys()),
        }
        pending = journal.with_name(journal.name + ".tmp")
        import json  # here, as below: a no-op build never needs it

        pending.write_text(json.dumps(steps))
        os.replace(pending, journal)  # from here on, the update will be completed
        _apply(self.output_dir, steps)
        journal.unlink()


def verified(output_dir: Path, manifest: Manifest | None) -> Manifest:
    """The entries of `manifest` still true of output_dir: same size, mtime and inode (one
    stat each). Anything else was changed or removed by someone else."""
    trusted: Manifest = {}
    if not manifest:
        return trusted
    try:  # each file stat'ed relative to the folder: no whole path looked up 11,000 times
        fd = os.open(output_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return trusted
    try:
        relative = os.stat in os.supports_dir_fd
        root = os.fspath(output_dir)
        for rel, state in manifest.items():
            try:
                st = os.stat(rel, dir_fd=fd) if relative else os.stat(os.path.join(root, rel))
            except OSError:
                continue
            if (st.st_size, st.st_mtime_ns, st.st_ino) == state[1:]:
                trusted[rel] = state
    finally:
        os.close(fd)
    return trusted


def intact(output_dir: Path, manifest: Manifest | None, check: OutputCheck | None = None) -> bool:
    """Does output_dir hold exactly what `manifest` says, with no interrupted build behind?
    `check`: the verification of `manifest`, if started already."""
    if not manifest or not (output_dir / MARKER).is_file() or leftovers(output_dir):
        return False
    return len(_trusted(output_dir, manifest, check)) == len(manifest)


def _trusted(output_dir: Path, manifest: Manifest | None, check: OutputCheck | None) -> Manifest:
    """verified(output_dir, manifest): `check`'s answer if it was started for this manifest."""
    if check is not None and manifest and check.manifest is manifest:
        return check.result()
    return verified(output_dir, manifest)


APART_MIN = 1000  # outputs to verify before a forked process pays for itself (about 2 ms)


class OutputCheck:
    """verified(output_dir, manifest), asked for with result(). With `apart`, a forked
    process works it out while the build goes on with its other first steps (at 10,000
    pages, 11,700 stats: 40 ms); the answer is the same. Start one only while holding the
    output lock (output_lock()), so that no other build commits between the stats and
    their use. Use as a context manager: leaving it reaps the process, asked or not.
    With `trust`, nothing is stat'ed: the manifest is the answer (a watcher's build, which
    build.confirmed checks once all is quiet: see build.build's `touched`)."""

    def __init__(
        self,
        output_dir: Path,
        manifest: Manifest | None,
        *,
        apart: bool = False,
        trust: bool = False,
    ):
        self.output_dir, self.manifest = output_dir, manifest
        self._answer: Manifest | None = dict(manifest or {}) if trust else None
        fork = apart and bool(manifest) and not trust
        self._apart = Apart(_untrusted, output_dir, manifest, fork=fork)

    @property
    def forked(self) -> bool:
        return self._apart.forked

    def result(self) -> Manifest:
        if self._answer is None:
            gone = self._apart.result()
            manifest = self.manifest or {}
            self._answer = {rel: state for rel, state in manifest.items() if rel not in gone}
        return self._answer

    def close(self) -> None:
        self._apart.close()

    def __enter__(self) -> OutputCheck:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _untrusted(output_dir: Path, manifest: Manifest | None) -> frozenset[str]:
    """The entries of `manifest` that verified() does not keep (usually none: a short
    answer for a forked process to send)."""
    trusted = verified(output_dir, manifest)
    return frozenset(rel for rel in manifest or {} if rel not in trusted)


@contextlib.contextmanager
def output_lock(output_dir: Path) -> Iterator[IO[str]]:
    """The lock OutputWriter takes, held for a whole build (see build.build): a second build
    into the same folder fails at once, before any work."""
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    handle = _take_lock(_lock_path(output_dir), output_dir)
    try:
        yield handle
    finally:
        handle.close()


def _lock_path(output_dir: Path) -> Path:
    return output_dir.parent / f".{output_dir.name}.lock"


def write_output(
    files: tuple[OutputFile, ...],
    statics: tuple[StaticFile, ...],
    static_dir: Path,
    output_dir: Path,
    search: bool = False,
) -> WriteReport:
    """Write a whole site at once (no cache): every file, swapped in atomically."""
    with OutputWriter(output_dir, incremental=False) as writer:
        for static in statics:
            writer.put_file(static.rel, static_dir / static.rel)
        for file in files:
            writer.put(file.rel, file.data)
        report = writer.commit(search)
    from .model import WriteReport

    return WriteReport(written=len(files), copied=len(statics), search=report.search)


# -- the journal ----------------------------------------------------------------------------


def leftovers(output_dir: Path) -> bool:
    """Did a killed build leave a journal or a staging folder behind?"""
    return _journal(output_dir).exists() or any(
        output_dir.parent.glob(f".{output_dir.name}.staging-*")
    )


def _journal(output_dir: Path) -> Path:
    return output_dir.parent / f".{output_dir.name}.journal"


def recover(output_dir: Path) -> bool:
    """Complete an incremental commit that was interrupted; True if there was one."""
    journal = _journal(output_dir)
    if not journal.exists():
        return False
    import json

    try:
        steps = json.loads(journal.read_text())
    except (OSError, ValueError):
        steps = None  # torn while being written: it was never committed to
    if isinstance(steps, dict):
        _apply(output_dir, steps)
        shutil.rmtree(steps.get("staging", ""), ignore_errors=True)
    journal.unlink()
    return True


def _apply(output_dir: Path, steps: Mapping[str, object]) -> None:
    """Idempotent: moves whose file is gone were done already; deletes may repeat."""
    root = output_dir.resolve()
    staging = Path(str(steps["staging"]))
    moves = steps.get("moves", [])
    deletes = steps.get("deletes", [])
    assert isinstance(moves, list) and isinstance(deletes, list)
    for rel in moves:
        source = staging / rel
        if source.exists():
            target = _inside(root, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
    for rel in deletes:
        target = _inside(root, rel)
        target.unlink(missing_ok=True)
        folder = target.parent
        while folder != root:
            try:
                folder.rmdir()  # only when empty
            except OSError:
                break
            folder = folder.parent


# -- search, paths, locks, swaps ------------------------------------------------------------


class SearchIndexFailed(RuntimeError):
    """Pagefind ran and failed: a tool's problem, not the content's or the cache's."""


def index_search(site: Path) -> str:
    """Index the staged site with Pagefind (it writes site/pagefind/). A missing Pagefind is
    reported, not fatal; a Pagefind that fails fails the build, before anything is swapped."""
    if importlib.util.find_spec("pagefind") is None:
        return "unavailable: pagefind is not installed (pip install 'pagefind[bin]')"
    import subprocess  # here: only a search index needs it

    done = subprocess.run(
        [sys.executable, "-m", "pagefind", "--site", str(site), "--silent"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SearchIndexFailed(
            f"pagefind failed: {done.stderr.strip() or done.stdout.strip() or done.returncode}"
        )
    from .searchindex import canonicalise  # with the search index only

    canonicalise(site / "pagefind")  # Pagefind's own output differs from run to run
    return "indexed"


def _inside(root: Path, rel: str) -> Path:
    """`rel` under `root`, symlinks followed: refused if that is not inside `root`."""
    target = (root / rel).resolve()
    if not target.is_relative_to(root) or target == root:
        raise ValueError(f"refusing to write outside the output folder: {rel!r}")
    return target


def _inside_staging(root: Path, rel: str) -> Path:
    """`rel` under a staging folder. This build made the folder and puts only files and
    folders in it, never a symlink, so a relative path with no empty, '.' or '..' part
    cannot leave it; checking that costs nothing, where resolve() stats every part of the
    path (a third of a second for 10,000 pages). output/ itself, which others can change,
    is checked with _inside()."""
    parts = rel.split("/")
    if rel.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"refusing to write outside the output folder: {rel!r}")
    return root / rel


def _take_lock(path: Path, output_dir: Path) -> IO[str]:
    """One writer at a time: a second build fails at once with a clear message."""
    handle = open(path, "a+")  # noqa: SIM115 - held until the writer closes
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        shown = display_path(output_dir)
        raise ConfigError(
            (
                Diagnostic(
                    "config",
                    f"another build is writing {shown} right now",
                    Location(shown),
                    Severity.ERROR,
                    "wait for it to finish, or build into another --output",
                ),
            )
        ) from None
    return handle


def _swap_in(staging: Path, output_dir: Path) -> None:
    """Make staging the new output_dir; afterwards `staging` holds the old tree (or nothing)."""
    if not output_dir.exists():
        os.rename(staging, output_dir)
        return
    if _exchange(staging, output_dir):
        return
    old = output_dir.parent / f".{output_dir.name}.old-{os.getpid()}"
    os.rename(output_dir, old)
    try:
        os.rename(staging, output_dir)
    except BaseException:
        os.rename(old, output_dir)
        raise
    os.rename(old, staging)


_DELETERS: list[subprocess.Popen[bytes]] = []  # started by delete_apart(), not yet reaped
_DELETE = "import shutil, sys\nfor path in sys.argv[1:]:\n    shutil.rmtree(path, True)\n"


def delete_apart(old: Path | None, output_dir: Path) -> None:
    """Delete the old tree `old` (the staging folder after a swap) by a separate process,
    not waited for, with any old trees such processes left (`.output.old-*`: one was
    killed, or is still at work, which a second one does not disturb). `old` is renamed
    to such a name first (or deleted here, if it cannot be). Where that process cannot be
    started, this one deletes them."""
    if old is not None:
        trash = output_dir.parent / f".{output_dir.name}.old-{os.getpid()}-{time.time_ns()}"
        try:
            os.rename(old, trash)
        except OSError:  # deleted here: the next build may make a folder of that name
            shutil.rmtree(old, ignore_errors=True)
    trees = sorted(output_dir.parent.glob(f".{output_dir.name}.old-*"))
    if not trees:
        return
    import subprocess

    _DELETERS[:] = [d for d in _DELETERS if d.poll() is None]  # reaped once done
    try:
        deleter = subprocess.Popen(  # this interpreter, this script, these paths: no shell
            [sys.executable, "-I", "-S", "-c", _DELETE, *map(str, trees)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _DELETERS.append(deleter)  # kept: a Popen dropped while running warns
    except OSError:
        for tree in trees:
            shutil.rmtree(tree, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False where unsupported."""
    import ctypes  # here: only a whole commit swaps trees

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return bool(renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0)


pickling.register(globals())
