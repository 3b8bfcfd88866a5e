"""parse_page(): one SourceFile -> one Page; a pure function of the file's bytes and the config.

A page with errors still comes back as a Page (with a fallback title), so that links to it
resolve and one mistake does not cascade into a dozen broken-link reports.
"""

from __future__ import annotations

from . import diagnostics as diag
from .faq import check_page_faq
from .frontmatter import FaqSource, parse_front_matter, split_front_matter
from .markdown import MarkdownPage
from .model import FaqItem, FrontMatter, Page, SourceFile, pack_html, pack_text


def parse_page(
    source: SourceFile, default_author: str = "", authors: frozenset[str] | None = None
) -> Page:
    path = source.display
    text, problems = diag.decode_text(source.data, path)
    if problems:
        return Page(source, FrontMatter(source.slug, ""), b"", (), (), (), 0, problems)
    split = split_front_matter(text, path)
    meta = parse_front_matter(split, path, default_author, authors)
    markdown = MarkdownPage(path, source.rel)
    body_html = markdown.render(split.body, split.body_line)
    faq = tuple(_render_faq(markdown, item) for item in meta.faq)
    faq += tuple(
        FaqItem(b.question, b.answer_html, markdown.unique_id(b.question, "question"), b.location)
        for b in markdown.faq_blocks
        if b.question and b.has_answer
    )
    found = list(meta.diagnostics)
    for block in markdown.faq_blocks:
        if not (block.question and block.has_answer):
            missing = "question" if not block.question else "answer"
            found.append(
                diag.make(
                    "faq-empty",
                    f"a faq entry has an empty {missing}",
                    block.location,
                    hint="write both the question and its answer, or remove the heading",
                )
            )
    for code, message, location, hint in markdown.faq_problems:
        found.append(diag.make(code, message, location, hint=hint))
    found += check_page_faq(faq)
    quiz = meta.front.quiz
    profiles = tuple(
        markdown.render(p.description, p.location.line, collect_headings=False)
        for p in (quiz.profiles if quiz else ())
    )
    return Page(
        source=source,
        front=meta.front,
        body_z=pack_html(body_html),
        headings=tuple(markdown.headings),
        faq=faq,
        links=tuple(markdown.links),
        word_count=markdown.words,
        diagnostics=tuple(found),
        text_z=pack_text(markdown.text),
        profile_html=profiles,
    )


def _render_faq(markdown: MarkdownPage, item: FaqSource) -> FaqItem:
    anchor = markdown.unique_id(item.question, fallback="question")
    answer = markdown.render(item.answer, item.answer_line, collect_headings=False)
    return FaqItem(item.question, answer, anchor, item.location)
