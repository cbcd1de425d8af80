"""docs/asyncapi.{json,yaml}: what the code generates, naming every topic the services use, each with a
message schema that resolves."""

import json
from pathlib import Path
from typing import Any

import yaml

from pim.docs.asyncapi import asyncapi_document
from shared.settings import Settings

DOCS = Path(__file__).parents[2] / "docs"


def resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("%20", " ")]
    return node


def test_committed_document_is_what_the_code_generates() -> None:
    generated = asyncapi_document()
    assert json.loads((DOCS / "asyncapi.json").read_text(encoding="utf-8")) == generated, "run `pim docs asyncapi`"
    assert yaml.safe_load((DOCS / "asyncapi.yaml").read_text(encoding="utf-8")) == generated


def test_every_topic_is_documented_with_a_resolvable_message_schema() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    settings = Settings(pim_topic_prefix="pim")
    topics = {settings.raw_topic, settings.raw_dead_letter_topic, settings.ledger_topic, settings.progress_topic,
              settings.alerts_topic}  # fmt: skip
    assert {channel["address"] for channel in document["channels"].values()} == topics
    for name, channel in document["channels"].items():
        assert channel["description"], name
        for message_ref in channel["messages"].values():
            message = resolve(document, message_ref["$ref"])
            payload = message["payload"]
            schema = resolve(document, payload["$ref"]) if "$ref" in payload else payload
            assert schema.get("properties") or schema.get("oneOf") or schema.get("anyOf"), name
    ledger = resolve(document, "#/components/schemas/RecordedEvent")
    assert {"position", "stream_id", "payload"} <= set(ledger["properties"])
