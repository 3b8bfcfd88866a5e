from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
import pytest
from hypothesis import given
from hypothesis import strategies as st

from intimacy_ssg.render import Handed, make_environment, precompiled, quick_escape

from .support import REPO, build_content, page


def test_content_is_data_never_a_template(tmp_path: Path) -> None:
    files = {
        "index.md": page("Home"),
        "x.md": page(
            "'{{ 7 * 7 }} <script>alert(1)</script>'",
            "{{ config }} {% for x in range(3) %}{{ x }}{% endfor %}\n",
            summary="'\"quoted\" & <b>bold</b>'",
        ),
    }
    _result, problems = build_content(tmp_path, files, write=True)
    assert problems == []
    html = (tmp_path / "output/x/index.html").read_text()
    assert "{{ 7 * 7 }}" in html and "49" not in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{% for x in range(3) %}" in html
    assert "&#34;quoted&#34; &amp; &lt;b&gt;bold&lt;/b&gt;" in html


def test_article_shows_its_parts(tmp_path: Path) -> None:
    spoke = page(
        "Spoke",
        "## One\n\nText.\n\n### One point five\n\n## Two\n",
        date="2026-03-04",
        weight="10",
        content_note="Mentions grief.",
        faq="\n  - q: Why?\n    a: Because **reasons**.",
        sources="\n  - title: A book\n    authors: Someone, A.\n    year: 2001\n    publisher: Press",
    )
    files = {
        "index.md": page("Home"),
        "t/index.md": page("Hub"),
        "t/spoke.md": spoke,
        "t/other.md": page("Other", weight="5"),
    }
    build_content(tmp_path, files, write=True)
    html = (tmp_path / "output/t/spoke/index.html").read_text()
    nav = re.search(r'<nav class="breadcrumb.*?</nav>', html, re.S)
    assert nav is not None
    assert re.findall(r">([^<]+)</a>", nav.group(0)) == ["Home", "Hub", "Spoke"]
    toc = re.search(r'<nav class="toc".*?</nav>', html, re.S)
    assert toc is not None
    assert re.findall(r'href="#([^"]+)"', toc.group(0)) == [
        "one",
        "one-point-five",
        "two",
        "common-questions",
    ]
    assert '<time datetime="2026-03-04">4 March 2026</time>' in html
    assert "<strong>Content note:</strong> Mentions grief." in html
    assert '<details id="why">' in html and "<strong>reasons</strong>" in html
    assert "Someone, A. (2001). <cite>A book</cite>. Press." in html
    assert '<a rel="prev" href="/t/other/">Previous: Other</a>' in html


def test_hub_lists_its_spokes_with_summaries(tmp_path: Path) -> None:
    files = {
        "index.md": page("Home"),
        "t/index.md": page("Hub"),
        "t/a.md": page("A", summary="All about A."),
    }
    build_content(tmp_path, files, write=True)
    html = (tmp_path / "output/t/index.html").read_text()
    assert '<li><a href="/t/a/">A</a><p>All about A.</p></li>' in html


def test_not_found_page_uses_absolute_urls(tmp_path: Path) -> None:
    build_content(
        tmp_path,
        {"index.md": page("Home"), "t/index.md": page("Hub")},
        write=True,
        base_url="https://example.org/sub/",
    )
    html = (tmp_path / "output/404.html").read_text()
    assert "<title>Page not found | Closer</title>" in html
    assert '<a href="/sub/t/">Hub</a>' in html
    assert 'href="/sub/css/site.css"' in html


def test_faq_blocks_in_the_body_join_the_front_matter_faq(tmp_path: Path) -> None:
    body = (
        "Intro.\n\n::: faq\n### Is the block a second way to write FAQs?\n"
        "Yes, and links work: [[other]].\n\nA second paragraph.\n### Does order hold?\nIt does.\n"
        ":::\n\nAfter the block.\n"
    )
    files = {
        "index.md": page("Home", "[[x]]\n"),
        "other.md": page("Other"),
        "x.md": page("X", body, faq="\n  - q: Does front matter come first?\n    a: It does."),
    }
    _, problems = build_content(tmp_path, files, write=True)
    assert problems == []
    html = (tmp_path / "output/x/index.html").read_text()
    prose = html.split('<div class="prose">', 1)[1].split("</div>", 1)[0]
    assert "Intro." in prose and "After the block." in prose and "block a second" not in prose
    faq = html.split('<section class="faq"', 1)[1].split("</section>", 1)[0]
    assert re.findall(r'<details id="([^"]+)">', faq) == [
        "does-front-matter-come-first",
        "is-the-block-a-second-way-to-write-faqs",
        "does-order-hold",
    ]
    assert '<a href="/other/">Other</a>' in faq
    assert "<p>A second paragraph.</p>" in faq
    toc = html.split('<nav class="toc"', 1)[1].split("</nav>", 1)[0]
    assert "block a second" not in toc  # questions are not sections


# -- templates compiled apart (render.precompiled, for a large site's rebuild) ------------


def test_precompiled_templates_are_used_without_compiling_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes = precompiled(REPO / "templates")
    assert len(codes) == len(list((REPO / "templates").glob("*.html")))
    compiled: list[str] = []
    original = jinja2.Environment.compile

    def counted(self: jinja2.Environment, source: Any, name: Any = None, *args: Any) -> Any:
        compiled.append(str(name))
        return original(self, source, name, *args)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    handed = make_environment(REPO / "templates", Handed(lambda: codes))
    for name in ("article.html", "quiz.html", "search.html"):
        handed.get_template(name)  # and what each extends, includes and imports
    assert compiled == []  # every one came compiled
    plain = make_environment(REPO / "templates")
    assert (
        plain.get_template("404.html").blocks.keys()
        == handed.get_template("404.html").blocks.keys()
    )
    assert compiled == ["404.html"]  # the plain environment compiles its own


def test_a_precompiled_template_is_not_used_once_its_source_changed(tmp_path: Path) -> None:
    (tmp_path / "t.html").write_text("one {{ x }}")
    codes = precompiled(tmp_path)
    (tmp_path / "t.html").write_text("two {{ x }}")
    env = make_environment(tmp_path, Handed(lambda: codes))
    assert env.get_template("t.html").render(x=1) == "two 1"


def test_a_template_that_does_not_compile_is_left_out_and_reported_as_usual(
    tmp_path: Path,
) -> None:
    (tmp_path / "good.html").write_text("{{ x }}")
    (tmp_path / "bad.html").write_text("{% if %}")
    codes = precompiled(tmp_path)
    assert len(codes) == 1
    env = make_environment(tmp_path, Handed(lambda: codes))
    with pytest.raises(jinja2.TemplateSyntaxError):
        env.get_template("bad.html")


class _Html:
    def __html__(self) -> str:
        return "<i>own</i>"


class _Marked(markupsafe.Markup):
    pass


ESCAPED: list[object] = [
    "",
    "plain",
    "<b>\"quoted\" & 'single'</b>",
    markupsafe.Markup("<b>safe</b> &amp;"),
    _Marked("<u>sub</u>"),
    _Html(),
    7,
    1.5,
    None,
    ("a", "<b>"),
]


@pytest.mark.parametrize("value", ESCAPED, ids=repr)
def test_quick_escape_is_markupsafes_escape(value: object) -> None:
    mine, theirs = quick_escape(value), markupsafe.escape(value)
    assert mine == theirs and type(mine) is markupsafe.Markup is type(theirs)


@given(st.text())
def test_quick_escape_is_markupsafes_escape_for_any_text(text: str) -> None:
    mine = quick_escape(text)
    assert mine == markupsafe.escape(text) and type(mine) is markupsafe.Markup


def test_templates_print_through_quick_escape_with_the_same_output(tmp_path: Path) -> None:
    """Every template the environment loads (extended, imported, included, or made from a
    string) escapes with quick_escape, and prints what stock Jinja2 prints."""
    (tmp_path / "base.html").write_text(
        "<title>{{ title }}</title>{% block main %}{% endblock %}{% include 'part.html' %}"
    )
    (tmp_path / "_macros.html").write_text(
        "{% macro show(x) %}<li>{{ x }}</li>{% endmacro %}"
        "{% macro wrap() %}<div>{{ caller() }}</div>{% endmacro %}"
    )
    (tmp_path / "part.html").write_text("<p>{{ values[0] }}|{{ values|length }}</p>")
    (tmp_path / "page.html").write_text(
        "{% extends 'base.html' %}{% import '_macros.html' as m %}{% block main %}"
        "{% for v in values %}{{ m.show(v) }}{% endfor %}"
        "{% call m.wrap() %}{{ values[2] }}{% endcall %}"
        "{% set made %}<em>{{ values[2] }}</em>{% endset %}{{ made }}{{ made|upper }}"
        "{{ values[2] ~ values[3] }}{{ values[2]|e }}{% endblock %}"
    )
    values = ESCAPED
    env = make_environment(tmp_path)
    stock = jinja2.Environment(
        loader=jinja2.FileSystemLoader(tmp_path),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    for name in ("page.html", "base.html", "_macros.html", "part.html"):
        assert env.get_template(name).root_render_func.__globals__["escape"] is quick_escape
    html = env.get_template("page.html").render(title="<T>", values=values)
    assert html == stock.get_template("page.html").render(title="<T>", values=values)
    assert "&lt;b&gt;&#34;quoted&#34;" in html and "<b>safe</b> &amp;" in html
    made = env.from_string("{{ x }}")
    assert made.root_render_func.__globals__["escape"] is quick_escape
    assert made.render(x="<&>") == "&lt;&amp;&gt;"


class _Pool:
    """An executor standing in for the forked render processes: each span it is given
    is done at once (`quick`) or only when its result is asked for (a slow process)."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.taken: list[int] = []

    def submit(self, _work: Any, span: tuple[int, int]) -> Any:
        from concurrent.futures import Future

        self.taken.append(span[0])
        future: Future[list[Any]] = Future()
        if self.quick:
            future.set_result([("pool", span[0])])
        else:
            future.result = lambda timeout=None: [("pool", span[0])]  # type: ignore[method-assign]
        return future


@pytest.mark.parametrize("quick", [True, False], ids=["pool quick", "pool slow"])
def test_render_spans_come_in_order_whoever_renders_them(
    quick: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spans go to whichever process is free: each is rendered once, the results come in
    span order, and the build's own process takes more of them when the pool is slow."""
    from intimacy_ssg import render

    here: list[int] = []

    def render_here(span: tuple[int, int]) -> list[Any]:
        here.append(span[0])
        return [("here", span[0])]

    monkeypatch.setattr(render, "_render_range", render_here)
    spans = [(n, n + 1) for n in range(30)]
    pool = _Pool(quick)
    done: list[Any] = list(render._share_spans(spans, 1, pool))  # type: ignore[arg-type]
    assert [n for _, n in done] == list(range(30))
    assert sorted(here + pool.taken) == list(range(30))
    assert [n for who, n in done if who == "here"] == here
    if quick:
        assert here == []  # the pool always had the next span done
    else:
        assert len(here) > 15  # this process rendered ahead while the pool's span was due
