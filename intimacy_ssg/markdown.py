"""Markdown -> HTML with heading ids, wikilinks and internal links recorded while parsing.

Internal link targets are not known until every page has been parsed, so an internal link is
rendered with a placeholder href (and, for an unlabelled wikilink, placeholder text) that the
render stage swaps for the resolved URL. Placeholders are built around NUL characters, which
markdown-it replaces in its input, so content can never forge one.

Raw HTML is off: `<script>` in content is shown as text, never run.
"""

from __future__ import annotations

import logging
import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.common import normalize_url
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.container import container_plugin

from .diagnostics import Location
from .model import (  # the placeholders are made here and filled by views, without markdown-it
    Heading,
    LinkKind,
    LinkRef,
    href_placeholder,
    title_placeholder,
)

# Ids the templates use themselves; a heading called "Common questions" gets another one.
TEMPLATE_IDS = frozenset(
    {
        "main",
        "search",
        "quiz",
        "quiz-data",
        "quiz-title",
        "profiles-title",
        "search-label",
        "toc-title",
        "common-questions",
        "related-title",
        "sources-title",
        "cluster-nav-title",
        "backlinks-title",
        "map-list-title",
        "map-svg-title",
        "spokes-title",
        "clusters-title",
    }
)


def slugify(text: str) -> str:
    """A heading's id: lowercase ASCII words joined by hyphens (accents folded)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


MAX_WIKILINK = 300  # characters between [[ and ]]


def _wikilink(state: StateInline, silent: bool) -> bool:
    src, start = state.src, state.pos
    if not src.startswith("[[", start):
        return False
    end = src.find("]]", start + 2, start + 2 + MAX_WIKILINK)  # bounded: no quadratic scans
    inner = src[start + 2 : end] if end >= 0 else ""
    if not inner.strip() or "\n" in inner or "[" in inner:
        return False
    if not silent:
        target, _, label = inner.partition("|")
        token = state.push("wikilink", "", 0)
        token.content = inner
        token.meta = {"target": target.strip(), "label": label.strip()}
    state.pos = end + 2
    return True


def _render_wikilink(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    index = token.meta["index"]
    label = token.meta["label"]
    text = escapeHtml(label) if label else title_placeholder(index)
    return f'<a href="{href_placeholder(index)}">{text}</a>'


@dataclass(frozen=True, slots=True)
class FaqBlockItem:
    question: str
    answer_html: str
    has_answer: bool
    location: Location


# A link destination markdown-it's normalizeLink() returns as it is: no scheme (":"), host
# ("//" first), escape ("%") or character it would encode (most links on a site are
# relative paths such as "../desire/responsive-desire.md#what-it-is").
_PLAIN_URL = re.compile(r"(?!//)[A-Za-z0-9._~/#?=&,+!*'()-]*")


def _normalize_link(url: str) -> str:
    """markdown-it's normalizeLink(), skipping its work (parsing the URL, formatting and
    encoding it again: about 6 us a link) for a destination it returns unchanged."""
    return url if _PLAIN_URL.fullmatch(url) else normalize_url.normalizeLink(url)


# A fragment of plain paragraphs, as most FAQ answers and quiz profiles are: every line
# starts with a letter (so none starts a list, heading, quote, fence, code block, table or
# container, or ends a paragraph), paragraphs are parted by empty lines, and no line holds
# a character markdown reads inline (emphasis, code, links, entities, escapes, autolinks,
# strikethrough) nor a trailing space (a hard break). markdown-it renders each paragraph
# as its text in <p>, quotes escaped, line breaks kept: rendered so here, without its parse
# (40-70 us a fragment; a property test checks the two agree on any text).
_PLAIN_LINE = "[A-Za-z][A-Za-z0-9 ,.;:?!'\"()%/\u2018\u2019\u201c\u201d\u2013\u2014\u2026-]*(?<! )"
_PLAIN_PARAGRAPH = f"{_PLAIN_LINE}(?:\n{_PLAIN_LINE})*"
_PLAIN = re.compile(f"{_PLAIN_PARAGRAPH}(?:\n\n+{_PLAIN_PARAGRAPH})*\n*")
_PARTED = re.compile("\n\n+")


def plain_paragraphs(text: str) -> str | None:
    """markdown-it's HTML for `text` if it is plain paragraphs of words, else None."""
    if _PLAIN.fullmatch(text) is None:
        return None
    paragraphs = _PARTED.split(text.rstrip("\n").replace('"', "&quot;"))
    return "".join(f"<p>{paragraph}</p>\n" for paragraph in paragraphs)


def _new_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.normalizeLink = _normalize_link  # type: ignore[method-assign]
    md.enable(["table", "strikethrough"])
    # with "html" off these rules never match (each returns at once), but they are tried
    # at every block and at every "<": raw HTML is text either way
    md.disable(["html_block", "html_inline"])
    md.use(container_plugin, "faq")
    md.inline.ruler.before("link", "wikilink", _wikilink)
    md.add_render_rule("wikilink", _render_wikilink)
    quiet_debug_logs()
    return md


class _Unheard:
    """A module's logger, but for debug(), which does nothing (see quiet_debug_logs)."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def debug(self, *args: object, **kwargs: object) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.logger, name)


def quiet_debug_logs(package: str = "markdown_it") -> None:
    """markdown-it-py's block rules each log a debug message as they are tried: about 220
    calls a page of the benchmark's corpus, each two Python calls even when nothing
    listens, about 5% of a page's parse. When nothing listens at DEBUG to the package's
    logger (as the command line never does), each of its modules' LOGGER is swapped for
    one whose debug() does nothing and whose other methods are the logger's own."""
    if logging.getLogger(package).isEnabledFor(logging.DEBUG):
        return
    for name, module in list(sys.modules.items()):
        if name == package or name.startswith(f"{package}."):
            logger = getattr(module, "LOGGER", None)
            if isinstance(logger, logging.Logger):
                vars(module)["LOGGER"] = _Unheard(logger)


_MD = _new_markdown()


@dataclass
class MarkdownPage:
    """Renders one page's markdown fragments (body, FAQ answers), sharing ids and links."""

    path: str  # display path, for link locations
    source_rel: str  # content-relative path, to resolve relative links
    links: list[LinkRef] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    used_ids: set[str] = field(default_factory=lambda: set(TEMPLATE_IDS))
    words: int = 0
    text: list[tuple[int, str]] = field(default_factory=list)  # body text outside links
    faq_blocks: list[FaqBlockItem] = field(default_factory=list)  # from `::: faq` blocks
    faq_problems: list[tuple[str, str, Location, str]] = field(default_factory=list)

    def unique_id(self, text: str, fallback: str = "section") -> str:
        base = slugify(text) or fallback
        candidate, n = base, 1
        while candidate in self.used_ids:
            candidate, n = f"{base}-{n}", n + 1
        self.used_ids.add(candidate)
        return candidate

    def render(self, text: str, first_line: int, collect_headings: bool = True) -> str:
        """Render a fragment whose first line is file line `first_line`."""
        if not collect_headings:  # an FAQ answer or a quiz profile: no headings, no prose
            plain = plain_paragraphs(text)
            if plain is not None:
                return plain
        env: dict[str, Any] = {}
        tokens = _MD.parse(text, env)
        lines = text.split("\n")
        cursor: dict[int, int] = {}  # per line, where the next link search starts
        last_map = 0
        in_faq = 0  # inside a `::: faq` block: its headings are questions, not sections
        for i, token in enumerate(tokens):
            if token.map is not None:
                last_map = token.map[0]
            in_faq += {"container_faq_open": 1, "container_faq_close": -1}.get(token.type, 0)
            if token.type == "heading_open" and collect_headings and not in_faq:
                inline = tokens[i + 1]
                title = _plain_text(inline.children or [])
                anchor = self.unique_id(title)
                token.attrSet("id", anchor)
                line = first_line + (token.map[0] if token.map else last_map)
                self.headings.append(Heading(int(token.tag[1]), title, anchor, line))
            if token.type != "inline":
                continue
            breaks = depth = 0
            # heading text is not prose: a link suggestion there would not be taken
            prose = collect_headings and not in_faq and tokens[i - 1].type != "heading_open"
            for child in token.children or []:
                if child.type in ("softbreak", "hardbreak"):
                    breaks += 1
                elif child.type == "text":
                    if collect_headings and not in_faq:  # the body's words, not FAQ answers'
                        self.words += len(child.content.split())
                    if prose and depth == 0:
                        self.text.append((first_line + last_map + breaks, child.content))
                elif child.type == "link_close":
                    depth -= 1
                elif child.type in ("link_open", "wikilink"):
                    line_in = last_map + breaks
                    needle = ("[[" + child.content) if child.type == "wikilink" else "]("
                    here = lines[line_in] if line_in < len(lines) else ""
                    col = here.find(needle, cursor.get(line_in, 0))
                    cursor[line_in] = col + 1 if col >= 0 else 0
                    col = col + (1 if child.type == "wikilink" else 3) if col >= 0 else 1
                    self._record(child, Location(self.path, first_line + line_in, col))
                    depth += child.type == "link_open"
        if collect_headings:
            tokens = self._take_faq_blocks(tokens, env, first_line)
        return str(_MD.renderer.render(tokens, _MD.options, env))

    def _take_faq_blocks(self, tokens: list[Token], env: EnvType, first_line: int) -> list[Token]:
        """Move each `::: faq` block out of the body into `faq_blocks`: every heading inside
        starts a question, and what follows it, up to the next heading, is the answer."""
        kept: list[Token] = []
        i = 0
        while i < len(tokens):
            if tokens[i].type != "container_faq_open":
                kept.append(tokens[i])
                i += 1
                continue
            start = tokens[i]
            end = i + 1
            while tokens[end].type != "container_faq_close":
                end += 1
            inner = tokens[i + 1 : end]
            where = first_line + (start.map[0] if start.map else 0)
            heads = [j for j, t in enumerate(inner) if t.type == "heading_open"]
            if not heads:
                self.faq_problems.append(
                    (
                        "faq-empty",
                        "a faq block holds no questions",
                        Location(self.path, where, 1),
                        "start each question with a heading: ### Question?",
                    )
                )
            elif heads[0] > 0:
                line = first_line + (inner[0].map[0] if inner[0].map else 0)
                self.faq_problems.append(
                    (
                        "faq-format",
                        "text before the first question",
                        Location(self.path, line, 1),
                        "start each question with a heading: ### Question?",
                    )
                )
            for n, h in enumerate(heads):
                stop = heads[n + 1] if n + 1 < len(heads) else len(inner)
                question = _plain_text(inner[h + 1].children or [])
                answer = inner[h + 3 : stop]
                head_map = inner[h].map
                line = first_line + (head_map[0] if head_map else 0)
                self.faq_blocks.append(
                    FaqBlockItem(
                        question,
                        str(_MD.renderer.render(answer, _MD.options, env)),
                        bool(answer),
                        Location(self.path, line, 1),
                    )
                )
            i = end + 1
        return kept

    def _record(self, token: Token, location: Location) -> None:
        index = len(self.links)
        if token.type == "wikilink":
            target, _, anchor = token.meta["target"].partition("#")
            token.meta["index"] = index
            self.links.append(
                LinkRef(
                    index,
                    LinkKind.WIKI,
                    target.strip(),
                    anchor.strip(),
                    location,
                    has_label=bool(token.meta["label"]),
                )
            )
            return
        href = str(token.attrGet("href") or "")
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            return  # external (markdown-it has already refused javascript: and friends)
        path, anchor = unquote(parts.path), unquote(parts.fragment)
        if not path:
            kind, target = LinkKind.ANCHOR, ""
        elif path.startswith("/"):
            kind, target = LinkKind.ROOT, path
        elif path.endswith(".md"):
            kind, target = LinkKind.FILE, _join(self.source_rel, path)
        else:
            return  # a relative link to a non-page file: left as written
        token.attrSet("href", href_placeholder(index))
        self.links.append(LinkRef(index, kind, target, anchor, location))


def _join(source_rel: str, path: str) -> str:
    """Resolve a relative link against its page's folder; '..' above content/ stays visible."""
    parts = source_rel.split("/")[:-1]
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            else:
                parts.append("..")
        else:
            parts.append(part)
    return "/".join(parts)


def _plain_text(children: Sequence[Token]) -> str:
    text = []
    for child in children:
        if child.type in ("text", "code_inline"):
            text.append(child.content)
        elif child.type == "wikilink":
            text.append(child.meta["label"] or child.meta["target"])
        elif child.type in ("softbreak", "hardbreak"):
            text.append(" ")
    return "".join(text).strip()
