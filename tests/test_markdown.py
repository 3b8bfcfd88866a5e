from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intimacy_ssg.markdown import MarkdownPage, slugify
from intimacy_ssg.model import LinkKind, fill_placeholders


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("What it is", "what-it-is"),
        ("Pacing & safety", "pacing-safety"),
        ("Ünïcödé & ünusual", "unicode-unusual"),
        ("  --Trim--  ", "trim"),
        ("C'est la vie!", "c-est-la-vie"),
        ("日本語", ""),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


def render(text: str, rel: str = "topic/page.md", first_line: int = 1) -> tuple[MarkdownPage, str]:
    page = MarkdownPage("content/" + rel, rel)
    return page, page.render(text, first_line)


def test_heading_ids_are_stable_and_deduplicated() -> None:
    page, html = render("# A\n\n## A\n\n## A\n\n## Common questions\n\n## 日本語\n")
    assert [h.id for h in page.headings] == ["a", "a-1", "a-2", "common-questions-1", "section"]
    assert '<h2 id="a-1">A</h2>' in html
    assert [h.line for h in page.headings] == [1, 3, 5, 7, 9]


@pytest.mark.parametrize(
    ("markdown", "kind", "target", "anchor"),
    [
        ("[x](other.md)", LinkKind.FILE, "topic/other.md", ""),
        ("[x](../desire/y.md#the-model)", LinkKind.FILE, "desire/y.md", "the-model"),
        ("[x](./sub/../other.md)", LinkKind.FILE, "topic/other.md", ""),
        ("[x](../../escape.md)", LinkKind.FILE, "../escape.md", ""),
        ("[x](caf%C3%A9.md)", LinkKind.FILE, "topic/café.md", ""),
        ("[x](#local)", LinkKind.ANCHOR, "", "local"),
        ("[x](/quiz/)", LinkKind.ROOT, "/quiz/", ""),
        ("[[fear-of-intimacy]]", LinkKind.WIKI, "fear-of-intimacy", ""),
        ("[[intimacy/fear|a label]]", LinkKind.WIKI, "intimacy/fear", ""),
        ("[[ desire#the-model | label ]]", LinkKind.WIKI, "desire", "the-model"),
    ],
)
def test_internal_links_are_recorded(
    markdown: str, kind: LinkKind, target: str, anchor: str
) -> None:
    page, html = render(markdown)
    [link] = page.links
    assert (link.kind, link.target, link.anchor) == (kind, target, anchor)
    assert "\x00H0\x00" in html


@pytest.mark.parametrize(
    "markdown",
    [
        "[x](https://example.org/a.md)",
        "[x](mailto:someone@example.org)",
        "[x](//cdn.example.org/a.md)",
        "[x](image.png)",
        "`[x](in-code.md)`",
        "    [x](indented-code.md)",
        "[[]] and [[ ]]",
        "[[not\nclosed]]",
    ],
)
def test_non_page_links_are_left_alone(markdown: str) -> None:
    page, html = render(markdown)
    assert page.links == []
    assert "\x00" not in html


def test_link_positions_point_at_the_target_in_the_file() -> None:
    text = "Intro line.\n\nSee [a](a.md) and [b](b.md),\nthen [[c]].\n\n- item [d](d.md)\n"
    page, _ = render(text, first_line=5)
    got = [(link.target, link.location.line, link.location.col) for link in page.links]
    assert got == [("topic/a.md", 7, 9), ("topic/b.md", 7, 23), ("c", 8, 6), ("topic/d.md", 10, 12)]


def test_raw_html_is_escaped_and_javascript_links_refused() -> None:
    _, html = render(
        '<script>alert(1)</script>\n\n<img src=x onerror="y">\n\n[x](javascript:alert(1))'
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    inline = MarkdownPage("t.md", "t.md").render('A <b onclick="x">bold</b> word.', 1)
    assert inline == "<p>A &lt;b onclick=&quot;x&quot;&gt;bold&lt;/b&gt; word.</p>\n"
    assert "<img" not in html
    assert 'href="javascript' not in html


def test_placeholders_cannot_be_forged_by_content() -> None:
    page, html = render("A NUL \x00H0\x00 and [real](x.md)")
    filled = fill_placeholders(html, lambda kind, i: f"[{kind}{i}]")
    assert filled.count("[H0]") == 1
    assert len(page.links) == 1


def test_unlabelled_wikilink_gets_a_title_placeholder_and_labels_are_escaped() -> None:
    _, html = render("[[target]] and [[target|<b>bold</b>]]")
    assert '<a href="\x00H0\x00">\x00T0\x00</a>' in html
    assert '<a href="\x00H1\x00">&lt;b&gt;bold&lt;/b&gt;</a>' in html


def test_words_are_counted_outside_code() -> None:
    page, _ = render("One two three.\n\n```\nnot counted here\n```\n\n## Four five\n")
    assert page.words == 5


def test_tables_and_strikethrough_are_enabled() -> None:
    _, html = render("| a | b |\n| - | - |\n| 1 | [x](y.md) |\n\n~~old~~\n")
    assert "<table>" in html and "<s>old</s>" in html


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="az09._~/#?=&,+!*'()-:%@;$ \\é<>\"[]{}|^`", max_size=40),
        st.text(max_size=20),
        st.sampled_from(["//host/a", "http://Example.org/a b", "mailto:A@B", "../a.md#x"]),
    )
)
def test_a_link_destination_is_normalised_as_markdown_it_does(url: str) -> None:
    """The quick normalisation (destinations left as they are skip markdown-it's parsing
    and encoding) gives markdown-it's own result for any destination."""
    from markdown_it.common.normalize_url import normalizeLink

    from intimacy_ssg.markdown import _MD, _normalize_link

    assert _normalize_link(url) == normalizeLink(url)
    assert _MD.normalizeLink(url) == normalizeLink(url)


def test_plain_destinations_skip_markdown_its_normalisation() -> None:
    """The relative paths most links hold are returned without markdown-it's work; links
    render as before."""
    from unittest import mock

    from markdown_it.common import normalize_url

    from intimacy_ssg.markdown import _normalize_link

    with mock.patch.object(normalize_url, "normalizeLink", side_effect=AssertionError):
        assert _normalize_link("../desire/responsive-desire.md#what-it-is") == (
            "../desire/responsive-desire.md#what-it-is"
        )
    assert _normalize_link("a b.md") == "a%20b.md"
    page, html = render("[x](../other/a%20b.md) [y](<c d.md>) [z](https://example.org/é)\n")
    assert 'href="https://example.org/%C3%A9"' in html
    assert [link.target for link in page.links][:2] == ["other/a b.md", "topic/c d.md"]


PLAIN_LINES = st.builds(
    str.__add__,
    st.sampled_from("aZq"),
    st.text(alphabet="az09 ,.;:?!'\"()%/\u2018\u2019\u201c\u201d\u2013\u2014\u2026-", max_size=30),
)


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        st.builds(
            "".join,
            st.lists(
                st.one_of(PLAIN_LINES, st.sampled_from(["\n", "\n\n", "\n\n\n", " \n", "\n \n"])),
                min_size=1,
                max_size=8,
            ),
        ),
        st.text(alphabet="aZ09 ,.;:?!'\"()%/\u2019\u201c\u2013-\n", max_size=40),
        st.text(alphabet="aZ9 .'\"-\n\t*_`#>|&<[]~\\=+:\u00e9\r\x00\u00a0", max_size=30),
        st.text(max_size=30),
    )
)
def test_a_plain_paragraph_is_rendered_as_markdown_it_renders_it(text: str) -> None:
    """FAQ answers and quiz profiles of plain words skip markdown-it's parse: for any text
    the quick path takes, its HTML is markdown-it's, and the page renders it the same."""
    from intimacy_ssg.markdown import _MD, plain_paragraphs

    plain = plain_paragraphs(text)
    if plain is not None:
        assert plain == _MD.render(text)
        assert MarkdownPage("p.md", "p.md").render(text, 1, collect_headings=False) == plain


@pytest.mark.parametrize(
    "text",
    [
        "- a",
        "A  \nb",
        "A\n \nB",
        "\nA",
        "A *b*",
        "A_b_",
        "1. a",
        "A\n# b",
        "A\n    b",
        "A\n---",
        "A &amp;",
        "A [[b]]",
        "A [b](c.md)",
        "A <b>",
        "A\tb",
        " A",
        "A \nb",
        "A `b`",
        "A ~~b~~",
        "A\\b",
        "",
    ],
)
def test_text_markdown_reads_takes_markdown_its_own_path(text: str) -> None:
    from intimacy_ssg.markdown import plain_paragraphs

    assert plain_paragraphs(text) is None


def test_plain_answers_are_rendered_without_markdown_its_parse() -> None:
    from unittest import mock

    from intimacy_ssg.markdown import _MD

    answer = (
        'It helps to "name" it.\nPartners (often) find 2 ways: talk, or wait\u2026\n\nOr both.\n'
    )
    expected = _MD.render(answer)
    with mock.patch.object(_MD, "parse", side_effect=AssertionError("parsed")):
        assert MarkdownPage("p.md", "p.md").render(answer, 3, collect_headings=False) == expected
    assert expected.startswith("<p>It helps to &quot;name&quot;")
    assert expected.endswith("</p>\n<p>Or both.</p>\n")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


def test_markdown_its_rule_debug_logs_are_quiet_and_its_other_logs_are_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """markdown-it-py's rules log a debug message each time they are tried; with nothing
    listening at DEBUG, each module's logger is swapped for one whose debug() does
    nothing (5% of a page's parse), and whose other methods are the logger's own. With a
    listener at DEBUG, the loggers are left as they are."""
    import sys
    import types

    from intimacy_ssg import markdown as markdown_module

    swapped = [
        name
        for name, module in sys.modules.items()
        if name.startswith("markdown_it.") and hasattr(module, "LOGGER")
    ]
    assert "markdown_it.rules_block.paragraph" in swapped
    assert all(type(sys.modules[n].LOGGER).__name__ == "_Unheard" for n in swapped)

    for level, quiet in [(logging.DEBUG, False), (logging.NOTSET, True)]:
        name = f"fakemd.rules{level}"  # a package of one module, its logger heard or not
        real, records = logging.getLogger(name), _Records()
        real.addHandler(records)
        rules = types.ModuleType(name)
        vars(rules)["LOGGER"] = real
        monkeypatch.setitem(sys.modules, name, rules)
        logging.getLogger("fakemd").setLevel(level)
        markdown_module.quiet_debug_logs("fakemd")
        logger = vars(rules)["LOGGER"]
        assert (logger is real) is not quiet
        logger.debug("tried a rule")
        logger.warning("something to say")
        said = ["something to say"] if quiet else ["tried a rule", "something to say"]
        assert records.seen == said
        real.removeHandler(records)
    logging.getLogger("fakemd").setLevel(logging.NOTSET)
