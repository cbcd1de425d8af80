"""The upcast hook: a stored payload of an older schema version is decoded in the current shape."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from shared import events
from shared.events import RecordedEvent, UnitRegistered


def _renamed(payload: dict[str, Any]) -> dict[str, Any]:
    return {("name" if key == "ten_don_vi" else key): value for key, value in payload.items()}


def _recorded(payload: dict[str, Any], schema_version: int) -> RecordedEvent:
    return RecordedEvent(
        event_id=uuid.uuid4(), position=1, stream_id="hue", stream_version=1, event_type="UnitRegistered",
        schema_version=schema_version, recorded_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC), submitted_by="admin",
        channel="http", correlation_id=None, payload=payload,
    )  # fmt: skip


def test_every_event_type_knows_its_current_version() -> None:
    assert events.CURRENT_SCHEMA_VERSIONS["UnitRegistered"] == 1
    assert set(events.FIGURE_EVENT_TYPES) <= set(events.CURRENT_SCHEMA_VERSIONS)
    assert "AlertRefreshed" in events.CURRENT_SCHEMA_VERSIONS


def test_an_old_payload_goes_through_its_upcasters_to_the_current_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if UnitRegistered were at version 3 now, its version-1 payload naming the unit `ten_don_vi`.
    monkeypatch.setitem(events.CURRENT_SCHEMA_VERSIONS, "UnitRegistered", 3)
    monkeypatch.setitem(events.UPCASTERS, ("UnitRegistered", 1), _renamed)
    monkeypatch.setitem(events.UPCASTERS, ("UnitRegistered", 2), lambda p: {**p, "level": p["level"].lower()})
    old = {"type": "UnitRegistered", "unit_code": "hue", "ten_don_vi": "Thành phố Huế", "level": "PROVINCE",
           "committee": "Ủy ban Kiểm tra Trung ương"}  # fmt: skip
    event = _recorded(old, 1).event()
    assert isinstance(event, UnitRegistered)
    assert (event.name, event.level) == ("Thành phố Huế", "province")


def test_a_missing_upcaster_or_a_newer_version_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    payload = {"type": "UnitRegistered", "unit_code": "hue", "name": "Huế", "level": "province",
               "committee": "UBKT"}  # fmt: skip
    with pytest.raises(ValueError, match="newer than this code"):
        _recorded(payload, 2).event()
    monkeypatch.setitem(events.CURRENT_SCHEMA_VERSIONS, "UnitRegistered", 2)
    with pytest.raises(ValueError, match="no upcaster for UnitRegistered from version 1"):
        _recorded(payload, 1).event()
