"""The alerts service: findings from the projector's progress, their lifecycle, and their deliveries.

What the rest of PIM (the `pim` command, the stack, the wings) may use; everything else is internal.
"""

from services.alerts.alertmanager_config import Operators
from services.alerts.api import create_alerts_app
from services.alerts.bootstrap import bootstrap_alerts
from services.alerts.cli import alertmanager_text
from services.alerts.cli import alerts as alerts_commands
from services.alerts.config import Rules, load_alert_config
from services.alerts.runtime import AlertsRuntime
from services.alerts.service import AlertsService, build_alerts_broker, clock_from
from services.alerts.unit_year_facts import stale_evaluations

__all__ = [
    "AlertsRuntime", "AlertsService", "Operators", "Rules", "alertmanager_text", "alerts_commands", "bootstrap_alerts",
    "build_alerts_broker", "clock_from", "create_alerts_app", "load_alert_config", "stale_evaluations",
]  # fmt: skip
