"""CI previews: build reports, diffs of two builds, GitHub annotations."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intimacy_ssg import Diagnostic, Location, Severity
from intimacy_ssg.cli import main
from intimacy_ssg.diagnostics import github_annotation
from intimacy_ssg.diff import diff_snapshots, to_markdown
from intimacy_ssg.report import REPORT_VERSION, load_snapshot, page_parts

from .support import GOLDEN, SITES, chdir, page, write_content


def dated(title: str, body: str = "", **fields: str) -> str:
    return page(title, body, date="2026-01-01", **fields)


BEFORE = {
    "index.md": dated("Home", "[[t]] [[about]] [[old-name]]\n"),
    "about.md": dated("About", "[[index]]\n", faq="\n  - q: Who writes this?\n    a: We do."),
    "old-name.md": dated("Old name", "[[index]]\n"),
    "gone.md": dated("Gone", "[[index]]\n"),
    "t/index.md": dated("Topic", "[[a]] [[b]]\n"),
    "t/a.md": dated("Alpha", "[[t]] [[b]] First text.\n"),
    "t/b.md": dated("Beta", "[[t]] [[a]]\n"),
}
AFTER = dict(BEFORE)
AFTER.pop("old-name.md")
AFTER.pop("gone.md")
AFTER.update(
    {
        "index.md": dated("Home", "[[t]] [[about]] [[new-name]] [[moved]]\n"),
        "new-name.md": dated("Old name", "[[index]]\n"),  # moved without an alias
        "moved.md": dated("Gone", "[[index]]\n", aliases="[/gone/]"),  # moved with one
        "about.md": dated(
            "About", "[[index]] [[nowhere]]\n", faq="\n  - q: Who reviews this?\n    a: Nobody yet."
        ),
        "t/a.md": dated("Alpha", "[[t]] [[b]] Second text.\n"),
        "t/b.md": dated("Beta", "[[t]] [[a]]\n", description="'A new description.'"),
        "t/c.md": dated("Gamma", "[[t]] [[a]]\n"),
    }
)


def build_side(root: Path, files: dict[str, str]) -> tuple[Path, Path]:
    shutil.rmtree(root / "content", ignore_errors=True)
    write_content(root, files)
    report = root / "report.json"
    with chdir(root):
        main(
            [
                "build",
                "--project",
                str(SITES.parent.parent),
                "--content",
                "content",
                "--output",
                "output",
                "--report",
                str(report),
            ]
        )
    return report, root / "output"


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    old = tmp_path_factory.mktemp("old")
    new = tmp_path_factory.mktemp("new")
    old_report, old_out = build_side(old, BEFORE)
    new_report, new_out = build_side(new, AFTER)
    # the broken link fails the new build: give it a folder to compare all the same
    assert not new_out.exists()
    good = dict(
        AFTER,
        **{
            "about.md": dated(
                "About", "[[index]]\n", faq="\n  - q: Who reviews this?\n    a: Nobody yet."
            )
        },
    )
    fixed = tmp_path_factory.mktemp("fixed")
    fixed_report, fixed_out = build_side(fixed, good)
    return {
        "old_report": old_report,
        "old_out": old_out,
        "new_report": new_report,
        "fixed_report": fixed_report,
        "fixed_out": fixed_out,
    }


def test_report_schema_and_contents(sides: dict[str, Path]) -> None:
    report = json.loads(sides["old_report"].read_text())
    assert report["version"] == REPORT_VERSION
    assert set(report) == {
        "version",
        "pages",
        "files",
        "edges",
        "diagnostics",
        "clusters",
        "timings",
    }
    alpha = next(p for p in report["pages"] if p["id"] == "t/a")
    for key in (
        "id",
        "source",
        "url",
        "title",
        "cluster",
        "role",
        "words",
        "outbound_links",
        "inbound_links",
        "faq_count",
        "hash",
        "text_hash",
        "meta_hash",
        "nav_hash",
        "faq",
        "jsonld_hash",
        "jsonld_types",
    ):
        assert key in alpha, key
    assert (alpha["url"], alpha["cluster"], alpha["source"]) == ("/t/a/", "t", "content/t/a.md")
    assert alpha["outbound_links"] == 2 and alpha["inbound_links"] == 2
    assert report["clusters"] == [
        {"name": "t", "hub": "t", "pages": 3, "planned": [], "orphans": []}
    ]
    assert {"parse", "render", "write"} <= set(report["timings"])
    assert "t/a/index.html" in report["files"] and "css/site.css" in report["files"]


def diff(sides: dict[str, Path], old: str, new: str) -> dict[str, Any]:
    return diff_snapshots(load_snapshot(sides[old]), load_snapshot(sides[new]))


def test_diff_covers_every_kind_of_change(sides: dict[str, Path]) -> None:
    result = diff(sides, "old_report", "new_report")
    assert [p["id"] for p in result["pages"]["added"]] == ["moved", "new-name", "t/c"]
    assert [p["id"] for p in result["pages"]["removed"]] == ["gone", "old-name"]
    changed = {p["id"]: p for p in result["pages"]["changed"]}
    assert changed["t/a"]["parts"] == ["text", "navigation"]  # text, and Gamma in its nav
    assert "metadata" in changed["t/b"]["parts"]
    assert changed["t"]["only_navigation"] is False  # its spoke list gained Gamma
    assert result["urls"]["broken"] == ["/old-name/"]  # /gone/ has an alias redirect
    new = [(d["path"], d["code"]) for d in result["diagnostics"]["new"]]
    assert ("content/about.md", "broken-link") in new
    assert ("content/t/c.md", "orphan") in new
    assert {"source": "index", "target": "moved", "kind": "body"} in result["graph"]["edges_added"]
    assert {"source": "gone", "target": "index", "kind": "body"} in result["graph"]["edges_removed"]
    assert result["faq"]["added"] == [{"page": "about", "question": "Who reviews this?"}]
    assert result["faq"]["removed"] == [{"page": "about", "question": "Who writes this?"}]
    assert "about" in [j["id"] for j in result["jsonld"]["changed"]]


def test_only_navigation_changes_are_named(tmp_path: Path) -> None:
    base = {
        "index.md": page("Home", "[[t]]\n"),
        "t/index.md": page("T", "[[a]] [[b]]\n"),
        "t/a.md": page("A", "[[t]] [[b|the b page]]\n"),
        "t/b.md": page("B", "[[t]] [[a]]\n"),
    }
    renamed = dict(base, **{"t/b.md": page("B2", "[[t]] [[a]]\n")})
    old, _ = build_side(tmp_path / "o", base)
    new, _ = build_side(tmp_path / "n", renamed)
    changed = {
        p["id"]: p
        for p in diff_snapshots(load_snapshot(old), load_snapshot(new))["pages"]["changed"]
    }
    assert changed["t/a"]["only_navigation"] is True


def test_folders_and_reports_give_the_same_page_changes(sides: dict[str, Path]) -> None:
    from_reports = diff(sides, "old_report", "fixed_report")
    from_folders = diff(sides, "old_out", "fixed_out")
    for key in ("added", "removed", "changed"):
        assert from_folders["pages"][key] == from_reports["pages"][key]
    assert from_folders["urls"] == from_reports["urls"]
    assert from_folders["faq"] == from_reports["faq"]
    assert from_folders["diagnostics"]["new"] == []  # folders carry no diagnostics


def test_a_second_report_build_with_the_cache_reports_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A build with a report renders every output, its cache warm or not (nothing is
    reused, and no build is taken for a no-op): the report is the same."""
    reports, said = [], []
    for _ in range(2):
        report, _ = build_side(tmp_path, BEFORE)
        reports.append(json.loads(report.read_text()))
        report.unlink()
        said.append(capsys.readouterr().err)
    first, second = reports
    rendered = re.search(r"\b(\d+) rendered", said[0])
    assert rendered and int(rendered[1]) > len(BEFORE)
    assert f"{rendered[1]} rendered, 0 files changed" in said[1]  # the cache knew the output
    assert len(second["files"]) > len(BEFORE)
    first.pop("timings"), second.pop("timings")
    assert second == first


def test_a_report_that_cannot_be_written_is_said_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_content(tmp_path, {"index.md": dated("Home")})
    args = ["build", "--project", str(SITES.parent.parent), "--content", "content"]
    with chdir(tmp_path):
        (tmp_path / "taken").mkdir()
        assert main([*args, "--report", "nowhere/report.json"]) == 2
        err = capsys.readouterr().err
        assert "--report: no folder nowhere to write the report in" in err
        assert not (tmp_path / "output").exists()  # said before any work
        assert main([*args, "--report", "taken"]) == 1
    err = capsys.readouterr().err
    assert "error: could not write the report taken: Is a directory" in err
    assert "Traceback" not in err and "built 1 page" in err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".part")) == []


def test_a_report_cut_short_leaves_the_last_one_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that fills up while the report is written: the last report stays whole, and
    no part of the new one is left beside it."""
    write_content(tmp_path, {"index.md": dated("Home")})
    args = ["build", "--project", str(SITES.parent.parent), "--content", "content"]
    report = tmp_path / "report.json"
    with chdir(tmp_path):
        assert main([*args, "--report", "report.json"]) == 0
        last = report.read_bytes()
        assert json.loads(last)["version"] == REPORT_VERSION
        real = json.dump

        def full(obj: Any, file: Any, **kwargs: Any) -> None:
            file.write('{"version": ')
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(json, "dump", full)
        assert main([*args, "--report", "report.json"]) == 1
        monkeypatch.setattr(json, "dump", real)
    err = capsys.readouterr().err
    assert "error: could not write the report report.json: No space left on device" in err
    assert report.read_bytes() == last
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []


# The report's first definition of a page's parts, by regular expressions alone: the one
# page_parts() must agree with (it finds the same parts faster, with str.find).
HEAD = re.compile(r"<head>.*?</head>", re.S)
NAV = re.compile(
    r'<nav\b.*?</nav>|<header class="site-header">.*?</header>|<footer\b.*?</footer>|'
    r'<section class="(?:related|backlinks)".*?</section>',
    re.S,
)
JSONLD = re.compile(r'<script type="application/ld\+json">\s*(.*?)\s*</script>', re.S)
QUESTION = re.compile(r"<summary><h3>(.*?)</h3></summary>", re.S)


def patterned_parts(html: str) -> dict[str, Any]:
    def hashed(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    head = "".join(HEAD.findall(html))
    body = HEAD.sub("", html)
    navigation = "".join(NAV.findall(body))
    text = NAV.sub("", body)
    blocks = [json.loads(b) for b in JSONLD.findall(head)]
    return {
        "meta_hash": hashed(head),
        "nav_hash": hashed(navigation),
        "text_hash": hashed(text),
        "faq": [unescape(q) for q in QUESTION.findall(body)],
        "jsonld_hash": hashed(json.dumps(blocks, sort_keys=True)),
        "jsonld_types": sorted({str(b.get("@type")) for b in blocks}),
    }


def outcome(parts: Callable[[str], dict[str, Any]], html: str) -> Any:
    try:
        return parts(html)
    except Exception as exc:  # bad JSON-LD: both must fail alike
        return type(exc).__name__


PIECES = [
    "<head>",
    "</head>",
    "<nav",
    "<nav>",
    "<navy>",
    "</nav>",
    '<header class="site-header">',
    "<header>",
    "</header>",
    '<footer class="f">',
    "<footers>",
    "</footer>",
    '<section class="related"',
    '<section class="backlinks">',
    '<section class="other">',
    "</section>",
    '<script type="application/ld+json">',
    "</script>",
    "<summary><h3>",
    "</h3></summary>",
    '{"@type": "Article"}',
    '{"@type": "FAQPage", "x": [1]}',
    "[]",
    " ",
    "\n",
    "\u00a0",
    "&amp;",
    "<",
    "x",
]


@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_page_parts_are_those_the_patterns_find(html: str) -> None:
    assert outcome(page_parts, html) == outcome(patterned_parts, html)


def test_page_parts_of_built_pages_are_those_the_patterns_find() -> None:
    pages = sorted(GOLDEN.rglob("*.html"))
    types = set()
    for built in pages:
        html = built.read_text(encoding="utf-8")
        parts = page_parts(html)
        assert parts == patterned_parts(html), built
        types.update(parts["jsonld_types"])
    assert len(pages) > 5 and {"MedicalWebPage", "FAQPage", "BreadcrumbList"} <= types


def test_markdown_summary_matches_golden(sides: dict[str, Path]) -> None:
    text = to_markdown(diff(sides, "old_report", "new_report"), "https://preview.example.org/")
    golden = GOLDEN / "diff-summary.md"
    assert text == golden.read_text(), "run `make golden` and review the diff"


def test_diff_cli_exit_codes(sides: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    old, new = str(sides["old_report"]), str(sides["new_report"])
    assert main(["diff", old, new]) == 0
    assert capsys.readouterr().out.startswith("### Site preview")
    assert main(["diff", old, new, "--format", "json", "--fail-on-new-errors"]) == 1
    assert json.loads(capsys.readouterr().out)["urls"]["broken"] == ["/old-name/"]
    assert main(["diff", old, str(sides["fixed_report"]), "--fail-on-new-errors"]) == 0
    capsys.readouterr()
    assert main(["diff", old, "/nonexistent"]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("diagnostic", "annotation"),
    [
        (
            Diagnostic(
                "broken-link", "link to 'x.md': no such page", Location("content/a.md", 3, 7)
            ),
            "::error file=content/a.md,line=3,col=7,title=broken-link::link to 'x.md': no such page",
        ),
        (
            Diagnostic(
                "orphan",
                "no page links here",
                Location("content/a, b.md", 1, 1),
                Severity.WARNING,
                "link it",
            ),
            "::warning file=content/a%2C b.md,line=1,col=1,title=orphan::no page links here%0Alink it",
        ),
        (
            Diagnostic("missing-hub", "100% missing", Location("content/x"), Severity.INFO),
            "::notice file=content/x,title=missing-hub::100%25 missing",
        ),
    ],
)
def test_github_annotations(diagnostic: Diagnostic, annotation: str) -> None:
    assert github_annotation(diagnostic) == annotation


def test_check_formats(capsys: pytest.CaptureFixture[str]) -> None:
    site = SITES / "invalid-links"
    with chdir(site):
        assert (
            main(
                [
                    "check",
                    "--project",
                    str(SITES.parent.parent),
                    "--content",
                    "content",
                    "--format",
                    "github",
                ]
            )
            == 1
        )
    out = capsys.readouterr().out.splitlines()
    assert any(
        line.startswith("::error file=content/about.md,line=1,col=1,title=duplicate-url::")
        for line in out
    )
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in out)
    with chdir(site):
        main(
            [
                "check",
                "--project",
                str(SITES.parent.parent),
                "--content",
                "content",
                "--format",
                "json",
            ]
        )
    problems = json.loads(capsys.readouterr().out)
    assert {"path", "line", "column", "severity", "code", "message", "hint"} == set(problems[0])
