"""`make golden`: regenerate the golden files from tests/sites/.

- tests/golden/<site>/: the output tree of each valid golden site, built at a sub-path;
- tests/sites/<site>/expected.txt: the exact diagnostics of each invalid site.

Review `git diff tests/` before committing: these files are the contract for what the
generator writes and reports.
"""

from __future__ import annotations

import shutil

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
    for site in sorted(SITES.iterdir()):
        expected = site / "expected.txt"
        if expected.exists():
            expected.write_text(check_site(site)[1])
            print(f"wrote {expected.relative_to(SITES.parent.parent)}")


if __name__ == "__main__":
    main()
