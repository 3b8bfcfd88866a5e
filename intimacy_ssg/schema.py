"""The JSON Schema of front matter, generated from frontmatter.FIELDS.

schema/frontmatter.schema.json is this output, committed so editors can point their YAML
language server at it; a test keeps the two in sync (`make schema` regenerates it).
"""

from __future__ import annotations

import json
from typing import Any

from .config import SLUG_RE
from .frontmatter import FAQ_KEYS, FIELDS, SOURCE_KEYS

_DATE = {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_KINDS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "date": _DATE,
    "bool": {"type": "boolean"},
    "int": {"type": "integer"},
    "strings": _STRINGS,
    "faq": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "q": {"type": "string", "minLength": 1, "description": "The question."},
                "a": {"type": "string", "minLength": 1, "description": "The answer, markdown."},
            },
            "required": list(FAQ_KEYS),
            "additionalProperties": False,
        },
    },
    "quiz": {
        "type": "object",
        "properties": {
            "dimensions": {"type": "array", "items": {"type": "object"}},
            "statements": {"type": "array", "items": {"type": "object"}},
            "profiles": {"type": "array", "items": {"type": "object"}},
        },
        "additionalProperties": False,
    },
    "planned": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "slug": {"type": "string", "pattern": f"^{SLUG_RE.pattern}$"},
                "title": {"type": "string", "minLength": 1},
            },
            "required": ["slug", "title"],
            "additionalProperties": False,
        },
    },
    "sources": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "title": {"type": "string", "minLength": 1},
                "authors": {"type": "string"},
                "year": {"type": "integer"},
                "publisher": {"type": "string"},
                "url": {"type": "string", "format": "uri"},
            },
            "required": ["title"],
            "additionalProperties": False,
        },
    },
}


def frontmatter_schema() -> dict[str, Any]:
    assert set(_KINDS["sources"]["items"]["properties"]) == set(SOURCE_KEYS)
    properties: dict[str, Any] = {}
    for field in FIELDS:
        spec = dict(_KINDS[field.kind])
        if field.required:
            spec["minLength"] = 1
        spec["description"] = field.description
        properties[field.name] = spec
    properties["related"]["items"] = {"type": "string", "pattern": _ID_PATTERN}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://intimacy-ssg.invalid/schema/frontmatter.schema.json",
        "title": "intimacy_ssg page front matter",
        "type": "object",
        "properties": properties,
        "required": [f.name for f in FIELDS if f.required],
        "additionalProperties": False,
    }


_SLUG = SLUG_RE.pattern
_ID_PATTERN = f"^{_SLUG}(/{_SLUG})?$"


def schema_json() -> str:
    return json.dumps(frontmatter_schema(), indent=2, sort_keys=False) + "\n"
