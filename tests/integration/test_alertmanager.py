"""Against the real Prometheus Alertmanager (Debian's `prometheus-alertmanager`, installed by `make test`):
the generated configuration passes `amtool check-config`, alerts pushed by the outbox are grouped per
committee and indicator, a critical alert inhibits a warning for the same unit, and a resolution is
notified."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from pim.embedded import free_port
from services.alerts.alertmanager_config import Operators, Timing, alertmanager_config, receiver_name, render
from services.alerts.config import AlertConfig
from services.alerts.delivery import AlertmanagerSender, alertmanager_alert
from services.alerts.outbox import Dispatcher
from shared.settings import Settings
from tests.integration.alert_fixtures import CENTRAL, DISB, ONLY_BELOW_PACE, PROVINCIAL, Clock, Facts, alerts_service
from tests.integration.receivers import Received, Receiver, http_receiver

pytestmark = pytest.mark.postgres
BINARY, AMTOOL = "prometheus-alertmanager", "amtool"


def binaries() -> tuple[str, str]:
    found = shutil.which(BINARY) or shutil.which("alertmanager"), shutil.which(AMTOOL)
    if not all(found):
        pytest.fail("Alertmanager is not installed: `make test` installs Debian's prometheus-alertmanager")
    return found  # type: ignore[return-value]


@contextlib.contextmanager
def running_alertmanager(config_file: Path, data: Path) -> Iterator[str]:
    binary, _ = binaries()
    port = free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={config_file}", f"--storage.path={data}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address=", "--log.level=warn"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(f"alertmanager did not become ready: {output}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def notifications(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.requests if r.method == "POST"]


def alerts_in(notification: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(a["labels"]["unit"], a["labels"]["severity"], a["status"]) for a in notification["alerts"]}


def test_generated_config_routes_every_committee_and_passes_amtool(tmp_path: Path) -> None:
    _, amtool = binaries()
    document = alertmanager_config([PROVINCIAL, CENTRAL], AlertConfig(), webhook_url="http://inbox.example/pim")
    routes = {r["receiver"]: r["matchers"] for r in document["route"]["routes"]}
    assert routes[receiver_name(PROVINCIAL)] == [f'committee="{PROVINCIAL}"']
    assert receiver_name(PROVINCIAL) == "committee-uy-ban-kiem-tra-tinh-uy-lam-dong"
    assert document["route"]["group_by"] == ["committee", "indicator"]
    config_file = tmp_path / "alertmanager.yml"
    config_file.write_text(render(document), encoding="utf-8")
    checked = subprocess.run([amtool, "check-config", str(config_file)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout and "receivers" in checked.stdout
    broken = tmp_path / "broken.yml"
    broken.write_text(render(document).replace("group_by", "group_by_typo"), encoding="utf-8")
    assert subprocess.run([amtool, "check-config", str(broken)], capture_output=True, check=False).returncode != 0


def test_pims_own_health_alerts_go_to_the_operators_and_no_committee(tmp_path: Path) -> None:
    _, amtool = binaries()
    operators = Operators("http://ops.example/hook", ("truc-ban@so-tttt.gov.vn",))
    document = alertmanager_config([PROVINCIAL], AlertConfig(), webhook_url="http://inbox.example/pim",
                                   smtp_smarthost="smtp.example:25", operators=operators)  # fmt: skip
    config_file = tmp_path / "alertmanager.yml"
    config_file.write_text(render(document), encoding="utf-8")

    def routed(*labels: str) -> str:
        tested = subprocess.run([amtool, "config", "routes", "test", f"--config.file={config_file}", *labels],
                                capture_output=True, text=True, check=False)  # fmt: skip
        return tested.stdout.strip()

    assert routed("alertname=PimProjectorStalled", "team=pim-operators", "severity=critical") == "pim-operators"
    assert routed(f"committee={PROVINCIAL}", "unit=lam-dong", "severity=critical") == receiver_name(PROVINCIAL)
    [receiver] = [r for r in document["receivers"] if r["name"] == "pim-operators"]
    assert receiver["webhook_configs"][0]["url"] == "http://ops.example/hook"
    assert receiver["email_configs"][0]["to"] == "truc-ban@so-tttt.gov.vn"
    # a unit's critical alert quiets its warning; PIM's own alerts, which name no unit, are not quieted
    assert document["inhibit_rules"][0]["source_matchers"] == ['severity="critical"', 'unit=~".+"']


async def test_grouping_inhibition_and_resolution_through_the_real_alertmanager(
    settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with http_receiver() as receiver:
        document = alertmanager_config(
            [PROVINCIAL, CENTRAL], AlertConfig(), webhook_url=f"{receiver.url}/am", timing=Timing("1s", "1s", "96h")
        )
        config_file = tmp_path / "alertmanager.yml"
        config_file.write_text(render(document), encoding="utf-8")
        with running_alertmanager(config_file, tmp_path / "data") as url:
            facts, clock = Facts(pool), Clock(dt.date(2025, 4, 3))
            service = alerts_service(settings, pool, clock, ONLY_BELOW_PACE, pim_alertmanager_url=url)
            await facts.registry()
            await facts.report("lam-dong", 3, 60)  # 6 % against ~20 %: critical
            await facts.report("da-lat", 3, 140)  # 14 %: warning
            await service.sweep()
            sender = AlertmanagerSender(url)
            async with pool.acquire() as conn:
                lam_dong = await conn.fetchval(
                    "SELECT payload FROM alert_outbox WHERE channel = 'alertmanager'"
                    " AND payload->'alert'->>'unit_code' = 'lam-dong'"
                )
            # a warning for the same unit as a critical alert: Alertmanager's inhibition holds it back
            shadow = alertmanager_alert(lam_dong, dt.datetime.now(dt.UTC))
            shadow["labels"] |= {"severity": "warning", "rule": "below_peer_average", "fingerprint": "shadow"}
            # a warning of another plan year is not the critical alert's business: it goes out
            next_year = alertmanager_alert(lam_dong, dt.datetime.now(dt.UTC))
            next_year["labels"] |= {"severity": "warning", "plan_year": "2026", "fingerprint": "next-year"}
            await sender.push([shadow, next_year])
            await Dispatcher(pool, {"alertmanager": sender}).deliver_due()

            await receiver.wait_for(lambda seen: len(seen) >= 1)
            first = notifications(receiver)[0]
            assert first["status"] == "firing" and first["receiver"] == receiver_name(PROVINCIAL)
            assert first["groupLabels"] == {"committee": PROVINCIAL, "indicator": DISB}
            assert alerts_in(first) == {
                ("lam-dong", "critical", "firing"), ("da-lat", "warning", "firing"), ("lam-dong", "warning", "firing")
            }  # fmt: skip
            assert {a["labels"]["fingerprint"] for a in first["alerts"]} >= {"next-year"}
            assert "shadow" not in {a["labels"]["fingerprint"] for a in first["alerts"]}
            assert first["commonAnnotations"] == {} or "summary" not in first["commonAnnotations"]
            labels = {a["labels"]["unit"]: a["labels"] for a in first["alerts"]}
            heads = {a["labels"]["fingerprint"]: a["annotations"]["responsible_head"] for a in first["alerts"]}
            assert heads[f"lam-dong/{DISB}/below_pace/2025"] == "Nguyễn Ngọc Tú"
            assert "responsible_head" not in labels["lam-dong"] and labels["da-lat"]["plan_year"] == "2025"
            assert "dashboard" in first["alerts"][0]["annotations"]
            request: Received = receiver.requests[0]
            assert request.query == f"committee={receiver_name(PROVINCIAL)}"

            await service.resolve(f"lam-dong/{DISB}/below_pace/2025", "Chủ nhiệm", "Đã khắc phục")
            await Dispatcher(pool, {"alertmanager": sender}).deliver_due()

            def resolved_seen(_: list[Received]) -> bool:
                return any(("lam-dong", "critical", "resolved") in alerts_in(n) for n in notifications(receiver))

            await receiver.wait_for(resolved_seen)
