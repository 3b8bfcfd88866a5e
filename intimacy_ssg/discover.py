"""discover_sources(): read content/ and list static/; the only stage (with write) that does I/O
(but for the reads it leaves to the parse: see read_source()).

A file's place decides what it is: content/index.md is the home page, content/<slug>.md a
standalone page, content/<cluster>/index.md a hub and content/<cluster>/<slug>.md a spoke.
Names that are not slugs are errors and the file is skipped: a name never becomes a path.
"""

from __future__ import annotations

import contextlib
import hashlib
import operator
import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from stat import S_ISDIR, S_ISLNK, S_ISREG

from . import diagnostics as diag
from .config import SLUG_RE
from .diagnostics import Diagnostic, Location, display_path
from .model import UNREAD, Discovered, Listing, Page, PageKind, SourceFile, StaticFile, StatKey

# Editors' temporary and swap files, and hidden files, are never content.
# (A name ending in ".md" can match only if it starts with a dot: most are not searched.)
_IGNORED = re.compile(r"^\.|~$|\.sw[a-p]$|^4913$|___jb_(tmp|old)___$|^#.*#$")


def suggest_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "page"


WINDOWS_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"com{i}" for i in range(1, 10)]
    + [f"lpt{i}" for i in range(1, 10)]
)
MAX_SLUG = 80


def slug_problem(name: str) -> tuple[str, str] | None:
    """Why a file or folder name cannot be a slug (message, hint), or None if it can."""
    if not SLUG_RE.fullmatch(name):
        shown = name.encode("unicode_escape").decode()
        return (
            f"'{shown}' is not a valid slug (lowercase letters, digits and single hyphens)",
            f"rename it to '{suggest_slug(name)}'",
        )
    if name in WINDOWS_RESERVED:
        return (
            f"'{name}' is a reserved device name on Windows",
            f"rename it, e.g. to '{name}-page'",
        )
    if len(name) > MAX_SLUG:
        return (
            f"the slug is {len(name)} characters long; at most {MAX_SLUG} are allowed",
            "shorten it: URLs stay readable and every file system can store it",
        )
    return None


def classify(rel: str) -> tuple[str, PageKind, str] | str:
    """Map a content-relative .md path to (page id, kind, cluster), or explain why not."""
    parts = rel[: -len(".md")].split("/")
    if len(parts) == 1:
        slug = parts[0]
        return ("index", PageKind.HOME, "") if slug == "index" else (slug, PageKind.PAGE, "")
    if len(parts) == 2:
        cluster, slug = parts
        if slug == "index":
            return (cluster, PageKind.HUB, cluster)
        return (f"{cluster}/{slug}", PageKind.SPOKE, cluster)
    return "pages live at content/<slug>.md or content/<cluster>/<slug>.md, no deeper"


# One content folder's share of discover_sources(): its pages' sources and stats, the
# clusters they name, the problems found in it and its subfolders (relative, full path).
_Share = tuple[
    list[SourceFile], dict[str, StatKey], set[str], list[Diagnostic], list[tuple[str, str]]
]
# Each content folder's share, with the listing (see cache.fingerprint) it was made from.
FolderMemo = dict[str, tuple[list[tuple[str, os.stat_result]], _Share]]


def discover_sources(
    content_dir: Path,
    static_dir: Path,
    known: Mapping[str, tuple[StatKey, bytes]] | None = None,
    listing: Listing | None = None,
    cached: Mapping[tuple[str, bytes], Page] | None = None,
    defer: bool = False,
    memo: FolderMemo | None = None,
) -> Discovered:
    """`known` (from the build cache): files whose parse is cached, by stat and digest. A file
    whose stat has not changed is not read again; its page comes from the cache.
    `listing`: folders already scanned in this build (cache.fingerprint), used instead of
    scanning them again. `cached` (the build cache's pages, by path and digest): an
    unchanged file's source is its cached page's, already checked. `defer`: no file is
    read here; each source's digest is UNREAD, and the process that parses it reads it
    (read_source()), so a build with nothing to reuse reads its pages on every core.
    `memo` (kept by a watcher's cache between builds): each content folder's share of the
    last result. A folder whose listing is the very one the memo holds (not listed again:
    see cache.fingerprint) is taken from it: its files are as they were, and each source
    it holds is a cached page's, which the cache still holds. Refilled with the folders
    whose sources all are (a file read here is parsed, and its bytes let go: see
    build._build; with `defer`, none is)."""
    problems: list[Diagnostic] = []
    sources: list[SourceFile] = []
    clusters: set[str] = set()
    stats: dict[str, StatKey] = {}
    prefix = _shown_prefix(content_dir)
    earlier = dict(memo) if memo else {}
    if memo is not None:
        memo.clear()
    pending = [("", os.fspath(content_dir))]
    while pending:
        rel_dir, folder = pending.pop()
        entries = _entries(folder, listing)
        kept = earlier.get(folder)
        if kept is not None and kept[0] is entries:
            share = kept[1]
        else:
            share = _content_folder(
                content_dir, prefix, rel_dir, folder, entries, known, cached, defer
            )
        if memo is not None and not defer and not any(source.data for source in share[0]):
            memo[folder] = (entries, share)
        sources += share[0]
        stats.update(share[1])
        clusters |= share[2]
        problems += share[3]
        pending += share[4]

    statics: list[StaticFile] = []
    if static_dir.is_dir():
        shown_static = display_path(static_dir)
        static_prefix = "" if shown_static == "." else shown_static.rstrip("/") + "/"
        for rel, _ in _walk(static_dir, problems, listing):
            statics.append(StaticFile(rel, static_prefix + rel))

    return Discovered(
        sources=tuple(sorted(sources, key=_BY_REL)),
        statics=tuple(sorted(statics, key=_BY_REL)),
        clusters=tuple(sorted(clusters)),
        diagnostics=tuple(problems),
        stats=stats,
    )


def _content_folder(
    content_dir: Path,
    prefix: str,
    rel_dir: str,
    folder: str,
    entries: list[tuple[str, os.stat_result]],
    known: Mapping[str, tuple[StatKey, bytes]] | None,
    cached: Mapping[tuple[str, bytes], Page] | None,
    defer: bool,
) -> _Share:
    """One content folder's share of discover_sources() (which see)."""
    sources: list[SourceFile] = []
    stats: dict[str, StatKey] = {}
    clusters: set[str] = set()
    problems: list[Diagnostic] = []
    files, inside = _split(rel_dir, folder, entries, problems)
    for rel, st in files:
        if not rel.endswith(".md"):
            continue  # images and notes beside the pages are not pages
        shown = prefix + rel
        stat = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
        hit = known.get(rel) if known else None
        if hit is not None and hit[0] == stat and cached is not None:
            page = cached.get((rel, hit[1]))
            if page is not None and page.source.display == shown:
                stats[rel] = stat
                if page.source.cluster:
                    clusters.add(page.source.cluster)
                sources.append(page.source)  # its slug and place were checked when cached
                continue
        sha = hit[1] if hit and hit[0] == stat else None
        source = _source(content_dir, rel, shown, UNREAD if defer and sha is None else sha)
        if isinstance(source, Diagnostic):
            problems.append(source)
            continue
        if source.cluster:
            clusters.add(source.cluster)
        stats[rel] = stat
        sources.append(source)
    return sources, stats, clusters, problems, inside


_BY_REL, _FIRST = operator.attrgetter("rel"), operator.itemgetter(0)  # keys called in C


def _shown_prefix(content_dir: Path) -> str:
    """What a content file's path is prefixed with where it is shown ("content/")."""
    shown_dir = display_path(content_dir)
    return "" if shown_dir == "." else shown_dir.rstrip("/") + "/"


def _source(
    content_dir: Path, rel: str, shown: str, sha: bytes | None = None
) -> SourceFile | Diagnostic:
    """The source of a content file, read unless `sha` (its cached digest, or UNREAD) is
    given; or why its name or place is refused."""
    why = next((w for p in rel[: -len(".md")].split("/") if (w := slug_problem(p))), None)
    if why is not None:
        message, hint = why
        return diag.make("invalid-slug", message, Location(shown, 1, 1), hint=hint)
    kind = classify(rel)
    if isinstance(kind, str):
        return diag.make("invalid-path", kind, Location(shown, 1, 1))
    page_id, page_kind, cluster = kind
    source = SourceFile(rel, shown, b"", page_id, page_kind, cluster, sha or UNREAD)
    return read_source(content_dir, source) if sha is None else source


def read_source(content_dir: str | Path, source: SourceFile) -> SourceFile:
    """A source not read yet (UNREAD: by discover_sources(defer=True), or just made by
    _source), read, with its digest."""
    data = Path(content_dir, source.rel).read_bytes()
    return replace(source, data=data, digest=hashlib.sha256(data).digest())


def changed_sources(content_dir: Path, listing: Listing, since_ns: int) -> list[SourceFile]:
    """The pages in `listing` (see discover_sources) last changed at or after `since_ns`,
    read: what a rebuild will probably parse again, for a forked process to parse first
    (parallel.parse_changed). A guess, never trusted: the build uses a page parsed here only
    for a file it reads with the same bytes. Files refused or gone are left out."""
    prefix = _shown_prefix(content_dir)
    found = []
    for rel, st in _walk(content_dir, [], listing):
        if rel.endswith(".md") and max(st.st_mtime_ns, st.st_ctime_ns) >= since_ns:
            with contextlib.suppress(OSError):
                source = _source(content_dir, rel, prefix + rel)
                if isinstance(source, SourceFile):
                    found.append(source)
    return found


def _walk(
    root: Path, problems: list[Diagnostic], listing: Listing | None = None
) -> list[tuple[str, os.stat_result]]:
    """(posix path relative to root, stat) of every regular file under root, skipping
    symlinks (reported) and editors' temp files. One stat per file, from the directory scan.
    `listing` (see cache.fingerprint): folders already scanned, not scanned again."""
    found: list[tuple[str, os.stat_result]] = []
    pending = [("", os.fspath(root))]
    while pending:
        rel_dir, folder = pending.pop()
        files, inside = _split(rel_dir, folder, _entries(folder, listing), problems)
        found += files
        pending += inside
    return sorted(found, key=_FIRST)


def _entries(folder: str, listing: Listing | None) -> list[tuple[str, os.stat_result]]:
    """A folder's entries: from `listing` (see cache.fingerprint), or scanned now."""
    entries = listing.get(folder) if listing is not None else None
    return _scan(folder) if entries is None else entries


def _split(
    rel_dir: str, folder: str, entries: list[tuple[str, os.stat_result]], problems: list[Diagnostic]
) -> tuple[list[tuple[str, os.stat_result]], list[tuple[str, str]]]:
    """A folder's regular files (path relative to the root, stat) and subfolders (relative
    path with its slash, full path), without editors' temp files; symlinks are reported."""
    files: list[tuple[str, os.stat_result]] = []
    inside: list[tuple[str, str]] = []
    for name, st in entries:
        if (name[0] == "." or not name.endswith(".md")) and _IGNORED.search(name):
            continue
        rel = rel_dir + name
        if S_ISLNK(st.st_mode):
            problems.append(_symlink(Path(folder, name)))
        elif S_ISDIR(st.st_mode):
            inside.append((rel + "/", os.path.join(folder, name)))
        elif S_ISREG(st.st_mode):
            files.append((rel, st))
    return files, inside


def _scan(folder: str) -> list[tuple[str, os.stat_result]]:
    """(name, lstat) of each entry of a folder; none if it cannot be listed."""
    try:
        with os.scandir(folder) as scan:
            entries = list(scan)
    except OSError:
        return []
    found = []
    for entry in entries:
        with contextlib.suppress(OSError):  # gone since the folder was listed
            found.append((entry.name, entry.stat(follow_symlinks=False)))
    return found


def _symlink(path: Path) -> Diagnostic:
    return diag.make(
        "unsafe-path",
        f"symbolic link to '{os.readlink(path)}' refused: links could reach files outside "
        "the project",
        Location(display_path(path)),
        hint="copy the file into the folder instead",
    )
