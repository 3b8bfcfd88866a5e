"""Sample sites on disk: each invalid site reports exactly its expected diagnostics."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from intimacy_ssg.diagnostics import CODES

from .support import SITES, check_site, spy_aparts

BUILD = importlib.import_module("intimacy_ssg.build")  # the module (the package exports build())
INVALID = sorted(p for p in SITES.iterdir() if (p / "expected.txt").exists())


@pytest.mark.parametrize("forked", [False, True], ids=["here", "forked"])
@pytest.mark.parametrize("site", INVALID, ids=lambda p: p.name)
def test_invalid_site_reports_exactly_its_expected_diagnostics(
    site: Path, forked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`forked`: the mention check done by a forked process, as for a large site (graph.json
    is made apart only in a rebuild from a cache on disk: see test_cache)."""
    made = spy_aparts(monkeypatch)
    monkeypatch.setattr(BUILD, "APART_MIN_PAGES", 0 if forked else 10**9)
    result, text = check_site(site)
    assert text == (site / "expected.txt").read_text()
    assert result.failed(strict=True)
    assert not result.written
    assert made == [("unlinked_mentions", forked), ("_graph_outputs", False)]


def test_every_content_code_is_produced_by_some_sample_site() -> None:
    seen = "".join((site / "expected.txt").read_text() for site in INVALID)
    # config errors have their own tests (test_config); these need files made at test time
    # (a symlink, a 1 MB page, a slow page: test_hardening).
    elsewhere = ("config", "unsafe-path", "page-too-large", "page-too-slow")
    missing = [c for c in CODES if c not in elsewhere and f"[{c}]" not in seen]
    assert missing == []


def test_valid_basic_site_is_clean_even_in_strict_mode() -> None:
    result, text = check_site(SITES / "valid-basic", strict=True)
    assert text == ""
    assert result.pages == 5
    assert not result.failed(strict=True)


def test_a_problem_in_one_page_does_not_hide_problems_in_others() -> None:
    _, text = check_site(SITES / "invalid-frontmatter")
    files = {line.split(":")[0] for line in text.splitlines() if not line.startswith(" ")}
    assert len(files) >= 10
