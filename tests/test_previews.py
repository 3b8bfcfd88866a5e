"""CI previews: build reports, diffs of two builds, GitHub annotations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from intimacy_ssg import Diagnostic, Location, Severity
from intimacy_ssg.cli import main
from intimacy_ssg.diagnostics import github_annotation
from intimacy_ssg.diff import diff_snapshots, to_markdown
from intimacy_ssg.report import REPORT_VERSION, load_snapshot

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
