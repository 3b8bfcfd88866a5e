"""write_output(): the only stage that writes. All or nothing.

Everything is written into a staging folder beside output/, which is then swapped in (with
Linux's atomic renameat2(RENAME_EXCHANGE) where available, else two renames). A failure or
Ctrl-C at any point removes the staging folder and leaves the previous output/ as it was.
Stale files cannot survive because every build writes a complete new tree.

output/ carries a marker file; a non-empty folder without it is refused rather than replaced,
so a mistyped --output can never wipe someone's documents.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from .config import ConfigError
from .diagnostics import Diagnostic, Location, Severity, display_path
from .model import OutputFile, StaticFile, WriteReport
from .searchindex import canonicalise

MARKER = ".intimacy-ssg-output"


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


def write_output(
    files: tuple[OutputFile, ...],
    statics: tuple[StaticFile, ...],
    static_dir: Path,
    output_dir: Path,
    search: bool = False,
) -> WriteReport:
    check_output_dir(output_dir)
    parent = output_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    with _lock(parent / f".{output_dir.name}.lock", output_dir):
        return _write_locked(files, statics, static_dir, output_dir, search)


@contextlib.contextmanager
def _lock(path: Path, output_dir: Path) -> Iterator[None]:
    """One writer at a time: a second build fails at once with a clear message."""
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole write
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
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
        yield
    finally:
        handle.close()


def _write_locked(
    files: tuple[OutputFile, ...],
    statics: tuple[StaticFile, ...],
    static_dir: Path,
    output_dir: Path,
    search: bool,
) -> WriteReport:
    parent = output_dir.parent
    for stale in parent.glob(f".{output_dir.name}.staging-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a build that was killed
    staging = parent / f".{output_dir.name}.staging-{os.getpid()}"
    try:
        staging.mkdir()
        root = staging.resolve()
        for static in statics:
            target = _inside(root, static.rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(static_dir / static.rel, target)
        for file in files:
            target = _inside(root, file.rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.data)
        (staging / MARKER).write_text("Built by intimacy-ssg; replaced on every build.\n")
        indexed = index_search(staging) if search else "off"
        _swap_in(staging, output_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return WriteReport(written=len(files), copied=len(statics), search=indexed)


def index_search(site: Path) -> str:
    """Index the staged site with Pagefind (it writes site/pagefind/). A missing Pagefind is
    reported, not fatal; a Pagefind that fails fails the build, before anything is swapped."""
    if importlib.util.find_spec("pagefind") is None:
        return "unavailable: pagefind is not installed (pip install 'pagefind[bin]')"
    done = subprocess.run(
        [sys.executable, "-m", "pagefind", "--site", str(site), "--silent"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pagefind failed: {done.stderr.strip() or done.stdout.strip()}")
    canonicalise(site / "pagefind")  # Pagefind's own output differs from run to run
    return "indexed"


def _inside(root: Path, rel: str) -> Path:
    target = (root / rel).resolve()
    if not target.is_relative_to(root) or target == root:
        raise ValueError(f"refusing to write outside the output folder: {rel!r}")
    return target


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


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return bool(renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0)
