"""The web pages as a process of their own (`pim portal`, beside `pim ingest` and `pim projector`, whose API
serves the numbers the pages show): killed with kill -9 and
started again, a person's session and the form token in their open page still work (sessions live in
PostgreSQL, nothing in the process); while the ingest API is down the page says so (503), and when it is
back the same session goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import httpx
import pytest

from pim.embedded import free_port
from shared.auth import create_account, create_token
from shared.settings import Settings
from tests.integration.test_crash_recovery import pim_process

pytestmark = pytest.mark.postgres
PASSWORD = "mật-khẩu-của-Hoa-2025"


async def _until_serving(url: str, deadline_s: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + deadline_s
    async with httpx.AsyncClient() as client:
        while True:
            try:
                if (await client.get(url)).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            assert asyncio.get_running_loop().time() < deadline, f"{url} never served"
            await asyncio.sleep(0.1)


async def test_a_portal_killed_with_kill_9_keeps_its_sessions_and_says_when_a_service_is_down(
    settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with pool.acquire() as conn:
        token = await create_token(conn, "portal", "portal")
        await create_account(conn, "hoa@lamdong.gov.vn", "Nguyễn Thị Hoa", "clerk", ["lam-dong"], password=PASSWORD)
    api_port, portal_port, boards_port = free_port(), free_port(), free_port()
    api, pages = f"http://127.0.0.1:{api_port}", f"http://localhost:{portal_port}"
    boards = f"http://127.0.0.1:{boards_port}"
    env = {"PIM_API_PORT": str(api_port), "PIM_PORTAL_PORT": str(portal_port), "PIM_INGEST_URL": api,
           "PIM_BOARDS_API_PORT": str(boards_port), "PIM_BOARDS_URL": boards, "PIM_PORTAL_TOKEN": token}  # fmt: skip
    with (tmp_path / "pim.log").open("wb") as log:
        async with (
            pim_process(settings, log, "ingest", **env) as ingest,
            pim_process(settings, log, "projector", **env),
        ):
            await _until_serving(f"{api}/health")
            await _until_serving(f"{boards}/health")
            async with pim_process(settings, log, "portal", **env) as first:
                await _until_serving(f"{pages}/sign-in")
                async with httpx.AsyncClient(base_url=pages) as browser:
                    form = await browser.get("/sign-in")
                    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
                    browser.cookies.set("pim_sign_in", form.cookies["pim_sign_in"])  # Secure: a browser sends it
                    signed = await browser.post("/sign-in", data={"email": "hoa@lamdong.gov.vn", "password": PASSWORD,
                                                                  "csrf": csrf})  # fmt: skip
                    assert signed.status_code == 303
                    session = signed.cookies["pim_session"]
                    browser.cookies.set("pim_session", session)
                    page = await browser.get("/clerk")
                    assert page.status_code == 200
                    form_token = page.text.split('name="csrf" value="')[1].split('"')[0]
                    first.kill()  # SIGKILL: no clean-up of any kind
                    await first.wait()
            async with pim_process(settings, log, "portal", **env):
                await _until_serving(f"{pages}/sign-in")
                async with httpx.AsyncClient(base_url=pages, cookies={"pim_session": session}) as browser:
                    again = await browser.get("/clerk")
                    assert again.status_code == 200 and "Nguyễn Thị Hoa" in again.text  # the same session
                    sent = await browser.post(
                        "/clerk/upload",
                        data={"csrf": form_token},
                        files={"file": ("x.csv", b"unit_code,indicator,plan_year,category,as_of,amount\n", "text/csv")},
                    )
                    assert sent.status_code != 403  # the open page's form token still holds
                    ingest.kill()
                    await ingest.wait()
                    down = await browser.get("/clerk")
                    assert down.status_code == 503 and "tạm thời không trả lời" in down.text
                    async with pim_process(settings, log, "ingest", **env):
                        await _until_serving(f"{api}/health")
                        back = await browser.get("/clerk")
                        assert back.status_code == 200 and "Nguyễn Thị Hoa" in back.text
