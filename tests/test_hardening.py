"""Hostile and broken content: each case with its exact expected behaviour."""

from __future__ import annotations

import errno
import fcntl
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from intimacy_ssg import parallel
from intimacy_ssg.cli import main
from intimacy_ssg.markdown import TEMPLATE_IDS
from intimacy_ssg.write import recover

from .support import REPO, SITES, build_content, chdir, page, tree, write_content

HOME = page("Home", "[[x]]\n")


def codes(problems: list[str]) -> list[str]:
    return [re.sub(r"^.*?: (\w+\[[a-z-]+\]).*$", r"\1", p.splitlines()[0]) for p in problems]


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("title: no", 'quote it: "no"'),
        ("title: 12:30", 'quote it: "12:30"'),  # YAML 1.1 reads base 60: 750
        ("title: 010", 'quote it: "010"'),  # octal: 8
        ("title: 2026-01-01", 'quote it: "2026-01-01"'),
        ("title: null", 'quote it: "null"'),
    ],
)
def test_yaml_1_1_surprises_are_field_type_errors_with_a_hint(
    tmp_path: Path, line: str, hint: str
) -> None:
    files = {"index.md": HOME, "x.md": f"---\n{line}\ndescription: D\n---\n"}
    _, problems = build_content(tmp_path, files)
    assert problems[0].startswith("content/x.md:2:8: error[field-type]: 'title' must be a string")
    assert problems[0].endswith(f"hint: {hint}")


def test_draft_on_is_a_yaml_boolean_and_means_true(tmp_path: Path) -> None:
    result, problems = build_content(
        tmp_path, {"index.md": page("Home"), "x.md": page("X", draft="on")}
    )
    assert problems == [] and result.pages == 1


def test_billion_laughs_is_refused_at_once(tmp_path: Path) -> None:
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    started = time.monotonic()
    _, problems = build_content(tmp_path, {"index.md": HOME, "x.md": f"---\ntitle: T\n{bomb}---\n"})
    assert time.monotonic() - started < 5
    assert codes(problems) == ["error[yaml-syntax]"]
    assert "anchors and aliases" in problems[0]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            "---\ntitle: T\ndescription: D\n---\nbody\n".encode("utf-16"),
            "content/x.md:1:1: error[encoding]: invalid UTF-8 at byte 0 (0xff); the file looks "
            "like UTF-16",
        ),
        (b"", "content/x.md:1:1: error[missing-field]: 'description' is required"),
        (  # counted in the file's bytes, its byte-order mark included
            b"\xef\xbb\xbf---\ntitle: \xff\n",
            "content/x.md:2:8: error[encoding]: invalid UTF-8 at byte 14 (0xff)",
        ),
        (
            bytes(range(256)) * 4,
            "content/x.md:2:118: error[encoding]: invalid UTF-8 at byte 128 (0x80)",
        ),
        (b"x" * 1_000_001, "content/x.md:1:1: error[page-too-large]: the file is 1,000,001 bytes"),
    ],
)
def test_broken_files(tmp_path: Path, data: bytes, expected: str) -> None:
    _, problems = build_content(tmp_path, {"index.md": HOME, "x.md": data})
    assert problems[0].startswith(expected)


def test_a_bom_crlf_and_front_matter_only_are_fine(tmp_path: Path) -> None:
    lf = "---\ntitle: T\ndescription: D\n---\nOne\ntwo\n\n## Three\n"
    crlf = "\ufeff" + lf.replace("\n", "\r\n")
    build_content(tmp_path / "lf", {"index.md": HOME, "x.md": lf}, write=True)
    _, problems = build_content(tmp_path / "crlf", {"index.md": HOME, "x.md": crlf}, write=True)
    assert problems == []
    assert tree(tmp_path / "lf/output") == tree(tmp_path / "crlf/output")
    _, problems = build_content(tmp_path / "fm", {"index.md": HOME, "x.md": page("X")})
    assert problems == []


def test_binary_files_beside_pages_are_ignored(tmp_path: Path) -> None:
    _, problems = build_content(
        tmp_path, {"index.md": page("Home"), "photo.jpg": bytes(range(256))}
    )
    assert problems == []


@pytest.mark.parametrize("body", ["[" * 100_000, ">" * 10_000 + " deep", "*a" * 50_000])
def test_pathological_markdown_finishes(tmp_path: Path, body: str) -> None:
    started = time.monotonic()
    result, _ = build_content(tmp_path, {"index.md": HOME, "x.md": page("X", body)})
    assert result.pages == 2
    assert time.monotonic() - started < parallel.PAGE_SECONDS + 5


def test_a_page_that_parses_too_slowly_is_given_up_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "PAGE_SECONDS", 0.05)
    _, problems = build_content(tmp_path, {"index.md": HOME, "x.md": page("X", "[" * 100_000)})
    assert problems == [
        "content/x.md:1:1: error[page-too-slow]: parsing took more than 0.05 seconds\n"
        "    hint: look for pathological markdown, e.g. thousands of unclosed brackets"
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a\\b.md", "'a\\\\b' is not a valid slug"),
        ("con.md", "'con' is a reserved device name on Windows"),
        ("x" * 81 + ".md", "the slug is 81 characters long; at most 80 are allowed"),
        ("Fear.md", "'Fear' is not a valid slug"),  # so fear.md and Fear.md never collide
        ("cafe\u0301.md", "'cafe\\u0301' is not a valid slug"),  # nor Unicode normal forms
        ("a..b.md", "'a..b' is not a valid slug"),
    ],
)
def test_unsafe_names(tmp_path: Path, name: str, message: str) -> None:
    files = {"index.md": page("Home"), name: page("X")}
    _, problems = build_content(tmp_path, files)
    assert any(f"error[invalid-slug]: {message}" in p for p in problems), problems


def test_unsafe_aliases(tmp_path: Path) -> None:
    files = {
        "index.md": page("Home", "[[x]]"),
        "x.md": page("X", aliases='["/../up/", "C:\\\\x", "/a//b/", "/ok/"]'),
    }
    result, problems = build_content(tmp_path, files, write=True)
    assert codes(problems) == ["error[invalid-alias]"] * 3
    assert not result.written


def test_a_symlink_out_of_content_is_an_error_naming_the_link(tmp_path: Path) -> None:
    content = write_content(tmp_path, {"index.md": page("Home")})
    (tmp_path / "secret.md").write_text(page("Secret"))
    os.symlink(tmp_path / "secret.md", content / "leak.md")
    _, problems = build_content(tmp_path, {})
    assert problems[0].startswith(
        f"content/leak.md: error[unsafe-path]: symbolic link to '{tmp_path / 'secret.md'}' refused"
    )


INERT = [
    "{{ 7*7 }}",
    "{% for x in range(3) %}x{% endfor %}",
    "{{ ''.__class__ }}",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<iframe src=//evil>",
]


def test_hostile_content_stays_inert(tmp_path: Path) -> None:
    title = '"></title><script>alert(1)</script>'
    body = "\n\n".join(INERT) + (
        "\n\n[a](javascript:alert(1)) [b](vbscript:msgbox(1)) [c](data:text/html,<script>)"
        " ![d](data:text/html,<script>)\n"
    )
    files = {
        "index.md": page("Home", "[[x]]\n"),
        "x.md": page(
            repr(title),
            body,
            faq="\n  - q: '<script>q</script>?'\n    a: '<iframe src=x></iframe>'",
        ),
    }
    _, problems = build_content(tmp_path, files, write=True)
    assert problems == []
    html = (tmp_path / "output/x/index.html").read_text()
    for active in (
        "<script>alert",
        "<img src=x",
        "<iframe",
        'href="javascript:',
        'href="vbscript:',
        'href="data:',
        'src="data:',
        "</title><script>",
        "<script>q",
    ):
        assert active not in html, active
    assert "{{ 7*7 }}" in html and "49" not in html  # shown as typed, never evaluated
    assert "{% for x in range(3) %}x{% endfor %}" in html
    assert "class &#39;str&#39;" not in html and "<class" not in html
    home = (tmp_path / "output/index.html").read_text()
    assert "<script>alert" not in home  # the title in a link elsewhere is escaped too


def test_heading_ids_never_take_the_ids_templates_use() -> None:
    used = set()
    for template in (REPO / "templates").glob("*.html"):
        used |= set(re.findall(r'\bid="([a-z][a-z0-9-]*)"', template.read_text()))
    assert used <= TEMPLATE_IDS


def test_a_write_error_is_reported_and_keeps_the_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    build_content(tmp_path, {"index.md": page("Home")}, write=True)
    before = tree(tmp_path / "output")

    def full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    with chdir(tmp_path):
        code = main(["build", "--project", str(REPO), "--content", "content", "--output", "output"])
    err = capsys.readouterr().err
    assert code == 1
    assert "error: could not write" in err and "No space left on device" in err
    assert "Traceback" not in err
    monkeypatch.undo()
    assert tree(tmp_path / "output") == before


def test_a_page_gone_before_it_is_read_is_reported_and_keeps_the_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file deleted between the scan and its reading (which a build with nothing cached
    leaves to the parse) fails the build with the file named, as read, not written."""
    from intimacy_ssg import discover
    from intimacy_ssg.model import SourceFile

    files = {"index.md": page("Home", "[[b]]\n"), "b.md": page("B", "[[index]]\n")}
    build_content(tmp_path, files, write=True)
    before = tree(tmp_path / "output")
    real = discover.read_source

    def gone(content_dir: str, source: SourceFile) -> SourceFile:
        if source.rel == "b.md":
            (tmp_path / "content/b.md").unlink()
        return real(content_dir, source)

    monkeypatch.setattr(discover, "read_source", gone)
    args = ["--project", str(REPO), "--content", "content", "--output", "output", "--no-cache"]
    with chdir(tmp_path):
        code = main(["build", *args])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().endswith(
        "error: could not read content/b.md: No such file or directory; the previous output "
        "was left as it was"
    )
    assert "Traceback" not in err
    assert tree(tmp_path / "output") == before


def test_a_second_concurrent_build_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_content(tmp_path, {"index.md": page("Home")})
    with open(tmp_path / ".output.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with chdir(tmp_path):
            code = main(
                ["build", "--project", str(REPO), "--content", "content", "--output", "output"]
            )
    assert code == 2
    assert "another build is writing output right now" in capsys.readouterr().err
    assert not (tmp_path / "output").exists()


def test_sigkill_at_any_moment_leaves_a_whole_site(tmp_path: Path) -> None:
    """Kill real builds at random moments: output/ is always one complete site."""
    versions = []
    for n, extra in enumerate(("First version.", "Second version, longer.")):
        root = tmp_path / f"v{n}"
        for rel in (
            "index.md",
            "closeness/index.md",
            "closeness/self-disclosure.md",
            "closeness/responsiveness.md",
            "about.md",
        ):
            text = (SITES / "valid-basic/content" / rel).read_text()
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text + f"\n{extra}\n")
        versions.append(root)
    out = tmp_path / "output"

    def build(version: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "intimacy_ssg",
                "build",
                "--project",
                str(REPO),
                "--content",
                str(version),
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    complete = []
    for version in versions:
        assert build(version).wait(timeout=60) == 0
        complete.append(tree(out))
    rng = random.Random(7)
    for attempt in range(12):
        process = build(versions[attempt % 2])
        time.sleep(rng.uniform(0.05, 1.2))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        # A cached build commits in place, behind a journal: killed during that commit (a
        # few milliseconds), output/ is finished by the next build's first step, recover().
        if not (tmp_path / ".output.journal").exists():
            assert tree(out) in complete, f"attempt {attempt}: a mixed or partial site"
        recover(out)
        assert tree(out) in complete, f"attempt {attempt}: a mixed or partial site"
    assert build(versions[0]).wait(timeout=60) == 0  # and the next build just works
    assert tree(out) == complete[0]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".output.staging")] == []
