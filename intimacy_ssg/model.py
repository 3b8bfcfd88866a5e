"""The frozen data that flows between pipeline stages.

discover -> SourceFile, StaticFile
parse    -> Page (front matter, body HTML with link placeholders, headings, FAQ, links)
assemble -> Site (URLs, clusters, collisions checked)
link     -> Links (every placeholder resolved, related pages)
render   -> OutputFile
write    -> WriteReport
"""

from __future__ import annotations

import array
import datetime
import enum
import functools
import hashlib
import operator
import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from . import pickling
from .diagnostics import Diagnostic, Location

if TYPE_CHECKING:
    import os

    from .quiz import Quiz


class PageKind(enum.Enum):
    HOME = "home"  # content/index.md
    HUB = "hub"  # content/<cluster>/index.md
    SPOKE = "spoke"  # content/<cluster>/<slug>.md
    PAGE = "page"  # content/<slug>.md


StatKey = tuple[int, int, int, int]  # size, mtime_ns, inode, ctime_ns: "the same file"
# Folders as one scan of them found them: folder path -> (name, lstat) of each entry, by name.
Listing = dict[str, list[tuple[str, "os.stat_result"]]]


# A SourceFile's digest while its file is still to be read, by the process that parses it
# (see discover.discover_sources(defer=True) and discover.read_source()).
UNREAD = b"unread"


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One content file as read from disk; its identity is fixed by its path."""

    rel: str  # relative to the content folder, posix: "intimacy/fear-of-intimacy.md"
    display: str  # how diagnostics name it
    data: bytes
    page_id: str  # "intimacy/fear-of-intimacy", "intimacy" (a hub), "index" (home)
    kind: PageKind
    cluster: str  # "" for home and standalone pages
    digest: bytes = b""  # sha256 of the bytes; `data` is emptied once the page is parsed

    @property
    def slug(self) -> str:
        return self.page_id.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class StaticFile:
    rel: str  # relative to static/, posix; also its path in output/
    display: str


@dataclass(frozen=True, slots=True)
class Discovered:
    sources: tuple[SourceFile, ...]
    statics: tuple[StaticFile, ...]
    clusters: tuple[str, ...]  # every cluster folder, with or without pages
    diagnostics: tuple[Diagnostic, ...]
    stats: dict[str, StatKey] = field(default_factory=dict)  # content rel -> its stat


@dataclass(frozen=True, slots=True)
class Ref:
    """A page reference written in front matter (`related:`), with where it was written."""

    target: str
    location: Location


@dataclass(frozen=True, slots=True)
class SourceRef:
    title: str
    authors: str = ""
    year: int | None = None
    publisher: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class Planned:
    """A topic a hub promises (`planned:`) that may not have a page yet."""

    slug: str
    title: str
    location: Location


@dataclass(frozen=True, slots=True)
class FrontMatter:
    title: str
    description: str
    summary: str = ""
    date: datetime.date | None = None
    updated: datetime.date | None = None
    author: str = ""
    reviewed_by: str = ""
    last_reviewed: datetime.date | None = None
    related: tuple[Ref, ...] = ()
    tags: tuple[str, ...] = ()
    draft: bool = False
    sources: tuple[SourceRef, ...] = ()
    content_note: str = ""
    aliases: tuple[str, ...] = ()
    weight: int = 0
    keywords: tuple[str, ...] = ()
    planned: tuple[Planned, ...] = ()
    quiz: Quiz | None = None
    faq_canonical: bool = False
    image: str = ""


class LinkKind(enum.Enum):
    FILE = "file"  # [text](../desire/responsive-desire.md#x)
    WIKI = "wiki"  # [[desire/responsive-desire#x|label]]
    ANCHOR = "anchor"  # [text](#x) on the same page
    ROOT = "root"  # [text](/quiz/): a site-root URL, prefixed with base_url's path


@dataclass(frozen=True, slots=True)
class LinkRef:
    """An internal link recorded while parsing; `index` numbers its placeholder."""

    index: int
    kind: LinkKind
    target: str  # a path relative to content/, a wikilink target, or a root URL path
    anchor: str
    location: Location
    has_label: bool = True  # wikilinks without a label show the target page's title


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    text: str
    id: str
    line: int


@dataclass(frozen=True, slots=True)
class FaqItem:
    question: str
    answer_html: str  # may hold link placeholders
    anchor: str
    location: Location


@dataclass(frozen=True, slots=True)
class Page:
    source: SourceFile
    front: FrontMatter
    body_z: bytes  # the body's HTML, compressed (see .body_html)
    headings: tuple[Heading, ...]
    faq: tuple[FaqItem, ...]
    links: tuple[LinkRef, ...]
    word_count: int
    diagnostics: tuple[Diagnostic, ...]
    text_z: bytes = b""  # body text outside links, by file line, packed (not zipped): pack_text()
    profile_html: tuple[str, ...] = ()  # a quiz's profile descriptions, rendered
    shape: bytes = b""  # digest of everything but the body's prose: see shape_of()
    frame: bytes = b""  # digest of what other pages' links and the graph read: frame_of()
    landing: bytes = b""  # digest of what links to it read of it: see landing_of()
    anchored: bytes = b""  # digest of its anchors (heading and FAQ ids): see anchors_of()
    outlinks: bytes = b""  # digest of its own links as written, and where: see outlinks_of()
    faq_digest: bytes = b""  # digest of the FAQ's questions: see faq_digest_of()
    matter: bytes = b""  # digest of its place and front matter: see matter_of()
    dated: bytes = b""  # digest of its place, draft flag and dates: see dated_of()

    if TYPE_CHECKING:

        @property
        def id(self) -> str: ...

    else:  # read in C, without a Python call: every pass over the pages reads it
        id = property(operator.attrgetter("source.page_id"))

    @property
    def body_html(self) -> str:
        """The body as HTML; it may hold link placeholders (see PLACEHOLDER_RE).
        Kept compressed: read once, when the page is rendered."""
        return unpack_html(self.body_z)

    @property
    def anchors(self) -> frozenset[str]:
        return frozenset(h.id for h in self.headings) | {f.anchor for f in self.faq}


def pack_html(html: str) -> bytes:
    return zlib.compress(html.encode("utf-8", "surrogatepass"), 1) if html else b""


def unpack_html(packed: bytes) -> str:
    return zlib.decompress(packed).decode("utf-8", "surrogatepass") if packed else ""


# A link in a page's body HTML before it is resolved: its href ("H") or, for an unlabelled
# wikilink, its text ("T"), numbered by the LinkRef's index. Made while parsing (markdown),
# filled while rendering (views); NUL, which markdown-it replaces in its input, means that
# content can never forge one.
PLACEHOLDER_RE = re.compile("\x00([HT])([0-9]+)\x00")


def href_placeholder(index: int) -> str:
    return f"\x00H{index}\x00"


def title_placeholder(index: int) -> str:
    return f"\x00T{index}\x00"


def fill_placeholders(html: str, fill: Callable[[str, int], str]) -> str:
    """Replace every placeholder: fill("H" or "T", index) returns escaped HTML."""
    return PLACEHOLDER_RE.sub(lambda m: fill(m.group(1), int(m.group(2))), html)


CURLY_APOSTROPHE = "\u2019"


def fold(text: str) -> str:
    """Text as the mention search compares it: lowercase, curly apostrophes straight.
    Folding folded text changes nothing (checked for every code point by a test)."""
    return text.lower().replace(CURLY_APOSTROPHE, "'")


def pack_text(lines: list[tuple[int, str]] | tuple[tuple[int, str], ...]) -> bytes:
    """(file line, text) of the body's prose outside links, for the mention search: the
    line numbers, then the texts folded (see fold()) and joined by NUL (markdown-it turns
    NUL in a source into U+FFFD, so no text holds one), as UTF-8. Folded here, once, as
    the search reads it: after a title edit it reads every page's, which lowercasing
    each again made half as long again. Not compressed, for the same reason."""
    if not lines:
        return b""
    numbers = array.array("i", (line for line, _ in lines))
    joined = fold("\0".join(text for _, text in lines)).encode("utf-8", "surrogatepass")
    return len(numbers).to_bytes(4, "little") + numbers.tobytes() + joined


def unpack_prose(packed: bytes) -> tuple[array.array[int], str]:
    """The line numbers and the NUL-joined folded texts of pack_text()."""
    if not packed:
        return array.array("i"), ""
    count = int.from_bytes(packed[:4], "little")
    numbers = array.array("i")
    numbers.frombytes(packed[4 : 4 + 4 * count])
    joined = packed[4 + 4 * count :].decode("utf-8", "surrogatepass")
    return numbers, joined


def prose_holds(packed: bytes, needles: Iterable[bytes]) -> bool:
    """Whether the texts of pack_text() hold one of `needles` (UTF-8), found in the bytes
    as they are: a valid UTF-8 string is found in another's bytes exactly where it is
    found in the other (no character's bytes begin inside or with another's), so nothing
    is decoded."""
    if not packed:
        return False
    start = 4 + 4 * int.from_bytes(packed[:4], "little")  # after the line numbers
    return any(packed.find(needle, start) >= 0 for needle in needles)


class _Parts:
    """A page's parts as its digests read them, each repr'd once, when first read. The
    digests below each hash the repr of a tuple of parts, made by joining the parts' reprs
    as repr does (see _joined); with_digests() makes them all from one _Parts, so the
    front matter and the links, each read by two digests, are repr'd once."""

    def __init__(self, page: Page) -> None:
        self.page = page

    @functools.cached_property
    def place(self) -> list[str]:
        source = self.page.source
        parts = (source.rel, source.display, source.page_id, source.kind.value, source.cluster)
        return [repr(part) for part in parts]

    @functools.cached_property
    def front(self) -> str:
        return repr(self.page.front)

    @functools.cached_property
    def links(self) -> str:
        return repr(self.page.links)

    @functools.cached_property
    def questions(self) -> str:
        return repr(tuple((item.question, item.anchor) for item in self.page.faq))


def _joined(reprs: list[str]) -> bytes:
    """The digest of a tuple (of two items or more) whose items' reprs are `reprs`: its
    repr is theirs joined."""
    return _digest_text(f"({', '.join(reprs)})")


def _digest_text(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def shape_of(page: Page, parts: _Parts | None = None) -> bytes:
    """A digest of everything about a page that other pages and the site-wide stages can
    see: its place, front matter, headings, FAQ and links (with where they were written).
    Only the body's own HTML, text and word count are left out, so editing a paragraph
    leaves the page's shape, and with it link resolution and the graph, unchanged."""
    r = parts or _Parts(page)
    return _joined(
        [*r.place, r.front, repr(page.headings), repr(page.faq), r.links, repr(page.profile_html)]
    )


def frame_of(page: Page, parts: _Parts | None = None) -> bytes:
    """A digest of the part of a page's shape that the graph, the mention search and other
    pages' render keys read, besides its card: its place (and title: see
    site.shapes_key, which adds it; link resolution does without it), draft flag,
    aliases, weight, tags, keywords, related and planned pages, quiz, FAQ questions,
    anchors and canonical flag, and links. Not its headings (a link to one reads its id:
    see anchors_of), nor where its links and related pages were written (see
    outlinks_of), nor the rest of its front matter (summary, description, dates,
    authors, sources, FAQ answers...), which rendered pages show: editing those leaves the
    frame, and the graph made from every frame, as they were; the outputs that show the
    page's summary are found with render.keys_without()."""
    r, front = parts or _Parts(page), page.front
    links = tuple((k.index, k.kind.value, k.target, k.anchor, k.has_label) for k in page.links)
    return _joined(
        [
            *r.place,
            repr(front.draft),
            repr(front.aliases),
            repr(front.weight),
            repr(front.tags),
            repr(front.keywords),
            repr(tuple(ref.target for ref in front.related)),
            repr(front.planned),  # where each was written too: a planned-exists warning
            repr(front.quiz),
            repr(front.faq_canonical),  # which page's FAQ keeps its markup: render keys
            r.questions,
            repr(links),
        ]
    )


def landing_of(page: Page, parts: _Parts | None = None) -> bytes:
    """A digest of what resolving another page's links reads of this page but its headings'
    ids: its place and draft flag; with its FAQ questions and anchors and canonical flag,
    which decide whether another page's repeated question is marked up, and its aliases
    and weight, which the site's assembly reads (with titles: site.shapes_key). While no
    page's landing changes, every link resolves as it did, but those of the pages whose
    own links changed (outlinks_of) and of the pages linking to a page whose anchors
    changed (anchors_of), which are the only ones resolved again."""
    r, front = parts or _Parts(page), page.front
    return _joined(
        [
            *r.place,
            repr(front.draft),
            repr(front.aliases),
            repr(front.weight),
            repr(front.faq_canonical),
            r.questions,
        ]
    )


def anchors_of(page: Page) -> bytes:
    """A digest of the page's anchors, the ids of its headings and FAQ questions: what a
    link to one of them is checked against."""
    return _digest_text(repr(sorted(page.anchors)))


def outlinks_of(page: Page, parts: _Parts | None = None) -> bytes:
    """A digest of everything link resolution reads of the page itself: its links, related
    pages and quiz (whose profiles link to pages), with where each was written, which its
    diagnostics point at. A line added to the front matter moves the body and changes the
    outlinks, not the frame: the build then resolves that page's links again, and no
    other page's (see landing_of)."""
    r = parts or _Parts(page)
    return _joined([r.links, repr(page.front.related), repr(page.front.quiz)])


def matter_of(page: Page, parts: _Parts | None = None) -> bytes:
    """A digest of the page's place and front matter: all the site's sitemap, feeds and
    redirect pages read of it (with its URL, made from its place). An edit to its links,
    headings, FAQ or prose leaves it as it was, and those files with it."""
    r = parts or _Parts(page)
    return _joined([*r.place, r.front])


def dated_of(page: Page, parts: _Parts | None = None) -> bytes:
    """A digest of the page's place, draft flag and dates: all the sitemap reads of it, and
    all the site's feed reads of it to choose its newest articles (whose matter_of() then
    says what they show). An edit to its title, summary or aliases leaves it as it was."""
    r, front = parts or _Parts(page), page.front
    return _joined([*r.place, repr(front.draft), repr(front.date), repr(front.updated)])


def faq_digest_of(page: Page) -> bytes:
    """A digest of the page's FAQ questions (none too), which the site-wide
    repeated-question check is keyed by."""
    joined = "\x01".join(item.question for item in page.faq).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(joined, digest_size=16).digest()


def with_digests(page: Page) -> Page:
    """The page without its source's bytes and with all its digests, made from one _Parts
    (when each repr'd its own parts, the first seven took a tenth of a page's parse)."""
    parts, source = _Parts(page), page.source
    # made by their makers (pickling.fast_maker), with every field named: replace() took
    # as long as three of the digests
    make_source, make_page = pickling.fast_maker(SourceFile), pickling.fast_maker(Page)
    return make_page(
        source=make_source(
            rel=source.rel,
            display=source.display,
            data=b"",
            page_id=source.page_id,
            kind=source.kind,
            cluster=source.cluster,
            digest=source.digest,
        ),
        front=page.front,
        body_z=page.body_z,
        headings=page.headings,
        faq=page.faq,
        links=page.links,
        word_count=page.word_count,
        diagnostics=page.diagnostics,
        text_z=page.text_z,
        profile_html=page.profile_html,
        shape=shape_of(page, parts),
        frame=frame_of(page, parts),
        landing=landing_of(page, parts),
        anchored=anchors_of(page),
        outlinks=outlinks_of(page, parts),
        faq_digest=faq_digest_of(page),
        matter=matter_of(page, parts),
        dated=dated_of(page, parts),
    )


@dataclass(frozen=True, slots=True)
class Cluster:
    name: str
    hub: str  # page id of the hub
    spokes: tuple[str, ...]  # page ids, by (weight, title, id)


@dataclass(frozen=True, slots=True)
class Site:
    pages: tuple[Page, ...]  # the pages being published, sorted by id
    urls: dict[str, str]  # page id -> URL path below the site root ("intimacy/x/", "" for home)
    clusters: tuple[Cluster, ...]
    statics: tuple[StaticFile, ...]
    drafts: frozenset[str]  # ids of draft pages left out of this build
    draft_files: frozenset[str]  # their content-relative paths
    diagnostics: tuple[Diagnostic, ...]
    by_id: dict[str, Page] = field(default_factory=dict)  # the pages again, by id

    def page(self, page_id: str) -> Page:
        return self.by_id[page_id]


@dataclass(frozen=True, slots=True)
class ResolvedLink:
    """Where a link goes. An unlabelled wikilink to a page shows the page's title, looked
    up when rendering (views.ViewBuilder.title), so resolved links do not depend on titles;
    one to a static file or a broken one shows `text`, its target as written."""

    href: str  # final URL, base path and #anchor included
    text: str  # "" when the link has a target page
    target: str = ""  # the target page's id ("" for a static file or a broken link)


@dataclass(frozen=True, slots=True)
class Links:
    resolved: Mapping[str, tuple[ResolvedLink, ...]]  # page id -> by LinkRef.index
    related: dict[str, tuple[str, ...]]  # page id -> its related pages' ids, as listed
    diagnostics: tuple[Diagnostic, ...]
    profiles: dict[str, tuple[tuple[str, ...], ...]] = field(
        default_factory=dict
    )  # quiz page id -> per profile, its linked page ids


@dataclass(frozen=True, slots=True)
class OutputFile:
    rel: str  # path inside output/, posix
    data: bytes


@dataclass(frozen=True, slots=True)
class OutputFacts:
    """What a build report says of one generated file (report.output_facts): a hash of its
    bytes and, for a page's HTML, what report.page_parts finds in it. Made where the file
    is rendered, forked processes included, so that a report never needs the site's HTML
    kept in memory."""

    rel: str  # path inside output/, posix
    hash: str
    parts: Mapping[str, object] | None = None  # a page's only


@dataclass(frozen=True, slots=True)
class WriteReport:
    written: int
    copied: int
    search: str = "off"  # "indexed", "off" (search: false) or why it could not run


# One output as last rendered: the key of what it depended on, its bytes' digest, the
# JSON-LD lint found while making it (replayed when the output is reused) and the
# site-wide key it read, if it read one (views.ViewBuilder.watched_key: the clusters'
# outline, or their cards), or "". A plain tuple: the
# render memo holds one per output, and tuples load at twice a class's speed.
Rendered = tuple[bytes, bytes, tuple[Diagnostic, ...], str]


pickling.register(globals())
# An edit rebuild resolves nothing again: it reads the links of the pages it renders only.
PackedLinks = pickling.packed_variant(Links, ("related",), by_key=("resolved",))
# After a one-page edit, the review date of every page is read (the review-overdue check)
# and the title of the hubs the header names; after an edit to a title, a tag or a link,
# every page's tags and weight too (the graph's related reading), every hub's planned
# topics and every page's keywords (the mention search); after one to any front matter,
# every page's dates, aliases and draft flag (the sitemap, feeds and redirects, and the
# site's assembly) and FAQ flag. Those are small, and most are empty, shared or a flag.
# The rest of the front matter is read only for the pages rendered and the few they show
# (summaries, descriptions, authors), so it stays packed, in two groups: where related
# pages and sources were written is read for a rendered page only.
FRONT_HEAD = frozenset(
    {"title", "last_reviewed", "tags", "weight", "planned", "date", "updated", "aliases"}
    | {"draft", "keywords", "faq_canonical"}
)
PackedFrontMatter = pickling.packed_variant(
    FrontMatter,
    tuple(f.name for f in fields(FrontMatter) if f.name not in FRONT_HEAD | {"related", "sources"}),
    ("related", "sources"),
)
# Every stage reads each page's source, front matter, diagnostics and digests, even in a
# rebuild after a one-page edit; the rest (two thirds of a page's objects) is read only for
# the pages rendered, so it stays packed in a page loaded from the cache, in four groups:
# the body, which only rendering reads; the headings and links, which link resolution
# reads of the pages it resolves again; the FAQ, which the FAQ check reads of every page
# when a question or a page is added or removed; and the prose, which the mention search
# reads of every page after a title edit.
PackedPage = pickling.packed_variant(
    Page,
    ("body_z", "word_count", "profile_html"),
    ("headings", "links"),
    ("faq",),
    ("text_z",),
    raw="text_z",
)
