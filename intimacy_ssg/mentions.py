"""find_unlinked_mentions(): where a page names another page without linking it.

Each page's title (when it has two words or more) and its `keywords:` are phrases. One pass
over each page's text looks every word up in a table keyed by a phrase's first word, so the
cost grows with the text, not with the number of titles. Only the first mention of each
target on a page is suggested, and never one the page already links to.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict

from . import diagnostics as diag
from .diagnostics import Diagnostic, Location
from .graph import BODY, Graph
from .model import Site

WORD = re.compile("[a-z0-9]+(?:['-][a-z0-9]+)*")
CURLY_APOSTROPHE = "\u2019"


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower().replace(CURLY_APOSTROPHE, "'"))


def find_unlinked_mentions(site: Site, graph: Graph) -> tuple[Diagnostic, ...]:
    phrases: dict[str, list[tuple[tuple[str, ...], str, str]]] = defaultdict(list)
    for page in site.pages:
        names = [page.front.title] if len(_words(page.front.title)) >= 2 else []
        for name in (*names, *page.front.keywords):
            words = tuple(_words(name))
            if words:
                phrases[words[0]].append((words, page.id, name))
    for candidates in phrases.values():
        candidates.sort(key=lambda c: -len(c[0]))  # longest phrase wins
    linked: dict[str, set[str]] = defaultdict(set)
    for edge in graph.edges:
        if edge.kind == BODY:
            linked[edge.source].add(edge.target)

    by_id = {p.id: p for p in site.pages}
    problems: list[Diagnostic] = []
    for page in site.pages:
        seen = linked[page.id] | {page.id}
        for line, text in page.text:
            tokens = _words(text)
            for i, token in enumerate(tokens):
                for phrase, target, name in phrases.get(token, ()):
                    if target in seen or tuple(tokens[i : i + len(phrase)]) != phrase:
                        continue
                    seen.add(target)
                    here = posixpath.dirname(page.source.rel) or "."
                    rel = posixpath.relpath(by_id[target].source.rel, here)
                    problems.append(
                        diag.make(
                            "unlinked-mention",
                            f"mentions '{name}' without linking it",
                            Location(page.source.display, line, 1),
                            hint=f"link it: [{name}]({rel})",
                        )
                    )
                    break
    return tuple(problems)
