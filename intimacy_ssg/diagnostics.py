"""Diagnostics: what every stage reports instead of raising.

A diagnostic names a place (`path:line:col`), a stable code and a message a person can act on,
and optionally a hint. Stages return tuples of them; the orchestrator sorts and prints them.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from . import pickling


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"  # a suggestion: printed, never fails a build


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a file. `line` and `col` are 1-based; 0 means "the whole file"."""

    path: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.path
        return f"{self.path}:{self.line}:{max(self.col, 1)}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    location: Location
    severity: Severity = Severity.ERROR
    hint: str = ""

    def format(self) -> str:
        text = f"{self.location}: {self.severity.value}[{self.code}]: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location
        return (loc.path, loc.line, loc.col, self.code, self.message)


# Every code the generator can emit, with its default severity and what it means. The README's
# diagnostics table is checked against this registry by a test.
CODES: dict[str, tuple[Severity, str]] = {
    "config": (Severity.ERROR, "site.yaml or a command-line option is wrong (exit code 2)"),
    "encoding": (Severity.ERROR, "the file is not valid UTF-8 (a byte-order mark is fine)"),
    "frontmatter-unclosed": (Severity.ERROR, "front matter opened with `---` but never closed"),
    "yaml-syntax": (Severity.ERROR, "the front matter (or site.yaml) is not valid YAML"),
    "frontmatter-not-mapping": (Severity.ERROR, "the front matter is a list or a scalar"),
    "duplicate-key": (Severity.ERROR, "the same key appears twice in one YAML mapping"),
    "missing-field": (Severity.ERROR, "a required front-matter field is missing or empty"),
    "field-type": (Severity.ERROR, "a front-matter field has the wrong type"),
    "unknown-field": (Severity.WARNING, "a front-matter key the generator does not know"),
    "unknown-author": (Severity.ERROR, "`author` or `reviewed_by` is not an author in site.yaml"),
    "invalid-slug": (Severity.ERROR, "a file or folder name is not a valid slug"),
    "invalid-path": (Severity.ERROR, "a page is nested deeper than content/<cluster>/<slug>.md"),
    "missing-home": (Severity.ERROR, "content/index.md, the home page, does not exist"),
    "missing-hub": (Severity.ERROR, "a cluster folder has no index.md hub page"),
    "duplicate-url": (Severity.ERROR, "two sources (or a source and a generated page) claim a URL"),
    "broken-link": (Severity.ERROR, "an internal link points at no page"),
    "broken-anchor": (Severity.ERROR, "a link's #anchor is not a heading id of its target"),
    "unknown-related": (Severity.ERROR, "a `related:` entry names no page"),
    "unsafe-path": (Severity.ERROR, "a symlink in content/ or static/ was refused"),
    "page-too-large": (Severity.ERROR, "a page file is larger than the size cap (1 MB)"),
    "page-too-slow": (Severity.ERROR, "a page took too long to parse, or nests too deeply"),
    "template-error": (Severity.ERROR, "a Jinja2 template failed to load or render"),
    "contract-hub-link": (Severity.WARNING, "a spoke's body does not link to its hub"),
    "contract-spoke-link": (
        Severity.WARNING,
        "a hub neither links to a spoke nor lists it in related",
    ),
    "contract-siblings": (Severity.WARNING, "a spoke links to too few sibling spokes"),
    "orphan": (Severity.WARNING, "no other page links to this page (body or related)"),
    "dead-end": (Severity.WARNING, "the page's body links to no other page"),
    "planned-exists": (Severity.WARNING, "a hub's planned topic has a page now: remove it"),
    "unlinked-mention": (Severity.INFO, "the text names another page without linking it"),
    "faq-empty": (Severity.ERROR, "a faq block entry has an empty question or answer"),
    "faq-format": (Severity.ERROR, "a faq block has text before its first question heading"),
    "faq-question-mark": (Severity.WARNING, "an FAQ question does not end with a question mark"),
    "faq-duplicate": (Severity.ERROR, "the same question is asked twice on one page"),
    "faq-repeated": (Severity.WARNING, "the same or a near-identical question on several pages"),
    "invalid-alias": (Severity.ERROR, "an `aliases:` entry is not a URL path on this site"),
    "description-length": (Severity.WARNING, "the meta description is longer than 160 characters"),
    "structured-data": (Severity.WARNING, "JSON-LD lacks a property search engines require"),
    "structured-data-recommended": (Severity.INFO, "JSON-LD lacks a recommended property"),
    "review-overdue": (Severity.WARNING, "`last_reviewed` is older than the configured age"),
    "quiz-unknown-dimension": (Severity.ERROR, "a quiz weight or condition names no dimension"),
    "quiz-unreachable-profile": (Severity.ERROR, "no answers lead to a quiz profile, or to none"),
}


def make(
    code: str,
    message: str,
    location: Location,
    hint: str = "",
    severity: Severity | None = None,
) -> Diagnostic:
    """Build a diagnostic with the code's default severity (unknown codes are a bug)."""
    default, _ = CODES[code]
    return Diagnostic(code, message, location, severity or default, hint)


def decode_text(data: bytes, path: str) -> tuple[str, tuple[Diagnostic, ...]]:
    """UTF-8 (a BOM is fine), with LF line endings; invalid bytes become one diagnostic."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # the codec counts from after a byte-order mark, which it strips first
        start = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        before = data[:start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
        problem = make(
            "encoding",
            f"invalid UTF-8 at byte {start} (0x{data[start]:02x})"
            + ("; the file looks like UTF-16" if utf16 else ""),
            Location(path, line, col),
            hint="save the file as UTF-8 in your editor",
        )
        return "", (problem,)
    return text.replace("\r\n", "\n").replace("\r", "\n"), ()


def with_severity(
    diagnostics: Iterable[Diagnostic], level_of: Callable[[str], str | None]
) -> list[Diagnostic]:
    """Apply per-code severity overrides from site.yaml ("off" drops the diagnostic)."""
    out = []
    for d in diagnostics:
        level = level_of(d.code)
        if level == "off":
            continue
        out.append(d if level is None else replace(d, severity=Severity(level)))
    return out


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(sorted(set(diagnostics), key=Diagnostic.sort_key))


def count(diagnostics: Iterable[Diagnostic], severity: Severity) -> int:
    return sum(1 for d in diagnostics if d.severity is severity)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def display_path(path: Path) -> str:
    """A path as people should see it: relative to the working directory when inside it."""
    cwd = Path.cwd()
    if path.is_relative_to(cwd):
        return Path(os.path.relpath(path, cwd)).as_posix()
    return path.as_posix()


def github_annotation(d: Diagnostic) -> str:
    """A GitHub Actions workflow command, so the problem shows on the pull request's line."""
    level = {"error": "error", "warning": "warning", "info": "notice"}[d.severity.value]

    def prop(text: str) -> str:
        return (
            text.replace("%", "%25")
            .replace("\r", "%0D")
            .replace("\n", "%0A")
            .replace(":", "%3A")
            .replace(",", "%2C")
        )

    def data(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    where = [f"file={prop(d.location.path)}"]
    if d.location.line:
        where.append(f"line={d.location.line}")
        where.append(f"col={max(d.location.col, 1)}")
    where.append(f"title={prop(d.code)}")
    message = d.message + (f"\n{d.hint}" if d.hint else "")
    return f"::{level} {','.join(where)}::{data(message)}"


def as_dict(d: Diagnostic) -> dict[str, object]:
    return {
        "path": d.location.path,
        "line": d.location.line,
        "column": d.location.col,
        "severity": d.severity.value,
        "code": d.code,
        "message": d.message,
        "hint": d.hint,
    }


pickling.register(globals())
