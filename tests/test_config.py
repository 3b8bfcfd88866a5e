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
