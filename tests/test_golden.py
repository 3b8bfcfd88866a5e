"""The golden site builds to exactly the committed tree (`make golden` refreshes it)."""

from __future__ import annotations

from pathlib import Path

from intimacy_ssg import build

from .support import GOLDEN, GOLDEN_BASE_URL, SITES, chdir, site_config, tree


def test_valid_basic_matches_golden_tree(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with chdir(SITES / "valid-basic"):
        result = build(site_config(SITES / "valid-basic", output=out, base_url=GOLDEN_BASE_URL))
    assert result.written, [d.format() for d in result.diagnostics]
    built, golden = tree(out), tree(GOLDEN / "valid-basic")
    assert sorted(built) == sorted(golden)
    changed = [name for name in built if built[name] != golden[name]]
    assert changed == [], "output differs from tests/golden; run `make golden` and review the diff"
