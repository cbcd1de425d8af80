"""The API pages a clerk or an inspector opens work with no internet: /docs (Swagger UI) and /redoc of both
APIs load only scripts and styles PIM itself serves (the CDN's left the pages blank here)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import subprocess

import asyncpg
import httpx
import jsonschema
import pytest

from services.alerts.api import create_alerts_app
from services.ingest.bootstrap import create_app
from services.projector.api import create_projector_app
from services.projector.progress_rules import ProgressRules
from shared.auth import create_token
from shared.settings import Settings
from tests.integration.alert_fixtures import Clock, alerts_service
from tests.integration.receivers import serving

pytestmark = pytest.mark.postgres
ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


async def _assets_are_local_and_served(app: object, page: str) -> list[str]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://pim") as client:
        html = await client.get(page)
        assert html.status_code == 200 and "<html" in html.text.lower()
        assets = [a for a in ASSET.findall(html.text) if not a.startswith("#")]
        assert assets, f"{page} names no script or style"
        external = [a for a in assets if re.match(r"^(https?:)?//", a)]
        assert external == [], f"{page} loads from the internet: {external}"
        for asset in assets:
            served = await client.get(asset)
            assert served.status_code == 200 and len(served.content) > 100, asset
        return assets


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_ingest_api_pages_need_no_internet(pool: asyncpg.Pool, page: str) -> None:
    assets = await _assets_are_local_and_served(create_app(pool), page)
    assert any(a.endswith(".js") for a in assets)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_alerts_api_pages_need_no_internet(settings: Settings, pool: asyncpg.Pool, page: str) -> None:
    service = alerts_service(settings, pool, Clock(dt.date(2025, 4, 3)))
    assets = await _assets_are_local_and_served(create_alerts_app(pool, service), page)
    assert any(a.endswith(".js") for a in assets)


async def test_the_docs_page_renders_the_operations_in_a_headless_browser(pool: asyncpg.Pool) -> None:
    """What a clerk sees: Chromium, with no network but loopback, opens /docs and Swagger UI renders the
    operations (the page was white when its scripts came from a CDN)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium is not None, "make test installs Debian's chromium"
    async with serving(create_app(pool)) as url:
        command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=15000",
                   "--dump-dom", f"{url}/docs"]  # fmt: skip
        done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "opblock-summary-path" in done.stdout  # Swagger UI drew the operations
    assert "/v1/figures" in done.stdout and "/v1/imports/figures" in done.stdout


async def test_both_apis_declare_the_bearer_scheme_and_say_how_to_authenticate(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    apps = {
        "ingest": create_app(pool),
        "alerts": create_alerts_app(pool, alerts_service(settings, pool, Clock(dt.date(2025, 4, 3)))),
        "boards": create_projector_app(pool, ProgressRules()),
    }
    for name, app in apps.items():
        document = app.openapi()
        schemes = document["components"]["securitySchemes"]
        assert {s["type"]: s["scheme"] for s in schemes.values()} == {"http": "bearer"}, name
        secured = [op for item in document["paths"].values() for op in item.values() if op.get("security")]
        assert secured, f"{name}: no operation names its security"
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pim") as client:
            path = {"ingest": "/v1/categories", "alerts": "/v1/alerts", "boards": "/v1/board-pack?as_of=2025-11-10"}[
                name
            ]
            missing = await client.get(path)
            assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer", name
            wrong = await client.get(path, headers={"Authorization": "Bearer not-a-token"})
            assert wrong.status_code == 401 and "invalid_token" in wrong.headers["WWW-Authenticate"], name


async def test_both_apis_refuse_in_one_error_shape(settings: Settings, pool: asyncpg.Pool) -> None:
    service = alerts_service(settings, pool, Clock(dt.date(2025, 4, 3)))
    async with pool.acquire() as conn:
        department = await create_token(conn, "so-tai-chinh", "department", ["lam-dong"])
        board = await create_token(conn, "ban-to-chuc", "board")
    shape = {"detail", "error_count", "errors"}
    requests = {
        "ingest": [("GET", "/v1/categories", {}), ("POST", "/v1/units", {"Authorization": f"Bearer {department}"}),
                   ("POST", "/v1/figures", {"Authorization": f"Bearer {department}"})],
        "alerts": [("GET", "/v1/alerts", {}), ("GET", "/v1/alerts", {"Authorization": f"Bearer {board}"})],
        "boards": [("GET", "/v1/board-pack?as_of=2025-11-10", {"Authorization": f"Bearer {department}"}),
                   ("GET", "/v1/board-pack?as_of=someday", {"Authorization": f"Bearer {department}"})],
    }  # fmt: skip
    apps = {"ingest": create_app(pool), "alerts": create_alerts_app(pool, service),
            "boards": create_projector_app(pool, ProgressRules())}  # fmt: skip
    for name, app in apps.items():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pim") as client:
            for method, path, headers in requests[name]:
                response = await client.request(method, path, headers=headers, json={"x": 1})
                assert response.status_code in (401, 403, 422), (name, path, response.status_code)
                assert set(response.json()) == shape, (name, path, response.json())


async def test_every_error_a_route_answers_with_is_documented_in_the_shape_it_is_answered_in(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    """Each route's OpenAPI names the error statuses it answers with, each in the one error shape; real
    refusals of each of those statuses validate against the schema their route documents."""
    service = alerts_service(settings, pool, Clock(dt.date(2025, 4, 3)))
    async with pool.acquire() as conn:
        department = {"Authorization": f"Bearer {await create_token(conn, 'so-tai-chinh', 'department', ['hue'])}"}
        committee = {"Authorization": f"Bearer {await create_token(conn, 'ubkt', 'committee', ['hue'])}"}
        board = {"Authorization": f"Bearer {await create_token(conn, 'ban-to-chuc', 'board')}"}
    apps = {"ingest": create_app(pool), "alerts": create_alerts_app(pool, service),
            "boards": create_projector_app(pool, ProgressRules())}  # fmt: skip
    figure = {"unit_code": "hue", "plan_year": 2025, "category": "oda", "as_of": "2025-05-31", "amount": "1"}
    refusals = [  # (app, method, path, whose token, body, the status it is answered with)
        ("ingest", "POST", "/v1/figures", "none", {"disbursements": [figure]}, 401),
        ("ingest", "POST", "/v1/units", "department", {"units": []}, 403),
        ("ingest", "POST", "/v1/figures", "department", {"disbursements": [{"amount": "x"}]}, 422),
        ("boards", "GET", "/v1/standings", "department", None, 422),
        ("alerts", "GET", "/v1/alerts", "board", None, 403),
        ("alerts", "POST", "/v1/alerts/nothing/ack", "committee", {"note": "xem"}, 404),
        ("boards", "GET", "/v1/board-pack?as_of=2025-11-10", "department", None, 403),
        ("boards", "GET", "/v1/board-pack?as_of=2025-11-10", "none", None, 401),
    ]
    tokens = {"none": {}, "department": department, "committee": committee, "board": board}
    for name, app in apps.items():
        document = app.openapi()
        error_schema = {"$ref": "#/components/schemas/ErrorBody"}
        for path, item in document["paths"].items():
            for method, operation in item.items():
                errors = {code: r for code, r in operation["responses"].items() if code.startswith(("4", "5"))}
                if path != "/v1/templates/figures.csv":  # the one route that reads no database
                    assert "503" in errors, (name, method, path)
                for code, documented in errors.items():
                    assert documented["content"]["application/json"]["schema"] == error_schema, (path, code)
                    assert documented["description"], (path, code)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pim") as client:
            for app_name, method, path, who, body, status in refusals:
                if app_name != name:
                    continue
                response = await client.request(method, path, headers=tokens[who], json=body)
                assert response.status_code == status, (path, response.text)
                operation = next(
                    op for template, item in document["paths"].items() for verb, op in item.items()
                    if verb == method.lower() and re.fullmatch(re.sub(r"\{[^}]+\}", ".+", template), path.split("?")[0])
                )  # fmt: skip
                assert str(status) in operation["responses"], (path, status)  # the status is documented
                schema = {**error_schema, "components": document["components"]}
                jsonschema.validate(response.json(), schema)  # and answered in the shape documented
