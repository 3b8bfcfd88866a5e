from __future__ import annotations

from pathlib import Path

from intimacy_ssg import build, load_config

from .support import REPO, build_content, chdir, page, write_content


def test_urls_and_cluster_order(tmp_path: Path) -> None:
    _result, problems = build_content(
        tmp_path,
        {
            "index.md": page("Home"),
            "about.md": page("About"),
            "topic/index.md": page("Topic"),
            "topic/zeta.md": page("Zeta", weight="1"),
            "topic/beta.md": page("Beta", weight="2"),
            "topic/alpha.md": page("Alpha", weight="2"),
        },
        write=True,
    )
    assert problems == []
    out = tmp_path / "output"
    for path in (
        "index.html",
        "about/index.html",
        "topic/index.html",
        "topic/zeta/index.html",
        "404.html",
    ):
        assert (out / path).is_file(), path
    hub = (out / "topic/index.html").read_text()
    # weight first, then title
    assert hub.index(">Zeta<") < hub.index(">Alpha<") < hub.index(">Beta<")


def test_duplicate_url_names_every_claimant(tmp_path: Path) -> None:
    _, problems = build_content(
        tmp_path,
        {
            "index.md": page("Home"),
            "guide.md": page("Guide page"),
            "guide/index.md": page("Guide hub"),
        },
    )
    assert problems == [
        "content/guide.md:1:1: error[duplicate-url]: URL /guide/ is claimed by content/guide.md"
        " and content/guide/index.md\n    hint: rename one of them; every page needs a URL of its own",
        "content/guide/index.md:1:1: error[duplicate-url]: URL /guide/ is claimed by "
        "content/guide.md and content/guide/index.md\n"
        "    hint: rename one of them; every page needs a URL of its own",
    ]


def test_a_static_file_cannot_shadow_a_page(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "static" / "about").mkdir(parents=True)
    (project / "static" / "about" / "index.html").write_text("shadow")
    (project / "templates").symlink_to(REPO / "templates")
    (project / "site.yaml").write_text("title: T\n")
    write_content(project, {"index.md": page("Home"), "about.md": page("About")})
    with chdir(project):
        result = build(load_config(project), write=False)
    duplicates = [d for d in result.diagnostics if d.code == "duplicate-url"]
    assert [str(d.location) + " " + d.message for d in duplicates] == [
        "content/about.md:1:1 URL /about/ is claimed by static/about/index.html and content/about.md"
    ]


def test_drafts_are_left_out_unless_asked_for(tmp_path: Path) -> None:
    files = {"index.md": page("Home"), "wip.md": page("Work in progress", draft="true")}
    result, problems = build_content(tmp_path, files, write=True)
    assert (result.pages, problems) == (1, [])
    assert not (tmp_path / "output/wip").exists()
    result, _ = build_content(tmp_path, files, write=True, drafts=True)
    assert result.pages == 2
    assert (tmp_path / "output/wip/index.html").exists()


def test_the_assembly_memo_is_reused_until_a_shape_changes(tmp_path: Path) -> None:
    """URLs, clusters, drafts and claims depend only on the pages' shapes: a memo hit gives
    the same Site over this build's pages; a changed shape (here, a draft) is assembled."""
    from unittest import mock

    from intimacy_ssg import site as site_module
    from intimacy_ssg.discover import discover_sources
    from intimacy_ssg.parallel import parse_all

    content = write_content(
        tmp_path,
        {
            "index.md": page("Home"),
            "topic/index.md": page("Topic"),
            "topic/a.md": page("Alpha"),
            "topic/b.md": page("Beta", weight="1"),
            "other/c.md": page("Gamma", aliases="['/topic/a/']"),
        },
    )

    def pages() -> tuple:  # type: ignore[type-arg]
        found = discover_sources(content, tmp_path / "static")
        return parse_all(found.sources, "", frozenset(), None, 1)

    memo: site_module.AssembleMemo = {}
    first = site_module.assemble_site(pages(), (), "content", False, memo)
    assert [d.code for d in first.diagnostics] == ["duplicate-url", "duplicate-url", "missing-hub"]
    again = pages()
    with mock.patch.object(site_module, "_assemble", side_effect=AssertionError):
        hit = site_module.assemble_site(again, (), "content", False, memo)
    assert hit == first and all(p in again for p in hit.pages)
    (content / "topic/b.md").write_text(page("Beta", weight="1", draft="true"))
    changed = site_module.assemble_site(pages(), (), "content", False, memo)
    assert changed.drafts == {"topic/b"} and changed == site_module.assemble_site(
        pages(), (), "content", False
    )


def test_a_title_edit_sorts_its_cluster_again_from_the_assembly_memo(tmp_path: Path) -> None:
    """A title orders its cluster's spokes and nothing else of the assembly: with the memo
    made before, the spokes are sorted again and the rest kept; the Site equals a fresh
    assembly's, and the memo holds it under the new titles."""
    from unittest import mock

    from intimacy_ssg import site as site_module
    from intimacy_ssg.discover import discover_sources
    from intimacy_ssg.parallel import parse_all

    files = {
        "index.md": page("Home", "[[topic]]\n"),
        "topic/index.md": page("Topic"),
        "topic/a.md": page("Alpha"),
        "topic/b.md": page("Beta"),
        "topic/c.md": page("Gamma"),
    }
    content = write_content(tmp_path, files)

    def pages() -> tuple:  # type: ignore[type-arg]
        found = discover_sources(content, tmp_path / "static")
        return parse_all(found.sources, "", frozenset(), None, 1)

    memo: site_module.AssembleMemo = {}
    first = site_module.assemble_site(pages(), (), "content", False, memo)
    assert first.clusters[0].spokes == ("topic/a", "topic/b", "topic/c")
    (content / "topic/a.md").write_text(page("Zeta"))
    with mock.patch.object(site_module, "_assemble", side_effect=AssertionError):
        retitled = site_module.assemble_site(pages(), (), "content", False, memo)
        assert site_module.assemble_site(pages(), (), "content", False, memo) == retitled
    assert retitled.clusters[0].spokes == ("topic/b", "topic/c", "topic/a")
    assert retitled == site_module.assemble_site(pages(), (), "content", False)
    assert list(memo) == [site_module.shapes_key(pages(), (), "content", False, "assembly")]


def test_the_shapes_keys_are_digests_of_each_pages_part_and_each_moves_with_it(
    tmp_path: Path,
) -> None:
    """shapes_keys(): each part's key from one pass, equal to shapes_key() of it, made of
    every page's digest of that part (with its title for the frame and the assembly). A
    link edit moves the shape and the frame, not the matter; a title edit moves the matter,
    frame and assembly, not the landing."""
    import hashlib
    from dataclasses import replace

    from intimacy_ssg import model
    from intimacy_ssg import site as site_module
    from intimacy_ssg.discover import discover_sources
    from intimacy_ssg.parallel import parse_all

    content = write_content(
        tmp_path,
        {"topic/index.md": page("Topic", "[[a]]\n"), "topic/a.md": page("Alpha", "Words.\n")},
    )

    def keys() -> dict[site_module.Part, bytes]:
        found = discover_sources(content, tmp_path / "static")
        pages = parse_all(found.sources, "", frozenset(), None, 1)
        made = site_module.shapes_keys(pages, (), "content", False)
        for part, key in made.items():
            assert key == site_module.shapes_key(pages, (), "content", False, part)
            assert site_module.shapes_keys(pages, (), "content", False, (part,)) == {part: key}
            bare = tuple(replace(p, shape=b"", frame=b"", landing=b"", dated=b"") for p in pages)
            assert site_module.shapes_key(bare, (), "content", False, part) == key
        title = [p.front.title.encode() + b"\0" for p in pages]
        each: dict[site_module.Part, list[bytes]] = {
            "shape": [p.shape for p in pages],
            "landing": [p.landing for p in pages],
            "dated": [model.dated_of(p) for p in pages],
            "frame": [p.frame + t for p, t in zip(pages, title, strict=True)],
            "assembly": [p.landing + t for p, t in zip(pages, title, strict=True)],
        }
        for part, parts in each.items():
            h = hashlib.blake2b(repr(((), "content", False, part)).encode(), digest_size=16)
            h.update(b"".join(parts))
            assert made[part] == h.digest(), part
        return made

    first = keys()
    (content / "topic/a.md").write_text(page("Alpha", "Words. [[topic]]\n"))
    linked = keys()
    assert {p for p in first if first[p] != linked[p]} == {"shape", "frame"}
    (content / "topic/a.md").write_text(page("Alpha, retitled", "Words. [[topic]]\n"))
    retitled = keys()
    assert {p for p in first if linked[p] != retitled[p]} == {"shape", "frame", "assembly"}
    (content / "topic/a.md").write_text(
        page("Alpha, retitled", "Words. [[topic]]\n", date="2024-01-02")
    )
    dated = keys()
    assert {p for p in first if retitled[p] != dated[p]} == {"shape", "dated"}


def test_a_parsed_pages_digests_are_each_digest_functions_made_together(tmp_path: Path) -> None:
    """model.with_digests(), which parsing uses, gives every digest byte for byte as the
    function that defines it (shape_of(), frame_of()...), with the source's bytes left
    out: on every page of the shipped site (FAQ, related pages, sources, a quiz) and on
    pages with nothing in them, a draft and a broken link."""
    from dataclasses import replace

    from intimacy_ssg import model
    from intimacy_ssg.discover import discover_sources, read_source
    from intimacy_ssg.parse import parse_page

    content = write_content(
        tmp_path,
        {
            "topic/index.md": page("Topic", "[[nowhere]] and [x](a.md#part)\n"),
            "topic/a.md": page("Alpha", "", draft="true"),
            "empty.md": "---\ntitle: Empty\ndescription: Nothing here.\n---\n",
        },
    )
    sources = [
        read_source(folder, source)
        for folder in (REPO / "content", content)
        for source in discover_sources(folder, tmp_path / "static", defer=True).sources
    ]
    assert len(sources) > 30
    for source in sources:
        parsed = parse_page(source, "", frozenset())
        expected = replace(
            parsed,
            source=replace(parsed.source, data=b""),
            shape=model.shape_of(parsed),
            frame=model.frame_of(parsed),
            landing=model.landing_of(parsed),
            anchored=model.anchors_of(parsed),
            outlinks=model.outlinks_of(parsed),
            faq_digest=model.faq_digest_of(parsed),
            matter=model.matter_of(parsed),
            dated=model.dated_of(parsed),
        )
        made = model.with_digests(parsed)
        assert type(made) is model.Page and type(made.source) is model.SourceFile
        for name in model.Page.__dataclass_fields__:
            assert getattr(made, name) == getattr(expected, name), (source.rel, name)
        assert made == expected
