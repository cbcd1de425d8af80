"""The alerts service's composition root: one `AlertsService` (its rules, pace, channels and clock) handed
to the progress subscriber, the runtime (sweeps and deliveries) and the committees' API."""

from __future__ import annotations

import asyncpg

from services.alerts.api import create_alerts_app
from services.alerts.runtime import AlertsRuntime
from services.alerts.service import AlertsService, build_alerts_broker
from shared.service_parts import Api, ServiceParts
from shared.settings import AlertsSettings


def bootstrap_alerts(settings: AlertsSettings, pool: asyncpg.Pool) -> ServiceParts:
    """Reads the rules and pace files; a channel configured to deliver nothing is refused here (ValueError)."""
    alerts = AlertsService.from_settings(settings, pool)
    return ServiceParts(
        brokers=[build_alerts_broker(settings, alerts)],
        loops={"alerts": AlertsRuntime(settings, pool, alerts).run},
        apis={"alerts-api": Api(create_alerts_app(pool, alerts), settings.pim_alerts_api_port)},
    )
