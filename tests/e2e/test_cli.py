"""`pim demo` as a user runs it: its own embedded PostgreSQL and broker, two tables, exit 0, nothing
left running. Two at once must not clash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


# Two whole demos (each drawing its board pack) on two cores: a deadline, not a speed check.
@pytest.mark.timeout(900)
def test_two_demos_at_once_both_succeed_and_leave_nothing_running(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    pim = str(Path(sys.executable).with_name("pim"))
    runs = []
    for name in ("first", "second"):
        data_dir = tmp_path / name
        data_dir.mkdir()
        runs.append(
            (
                data_dir,
                subprocess.Popen(
                    [pim, "demo"],
                    env={**env, "PIM_DATA_DIR": str(data_dir)},
                    cwd=data_dir,  # each its own board pack
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                ),
            )
        )
    for data_dir, process in runs:
        output, _ = process.communicate(timeout=800)
        assert process.returncode == 0, output
        assert (data_dir / "board-pack" / "pim-board-pack-2025-11-10.pdf").stat().st_size > 0
        assert "Progress against target and pace" in output
        assert "Flagged units" in output and "Open alerts by rule" in output
        leftovers = [
            p.info["name"]
            for p in psutil.process_iter(attrs=["name", "cmdline"])
            if any(str(data_dir) in part for part in (p.info["cmdline"] or []))
        ]
        assert leftovers == []


def _start_pim_up(env: dict[str, str]) -> tuple[subprocess.Popen[str], list[str]]:
    """`pim up` started, and its banner read up to "Ctrl-C stops."."""
    pim = str(Path(sys.executable).with_name("pim"))
    process = subprocess.Popen([pim, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    printed = []
    for line in process.stdout:  # pytest-timeout bounds this wait
        printed.append(line)
        if "Ctrl-C stops." in line:
            return process, printed
    pytest.fail("pim up ended before serving:\n" + "".join(printed))


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_pim_up_serves_until_signalled_then_stops_cleanly(tmp_path: Path, stop_signal: int) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env |= {
        "PIM_DATA_DIR": str(tmp_path),
        "PIM_API_PORT": "0",
        "PIM_ALERTS_API_PORT": "0",
        "PIM_OPS_PORT": "0",
        "PIM_BOARDS_API_PORT": "0",
        "PIM_PORTAL_PORT": "0",
    }
    process, printed = _start_pim_up(env)
    for line in printed:
        if "ingest API:" in line:
            api_url = line.split()[2]
        if "admin token" in line:
            token = line.split()[-1]
        if "health, readiness, metrics:" in line:
            ops_url = line.split()[3]
        if "web pages / trang web:" in line:
            portal_url = line.split()[-1]
        if "admin account (shown once):" in line:
            admin_email, admin_password = line.split()[-3], line.split()[-1]
    response = httpx.post(
        f"{api_url}/v1/units",
        headers={"Authorization": f"Bearer {token}"},
        json={"units": [{"unit_code": "hue", "name": "Thành phố Huế", "level": "province", "committee": "UBKT"}]},
    )
    assert response.status_code == 201
    assert httpx.get(f"{ops_url}/health").json() == {"status": "ok"}
    with httpx.Client(base_url=portal_url.replace("127.0.0.1", "localhost")) as browser:  # the pages, signed in
        form = browser.get("/sign-in")
        assert form.status_code == 200 and "Đăng nhập / Sign in" in form.text
        csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
        browser.cookies.set("pim_sign_in", form.cookies["pim_sign_in"])  # Secure: a browser sends it to localhost
        signed = browser.post("/sign-in", data={"email": admin_email, "password": admin_password, "csrf": csrf})
        assert signed.status_code == 303 and "pim_session" in signed.cookies
    assert httpx.get(f"{ops_url}/ready").json() == {"status": "ready", "checks": ["database", "services"]}
    deadline = time.monotonic() + 30  # the relay publishes the registration: its counter moves
    while "pim_events_relayed_total 1.0" not in (metrics := httpx.get(f"{ops_url}/metrics").text):
        assert time.monotonic() < deadline, metrics[-2000:]
        time.sleep(0.1)
    assert "pim_projector_batch_seconds_count" in metrics and "faststream_" in metrics
    process.send_signal(stop_signal)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    assert "Stopped." in rest
    assert not [p for p in psutil.process_iter(attrs=["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]


def _banner_of_pim_up(env: dict[str, str]) -> list[str]:
    """Start `pim up`, read its banner, stop it with SIGTERM; the banner's lines."""
    process, printed = _start_pim_up(env)
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    return printed


def test_a_kept_embedded_database_gets_one_admin_token_not_one_per_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env |= {
        "PIM_DATA_DIR": str(tmp_path),
        "PIM_API_PORT": "0",
        "PIM_ALERTS_API_PORT": "0",
        "PIM_BOARDS_API_PORT": "0",
        "PIM_PORTAL_PORT": "0",
    }
    first, second = _banner_of_pim_up(env), _banner_of_pim_up(env)
    assert sum("admin token for this embedded database" in line for line in first) == 1
    assert not any("shown once" in line for line in second)  # the kept database keeps its one admin token
    assert any("admin tokens: 1" in line for line in second)
