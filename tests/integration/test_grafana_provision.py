"""`pim grafana provision` through grafana-client against a local stub of Grafana's HTTP API (no Grafana
server can run here): the calls, their bodies, and that a second run updates instead of creating."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from grafana_client.api import GrafanaApi
from starlette.responses import JSONResponse, Response

from pim.grafana.dashboards import DASHBOARDS, DATASOURCE_UID
from pim.grafana.provision import FOLDER_UID, Database, provision
from tests.integration.receivers import Received, http_receiver


class GrafanaStub:
    """Keeps folders, data sources and dashboards as Grafana would, answering its HTTP API."""

    def __init__(self) -> None:
        self.folders: dict[str, dict[str, Any]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}

    def __call__(self, request: Received, _: list[Received]) -> Response:
        body = json.loads(request.body) if request.body else {}
        path = request.path.removeprefix("/api")
        if path.startswith("/folders/") and request.method == "GET":
            uid = path.split("/")[2]
            return JSONResponse(self.folders[uid]) if uid in self.folders else self.missing()
        if path == "/folders" and request.method == "POST":
            self.folders[body["uid"]] = body
            return JSONResponse(body)
        if path.startswith("/folders/") and request.method == "PUT":
            self.folders[path.split("/")[2]] |= body
            return JSONResponse(body)
        if path.startswith("/datasources/uid/") and request.method == "GET":
            uid = path.split("/")[3]
            return JSONResponse(self.datasources[uid]) if uid in self.datasources else self.missing()
        if path == "/datasources" and request.method == "POST":
            self.datasources[body["uid"]] = body
            return JSONResponse({"datasource": body})
        if path.startswith("/datasources/uid/") and request.method == "PUT":
            self.datasources[path.split("/")[3]] = body
            return JSONResponse({"datasource": body})
        if path == "/dashboards/db" and request.method == "POST":
            self.dashboards[body["dashboard"]["uid"]] = body
            return JSONResponse({"status": "success", "uid": body["dashboard"]["uid"]})
        return JSONResponse({"message": f"unexpected {request.method} {request.path}"}, status_code=400)

    @staticmethod
    def missing() -> Response:
        return JSONResponse({"message": "not found"}, status_code=404)


async def test_provision_creates_then_updates_folder_datasource_and_dashboards() -> None:
    stub = GrafanaStub()
    database = Database("postgres:5432", "pim", "grafana", "mật-khẩu")
    async with http_receiver(stub) as grafana:
        api = GrafanaApi.from_url(grafana.url, credential="glsa_token")
        first = await asyncio.to_thread(provision, api, database)
        second = await asyncio.to_thread(provision, api, database)

    assert first[:2] == [f"folder {FOLDER_UID}: created", f"data source {DATASOURCE_UID}: created"]
    assert second[:2] == [f"folder {FOLDER_UID}: updated", f"data source {DATASOURCE_UID}: updated"]
    assert all(r.headers["authorization"] == "Bearer glsa_token" for r in grafana.requests)
    source = stub.datasources[DATASOURCE_UID]
    assert source["type"] == "grafana-postgresql-datasource" and source["user"] == "grafana"
    assert source["jsonData"]["database"] == "pim" and source["secureJsonData"]["password"] == "mật-khẩu"
    assert set(stub.dashboards) == {f"pim-{name}" for name in DASHBOARDS}
    assert all(d["folderUid"] == FOLDER_UID and d["overwrite"] for d in stub.dashboards.values())
    creates = [r for r in grafana.requests if r.method == "POST" and r.path in ("/api/folders", "/api/datasources")]
    assert len(creates) == 2  # the second run created nothing
