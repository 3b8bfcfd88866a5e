"""load_config(): site.yaml plus command-line overrides -> a frozen Config.

A broken site.yaml or an unsafe folder layout is a configuration error (exit code 2),
raised as ConfigError carrying diagnostics in the same format as content problems.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .diagnostics import CODES, Diagnostic, Location, Severity, decode_text
from .diagnostics import display_path as _display

SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
LEVELS = ("error", "warning", "info", "off")
PAGE_TYPES = ("Article", "MedicalWebPage")


class ConfigError(Exception):
    """The project cannot be built as configured (exit code 2)."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        super().__init__("\n".join(d.format() for d in diagnostics))
        self.diagnostics = diagnostics


@dataclass(frozen=True, slots=True)
class Author:
    id: str
    name: str
    credentials: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    project_dir: Path
    content_dir: Path
    output_dir: Path
    templates_dir: Path
    static_dir: Path
    title: str
    base_url: str  # always ends with "/"
    language: str = "en"
    description: str = ""
    authors: tuple[Author, ...] = ()
    default_author: str = ""
    strict: bool = False
    drafts: bool = False
    min_sibling_links: int = 2  # cluster contract: sibling spokes each spoke must link
    related_count: int = 4  # related reading: how many entries, explicit ones included
    page_type: str = "Article"  # JSON-LD type of content pages: Article or MedicalWebPage
    timezone: str = "UTC"  # dates without a time are midnight here
    default_image: str = ""  # for social cards and JSON-LD when a page has no image
    review_max_age_months: int = 12  # older `last_reviewed` dates are review-overdue
    search: bool = True  # index the built site with Pagefind and make a search page
    severity: tuple[tuple[str, str], ...] = ()  # per-code overrides: error/warning/info/off

    def severity_of(self, code: str) -> str | None:
        return next((level for c, level in self.severity if c == code), None)

    @property
    def base_path(self) -> str:
        """The path part of base_url ("/" or "/sub/path/"): every internal URL starts with it."""
        return urlsplit(self.base_url).path or "/"

    def author(self, author_id: str) -> Author | None:
        return next((a for a in self.authors if a.id == author_id), None)


def normalise_base_url(url: str) -> str:
    url = url.strip()
    if not url:
        return "/"
    parts = urlsplit(url)
    if parts.scheme and parts.scheme not in ("http", "https"):
        raise ValueError(f"base_url must be http(s) or a path, not {parts.scheme}:")
    if parts.query or parts.fragment:
        raise ValueError("base_url cannot have a query or a fragment")
    path = parts.path or "/"
    if not path.startswith("/"):
        raise ValueError("base_url must be an absolute URL or start with '/'")
    if not path.endswith("/"):
        path += "/"
    return f"{parts.scheme}://{parts.netloc}{path}" if parts.scheme else path


def load_config(
    project_dir: Path,
    *,
    content_dir: Path | None = None,
    output_dir: Path | None = None,
    base_url: str | None = None,
    strict: bool = False,
    drafts: bool = False,
    remember: Path | None = None,
) -> Config:
    """The project's configuration, or ConfigError with every problem found.

    `remember` (the command line's, in the build cache's folder) names a file keeping the
    last parse of site.yaml: while its bytes (and the generator) are as they were, it is
    not parsed again, and PyYAML is not even imported (its import alone was a tenth of a
    rebuild that changed nothing). A configuration with problems is always parsed again,
    for the positions its diagnostics give."""
    project_dir = project_dir.resolve()
    site_file = project_dir / "site.yaml"
    raw = site_file.read_bytes() if site_file.is_file() else None
    options: dict[str, Any] = {
        "content_dir": content_dir,
        "output_dir": output_dir,
        "base_url": base_url,
        "strict": strict,
        "drafts": drafts,
    }
    if raw is None:  # said as a problem
        return _config(project_dir, site_file, None, **options)
    if remember is not None:
        from .cache import recalled_value

        value = recalled_value(remember, raw)
        if value is not None:
            with contextlib.suppress(ConfigError):  # said again below, with positions
                return _config(project_dir, site_file, _Recalled(value), **options)
    text, undecodable = decode_text(raw, _display(site_file))
    if undecodable:
        raise ConfigError(undecodable)
    from .yamlload import load_yaml

    doc = load_yaml(text)
    config = _config(project_dir, site_file, doc, **options)
    if remember is not None:  # a mapping: anything else is a problem, raised above
        from .cache import keep_value

        keep_value(remember, raw, doc.value)
    return config


@dataclass(frozen=True, slots=True)
class _Recalled:
    """site.yaml's value as a parse gave it last time (see load_config): with no
    positions, which only problems would need."""

    value: Any
    problems: tuple[Any, ...] = ()
    keys: dict[Any, Any] = field(default_factory=dict)

    def pos(self, path: tuple[str | int, ...]) -> None:
        return None


def _config(
    project_dir: Path,
    site_file: Path,
    doc: Any,
    *,
    content_dir: Path | None,
    output_dir: Path | None,
    base_url: str | None,
    strict: bool,
    drafts: bool,
) -> Config:
    shown = _display(site_file)
    problems: list[Diagnostic] = []

    def problem(message: str, line: int = 0, col: int = 0, hint: str = "") -> None:
        problems.append(
            Diagnostic("config", message, Location(shown, line, col), Severity.ERROR, hint)
        )

    data: dict[str, Any] = {}
    if doc is None:
        problem(
            f"no site.yaml in {_display(project_dir)}",
            hint="run from the project folder or pass --project DIR",
        )
    else:
        for p in doc.problems:
            hint = p.hint.replace("{line}", str(p.ref_line + 1))
            location = Location(shown, p.line + 1, p.col + 1)
            problems.append(Diagnostic(p.code, p.message, location, Severity.ERROR, hint))
        if isinstance(doc.value, dict):
            data = doc.value
        elif doc.value is not None or not doc.problems:
            problem("site.yaml must be a mapping of settings")

    def where(*path: str | int) -> tuple[int, int]:
        pos = doc.pos(tuple(path)) if doc is not None else None
        return (pos.line + 1, pos.col + 1) if pos else (0, 0)

    def text(key: str, default: str | None = None) -> str:
        value = data.get(key, default)
        if value is None:
            problem(f"'{key}' is required", hint=f"add `{key}: ...` to site.yaml")
            return ""
        if not isinstance(value, str):
            problem(f"'{key}' must be a string", *where(key), hint="quote it")
            return ""
        return value

    title = text("title")
    language = text("language", "en")
    description = text("description", "")
    try:
        url = normalise_base_url(base_url if base_url is not None else text("base_url", "/"))
    except ValueError as exc:
        url = "/"
        problem(str(exc), *(where("base_url") if base_url is None else (0, 0)))

    authors: list[Author] = []
    raw_authors = data.get("authors", {})
    if not isinstance(raw_authors, dict):
        problem("'authors' must map author ids to {name, credentials, url}", *where("authors"))
        raw_authors = {}
    for author_id, info in raw_authors.items():
        if not isinstance(info, dict) or not isinstance(info.get("name"), str):
            problem(f"author '{author_id}' needs a `name`", *where("authors", author_id))
            continue
        extra = {k: str(info.get(k) or "") for k in ("credentials", "url")}
        authors.append(Author(str(author_id), info["name"], **extra))
    default_author = data.get("default_author", authors[0].id if len(authors) == 1 else "")
    if default_author and all(a.id != default_author for a in authors):
        problem(f"default_author '{default_author}' is not in 'authors'", *where("default_author"))

    def section(name: str, defaults: dict[str, int | str]) -> dict[str, int | str]:
        """A mapping of settings whose types are those of their defaults."""
        values = dict(defaults)
        raw = data.get(name, {})
        if not isinstance(raw, dict):
            problem(f"'{name}' must be a mapping", *where(name))
            return values
        for key, value in raw.items():
            if key not in defaults:
                problem(
                    f"unknown {name} setting '{key}'",
                    *where(name, key),
                    hint="known: " + ", ".join(defaults),
                )
            elif isinstance(defaults[key], int) and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                problem(f"'{name}.{key}' must be a whole number, 0 or more", *where(name, key))
            elif isinstance(defaults[key], str) and not isinstance(value, str):
                problem(f"'{name}.{key}' must be a string", *where(name, key), hint="quote it")
            else:
                values[key] = value
        return values

    graph_settings = section("graph", {"min_sibling_links": 2, "related_count": 4})
    metadata = section(
        "metadata",
        {"page_type": "Article", "timezone": "UTC", "image": "", "review_max_age_months": 12},
    )
    if metadata["page_type"] not in PAGE_TYPES:
        problem(
            f"'metadata.page_type' must be one of {', '.join(PAGE_TYPES)}",
            *where("metadata", "page_type"),
        )
    try:
        zoneinfo.ZoneInfo(str(metadata["timezone"]))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problem(
            f"unknown time zone '{metadata['timezone']}'",
            *where("metadata", "timezone"),
            hint="an IANA name such as UTC or Europe/London",
        )
    search = data.get("search", True)
    if not isinstance(search, bool):
        problem("'search' must be true or false", *where("search"))
        search = True
    severity: list[tuple[str, str]] = []
    raw_severity = data.get("severity", {})
    if not isinstance(raw_severity, dict):
        problem(
            "'severity' must map diagnostic codes to error, warning, info or off",
            *where("severity"),
        )
        raw_severity = {}
    for code, level in raw_severity.items():
        if code not in CODES or code == "config":
            close = difflib.get_close_matches(str(code), sorted(CODES), n=1)
            problem(
                f"unknown diagnostic code '{code}'",
                *where("severity", code),
                hint=f"did you mean '{close[0]}'?" if close else "see the README's list",
            )
        elif level not in LEVELS:
            problem(
                f"severity of '{code}' must be one of {', '.join(LEVELS)}",
                *where("severity", code),
                hint="quote off or no if YAML read them as false",
            )
        else:
            severity.append((str(code), str(level)))
    known = (
        "title",
        "base_url",
        "language",
        "description",
        "authors",
        "default_author",
        "graph",
        "metadata",
        "search",
        "severity",
    )
    for key in sorted(set(data) - set(known)):
        pos = doc.keys.get((key,)) if doc is not None else None
        line, col = (pos.line + 1, pos.col + 1) if pos else (0, 0)
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known settings: {', '.join(known)}"
        problem(f"unknown setting '{key}'", line, col, hint=hint)

    content = (content_dir or project_dir / "content").resolve()
    output = (output_dir or project_dir / "output").resolve()
    templates = project_dir / "templates"
    if not content.is_dir():
        problem(f"content folder {_display(content)} does not exist")
    if not templates.is_dir():
        problem(f"templates folder {_display(templates)} does not exist")
    static = project_dir / "static"
    guarded = {"project": project_dir, "content": content, "templates": templates, "static": static}
    for name, folder in guarded.items():
        if folder.is_relative_to(output):
            problem(
                f"output folder {_display(output)} is or contains the {name} folder",
                hint="the output folder is replaced wholesale on every build; choose another",
            )
        elif name != "project" and output.is_relative_to(folder):
            problem(f"output folder {_display(output)} is inside the {name} folder")
    if problems:
        raise ConfigError(tuple(problems))
    return Config(
        project_dir=project_dir,
        content_dir=content,
        output_dir=output,
        templates_dir=templates,
        static_dir=static,
        title=title,
        base_url=url,
        language=language,
        description=description,
        authors=tuple(authors),
        default_author=str(default_author or ""),
        strict=strict,
        drafts=drafts,
        min_sibling_links=int(graph_settings["min_sibling_links"]),
        related_count=int(graph_settings["related_count"]),
        page_type=str(metadata["page_type"]),
        timezone=str(metadata["timezone"]),
        default_image=str(metadata["image"]),
        review_max_age_months=int(metadata["review_max_age_months"]),
        search=search,
        severity=tuple(sorted(severity)),
    )
