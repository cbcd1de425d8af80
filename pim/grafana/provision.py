"""Creates or updates PIM's folder, PostgreSQL data source and dashboards in a running Grafana through its
HTTP API (grafana-client). Idempotent: run it again after a change and it updates in place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError

from pim.grafana.dashboards import DASHBOARDS, DATASOURCE_UID, dashboard_json

FOLDER_UID = "pim"
FOLDER_TITLE = "PIM — Giải ngân và thu ngân sách / Disbursement and revenue"


@dataclass(frozen=True)
class Database:
    """Where Grafana reaches PostgreSQL, as a member of the read-only role `pim_reader`."""

    host: str  # host:port as Grafana sees it
    name: str
    user: str
    password: str


def datasource_body(database: Database) -> dict[str, Any]:
    return {
        "uid": DATASOURCE_UID,
        "name": "PIM PostgreSQL (read-only)",
        "type": "grafana-postgresql-datasource",
        "access": "proxy",
        "url": database.host,
        "user": database.user,
        "jsonData": {"database": database.name, "sslmode": "disable", "postgresVersion": 1600, "timescaledb": False},
        "secureJsonData": {"password": database.password},
    }


def _exists(lookup: Any) -> bool:
    try:
        lookup()
    except GrafanaClientError as error:
        if error.status_code == 404:
            return False
        raise
    return True


def provision(api: GrafanaApi, database: Database) -> list[str]:
    """Folder, data source, dashboards; returns what was done, one line each."""
    done = []
    if _exists(lambda: api.folder.get_folder(FOLDER_UID)):
        api.folder.update_folder(FOLDER_UID, title=FOLDER_TITLE, overwrite=True)
        done.append(f"folder {FOLDER_UID}: updated")
    else:
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        done.append(f"folder {FOLDER_UID}: created")
    body = datasource_body(database)
    if _exists(lambda: api.datasource.get_datasource_by_uid(DATASOURCE_UID)):
        api.datasource.update_datasource_by_uid(DATASOURCE_UID, body)
        done.append(f"data source {DATASOURCE_UID}: updated")
    else:
        api.datasource.create_datasource(body)
        done.append(f"data source {DATASOURCE_UID}: created")
    for name in DASHBOARDS:
        dashboard = dashboard_json(name)
        api.dashboard.update_dashboard(
            {"dashboard": dashboard, "folderUid": FOLDER_UID, "overwrite": True, "message": "pim grafana provision"}
        )
        done.append(f"dashboard {dashboard['uid']}: saved")
    return done
