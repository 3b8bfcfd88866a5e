from __future__ import annotations

import json

from intimacy_ssg.frontmatter import FIELDS
from intimacy_ssg.schema import frontmatter_schema, schema_json

from .support import REPO


def test_committed_schema_is_up_to_date() -> None:
    committed = (REPO / "schema/frontmatter.schema.json").read_text()
    assert committed == schema_json(), "run `make schema` and commit the result"


def test_schema_covers_every_field_and_nothing_else() -> None:
    schema = frontmatter_schema()
    assert list(schema["properties"]) == [f.name for f in FIELDS]
    assert schema["required"] == ["title", "description"]
    assert schema["additionalProperties"] is False
    json.loads(schema_json())
