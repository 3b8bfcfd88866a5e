from __future__ import annotations

from pathlib import Path

import pytest

from intimacy_ssg import ConfigError, load_config
from intimacy_ssg.config import normalise_base_url

from .support import chdir


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://example.org", "https://example.org/"),
        ("https://example.org/", "https://example.org/"),
        ("https://example.org/sub/path", "https://example.org/sub/path/"),
        ("/docs", "/docs/"),
        ("", "/"),
    ],
)
def test_base_url_is_normalised(given: str, expected: str) -> None:
    assert normalise_base_url(given) == expected


@pytest.mark.parametrize("bad", ["ftp://example.org/", "https://x.org/?a=1", "relative/path"])
def test_bad_base_urls_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        normalise_base_url(bad)


def project(tmp_path: Path, site_yaml: str) -> Path:
    (tmp_path / "content").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "site.yaml").write_text(site_yaml)
    return tmp_path


def test_a_good_config(tmp_path: Path) -> None:
    config = load_config(
        project(
            tmp_path,
            (
                "title: T\nbase_url: https://example.org/blog\nauthors:\n"
                "  team:\n    name: The team\n    credentials: PhD\n    url: /about/\n"
            ),
        )
    )
    assert (config.title, config.base_url, config.base_path) == (
        "T",
        "https://example.org/blog/",
        "/blog/",
    )
    assert config.default_author == "team"
    assert config.author("team") is not None


@pytest.mark.parametrize(
    ("site_yaml", "expected"),
    [
        ("title: [\n", "site.yaml:2:1: error[yaml-syntax]"),
        ("base_url: /\n", "site.yaml: error[config]: 'title' is required"),
        ("title: T\ntitle: U\n", "site.yaml:2:1: error[duplicate-key]: key 'title' appears twice"),
        ("title: T\nbase_url: ftp://x/\n", "site.yaml:2:11: error[config]: base_url must be http"),
        ("title: T\ntheme: dark\n", "site.yaml:2:1: error[config]: unknown setting 'theme'"),
        (
            "title: T\ndefault_author: ghost\n",
            "site.yaml:2:17: error[config]: default_author 'ghost' is not in 'authors'",
        ),
        (
            "title: T\nauthors:\n  a: {credentials: x}\n",
            "site.yaml:3:6: error[config]: author 'a' needs a `name`",
        ),
    ],
)
def test_config_errors_have_locations(tmp_path: Path, site_yaml: str, expected: str) -> None:
    with chdir(project(tmp_path, site_yaml)), pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value).startswith(expected)


def test_missing_folders_are_config_errors(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text("title: T\n")
    with chdir(tmp_path), pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    messages = [d.message for d in info.value.diagnostics]
    assert messages == [
        "content folder content does not exist",
        "templates folder templates does not exist",
    ]


GOOD = "title: T\nbase_url: https://example.org/blog\nauthors:\n  team:\n    name: The team\n"


def test_a_remembered_parse_is_taken_while_site_yaml_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `remember`, site.yaml is parsed once; the next load takes the kept value, and
    the same bytes give the same config without PyYAML. New bytes are parsed again."""
    from intimacy_ssg import yamlload

    root, memo = project(tmp_path, GOOD), tmp_path / ".cache/intimacy-ssg/site.yaml.parsed"
    first = load_config(root, remember=memo)
    assert memo.is_file() and first == load_config(root)

    def refused(text: str) -> object:
        raise AssertionError("parsed again")

    with monkeypatch.context() as patched:
        patched.setattr(yamlload, "load_yaml", refused)
        assert load_config(root, remember=memo) == first
        (root / "site.yaml").write_text(GOOD.replace("title: T", "title: U"))
        with pytest.raises(AssertionError, match="parsed again"):
            load_config(root, remember=memo)
    assert load_config(root, remember=memo).title == "U"


def test_a_remembered_parse_never_hides_a_problem_or_its_position(tmp_path: Path) -> None:
    """A configuration with problems is parsed again, so its diagnostics are those of a
    load without a kept parse, positions and all; a damaged or planted memo is ignored."""
    from intimacy_ssg.cache import keep_value

    root, memo = project(tmp_path, GOOD), tmp_path / "memo"
    load_config(root, remember=memo)
    (root / "templates").rmdir()  # the same site.yaml, now with a problem
    with chdir(root), pytest.raises(ConfigError) as plain:
        load_config(root)
    with chdir(root), pytest.raises(ConfigError) as remembered:
        load_config(root, remember=memo)
    assert remembered.value.diagnostics == plain.value.diagnostics
    (root / "templates").mkdir()
    # a kept value that disagrees with the file and fails: the file's own parse decides
    keep_value(memo, (root / "site.yaml").read_bytes(), {"title": 5, "theme": "x"})
    assert load_config(root, remember=memo) == load_config(root)
    memo.write_bytes(memo.read_bytes()[:-9] + b"damaged!!")
    assert load_config(root, remember=memo) == load_config(root)
    bad = root / "site.yaml"
    bad.write_text("title: T\ntheme: dark\n")
    for _ in range(2):  # a config with problems is never kept: the position every time
        with chdir(root), pytest.raises(ConfigError) as info:
            load_config(root, remember=memo)
        assert str(info.value).startswith("site.yaml:2:1: error[config]: unknown setting")


@pytest.mark.parametrize("memo", [False, True])
def test_a_site_yaml_that_is_not_utf8_is_a_diagnostic_not_a_traceback(
    tmp_path: Path, memo: bool
) -> None:
    """Decoded as pages are (a BOM and CRLF endings are fine): invalid bytes are one
    encoding error at their line and column, with or without a kept parse."""
    root = project(tmp_path, "")
    (root / "site.yaml").write_bytes(b"\xef\xbb\xbftitle: T\r\nbase_url: /ok\xff\r\n")
    with chdir(root), pytest.raises(ConfigError) as info:
        load_config(root, remember=tmp_path / "memo" if memo else None)
    assert str(info.value).startswith(
        "site.yaml:2:14: error[encoding]: invalid UTF-8 at byte 26 (0xff)"
    )
    (root / "site.yaml").write_bytes(b"\xef\xbb\xbftitle: T\r\nbase_url: /ok\r\n")
    assert load_config(root, remember=tmp_path / "memo" if memo else None).base_url == "/ok/"
