"""Messages as the published AsyncAPI document (docs/asyncapi.json) describes them: tests validate what
the services really produced against it, so the document cannot drift from the wire."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "asyncapi.json"


@cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return document


def published_problems(message: object, schema: str) -> list[str]:
    """What is wrong with `message` against the document's `components/schemas/<schema>` (empty: valid)."""
    document = _document()
    assert schema in document["components"]["schemas"], f"{schema} is not published"
    # The document is the root, so the schema's `#/components/schemas/…` references resolve in it.
    validator = Draft202012Validator({**document, "$ref": f"#/components/schemas/{schema}"})
    return [f"{'/'.join(map(str, e.absolute_path)) or '.'}: {e.message}" for e in validator.iter_errors(message)]
