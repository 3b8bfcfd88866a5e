"""Front matter: split it from the body, load it safely, check it against FIELDS.

FIELDS is the one definition of the front-matter model: validation here, the JSON Schema in
schema/frontmatter.schema.json (see schema.py) and the README's table all come from it.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import diagnostics as diag
from .config import SLUG_RE
from .diagnostics import Diagnostic, Location
from .model import FrontMatter, Planned, Ref, SourceRef
from .quiz import parse_quiz
from .yamlload import KeyPath, YamlDocument, load_yaml


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: str  # string, text, date, bool, int, strings, faq, sources
    description: str
    required: bool = False


FIELDS: tuple[Field, ...] = (
    Field("title", "string", "The page title (the h1 and the <title>).", required=True),
    Field(
        "description",
        "string",
        "Meta description for search results, under 160 characters.",
        required=True,
    ),
    Field("summary", "string", "One or two sentences shown on hub cards and in related reading."),
    Field("date", "date", "First published, YYYY-MM-DD (or an ISO 8601 date-time)."),
    Field("updated", "date", "Last substantive update, YYYY-MM-DD."),
    Field("author", "string", "An author id from site.yaml; defaults to default_author."),
    Field("reviewed_by", "string", "An author id from site.yaml: who reviewed the page."),
    Field("last_reviewed", "date", "When that review happened, YYYY-MM-DD."),
    Field("related", "strings", "Page ids or unique slugs to recommend, most relevant first."),
    Field("faq", "faq", "Common questions: a list of {q, a}, answers in markdown."),
    Field("tags", "strings", "Lowercase topic tags."),
    Field("draft", "bool", "true leaves the page out unless the build runs with --drafts."),
    Field("sources", "sources", "References: a list of {title, authors, year, publisher, url}."),
    Field("content_note", "string", "A note shown before the article (e.g. it discusses trauma)."),
    Field("aliases", "strings", "Old URL paths of this page (e.g. /old-path/)."),
    Field("weight", "int", "Order among a cluster's spokes: lower comes first."),
    Field("keywords", "strings", "Other names of the topic, for unlinked-mention suggestions."),
    Field("planned", "planned", "On a hub: topics promised but not written yet, as {slug, title}."),
    Field("faq_canonical", "bool", "true marks up this page's repeated FAQ questions."),
    Field("image", "string", "An image for social cards and structured data (path or URL)."),
    Field("quiz", "quiz", "A quiz: dimensions, statements and result profiles (see README)."),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)
SOURCE_KEYS = ("title", "authors", "year", "publisher", "url")
FAQ_KEYS = ("q", "a")
PLANNED_KEYS = ("slug", "title")
ALIAS_RE = re.compile(r"/(?:[A-Za-z0-9._~-]+/)*(?:[A-Za-z0-9._~-]+)?")
DESCRIPTION_MAX = 160


@dataclass(frozen=True, slots=True)
class Split:
    yaml_text: str | None  # None when the file has no front matter
    body: str
    body_line: int  # 1-based file line of the body's first line
    diagnostics: tuple[Diagnostic, ...] = ()


def split_front_matter(text: str, path: str) -> Split:
    """Cut `---` front matter off the top of a (BOM-free, LF-only) file."""
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return Split(None, text, 1)
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return Split("\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), index + 2)
    problem = diag.make(
        "frontmatter-unclosed",
        "front matter starts with '---' but is never closed",
        Location(path, 1, 1),
        hint="add a line containing only '---' after the last front-matter key",
    )
    return Split(None, "", len(lines) + 1, (problem,))


@dataclass(frozen=True, slots=True)
class FaqSource:
    """A front-matter FAQ entry before its answer is rendered."""

    question: str
    answer: str
    location: Location  # of the question
    answer_line: int  # file line where the answer's markdown starts


@dataclass(frozen=True, slots=True)
class Parsed:
    front: FrontMatter
    faq: tuple[FaqSource, ...]
    diagnostics: tuple[Diagnostic, ...]


def parse_front_matter(
    split: Split, path: str, default_author: str = "", authors: frozenset[str] | None = None
) -> Parsed:
    """Validate the YAML of a split file. Always returns usable front matter."""
    problems: list[Diagnostic] = list(split.diagnostics)
    offset = 2  # YAML line 0 is the file's line 2, after the opening '---'
    doc = load_yaml(split.yaml_text) if split.yaml_text is not None else YamlDocument({})
    for p in doc.problems:
        hint = p.hint.replace("{line}", str(p.ref_line + offset))
        problems.append(
            diag.make(p.code, p.message, Location(path, p.line + offset, p.col + 1), hint=hint)
        )
    data: dict[str, Any] = {}
    if isinstance(doc.value, dict):
        data = {str(k): v for k, v in doc.value.items()}
    elif doc.value is not None:
        kind = "a list" if isinstance(doc.value, list) else "a single value"
        problems.append(
            diag.make(
                "frontmatter-not-mapping",
                f"front matter must be a mapping of keys to values, not {kind}",
                Location(path, offset, 1),
                hint="write it as 'key: value' lines, e.g. 'title: My page'",
            )
        )

    checker = Checker(doc, data, path, offset, problems)
    if split.yaml_text is not None and not doc.problems:
        for key in data:
            if key not in FIELD_NAMES:
                close = difflib.get_close_matches(key, FIELD_NAMES, n=1)
                problems.append(
                    diag.make(
                        "unknown-field",
                        f"unknown front-matter field '{key}'",
                        checker.key_loc((key,)),
                        hint=f"did you mean '{close[0]}'?"
                        if close
                        else "known fields: " + ", ".join(FIELD_NAMES),
                    )
                )

    fallback_title = path.rsplit("/", 1)[-1].removesuffix(".md")
    # When the front matter as a whole is broken, "title is missing" would only be noise.
    whole = not (split.diagnostics or doc.problems or not isinstance(doc.value, dict | None))
    title = checker.string("title", required=whole) or fallback_title
    description = checker.string("description", required=whole)
    if len(description) > DESCRIPTION_MAX:
        problems.append(
            diag.make(
                "description-length",
                f"the description is {len(description)} characters; search results show about "
                f"{DESCRIPTION_MAX}",
                checker.loc(("description",)),
                hint="shorten it to one clear sentence",
            )
        )
    faq: list[FaqSource] = []
    for index, entry in enumerate(checker.items("faq", dict, "a mapping with 'q' and 'a'")):
        question = checker.string(("faq", index, "q"), required=True)
        answer = checker.string(("faq", index, "a"), required=True)
        for key in entry:
            if key not in FAQ_KEYS:
                checker.unknown(("faq", index, str(key)), FAQ_KEYS)
        pos = doc.pos(("faq", index, "a"))
        answer_line = pos.line + offset + (1 if pos.style in ("|", ">") else 0) if pos else 1
        if question and answer:
            faq.append(FaqSource(question, answer, checker.loc(("faq", index, "q")), answer_line))
    sources: list[SourceRef] = []
    for index, entry in enumerate(checker.items("sources", dict, "a mapping with a 'title'")):
        for key in entry:
            if key not in SOURCE_KEYS:
                checker.unknown(("sources", index, str(key)), SOURCE_KEYS)
        source_title = checker.string(("sources", index, "title"), required=True)
        year = checker.integer(("sources", index, "year"))
        sources.append(
            SourceRef(
                title=source_title,
                authors=checker.string(("sources", index, "authors")),
                year=year,
                publisher=checker.string(("sources", index, "publisher")),
                url=checker.string(("sources", index, "url")),
            )
        )
    planned: list[Planned] = []
    for index, entry in enumerate(
        checker.items("planned", dict, "a mapping with 'slug' and 'title'")
    ):
        for key in entry:
            if key not in PLANNED_KEYS:
                checker.unknown(("planned", index, str(key)), PLANNED_KEYS)
        slug = checker.string(("planned", index, "slug"), required=True)
        planned_title = checker.string(("planned", index, "title"), required=True)
        if slug and not SLUG_RE.fullmatch(slug):
            problems.append(
                diag.make(
                    "invalid-slug",
                    f"planned slug '{slug}' is not a valid slug",
                    checker.loc(("planned", index, "slug")),
                    hint="lowercase letters, digits and single hyphens",
                )
            )
        elif slug and planned_title:
            planned.append(Planned(slug, planned_title, checker.loc(("planned", index))))
    aliases = []
    for index, alias in enumerate(checker.items("aliases", str, "a URL path")):
        if ALIAS_RE.fullmatch(alias) and "/../" not in alias + "/" and "/./" not in alias + "/":
            aliases.append(alias)
        else:
            problems.append(
                diag.make(
                    "invalid-alias",
                    f"alias '{alias}' is not a URL path on this site",
                    checker.loc(("aliases", index)),
                    hint="write it like /old/path/ (letters, digits, . _ -)",
                )
            )
    quiz, quiz_problems = parse_quiz(checker)
    problems += quiz_problems
    related = tuple(
        Ref(value, checker.loc(("related", index)))
        for index, value in enumerate(checker.items("related", str, "a page id"))
    )
    front = FrontMatter(
        title=title,
        description=description,
        summary=checker.string("summary"),
        date=checker.date("date"),
        updated=checker.date("updated"),
        author=checker.string("author") or default_author,
        reviewed_by=checker.string("reviewed_by"),
        last_reviewed=checker.date("last_reviewed"),
        related=related,
        tags=tuple(checker.items("tags", str, "a string")),
        draft=checker.boolean("draft"),
        sources=tuple(sources),
        content_note=checker.string("content_note"),
        aliases=tuple(aliases),
        weight=checker.integer("weight") or 0,
        keywords=tuple(checker.items("keywords", str, "a string")),
        planned=tuple(planned),
        quiz=quiz,
        faq_canonical=checker.boolean("faq_canonical"),
        image=checker.string("image"),
    )
    if authors is not None:
        for key in ("author", "reviewed_by"):
            value = getattr(front, key)
            if value and value not in authors:
                close = difflib.get_close_matches(value, sorted(authors), n=1)
                problems.append(
                    diag.make(
                        "unknown-author",
                        f"'{value}' is not an author in site.yaml",
                        checker.loc((key,)) if key in data else Location(path, 1, 1),
                        hint=f"did you mean '{close[0]}'?"
                        if close
                        else "add them under 'authors:' in site.yaml",
                    )
                )
    return Parsed(front, tuple(faq), tuple(problems))


_TYPE_NAMES = {
    bool: "a boolean",
    int: "a number",
    float: "a number",
    list: "a list",
    dict: "a mapping",
    str: "a string",
    datetime.date: "a date",
    datetime.datetime: "a date-time",
    type(None): "empty",
}


class Checker:
    """Typed reads of front-matter values, each problem reported at the value's position."""

    def __init__(
        self,
        doc: YamlDocument,
        data: dict[str, Any],
        path: str,
        offset: int,
        problems: list[Diagnostic],
    ) -> None:
        self.doc, self.data, self.path, self.offset, self.problems = (
            doc,
            data,
            path,
            offset,
            problems,
        )

    def get(self, key: KeyPath) -> Any:
        value: Any = self.data
        for part in key:
            in_dict = isinstance(value, dict) and part in value
            in_list = isinstance(value, list) and isinstance(part, int) and part < len(value)
            if not (in_dict or in_list):
                return None
            value = value[part]
        return value

    def loc(self, key: KeyPath) -> Location:
        pos = self.doc.pos(key)
        if pos is None:
            return Location(self.path, 1, 1)
        return Location(self.path, pos.line + self.offset, pos.col + 1)

    def _name(self, key: KeyPath) -> str:
        return ".".join(str(k) if isinstance(k, str) else f"[{k}]" for k in key).replace(".[", "[")

    def wrong(self, key: KeyPath, expected: str, value: Any, hint: str = "") -> None:
        got = _TYPE_NAMES.get(type(value), type(value).__name__)
        pos = self.doc.values.get(key)
        if (
            not hint
            and pos is not None
            and pos.style == ""
            and expected == "a string"
            and (isinstance(value, bool | int | float | datetime.date) or value is None)
        ):
            hint = f'quote it: "{pos.raw}"' if pos.raw else "write a value after the colon"
        self.problems.append(
            diag.make(
                "field-type",
                f"'{self._name(key)}' must be {expected}, got {got}",
                self.loc(key),
                hint=hint,
            )
        )

    def key_loc(self, key: KeyPath) -> Location:
        """Where the key of a mapping entry is written (its value's place as a fallback)."""
        pos = self.doc.keys.get(key)
        return Location(self.path, pos.line + self.offset, pos.col + 1) if pos else self.loc(key)

    def unknown(self, key: KeyPath, allowed: tuple[str, ...]) -> None:
        location = self.key_loc(key)
        close = difflib.get_close_matches(str(key[-1]), allowed, n=1)
        self.problems.append(
            diag.make(
                "unknown-field",
                f"unknown key '{key[-1]}' in '{self._name(key[:-1])}'",
                location,
                hint=f"did you mean '{close[0]}'?"
                if close
                else "known keys: " + ", ".join(allowed),
            )
        )

    def _typed(self, key: str | KeyPath, check: Callable[[Any], bool], expected: str) -> Any:
        path = (key,) if isinstance(key, str) else key
        value = self.get(path)
        if value is None:
            return None
        if not check(value):
            self.wrong(path, expected, value)
            return None
        return value

    def has(self, path: KeyPath) -> bool:
        """Whether the key is written in the front matter (even with an empty value)."""
        parent = self.get(path[:-1]) if len(path) > 1 else self.data
        if isinstance(parent, dict):
            return path[-1] in parent
        return isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent)

    def string(self, key: str | KeyPath, required: bool = False) -> str:
        path = (key,) if isinstance(key, str) else key
        value = self.get(path)
        present = self.has(path)
        if present and value is None:  # `title:` or `title: null`
            self.wrong(path, "a string", value)
            return ""
        if required and (not present or value == ""):
            where = self.loc(path) if present or len(path) > 1 else Location(self.path, 1, 1)
            hint = f"add '{path[-1]}: ...'" + ("" if len(path) > 1 else " to the front matter")
            self.problems.append(
                diag.make(
                    "missing-field",
                    f"'{self._name(path)}' is required and must not be empty",
                    where,
                    hint=hint,
                )
            )
            return ""
        result = self._typed(path, lambda v: isinstance(v, str), "a string")
        return result.strip() if isinstance(result, str) else ""

    def integer(self, key: str | KeyPath) -> int | None:
        result = self._typed(
            key, lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"
        )
        return result if isinstance(result, int) else None

    def boolean(self, key: str) -> bool:
        return self._typed(key, lambda v: isinstance(v, bool), "true or false") is True

    def date(self, key: str) -> datetime.date | None:
        value = self.get((key,))
        if isinstance(value, str):
            try:
                return (
                    datetime.datetime.fromisoformat(value)
                    if "T" in value
                    else (datetime.date.fromisoformat(value))
                )
            except ValueError:
                pass
        if value is None or isinstance(value, datetime.date):
            return value
        self.wrong((key,), "a date (YYYY-MM-DD)", value, hint="write it like 2026-01-31")
        return None

    def items(self, key: str | KeyPath, kind: type, expected: str) -> list[Any]:
        path = (key,) if isinstance(key, str) else key
        value = self.get(path)
        if value is None:
            return []
        if not isinstance(value, list):
            self.wrong(
                path,
                "a list",
                value,
                hint=f"write '{path[-1]}: [item, item]' or one '- item' per line",
            )
            return []
        good = []
        for index, item in enumerate(value):
            if isinstance(item, kind) and not isinstance(item, bool):
                good.append(item)
            else:
                self.wrong((*path, index), expected, item)
        return good
