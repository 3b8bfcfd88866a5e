"""Property tests: any content gives diagnostics or pages, never a traceback, never a file
outside output/; the same input gives the same bytes; the parse cache never changes output.

`make test` runs a fast subset; `make fuzz` runs many more examples (HYPOTHESIS_PROFILE=fuzz).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intimacy_ssg import BuildResult, build, load_config
from intimacy_ssg.cache import BuildCache

from .support import GRAPH_RULES_OFF, REPO, chdir, tree, write_content

settings.register_profile(
    "default", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

SLUGS = st.sampled_from(["index", "a", "b", "c-d", "Bad Name", "..", "con"])
FOLDERS = st.sampled_from(["", "topic/", "topic/", "other/", "x/y/"])
PIECES = st.sampled_from(
    [
        "plain words",
        "## A heading",
        "### Sub",
        "[link](a.md)",
        "[up](../index.md#x)",
        "[[a]]",
        "[[topic/b|label]]",
        "[[nope]]",
        "[ext](https://example.org/)",
        "<script>x</script>",
        "{{ 7*7 }}",
        "::: faq\n### Why?\nBecause.\n:::",
        "::: faq\nstray\n:::",
        "[" * 50,
        "> quote",
        "- item",
        "| a | b |\n| - | - |\n| 1 | 2 |",
        "`code`",
        "[x](javascript:y)",
    ]
)
VALUES = st.one_of(
    st.text(max_size=20),
    st.integers(),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=8), max_size=3),
)
KEYS = st.sampled_from(
    [
        "title",
        "description",
        "summary",
        "related",
        "tags",
        "faq",
        "weight",
        "draft",
        "date",
        "aliases",
        "unknown",
        "sources",
    ]
)


@st.composite
def pages(draw: st.DrawFn) -> str:
    front = draw(st.dictionaries(KEYS, VALUES, max_size=6))
    lines = ["---"]
    for key, value in front.items():
        lines.append(
            f"{key}: {value!r}"
            if not isinstance(value, list)
            else f"{key}: [{', '.join(repr(v) for v in value)}]"
        )
    if draw(st.booleans()):
        lines += ["title: T", "description: D"]
    body = "\n\n".join(draw(st.lists(PIECES, max_size=6)))
    closing = ["---"] if draw(st.integers(0, 9)) else []  # sometimes never closed
    return "\n".join(lines + closing) + "\n" + body + "\n"


SITES = st.dictionaries(
    st.builds(lambda f, s: f"{f}{s}.md", FOLDERS, SLUGS), pages(), min_size=1, max_size=5
)


def build_site(
    root: Path, files: dict[str, str], cache: BuildCache | None = None, write: bool = True
) -> BuildResult:
    content = write_content(root, files)
    with chdir(root):
        config = load_config(REPO, content_dir=content, output_dir=root / "output")
        config = replace(config, search=False, severity=GRAPH_RULES_OFF)
        return build(config, write=write, cache=cache, keep_outputs=True)


@given(SITES)
def test_any_content_gives_diagnostics_or_pages_and_stays_inside_output(
    files: dict[str, str],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        result = build_site(root, files)
        assert result.diagnostics or result.written
        outside = [
            p
            for p in root.rglob("*")
            if p.is_file()
            and not p.is_relative_to(root / "content")
            and not p.is_relative_to(root / "output")
            and p.name != ".output.lock"
        ]
        assert outside == []
        if result.written:
            built = tree(root / "output")
            for name, data in built.items():
                if not name.endswith(".html"):
                    continue
                for href in re.findall(r'href="(/[^"#]*)', data.decode()):
                    path = unquote(urlsplit(href).path).lstrip("/")
                    assert path in built or path + "index.html" in built, (name, href)


@given(SITES)
def test_building_twice_gives_identical_bytes(files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        a = build_site(Path(one), files, write=False)
        b = build_site(Path(two), files, write=False)
        assert a.outputs == b.outputs
        assert [d.format() for d in a.diagnostics] == [d.format() for d in b.diagnostics]


@given(SITES, st.lists(st.tuples(st.booleans(), pages()), min_size=1, max_size=4))
def test_the_parse_cache_after_any_edits_equals_a_clean_build(
    files: dict[str, str], edits: list[tuple[bool, str]]
) -> None:
    cache = BuildCache()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        current = dict(files)
        build_site(root, current, cache, write=False)
        for delete, text in edits:
            name = sorted(current)[0]
            if delete and len(current) > 1:
                (root / "content" / name).unlink()
                del current[name]
            else:
                current[name] = text
            cached = build_site(root, current, cache, write=False)
        with tempfile.TemporaryDirectory() as clean_dir:
            clean = build_site(Path(clean_dir), current, write=False)
        assert cached.outputs == clean.outputs


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=10**6),
            st.text(alphabet=st.characters(blacklist_characters="\0", codec="utf-8")),
        ),
        max_size=20,
    )
)
def test_a_pages_prose_is_packed_folded_and_unpacked_unchanged(
    lines: list[tuple[int, str]],
) -> None:
    """Packed folded (as the mention search reads it: see model.fold), unpacked as packed."""
    from intimacy_ssg.model import fold, pack_text, unpack_prose

    numbers, joined = unpack_prose(pack_text(lines))
    unpacked = list(zip(numbers, joined.split("\0"), strict=True)) if numbers else []
    assert unpacked == [(line, fold(text)) for line, text in lines]


@given(
    st.lists(
        st.tuples(st.integers(min_value=1, max_value=99), st.text(alphabet="ab\u00e9\u2019 -")),
        max_size=6,
    ),
    st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=4), max_size=3),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
)
def test_prose_holds_a_word_in_its_bytes_exactly_when_its_text_holds_it(
    lines: list[tuple[int, str]], words: list[str], noise: str
) -> None:
    """The mention search looks for words in a page's packed prose without decoding it."""
    from intimacy_ssg.model import fold, pack_text, prose_holds, unpack_prose

    lines = [*lines, (100, noise)]
    for chosen in (words, [fold(text)[1:4] for _, text in lines]):  # any, and ones it holds
        packed = pack_text(lines)
        _, joined = unpack_prose(packed)
        needles = [word.encode("utf-8", "surrogatepass") for word in chosen]
        assert prose_holds(packed, needles) == any(word in joined for word in chosen)
    assert not prose_holds(b"", [b""]) and not prose_holds(pack_text(lines), [])
