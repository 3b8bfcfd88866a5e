"""The build cache: what one build may reuse from the last one.

A BuildCache holds parsed pages (by file path and content digest), the content files' stats
(a file whose stat has not changed is not even read), the render memo (each output's render
key and digest), the unlinked-mention findings per page, the structure memo (link
resolution, the graph and render keys, reused whole while no page's shape changed), the
manifest of what sits in the output folder, and the fingerprint of the last good build's
inputs (for the no-op check).
Every entry is keyed by what it was made from, so reusing one is the same as redoing it;
the cache property tests check that any sequence of edits gives a clean build's output.

The live preview keeps one in memory. The command line keeps it on disk under
`.cache/intimacy-ssg/` in the project (`--no-cache` bypasses it), per content and output
folder pair: a small `.state` (fingerprint and manifest) that is all a no-op build reads,
and, for real builds, `.memo`, `.changes`, `.pages`, `.bodies`, `.delta` and `.structure`
(see CacheStore). Each file starts with a header naming the cache format and a digest of
the generator's own code and of the configuration, and ends with a checksum of its body.
A file that fails any check, or cannot be read, is ignored (and the build says so): a
corrupt or stale cache costs time, never correctness. Pages, links and the graph are saved
as packed variants (pickling.packed_variant): a rebuild unpickles their bulky parts only
for what it renders, and one found damaged then makes the build start again without the
cache (build.build).

Pickle is used because it is fast for these nested frozen dataclasses; it is loaded with
an unpickler that only admits this package's own data types and a few builtins, so a cache
file planted by someone else cannot run code.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import itertools
import mmap
import operator
import os
import pickle
import struct
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR
from typing import IO, TYPE_CHECKING, Any

from . import pickling
from .diagnostics import Diagnostic, display_path
from .write import Manifest

if TYPE_CHECKING:
    from .discover import FolderMemo
    from .graph import Graph
    from .model import Links, Listing, Page, Rendered, StatKey

    # One folder as fingerprint() listed it: its entries with their stats, its subfolders,
    # the bytes it hashed for them and the newest change among its files. A plain tuple:
    # a dataclass's creation at import would cost a no-op build 1.5 ms.
    Scanned = tuple[list[tuple[str, os.stat_result]], tuple[str, ...], bytes, int]

FORMAT = 6
MAGIC = b"intimacy-ssg build cache\n"
RACY_NS = 2_000_000_000  # a file changed this close to a build may change again unseen


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Every input of a build, by stat: if nothing changed, neither does the output."""

    digest: bytes  # empty when a file changed too recently to be trusted (RACY_NS)
    taken_ns: int
    observed: bytes = b""  # the digest, trusted or not (see build.confirmed)


@dataclass(frozen=True, slots=True)
class LastBuild:
    """The last good build, for a no-op: its inputs' fingerprint and what it reported."""

    fingerprint: bytes
    diagnostics: tuple[Diagnostic, ...]
    pages: int
    search: str
    taken_ns: int = 0  # when its fingerprint was taken (see changed_since)


def changed_since(last: LastBuild) -> int:
    """The moment from which a file may have changed unseen by the last build: its stats
    were taken then, and a file changed just before may have changed again (RACY_NS)."""
    return last.taken_ns - RACY_NS


@dataclass
class StructureMemo:
    """What was made from the site's structure and frame (see site.structure_key) alone.
    The links, graph and phrases are reused while the frame is unchanged, as after an edit
    to a page's summary or sources; the render keys only while the whole structure is,
    as after an edit to a page's prose (the sitemap, feeds and redirect pages have keys
    of their own: see `extras` and `feed`). The links are patched while the landings are
    unchanged, as after an edit to a title, a tag, a heading or one page's links: only
    the pages whose outlinks differ, and those linking to a page whose anchors differ,
    are resolved again (see model.landing_of)."""

    key: bytes  # the structure
    links: Links
    graph: Graph
    render_keys: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)  # see render
    # the key of the redirect pages (made from the pages with aliases) and their names:
    # kept whatever the structure, as `feed` is (see build._build)
    extras: tuple[bytes, tuple[str, ...]] = (b"", ())
    # the mention check's table of phrases, packed; a watcher's check hands it on as a
    # pickling.Later, packed only when the cache is saved (see mentions.PhraseState)
    phrases: bytes = b""
    frame: bytes = b""  # the frame the graph and phrases were made from
    outlinks: dict[str, bytes] = field(default_factory=dict)  # page id -> its outlinks then
    link_frame: bytes = b""  # the landings (site.shapes_key) the links were resolved with
    anchors: dict[str, bytes] = field(default_factory=dict)  # page id -> its anchors then
    # the statics, options and configuration the links were resolved with (what a page
    # added or removed leaves as it was), and, packed (read only when a landing changed),
    # each page's landing and names and what each page's links name: see build._relinked
    link_base: bytes = b""
    relink: bytes = b""
    stale: frozenset[str] = frozenset()  # pages whose links changed since `relink` was made
    # the key of every page's place, draft flag and dates, and the articles the site's feed
    # chose by it (see sitefiles.newest)
    feed: tuple[bytes, tuple[str, ...]] = (b"", ())


@dataclass
class BuildCache:
    scope: bytes = b""  # generator and configuration this cache was made with
    parsed: dict[tuple[str, bytes], Page] = field(default_factory=dict)
    known: dict[str, tuple[StatKey, bytes]] = field(default_factory=dict)  # rel -> stat, sha
    rendered: dict[str, Rendered] = field(default_factory=dict)  # output rel -> memo
    mentions: dict[str, tuple[bytes, bytes, tuple[Diagnostic, ...]]] = field(
        default_factory=dict
    )  # see mentions.MentionMemo
    faq_groups: dict[bytes, list[list[tuple[int, int]]]] = field(default_factory=dict)
    faq_index: dict[str, bytes] = field(default_factory=dict)  # see faq.repeated_groups
    related: dict[str, tuple[bytes, tuple[str, ...], str]] = field(default_factory=dict)
    templates: dict[bytes, dict[str, str]] = field(default_factory=dict)  # see render
    assembled: dict[bytes, Any] = field(default_factory=dict)  # see site.assemble_site
    structure: StructureMemo | None = None
    output: Manifest | None = None  # what the output folder holds, None if unknown
    last: LastBuild | None = None
    note: str = ""  # why a cache on disk was not used, for the build to say
    # how the last build listed each input folder, and what discover made of each content
    # folder: kept in memory only, for a watcher's next build (see fingerprint)
    scans: dict[str, Scanned] = field(default_factory=dict)
    observed: bytes = b""  # the last build's Fingerprint.observed
    folders: FolderMemo = field(default_factory=dict)  # see discover.discover_sources
    similarity: Any = None  # the last graph's similarity index: see graph.IndexMemo
    graph_lines: Any = None  # graph.json's lines: see graph.JsonMemo
    phrase_state: Any = None  # a watcher's mention check's own memos: see mentions.PhraseState
    # a watcher's index of the words of every page, made between builds: see
    # mentions.WordKeeper (None: none is kept; a watcher sets one)
    words: Any = None

    def reset(self, scope: bytes) -> None:
        """Start again for a new generator or configuration (a watcher's word index, made
        from the pages parsed under the old one, is dropped; its keeper stays)."""
        if scope != self.scope:
            if self.words is not None:
                self.words.close()
            self.__init__(scope=scope, note=self.note, words=self.words)  # type: ignore[misc]

    def close(self) -> None:
        """Stop what works for this cache in the background (see `words`)."""
        if self.words is not None:
            self.words.close()


# -- what a cache depends on ----------------------------------------------------------------

_GENERATOR: bytes = b""


def generator_digest() -> bytes:
    """A digest of this package's own code (a changed generator invalidates every entry)."""
    global _GENERATOR
    if not _GENERATOR:
        package = Path(__file__).resolve().parent
        h = hashlib.blake2b(digest_size=16)
        h.update(f"{FORMAT}\0{sys.version}\0".encode())
        for path in sorted(package.rglob("*.py")):
            h.update(path.relative_to(package).as_posix().encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
        _GENERATOR = h.digest()
    return _GENERATOR


FOLDER = "intimacy-ssg"  # this generator's folder in a project's .cache/


def site_yaml_memo(cache_dir: Path) -> Path:
    """Where the command line keeps site.yaml's last parse (see config.load_config)."""
    return cache_dir / FOLDER / "site.yaml.parsed"


def recalled_value(path: Path, source: bytes) -> Any:
    """The value keep_value() kept at `path` for the file whose bytes are `source`; None if
    there is none for these bytes and this generator (or it is damaged)."""
    fields, _ = _read(path, _value_key(source))
    return fields.get("value") if fields is not None else None


def keep_value(path: Path, source: bytes, value: Any) -> None:
    """Keep `value` (what reading `source` gave; not None) at `path`, a file of the build
    cache's folder; a disk that refuses it costs only the next parse."""
    with contextlib.suppress(OSError):
        _write(path, _value_key(source), {"value": value})


def _value_key(source: bytes) -> bytes:
    return hashlib.blake2b(generator_digest() + source, digest_size=16).digest()


def scope_digest(config: Any) -> bytes:
    """The generator, the configuration, and how files are named in diagnostics (relative
    to the working directory, so the same project built from elsewhere names them
    differently, and every cached location would be wrong)."""
    shown = f"{display_path(Path(config.content_dir))}\0{display_path(Path(config.static_dir))}"
    seen = generator_digest() + repr(config).encode() + shown.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(seen, digest_size=16).digest()


def fingerprint(
    folders: tuple[Path, ...],
    extra: str,
    listing: Listing | None = None,
    scans: dict[str, Scanned] | None = None,
    earlier: dict[str, Scanned] | None = None,
    touched: frozenset[str] | None = None,
) -> Fingerprint:
    """Stats of every file and folder under `folders`, plus `extra` (options, the day).
    None of the files is read: this is what makes a no-op build cheap. What each folder
    holds goes into `listing`, for discover to use rather than list and stat it again, and
    how it was listed into `scans`. With `earlier` (the last build's `scans`) and `touched`
    (the folders a file watcher saw change since then: see touched_folders), every other
    folder is taken from `earlier` rather than listed and stat'ed again; the result is the
    same as long as the watcher saw every change."""
    taken = time.time_ns()
    h = hashlib.blake2b(extra.encode(), digest_size=16)
    newest = 0
    pack = _STAT.pack
    reuse = earlier if touched is not None else None
    again = _with_parents(touched) if reuse is not None and touched is not None else frozenset()
    for folder in folders:
        h.update(f"\0folder {folder}\0".encode())
        pending = [os.fspath(folder)]
        while pending:
            where = pending.pop()
            scanned = reuse.get(where) if reuse is not None else None
            if scanned is None or where in again:
                scanned = _scan_folder(where, pack)
            if scanned is None:
                h.update(f"{where}\0unlisted\0".encode("utf-8", "surrogateescape"))
                continue
            entries, inside, seen, changed = scanned
            h.update(seen)
            newest = max(newest, changed)
            if listing is not None:
                listing[where] = entries
            if scans is not None:
                scans[where] = scanned
            pending.extend(reversed(inside))  # depth first, by name
    racy = newest >= taken - RACY_NS  # may still be changing: never trust this one
    observed = h.digest()
    return Fingerprint(b"" if racy else observed, taken, observed)


def _scan_folder(where: str, pack: Callable[..., bytes]) -> Scanned | None:
    """A folder listed, each entry stat'ed (none followed); None if it cannot be listed."""
    try:
        with os.scandir(where) as scan:
            entries = sorted(scan, key=_NAME)
    except OSError:
        return None
    here: list[tuple[str, os.stat_result]] = []
    inside = []
    seen: list[bytes] = []  # hashed at once: one call per folder, not two per file
    newest = 0
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:  # gone since the folder was listed
            seen.append(f"{entry.path}\0missing\0".encode("utf-8", "surrogateescape"))
            continue
        here.append((entry.name, st))
        seen.append(entry.path.encode("utf-8", "surrogateescape"))
        seen.append(b"\0")  # no NUL in paths
        seen.append(pack(st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns))
        if S_ISDIR(st.st_mode):  # a symlinked folder is seen by its own stat, not entered
            inside.append(entry.path)
        else:
            newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
    return here, tuple(inside), b"".join(seen), newest


def _with_parents(folders: frozenset[str]) -> frozenset[str]:
    """`folders` and every folder above them: a change inside a folder changes its own
    stat, which its parent's listing holds."""
    found: set[str] = set()
    for folder in folders:
        while folder not in found:
            found.add(folder)
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    return frozenset(found)


def touched_folders(paths: Iterable[str], folders: tuple[Path, ...]) -> frozenset[str]:
    """The changed `paths` (absolute) that lie under `folders`, named as fingerprint()
    names them, which lists again each one that is a folder and every folder above each.
    A watcher may name a folder by its resolved path: both names are understood. Paths
    elsewhere are left out."""
    roots = []
    for folder in folders:
        named = os.fspath(folder)
        roots.append((named, named))
        real = os.path.realpath(named)
        if real != named:
            roots.append((real, named))
    found: set[str] = set()
    for path in paths:
        for prefix, named in roots:
            if path == prefix or path.startswith(prefix + os.sep):
                found.add(named + path[len(prefix) :])
                break
    return frozenset(found)


_NAME = operator.attrgetter("name")  # a directory entry's: the key called in C

_STAT = struct.Struct("<IQqQq")  # mode, size, mtime, inode, ctime: packed, not formatted


def known_files(
    stats: dict[str, StatKey], pages: tuple[Page, ...], started_ns: int
) -> dict[str, tuple[StatKey, bytes]]:
    """Content files a later build need not read: their page is cached and their stat was
    taken long enough after their last change to be trusted."""
    known: dict[str, tuple[StatKey, bytes]] = {}
    settled = started_ns - RACY_NS
    for page in pages:
        source = page.source
        stat = stats.get(source.rel)
        if stat is not None and stat[1] < settled and stat[3] < settled:
            known[source.rel] = (stat, source.digest)
    return known


# -- on disk ----------------------------------------------------------------------------------


STATE_FIELDS = ("output", "last")  # all a no-op build reads
BULK_SUFFIXES = (".pages", ".bodies", ".delta", ".structure", ".memo", ".changes")  # the rest
MEMO_FIELDS = (
    "rendered",
    "known",
    "mentions",
    "faq_groups",
    "faq_index",
    "related",
    "templates",
    "assembled",
)
DELTA_MAX = 0.1  # new pages beyond this share of the site go into a rewritten base file
_GONE = object()  # an entry a memo did not hold


def _state_shaped(fields: dict[str, Any]) -> bool:
    """The state file's fields are of their types. The output manifest is used before the
    build starts (to check what output/ holds), outside the net that makes a build again
    without a cache that fails it (build.build); the other memos are used inside it."""
    output, last = fields.get("output"), fields.get("last")
    return (last is None or isinstance(last, LastBuild)) and (
        output is None
        or (
            isinstance(output, dict)
            and all(
                isinstance(rel, str) and type(state) is tuple and len(state) == 4
                for rel, state in output.items()
            )
        )
    )


@dataclass
class CacheStore:
    """A BuildCache's files, for one (content folder, output folder) pair: `.state` (small:
    all a no-op needs), `.memo` (the render and analysis memos, rewritten rarely),
    `.changes` (the memos' entries changed since `.memo` was written), `.pages` (every
    parsed page, rewritten rarely) with `.bodies` (their packed bodies, mapped and read only
    when a page is rendered), `.delta` (pages parsed since `.pages` was written, rewritten by
    each build, so an edit does not re-save every page) and `.structure` (the links and
    graph of the structure memo, rewritten only when the site's structure changes).
    Each is checked on its own; none is trusted for what another says."""

    state: Path
    pages: Path
    scope: bytes
    pages_loaded: bool = False
    base_keys: frozenset[tuple[str, bytes]] = frozenset()
    structure_saved: bytes = b""  # the frame `.structure` holds
    links_saved: object = None  # and the links it holds (patched links are saved again)
    memo_token: bytes = b""  # names the `.memo` file read or written last; `.changes` too
    memo_base: dict[str, Any] = field(default_factory=dict)  # that file's fields

    @property
    def changes(self) -> Path:
        return self.pages.with_suffix(".changes")

    @property
    def delta(self) -> Path:
        return self.pages.with_suffix(".delta")

    @property
    def structure(self) -> Path:
        return self.pages.with_suffix(".structure")

    @property
    def memo(self) -> Path:
        return self.pages.with_suffix(".memo")

    @property
    def bodies(self) -> Path:
        return self.pages.with_suffix(".bodies")

    @staticmethod
    def for_config(cache_dir: Path, config: Any) -> CacheStore:
        where = f"{Path(config.content_dir).resolve()}\0{Path(config.output_dir).resolve()}"
        name = hashlib.blake2b(where.encode(), digest_size=8).hexdigest()
        folder = cache_dir / FOLDER
        return CacheStore(folder / f"{name}.state", folder / f"{name}.pages", scope_digest(config))

    def load(self) -> BuildCache:
        """The small state file only; load_pages() when a real build is needed."""
        cache = BuildCache(scope=self.scope)
        fields, cache.note = _read(self.state, self.scope)
        if fields is not None and not _state_shaped(fields):  # read before any build's net
            fields, cache.note = (
                None,
                f"the build cache {self.state.name} has an unexpected shape; ignored",
            )
        if fields is None:
            self.pages_loaded = True  # without state, a pages file is not worth reading
        for name in STATE_FIELDS:
            if fields and name in fields:
                setattr(cache, name, fields[name])
        return cache

    def load_pages(self, cache: BuildCache) -> None:
        """Everything else: the memos, the parsed pages and the structure memo."""
        if self.pages_loaded:
            return
        self.pages_loaded = True
        memos, memo_why = self._load_memo()
        for name in MEMO_FIELDS:
            if memos and name in memos:
                setattr(cache, name, memos[name])
        base, why = _read(self.pages, self.scope)
        if base is not None and not _open_side(self.bodies, base.get("side")):
            base, why = None, f"the build cache {self.bodies.name} is missing or stale; ignored"
        if base is None:  # unusable (damaged, stale or absent): written anew by save()
            self.pages.unlink(missing_ok=True)
        parsed = base.get("parsed", {}) if base is not None else {}
        self.base_keys = frozenset(parsed)
        delta, delta_why = _read(self.delta, self.scope) if base is not None else (None, "")
        if delta is not None:
            parsed.update(delta.get("parsed", {}))
        cache.parsed = parsed
        cache.note = cache.note or memo_why or why or delta_why
        # The structure memo: links and graph in `.structure` under the frame they were
        # made from (rewritten only when the frame changes), render keys in `.memo` under
        # the structure and frame; used only when both name one frame.
        made, made_why = _read(self.structure, self.scope) if base is not None else (None, "")
        keys = memos.get("render_keys") if memos else None
        if made is not None and isinstance(keys, dict):
            key = memos.get("render_key")  # type: ignore[union-attr]
            extras = _named(memos.get("render_extras"))  # type: ignore[union-attr]
            feed = _named(memos.get("render_feed"))  # type: ignore[union-attr]
            frame = memos.get("render_frame")  # type: ignore[union-attr]
            if key and frame and made.get("key") == frame:
                phrases = made.get("phrases")
                phrases = phrases if isinstance(phrases, bytes) else b""
                links, graph = made["links"], made["graph"]
                outlinks = made.get("outlinks")
                outlinks = outlinks if isinstance(outlinks, dict) else {}
                anchors = made.get("anchors")
                anchors = anchors if isinstance(anchors, dict) else {}
                link_base, relink = made.get("link_base"), made.get("relink")
                link_base = link_base if isinstance(link_base, bytes) else b""
                relink = relink if isinstance(relink, bytes) else b""
                stale = made.get("stale")
                stale = stale if isinstance(stale, frozenset) else frozenset()
                link_frame = made.get("link_frame")
                link_frame = link_frame if isinstance(link_frame, bytes) else b""
                cache.structure = StructureMemo(
                    key,
                    links,
                    graph,
                    keys,
                    extras,
                    phrases,
                    frame,
                    outlinks,
                    link_frame,
                    anchors,
                    link_base,
                    relink,
                    stale,
                    feed,
                )
                self.structure_saved, self.links_saved = frame, links
        cache.note = cache.note or made_why
        # a file is skipped unread only when its page is really here
        cache.known = {rel: hit for rel, hit in cache.known.items() if (rel, hit[1]) in parsed}

    def _load_memo(self) -> tuple[dict[str, Any] | None, str]:
        """`.memo` with the `.changes` made since it was written, and keep `.memo` as read
        (see _save_memo)."""
        memos, why = _read(self.memo, self.scope)
        if memos is None or not isinstance(memos.get("token"), bytes):
            return None, why
        self.memo_token = memos["token"]
        self.memo_base = {k: dict(v) if isinstance(v, dict) else v for k, v in memos.items()}
        changes, why = _read(self.changes, self.scope)
        if changes is not None and changes.get("base") == self.memo_token:
            try:
                for name, (changed, removed) in changes["fields"].items():
                    entries = memos.setdefault(name, {})
                    entries.update(changed)
                    for key in removed:
                        entries.pop(key, None)
                memos.update(changes["whole"])
            except (KeyError, TypeError, ValueError, AttributeError):
                self.memo_token, self.memo_base = b"", {}  # half applied: use neither
                return None, f"the build cache {self.changes.name} has an unexpected shape"
        return memos, why

    def _save_memo(self, memos: dict[str, Any]) -> None:
        """`.changes`: each dict's entries changed or removed since `.memo` was written,
        and the other fields whole (a one-page edit then writes kilobytes, not megabytes);
        `.memo` itself again once the changes grow past a tenth of its entries."""
        base = self.memo_base
        fields: dict[str, tuple[dict[Any, Any], list[Any]]] = {}
        whole: dict[str, Any] = {}
        count = total = 0
        for name, value in memos.items():
            old = base.get(name)
            if isinstance(value, dict) and isinstance(old, dict):
                changed, removed = fields[name] = _changes(value, old)
                count += len(changed) + len(removed)
                total += len(value)
            else:
                whole[name] = value
                count += 1
        if self.memo_token and self.memo.exists() and count <= max(256, total // 10):
            _write(
                self.changes,
                self.scope,
                {"base": self.memo_token, "fields": fields, "whole": whole},
            )
            return
        seed = f"{self.memo}\0{time.time_ns()}\0{os.getpid()}".encode("utf-8", "surrogateescape")
        self.memo_token = hashlib.blake2b(seed, digest_size=16).digest()
        _write(self.memo, self.scope, {**memos, "token": self.memo_token})
        self.memo_base = {k: dict(v) if isinstance(v, dict) else v for k, v in memos.items()}
        self.changes.unlink(missing_ok=True)

    def discard(self) -> None:
        """Forget every file but `.state` (found damaged while building): the build then
        goes on without a cache, and its save writes them all anew."""
        self.pages_loaded = True
        self.base_keys = frozenset()
        self.structure_saved, self.links_saved = b"", None
        self.memo_token, self.memo_base = b"", {}
        for suffix in BULK_SUFFIXES:
            self.pages.with_suffix(suffix).unlink(missing_ok=True)

    def save(
        self,
        cache: BuildCache,
        pages_changed: bool,
        whole: bool | None = None,
        saved_apart: Callable[[], bool] | None = None,
    ) -> None:
        """Every file that changed. `whole`: whole_pages_due(), if the caller asked it
        already. `saved_apart`: given (with `whole`) when a forked process was handed
        save_pages(); it says whether that process did it (else it is done here)."""
        memos: dict[str, Any] = {n: getattr(cache, n) for n in MEMO_FIELDS}
        memo = cache.structure
        memos["render_key"], memos["render_keys"] = b"", {}
        memos["render_extras"] = memos["render_feed"] = (b"", ())
        memos["render_frame"] = b""
        if memo is not None and memo.key and memo.frame:
            memos["render_key"], memos["render_frame"] = memo.key, memo.frame
            memos["render_keys"], memos["render_extras"] = memo.render_keys, memo.extras
            memos["render_feed"] = memo.feed
            if memo.frame != self.structure_saved or memo.links is not self.links_saved:
                links, graph = pickling.pack(memo.links), pickling.pack(memo.graph)
                made = {
                    "key": memo.frame,
                    "links": links,
                    "graph": graph,
                    "phrases": pickling.made(memo.phrases),  # packed now if not yet
                    "outlinks": memo.outlinks,
                    "anchors": memo.anchors,
                    "link_base": memo.link_base,
                    "relink": memo.relink,
                    "stale": memo.stale,
                    "link_frame": memo.link_frame,
                }
                _write(self.structure, self.scope, made)
                self.structure_saved, self.links_saved = memo.frame, memo.links
        self._save_memo(memos)
        _write(self.state, self.scope, {n: getattr(cache, n) for n in STATE_FIELDS})
        parsed = cache.parsed
        if whole is None:
            whole = self.whole_pages_due(parsed)
        if whole:
            if saved_apart is None or not saved_apart():
                self.save_pages(parsed)
            self.base_keys = frozenset(parsed)
            self.delta.unlink(missing_ok=True)
        elif pages_changed or not self.delta.exists():
            fresh = parsed.keys() - self.base_keys
            _write(self.delta, self.scope, {"parsed": {k: parsed[k] for k in fresh}}, pickling.pack)

    def whole_pages_due(self, parsed: dict[tuple[str, bytes], Page]) -> bool:
        """Whether save() writes `.pages` and `.bodies` whole, rather than `.delta`: there
        is no `.pages` yet, or many pages are new or gone since it was written."""
        fresh = len(parsed.keys() - self.base_keys)
        stale = len(self.base_keys - parsed.keys())
        return (
            not self.pages.exists()
            or fresh > max(64, DELTA_MAX * len(parsed))
            or stale > len(self.base_keys) // 2
        )

    def save_pages(self, parsed: dict[tuple[str, bytes], Page]) -> bool:
        """`.pages` and `.bodies`, whole (see whole_pages_due). Nothing else in this store
        changes: it may be done by a forked process (see build._build), and save() then
        records it."""
        with _SideWriter(self.bodies) as side:  # the pages' bodies, read only when used

            def saved(page: Page) -> Page:
                return pickling.divert(pickling.pack(page), side.put)  # type: ignore[no-any-return]

            _write(self.pages, self.scope, {"parsed": parsed, "side": side.token}, saved)
        return True


def _named(value: object) -> tuple[bytes, tuple[str, ...]]:
    """A key and the names made with it, as the memo kept them; an empty key (so made
    again) if they are of another shape."""
    if type(value) is tuple and len(value) == 2:
        key, names = value
        if type(key) is bytes and type(names) is tuple and all(type(n) is str for n in names):
            return key, names
    return b"", ()


def _changes(value: dict[Any, Any], old: dict[Any, Any]) -> tuple[dict[Any, Any], list[Any]]:
    """The entries of `value` that `old` lacks or holds another value for, and the keys of
    `old` that `value` lacks. Most entries are the very objects `old` holds: those are found
    by identity, in C (a memo holds an entry per page), and only the others compared."""
    keys = list(value)
    moved = map(operator.is_not, map(old.get, keys, itertools.repeat(_GONE)), value.values())
    changed = {
        k: value[k] for k in itertools.compress(keys, moved) if old.get(k, _GONE) != value[k]
    }
    return changed, list(itertools.filterfalse(value.__contains__, old))


SIDE_MAGIC = b"intimacy-ssg build cache side file\n"


class _SideWriter:
    """Writes a side file (see pickling.divert): SIDE_MAGIC, a token naming this very file,
    then each object's packed groups, end to end, found by the Span put() returns.
    The pickle naming them holds the token too, so a side file and a pickle from different
    saves never pair up. Renamed into place when the block ends without an error."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        seed = f"{path}\0{time.time_ns()}\0{os.getpid()}".encode("utf-8", "surrogateescape")
        self.token = hashlib.blake2b(seed, digest_size=16).digest()
        import tempfile  # here: a no-op build writes no cache file

        fd, self.temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        self.handle = io.BufferedWriter(io.FileIO(fd, "wb"), 1 << 20)
        self.handle.write(SIDE_MAGIC + self.token)
        self.offset = len(SIDE_MAGIC) + len(self.token)

    def put(self, blobs: tuple[bytes, ...]) -> pickling.Span:
        span = pickling.span_of(self.token, self.offset, blobs)
        for blob in blobs:
            self.handle.write(blob)
            self.offset += len(blob)
        return span

    def __enter__(self) -> _SideWriter:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        self.handle.close()
        if kind is None:
            os.replace(self.temp, self.path)
        else:
            Path(self.temp).unlink(missing_ok=True)


def _open_side(path: Path, token: object) -> bool:
    """Make the side file `token` names readable to packed objects (see pickling.span_blobs);
    False if it is missing or is not that file. Kept open (mapped) for the process's life:
    objects loaded from it may be read at any time, even after a later save replaced it."""
    if not isinstance(token, bytes):
        return False
    if token in pickling.SIDE_FILES:
        return True
    try:
        with open(path, "rb") as handle:
            if handle.read(len(SIDE_MAGIC) + len(token)) != SIDE_MAGIC + token:
                return False
            try:
                side: Any = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # no mmap here: read it all
                handle.seek(0)
                side = handle.read()
    except OSError:
        return False
    pickling.SIDE_FILES[token] = side
    return True


def _read(path: Path, scope: bytes) -> tuple[dict[str, Any] | None, str]:
    """The fields saved in one cache file, or None and why not.
    Layout: MAGIC, format (2 bytes), scope digest (16), pickled body, CRC-32 of the body
    (as in zip and PNG files: it catches damage; the unpickler, not it, stops planted data)."""
    try:
        with _mapped(path) as blob:
            return _read_from(blob, path.name, scope)
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        return None, f"the build cache {path.name} could not be read ({exc.strerror})"


@contextlib.contextmanager
def _mapped(path: Path) -> Iterator[mmap.mmap | bytes]:
    """A file's bytes, mapped rather than read: its pages are the page cache's own, not a
    copy the process must first fault in (a tenth of loading a cache file). Cache files
    are only ever replaced whole (renamed over), never changed in place."""
    with open(path, "rb") as handle:
        try:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # empty, or no mmap here: read it all
            yield handle.read()
            return
    with mapped:
        yield mapped


def _read_from(data: mmap.mmap | bytes, name: str, scope: bytes) -> tuple[Any, str]:
    """_read(), given the file's bytes."""
    header = MAGIC + FORMAT.to_bytes(2, "big") + scope
    if data[: len(header)] != header:
        if data[: len(MAGIC)] == MAGIC:
            return None, ""  # another generator version or configuration: simply stale
        return None, f"the build cache {name} is not a cache file; ignored"
    if len(data) < len(header) + 4:
        return None, f"the build cache {name} is corrupt (checksum mismatch); ignored"
    with memoryview(data) as view, view[len(header) : -4] as body:
        crc = zlib.crc32(body)  # not copied
    if crc.to_bytes(4, "big") != data[-4:]:
        return None, f"the build cache {name} is corrupt (checksum mismatch); ignored"
    try:
        # read where it lies: a BytesIO shares the bytes it is given (a slice is a copy)
        stream = io.BytesIO(data) if isinstance(data, bytes) else data
        stream.seek(len(header))
        with no_gc():  # millions of new objects: the collector would walk them over and over
            fields = _load_parts(stream)
    except Exception as exc:  # anything at all: the cache is advice, never trusted
        kind = type(exc).__name__
        return None, f"the build cache {name} could not be read ({kind}); ignored"
    if fields is None:
        return None, f"the build cache {name} has an unexpected shape; ignored"
    return fields, ""


CHUNK = 1000  # entries of a large field pickled together (pickle remembers every object
# of one dump until it ends: dumped whole, 10,000 pages cost 100 MB more at their peak)


def _dump_parts(
    fields: dict[str, Any], stream: IO[bytes], pack: Callable[[Any], Any] | None = None
) -> None:
    """The fields as separate pickles: the count, the small fields, then each large dict
    field in chunks of (name, items). `pack` turns each value of the `parsed` field into
    what is saved (a PackedPage), a chunk at a time."""
    large = {k for k, v in fields.items() if isinstance(v, dict) and len(v) > CHUNK}
    small = {k: v for k, v in fields.items() if k not in large}
    if pack is not None and "parsed" in small:
        small["parsed"] = {k: pack(v) for k, v in small["parsed"].items()}
    chunks = [
        (name, items[n : n + CHUNK])
        for name in sorted(large)
        for items in [list(fields[name].items())]
        for n in range(0, len(items), CHUNK)
    ]
    pickle.dump(1 + len(chunks), stream, protocol=5)
    pickle.dump(small, stream, protocol=5)
    for name, items in chunks:
        if pack is not None and name == "parsed":
            items = [(k, pack(v)) for k, v in items]
        pickle.dump((name, items), stream, protocol=5)


def _load_parts(stream: IO[bytes] | mmap.mmap) -> dict[str, Any] | None:
    count = pickling.SafeUnpickler(stream).load()
    fields = pickling.SafeUnpickler(stream).load() if isinstance(count, int) and count > 0 else None
    if not isinstance(fields, dict):
        return None
    for _ in range(count - 1):
        name, items = pickling.SafeUnpickler(stream).load()
        fields.setdefault(name, {}).update(items)
    return fields


class _Checksumming(io.RawIOBase):
    """A file writer that also checksums what goes through it (no second copy in memory)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle, self.crc = handle, 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.crc = zlib.crc32(data, self.crc)
        return self.handle.write(data)


def _write(
    path: Path, scope: bytes, fields: dict[str, Any], pack: Callable[[Any], Any] | None = None
) -> None:
    """Atomically (a temporary file renamed over the old one), pickling straight to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore = path.parent.parent / ".gitignore"
    if path.parent.parent.name == ".cache" and not ignore.exists():
        ignore.write_text("*\n")  # never committed, whatever the project's own .gitignore
    import tempfile  # here: a no-op build writes no cache file

    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(MAGIC + FORMAT.to_bytes(2, "big") + scope)
            body = _Checksumming(handle)
            buffered = io.BufferedWriter(body, 1 << 20)
            with no_gc():
                _dump_parts(fields, buffered, pack)
            buffered.flush()
            handle.write(body.crc.to_bytes(4, "big"))
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _prune(path.parent)


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic garbage collector off for the block, then as it was."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


KEEP = 16  # (content, output) pairs whose cache is kept; older ones are deleted


def _prune(folder: Path) -> None:
    states = sorted(folder.glob("*.state"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in states[KEEP:]:
        old.unlink(missing_ok=True)
        for suffix in BULK_SUFFIXES:
            old.with_suffix(suffix).unlink(missing_ok=True)


pickling.register(globals())
