"""`make golden`: regenerate the golden files from tests/sites/.

- tests/golden/<site>/: the output tree of each valid golden site, built at a sub-path;
- tests/sites/<site>/expected.txt: the exact diagnostics of each invalid site.

Review `git diff tests/` before committing: these files are the contract for what the
generator writes and reports.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from intimacy_ssg import build

from .support import GOLDEN, GOLDEN_BASE_URL, SITES, chdir, check_site, site_config

GOLDEN_SITES = ("valid-basic",)


def main() -> None:
    for name in GOLDEN_SITES:
        target = GOLDEN / name
        shutil.rmtree(target, ignore_errors=True)
        with chdir(SITES / name):
            result = build(site_config(SITES / name, output=target, base_url=GOLDEN_BASE_URL))
        if not result.written:
            problems = "\n".join(d.format() for d in result.diagnostics)
            raise SystemExit(f"{name} did not build:\n{problems}")
        print(f"wrote {target.relative_to(GOLDEN.parent.parent)}/")
    summary = GOLDEN / "diff-summary.md"
    summary.write_text(previews_summary())
    print(f"wrote {summary.relative_to(GOLDEN.parent.parent)}")
    for site in sorted(SITES.iterdir()):
        expected = site / "expected.txt"
        if expected.exists():
            expected.write_text(check_site(site)[1])
            print(f"wrote {expected.relative_to(SITES.parent.parent)}")


def previews_summary() -> str:
    """The markdown summary of the before/after sites in test_previews."""
    import tempfile

    from intimacy_ssg.diff import diff_snapshots, to_markdown
    from intimacy_ssg.report import load_snapshot

    from .test_previews import AFTER, BEFORE, build_side

    with tempfile.TemporaryDirectory() as tmp:
        old, _ = build_side(Path(tmp) / "old", BEFORE)
        new, _ = build_side(Path(tmp) / "new", AFTER)
        result = diff_snapshots(load_snapshot(old), load_snapshot(new))
    return to_markdown(result, "https://preview.example.org/")


if __name__ == "__main__":
    main()
