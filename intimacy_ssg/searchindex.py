"""Make Pagefind's search index byte-identical from build to build.

Pagefind (1.x) writes each filter's values in hash-map order, which changes from run to
run, and names every index file after a hash of its bytes; the language's `.pf_meta` file
lists the filter files (in hash-map order too), and `pagefind-entry.json` names the meta
file. So: sort each filter's values, rename the filter files after their new bytes, point
the meta file at the new names in filter order, rename it after its own new bytes and
update the entry file. Everything else
Pagefind writes is already deterministic (a test builds the site twice and compares).

The files are gzip-compressed CBOR after a `pagefind_dcd` signature; the small codec below
covers the CBOR Pagefind uses (integers, strings, arrays, maps, simple values).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
from pathlib import Path
from typing import Any

SIGNATURE = b"pagefind_dcd"


def canonicalise(index_dir: Path) -> None:
    entry_file = index_dir / "pagefind-entry.json"
    entry = json.loads(entry_file.read_text(encoding="utf-8"))
    renamed: dict[str, str] = {}
    for path in sorted((index_dir / "filter").glob("*.pf_filter")):
        name, values = _read(path)
        values.sort(key=lambda pair: str(pair[0]))
        lang = path.stem.split("_", 1)[0]
        new_stem = _write(index_dir / "filter", lang, [name, values], 7, ".pf_filter")
        renamed[path.stem] = new_stem
        if new_stem != path.stem:
            path.unlink()
    for lang, info in entry["languages"].items():
        meta = index_dir / f"pagefind.{info['hash']}.pf_meta"
        document = _read(meta)
        document = _replace(document, renamed)
        new_hash = _write(index_dir, lang, document, 10, ".pf_meta", prefix="pagefind.")
        if f"pagefind.{new_hash}" != meta.stem:
            meta.unlink()
        info["hash"] = new_hash
    entry_file.write_text(
        json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )


def _read(path: Path) -> Any:
    data = gzip.decompress(path.read_bytes())
    if not data.startswith(SIGNATURE):
        raise ValueError(f"{path.name} is not a Pagefind index file")
    value, end = _decode(data, len(SIGNATURE))
    if end != len(data):
        raise ValueError(f"{path.name} has trailing bytes")
    return value


def _write(folder: Path, lang: str, value: Any, digits: int, suffix: str, prefix: str = "") -> str:
    body = SIGNATURE + _encode(value)
    stem = f"{lang}_{hashlib.sha256(body).hexdigest()[:digits]}"
    packed = gzip.compress(body, compresslevel=9, mtime=0)
    (folder / f"{prefix}{stem}{suffix}").write_bytes(packed)
    return stem


def _replace(value: Any, renamed: dict[str, str]) -> Any:
    """Swap old filter-file names for new ones; sort the (filter, file) list by filter."""
    if isinstance(value, str):
        return renamed.get(value, value)
    if isinstance(value, list):
        items = [_replace(v, renamed) for v in value]
        new_names = set(renamed.values())
        if items and all(isinstance(i, list) and len(i) == 2 and i[1] in new_names for i in items):
            items.sort(key=lambda pair: str(pair[0]))
        return items
    if isinstance(value, dict):
        return {k: _replace(v, renamed) for k, v in value.items()}
    return value


def _decode(data: bytes, at: int) -> tuple[Any, int]:
    head = data[at]
    major, info = head >> 5, head & 0x1F
    at += 1
    if info < 24:
        argument = info
    elif info in (24, 25, 26, 27):
        size = 1 << (info - 24)
        argument = int.from_bytes(data[at : at + size], "big")
        at += size
    else:
        raise ValueError(f"unsupported CBOR header {head:#x}")
    if major == 0:
        return argument, at
    if major == 1:
        return -1 - argument, at
    if major == 2:
        return bytes(data[at : at + argument]), at + argument
    if major == 3:
        return data[at : at + argument].decode("utf-8"), at + argument
    if major == 4:
        items = []
        for _ in range(argument):
            item, at = _decode(data, at)
            items.append(item)
        return items, at
    if major == 5:
        mapping = {}
        for _ in range(argument):
            key, at = _decode(data, at)
            mapping[key], at = _decode(data, at)
        return mapping, at
    if major == 7 and info in (20, 21, 22):
        return {20: False, 21: True, 22: None}[info], at
    if major == 7 and info == 27:
        return struct.unpack(">d", argument.to_bytes(8, "big"))[0], at
    raise ValueError(f"unsupported CBOR item {head:#x}")


def _head(major: int, argument: int) -> bytes:
    if argument < 24:
        return bytes([major << 5 | argument])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * size):
            return bytes([major << 5 | info]) + argument.to_bytes(size, "big")
    raise ValueError("integer too large for CBOR")


def _encode(value: Any) -> bytes:
    if value is False or value is True or value is None:
        return bytes([0xE0 | {False: 20, True: 21, None: 22}[value]])
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(3, len(raw)) + raw
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(_encode(v) for v in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(_encode(k) + _encode(v) for k, v in value.items())
    raise TypeError(f"cannot encode {type(value).__name__} as CBOR")
