"""`pim demo` as a user runs it: its own embedded PostgreSQL and broker, two tables, exit 0, nothing
left running. Two at once must not clash."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
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
        assert _still_running_for(data_dir) == []


def _still_running_for(data_dir: Path) -> list[str]:
    """Processes a demo started for `data_dir`: named in their command line (the embedded servers) or run
    in it (the demo's pipeline process, started in the demo's directory with its environment)."""
    found = []
    for process in psutil.process_iter(attrs=["name", "cmdline", "cwd", "environ"]):
        info = process.info
        if (
            any(str(data_dir) in part for part in (info["cmdline"] or []))
            or info["cwd"] == str(data_dir)
            or (info["environ"] or {}).get("PIM_DATA_DIR") == str(data_dir)
        ):
            found.append(f"{info['name']}: {' '.join(info['cmdline'] or [])}")
    return found


class PimUp:
    """`pim up` started, its banner read up to "Ctrl-C stops."; the rest of its output is read as it comes
    (a pipe nobody reads fills, and the services then block on their own log lines)."""

    def __init__(self, env: dict[str, str], *options: str) -> None:
        pim = str(Path(sys.executable).with_name("pim"))
        self.process = subprocess.Popen([pim, "up", *options], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)  # fmt: skip
        assert self.process.stdout is not None
        self.printed: list[str] = []
        for line in self.process.stdout:  # pytest-timeout bounds this wait
            self.printed.append(line)
            if "Ctrl-C stops." in line:
                break
        else:
            pytest.fail("pim up ended before serving:\n" + "".join(self.printed))
        self._rest: list[str] = []
        self._reader = threading.Thread(target=lambda: self._rest.extend(self.process.stdout or []), daemon=True)
        self._reader.start()

    def stop(self, stop_signal: int = signal.SIGTERM) -> str:
        """Signalled, waited for; what it printed after its banner."""
        self.process.send_signal(stop_signal)
        self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        return "".join(self._rest)


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
    up = PimUp(env)
    for line in up.printed:
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
    rest = up.stop(stop_signal)
    assert up.process.returncode == 0, rest
    assert "Stopped." in rest
    assert not [p for p in psutil.process_iter(attrs=["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]


def _banner_of_pim_up(env: dict[str, str]) -> list[str]:
    """Start `pim up`, read its banner, stop it with SIGTERM; the banner's lines."""
    up = PimUp(env)
    rest = up.stop()
    assert up.process.returncode == 0, rest
    return up.printed


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


def test_pim_up_with_the_sample_tells_the_operator_how_to_act_as_the_owner(tmp_path: Path) -> None:
    """On a kept data folder the banner said only "admin tokens: 1", and `pim tokens create` then asked for a
    DATABASE_URL written nowhere; loading the sample into a running `pim up` had to be worked out."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env |= {"PIM_DATA_DIR": str(tmp_path), "PIM_API_PORT": "0", "PIM_ALERTS_API_PORT": "0",
            "PIM_BOARDS_API_PORT": "0", "PIM_PORTAL_PORT": "0"}  # fmt: skip
    up = PimUp(env, "--sample")
    try:
        banner = "".join(up.printed)
        boards_url = next(line.split()[2] for line in up.printed if "boards API:" in line)
        assert re.search(r"sample loaded: \d{4,} events", banner), banner
        operator_env = Path(re.search(r"set -a; \. (\S+); set \+a", banner).group(1))  # type: ignore[union-attr]
        assert operator_env.stat().st_mode & 0o777 == 0o600  # the owner's login: the operator's eyes only
        owner = dict(line.split("=", 1) for line in operator_env.read_text(encoding="utf-8").splitlines())
        pim = str(Path(sys.executable).with_name("pim"))
        made = subprocess.run([pim, "tokens", "create", "so-tai-chinh", "--role", "admin"], env={**env, **owner},
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert made.returncode == 0, made.stdout + made.stderr
        token = re.search(r"pim_\w+_[\w-]+", made.stdout).group(0)  # type: ignore[union-attr]
        standings = httpx.get(f"{boards_url}/v1/standings", params={"as_of": "2025-10-31"},
                              headers={"Authorization": f"Bearer {token}"}, timeout=60)  # fmt: skip
        assert standings.status_code == 200 and standings.json()["groups"], standings.text[:500]
    finally:
        rest = up.stop()
    assert up.process.returncode == 0, rest
