"""Settings, read from the environment (docs/operations.md lists them): what every service needs
(`CommonSettings`), one model per service naming only what that service reads (`IngestSettings`,
`RelaySettings`, `ProjectorSettings`, `AlertsSettings`, `PortalSettings`: a service's code takes its own, so
mypy refuses a read of another's), and `Settings`, all of them, for the processes that run several (`pim up`,
`pim demo`) and the operator's commands."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

EmbeddedBroker = Literal["noida", "tansu"]


class CommonSettings(BaseSettings):
    """Where PIM finds its database and broker, and the names it uses on them: what every service reads.

    With `database_url` and `kafka_bootstrap_servers` unset, `pim up` / `pim demo` start an
    embedded PostgreSQL and an embedded Kafka-protocol broker on loopback instead.
    """

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str | None = Field(default=None, description="PostgreSQL DSN; unset = embedded")
    pim_service_login: str = Field(
        default="pim_app", description="the login the services run as, made by `pim init` / `pim up` (owns nothing)"
    )
    pim_service_password: str | None = Field(
        default=None, description="its password; unset = derived from the operator's DATABASE_URL by `pim up`"
    )
    kafka_bootstrap_servers: str | None = Field(default=None, description="host:port[,…]; unset = embedded")
    kafka_enable_idempotence: bool = Field(
        default=True, description="idempotent producer; turned off for brokers that lack InitProducerId"
    )
    pim_embedded_broker: EmbeddedBroker = Field(default="noida", description="which embedded broker to start")
    pim_data_dir: Path | None = Field(
        default=None, description="where embedded servers keep data; unset = a fresh temporary folder"
    )
    pim_topic_prefix: str = Field(default="pim", description="prefix of every topic name")
    pim_api_host: str = "127.0.0.1"
    pim_ops_port: int | None = Field(
        default=None, description="port of /health, /ready and /metrics (0 = any free port); unset = not served"
    )
    pim_log_format: Literal["text", "json"] = Field(default="text", description="json: one object per line")

    @property
    def ledger_topic(self) -> str:
        return f"{self.pim_topic_prefix}.ledger"

    @property
    def raw_topic(self) -> str:
        return f"{self.pim_topic_prefix}.raw"

    @property
    def raw_dead_letter_topic(self) -> str:
        return f"{self.pim_topic_prefix}.raw.dead-letter"

    @property
    def progress_topic(self) -> str:
        return f"{self.pim_topic_prefix}.progress"

    @property
    def alerts_topic(self) -> str:
        return f"{self.pim_topic_prefix}.alerts"

    def consumer_group(self, service: str) -> str:
        return f"{self.pim_topic_prefix}.{service}"


class IngestSettings(CommonSettings):
    """The ingest service's: its HTTP API."""

    pim_api_port: int = Field(default=8000, description="ingest HTTP API port (0 = any free port)")


class RelaySettings(CommonSettings):
    """The relay's: nothing beyond the database, the broker and the topics."""


class PaceSettings(CommonSettings):
    """Read by the projector (progress against pace) and the alerts service (its pace rules)."""

    pim_pace_file: Path | None = Field(
        default=None, description="TOML pace curves (see infra/pace.toml); unset = the built-in defaults"
    )


class ProjectorSettings(PaceSettings):
    """The projector's: its catch-up, the rules it assesses with, the boards' API it serves."""

    pim_projector_catch_up_lag: int = Field(
        default=20_000,
        ge=0,
        description="a ledger backlog of more messages than this, found at start, is written from the event"
        " store in chunks instead (bounded memory: noida-db hands one fetch the whole backlog)",
    )
    pim_assessment_file: Path | None = Field(
        default=None, description="assessment groups YAML (see infra/assessment.yaml); unset = the built-in defaults"
    )
    pim_scoring_file: Path | None = Field(
        default=None,
        description="the heads' scoring scheme YAML (see infra/scoring.yaml); unset = the built-in defaults",
    )
    pim_boards_api_port: int = Field(
        default=8002, description="the boards' HTTP API port, served by the projector (0 = any free port)"
    )


class ActionLinkSettings(CommonSettings):
    """Read by the alerts service (which signs the links in its e-mails) and the web pages (which open them)."""

    pim_portal_public_url: str | None = Field(
        default=None,
        description="the web pages' address as people open it (https://pim.example.gov.vn): every alert's"
        " notification links to its page there; unset = no such link",
    )
    pim_action_link_secret: str | None = Field(
        default=None,
        description="signs the action links in people's e-mails (acknowledge, explain, open one alert); the alerts"
        " service and the web pages need the same one; unset = e-mails link the pages, which ask to sign in",
    )


class AlertsSettings(ActionLinkSettings, PaceSettings):
    """The alerts service's: its rules and clock, its API, the channels it delivers to."""

    pim_alert_rules_file: Path | None = Field(
        default=None, description="alert rules YAML (see infra/alerts/rules.yaml); unset = the built-in defaults"
    )
    pim_alerts_today: dt.date | None = Field(
        default=None, description="evaluate alerts as of this date instead of today (demos, backfills)"
    )
    pim_alerts_api_port: int = Field(default=8001, description="committee alerts HTTP API port (0 = any free port)")
    pim_dashboard_url: str = Field(default="http://localhost:3000", description="Grafana base URL for links")
    pim_alert_webhook_url: str | None = Field(default=None, description="signed webhook for alert notifications")
    pim_alert_webhook_secret: str | None = Field(default=None, description="HMAC-SHA256 key of the webhook")
    pim_smtp_host: str | None = Field(default=None, description="SMTP server for alert e-mail; unset = no e-mail")
    pim_smtp_port: int = 25
    pim_smtp_from: str = "pim-alerts@localhost"
    pim_grafana_url: str | None = Field(default=None, description="Grafana for alert annotations; unset = none")
    pim_grafana_token: str | None = None
    pim_alertmanager_url: str | None = Field(default=None, description="Prometheus Alertmanager; unset = none")


class PortalSettings(ActionLinkSettings):
    """The web pages': their port and token, the services' APIs they call, single sign-on."""

    pim_portal_port: int = Field(default=8003, description="PIM's web pages for people (0 = any free port)")
    pim_portal_token: str | None = Field(
        default=None,
        description="the portal's token (`pim tokens create portal --role portal`); unset = pages not served,"
        " except on the embedded default, which makes one at start",
    )
    pim_ingest_url: str | None = Field(
        default=None, description="the ingest API the portal calls; unset = the one this process serves"
    )
    pim_alerts_url: str | None = Field(
        default=None, description="the alerts API the portal calls; unset = the one this process serves"
    )
    pim_boards_url: str | None = Field(
        default=None, description="the boards' API the portal calls; unset = the one this process serves"
    )
    pim_oidc_issuer: str | None = Field(
        default=None,
        description="the province's OpenID Connect provider (its issuer URL): people may sign in through it, an"
        " e-mail it has verified opening the PIM account with that e-mail; unset = PIM passwords only",
    )
    pim_oidc_client_id: str = Field(default="pim-portal", description="PIM's client id at that provider")
    pim_oidc_client_secret: str | None = Field(default=None, description="PIM's client secret at that provider")
    pim_oidc_state_secret: str | None = Field(
        default=None,
        description="signs the sign-in's round-trip cookie; set it when several portals serve one address"
        " (unset = a new one at each start)",
    )


class Settings(IngestSettings, RelaySettings, ProjectorSettings, AlertsSettings, PortalSettings):
    """Every service's settings: for a process that runs several (`pim up`, `pim demo`), the operator's
    commands and the tests."""
