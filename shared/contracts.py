"""The messages PIM's services send each other over topics, defined once: the producer builds them, the
consumer parses them and the AsyncAPI document (`pim docs asyncapi`) is generated from them. The ledger
topic carries `shared.events.RecordedEvent`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ProgressChanged(BaseModel):
    """Topic `pim.progress`: a unit's current progress after a recompute (its progress changed, or a
    peer's report moved its standing). Published by the projector; consumed by the alerts service."""

    model_config = ConfigDict(frozen=True)

    unit_code: str
    indicator: str
    plan_year: int
    as_of: dt.date = Field(description="the date of the unit's latest report")
    status: str = Field(description="on_track | behind | critical | not_assessed")
    version: int = Field(description="the newest event position the unit's progress reflects")


class OriginalMessage(BaseModel):
    """A refused message as it was sent: its text, or base64 when it is not UTF-8."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    base64: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> OriginalMessage:
        if (self.text is None) == (self.base64 is None):
            raise ValueError("exactly one of text and base64")
        return self


class DeadLetter(BaseModel):
    """Topic `pim.raw.dead-letter`: a raw submission that was refused, with why; the token is never copied.
    Published by the ingest service's raw intake."""

    model_config = ConfigDict(extra="forbid")

    reason: str
    errors: list[dict[str, Any]] = Field(description="per row: row, field, value, reason")
    source: dict[str, Any] = Field(description="topic, partition and offset of the refused message")
    original: OriginalMessage
    headers: dict[str, Any] = Field(description="its headers, less authorization")


class AlertNotification(BaseModel):
    """Topic `pim.alerts` (and the webhook's body): an alert lifecycle event with the alert as it stands
    after it. Built by the alerts service's outbox for every channel."""

    model_config = ConfigDict(extra="forbid")

    idempotency_key: str = Field(description="pim-alert-<position>: the same on every re-delivery")
    position: int = Field(description="the event's position in the event store")
    kind: str = Field(
        description="AlertRaised | AlertRefreshed | AlertEscalated | AlertAcknowledged | AlertSilenced | AlertResolved"
        " | ExplanationRequested | ExplanationSubmitted | CommitmentChecked"
    )
    event: dict[str, Any]
    alert: dict[str, Any] = Field(description="the alerts row: unit, rule, period, severity, evidence, head, …")
    routed_to: str = Field(description="the committee it goes to (escalated_to when escalated)")
    dashboard_url: str
    alert_url: str | None = Field(
        default=None, description="the alert's page in PIM's web pages, where a committee acts on it (when configured)"
    )
