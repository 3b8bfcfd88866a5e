"""discover_sources(): read content/ and list static/; the only stage (with write) that does I/O.

A file's place decides what it is: content/index.md is the home page, content/<slug>.md a
standalone page, content/<cluster>/index.md a hub and content/<cluster>/<slug>.md a spoke.
Names that are not slugs are errors and the file is skipped: a name never becomes a path.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from . import diagnostics as diag
from .config import SLUG_RE
from .diagnostics import Diagnostic, Location, display_path
from .model import Discovered, PageKind, SourceFile, StaticFile

# Editors' temporary and swap files, and hidden files, are never content.
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


def discover_sources(content_dir: Path, static_dir: Path) -> Discovered:
    problems: list[Diagnostic] = []
    sources: list[SourceFile] = []
    clusters: set[str] = set()

    for path in _walk(content_dir, problems):
        rel = path.relative_to(content_dir).as_posix()
        shown = display_path(path)
        if not rel.endswith(".md"):
            continue  # images and notes beside the pages are not pages
        why = next((w for p in rel[: -len(".md")].split("/") if (w := slug_problem(p))), None)
        if why is not None:
            message, hint = why
            problems.append(diag.make("invalid-slug", message, Location(shown, 1, 1), hint=hint))
            continue
        kind = classify(rel)
        if isinstance(kind, str):
            problems.append(diag.make("invalid-path", kind, Location(shown, 1, 1)))
            continue
        page_id, page_kind, cluster = kind
        if cluster:
            clusters.add(cluster)
        sources.append(SourceFile(rel, shown, path.read_bytes(), page_id, page_kind, cluster))

    statics: list[StaticFile] = []
    if static_dir.is_dir():
        for path in _walk(static_dir, problems):
            statics.append(StaticFile(path.relative_to(static_dir).as_posix(), display_path(path)))

    return Discovered(
        sources=tuple(sorted(sources, key=lambda s: s.rel)),
        statics=tuple(sorted(statics, key=lambda s: s.rel)),
        clusters=tuple(sorted(clusters)),
        diagnostics=tuple(problems),
    )


def _walk(root: Path, problems: list[Diagnostic]) -> list[Path]:
    """Every regular file under root, sorted, skipping symlinks and editors' temp files."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in list(dirnames):
            if _IGNORED.search(name):
                dirnames.remove(name)
            elif (here / name).is_symlink():
                dirnames.remove(name)
                problems.append(_symlink(here / name))
        for name in filenames:
            path = here / name
            if _IGNORED.search(name):
                continue
            if path.is_symlink():
                problems.append(_symlink(path))
            elif path.is_file():
                found.append(path)
    return sorted(found)


def _symlink(path: Path) -> Diagnostic:
    return diag.make(
        "unsafe-path",
        f"symbolic link to '{os.readlink(path)}' refused: links could reach files outside "
        "the project",
        Location(display_path(path)),
        hint="copy the file into the folder instead",
    )
