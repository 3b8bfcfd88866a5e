"""The Pagefind index is made deterministic: the CBOR codec and the canonical order."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from intimacy_ssg.searchindex import SIGNATURE, _decode, _encode, canonicalise


@pytest.mark.parametrize(
    "value",
    [
        0,
        23,
        24,
        255,
        256,
        65536,
        2**40,
        -1,
        -500,
        "",
        "topic",
        "é ü 日本",
        b"\x00\xff",
        [],
        [1, [2, [3]]],
        {"a": 1, "b": [True, False, None]},
        1.5,
    ],
)
def test_cbor_round_trip(value: object) -> None:
    encoded = _encode(value)
    assert _decode(encoded, 0) == (value, len(encoded))


def write(path: Path, value: object) -> None:
    path.write_bytes(gzip.compress(SIGNATURE + _encode(value), mtime=0))


def make_index(root: Path, values: list[list[object]], filters: list[list[str]]) -> Path:
    index = root / "pagefind"
    (index / "filter").mkdir(parents=True)
    for name, stem in filters:
        write(
            index / "filter" / f"{stem}.pf_filter",
            [name, [v for v in values if v[0] != "skip"]] if name == "type" else [name, []],
        )
    write(index / "pagefind.en_old.pf_meta", ["1.5.2", [["en_page", 10]], [], filters, [], []])
    (index / "pagefind-entry.json").write_text(
        '{"version":"1.5.2","languages":{"en":{"hash":"en_old","wasm":"en","page_count":1}}}'
    )
    return index


def test_canonical_whatever_the_order_pagefind_wrote(tmp_path: Path) -> None:
    one = make_index(
        tmp_path / "a",
        [["Page", [3]], ["Article", [1, 2]]],
        [["type", "en_aaa"], ["topic", "en_bbb"]],
    )
    two = make_index(
        tmp_path / "b",
        [["Article", [1, 2]], ["Page", [3]]],
        [["topic", "en_ccc"], ["type", "en_ddd"]],
    )
    canonicalise(one)
    canonicalise(two)

    def files(index: Path) -> dict[str, bytes]:
        return {
            p.relative_to(index).as_posix(): p.read_bytes()
            for p in sorted(index.rglob("*"))
            if p.is_file()
        }

    assert files(one) == files(two)
    [meta] = one.glob("*.pf_meta")
    document, _ = _decode(gzip.decompress(meta.read_bytes()), len(SIGNATURE))
    assert [pair[0] for pair in document[3]] == ["topic", "type"]
    assert all((one / "filter" / f"{pair[1]}.pf_filter").exists() for pair in document[3])
    assert (
        f'"hash":"{meta.stem.removeprefix("pagefind.")}"'
        in (one / "pagefind-entry.json").read_text()
    )
