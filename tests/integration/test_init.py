"""`pim init`, as docker-compose's init service runs it: migrations, topics, the read-only login for Grafana
and Alertmanager's configuration; run twice, it changes nothing the second time."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from shared import locks
from shared.bus import topic_end_offsets
from shared.db import is_operator_login
from shared.service_roles import SERVICES, role_of
from shared.settings import Settings

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def test_init_prepares_database_topics_reader_login_and_alertmanager(settings: Settings, tmp_path: Path) -> None:
    login = f"grafana_{uuid.uuid4().hex[:8]}"
    service_login = f"app_{uuid.uuid4().hex[:8]}"
    config_file = tmp_path / "alertmanager" / "alertmanager.yml"
    env = os.environ | {
        "DATABASE_URL": str(settings.database_url),
        "KAFKA_BOOTSTRAP_SERVERS": str(settings.kafka_bootstrap_servers),
        "PIM_TOPIC_PREFIX": settings.pim_topic_prefix,
        "PIM_READER_PASSWORD": "đọc-thôi",
        "PIM_SERVICE_LOGIN": service_login,
        "PIM_SERVICE_PASSWORD": "chỉ-dịch-vụ",
    }
    command = [str(Path(sys.executable).with_name("pim")), "init", "--reader-login", login,
               "--alertmanager-config", str(config_file), "--webhook-url", "http://inbox.invalid/pim"]  # fmt: skip
    for _ in range(2):
        done = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    assert f"Read-only login {login} ready" in done.stdout and "Migrations applied: 0" in done.stdout
    assert f"Services' login {service_login} ready" in done.stdout

    assert (await topic_end_offsets(settings, settings.alerts_topic)) is not None
    amtool = shutil.which("amtool")
    assert amtool is not None, "make test installs prometheus-alertmanager (amtool)"
    check = [amtool, "check-config", str(config_file)]
    checked = await asyncio.to_thread(subprocess.run, check, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    parts = urlsplit(str(settings.database_url))
    as_reader = urlunsplit(parts._replace(netloc=f"{login}:đọc-thôi@{parts.hostname or ''}"))
    conn = await asyncpg.connect(as_reader)
    try:
        assert await conn.fetchval("SELECT current_user") == login
        assert await conn.fetchval("SELECT count(*) FROM unit_progress") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval("SELECT count(*) FROM api_tokens")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM alerts")
        assert await conn.fetchval("SHOW statement_timeout") == "30s"  # a dashboard query cannot hold on
        # nor can the reader take PIM's locks (an advisory lock it could, and froze projection)
        every_lock = (
            locks.PROJECTOR_BATCHES_EXCLUSIVE,
            locks.PROJECTOR_RECOMPUTE,
            locks.STORE_APPEND,
            locks.MIGRATIONS,
        )
        for lock in (*every_lock, locks.MIGRATIONS):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute(lock)
    finally:
        await conn.close()

    as_service = urlunsplit(parts._replace(netloc=f"{service_login}:chỉ-dịch-vụ@{parts.hostname or ''}"))
    conn = await asyncpg.connect(as_service)
    try:
        assert await conn.fetchval("SELECT current_user") == service_login
        assert await conn.fetchval("SELECT pg_has_role(current_user, 'pim_service', 'MEMBER')")
        assert not await is_operator_login(conn)
    finally:
        await conn.close()
    for service in SERVICES:  # and one login per service, in its own role only
        own = f"{service_login}_{service}"
        conn = await asyncpg.connect(urlunsplit(parts._replace(netloc=f"{own}:chỉ-dịch-vụ@{parts.hostname or ''}")))
        try:
            assert await conn.fetchval("SELECT pg_has_role(current_user, $1, 'MEMBER')", role_of(service))
            assert not await conn.fetchval("SELECT pg_has_role(current_user, 'pim_service', 'MEMBER')")
            assert not await is_operator_login(conn)
        finally:
            await conn.close()
