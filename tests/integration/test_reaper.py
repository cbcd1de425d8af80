"""What PIM starts on the machine is stopped when PIM is killed: `pim up` killed with SIGKILL leaves no
embedded PostgreSQL or broker running, `pim demo` killed mid-run leaves no pipeline process either, and a
benchmark stopped with SIGTERM stops its embedded servers. Before the reaper (pim/reaper.py) all of them
were left running, holding their ports and gigabytes of memory. And an embedded server that goes away by
itself (the broker killed for memory) stops the run with its reason, where it used to wait for ever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).parents[2]
DEADLINE_S = 120.0
pytestmark = pytest.mark.postgres


def _environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    return env | {"PIM_DATA_DIR": str(data_dir), "PIM_API_PORT": "0", "PIM_ALERTS_API_PORT": "0",
                  "PIM_BOARDS_API_PORT": "0", "PIM_PORTAL_PORT": "0"}  # fmt: skip


def _started_from(data_dir: Path) -> list[psutil.Process]:
    """The processes running from or for `data_dir`: PostgreSQL and the broker (their command lines name
    it), the demo's pipeline (its working folder or environment)."""
    found = []
    for process in psutil.process_iter(attrs=["cmdline", "cwd", "environ"]):
        info = process.info
        if process.pid == os.getpid():
            continue
        if (str(data_dir) in " ".join(info["cmdline"] or ()) or (info["cwd"] or "").startswith(str(data_dir))
                or (info["environ"] or {}).get("PIM_DATA_DIR") == str(data_dir)):  # fmt: skip
            found.append(process)
    return found


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE_S:.0f} s: {what}")
        time.sleep(0.2)


def _start(args: list[str], data_dir: Path, cwd: Path, output: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "pim", *args], env=_environment(data_dir), cwd=cwd,
                            stdout=output, stderr=subprocess.STDOUT)  # fmt: skip


def _running(data_dir: Path, *needles: str) -> bool:
    names = [name for p in _started_from(data_dir) if (name := _command_line(p))]
    return all(any(needle in name for name in names) for needle in needles)


def _command_line(process: psutil.Process) -> str | None:
    """The process's command line; None once it has exited — a zombie its parent has not yet reaped counts as
    exited (psutil refuses its command line: CI once failed on a short-lived child's zombie as the servers started)."""
    try:
        return " ".join(process.cmdline())
    except (psutil.ZombieProcess, psutil.NoSuchProcess):
        return None


def _stop_leftovers(data_dir: Path) -> None:
    for process in _started_from(data_dir):
        process.kill()


def test_pim_up_killed_leaves_no_postgres_and_no_broker(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    up = _start(["up", "--service", "relay"], data_dir, tmp_path)
    try:
        _until(lambda: _running(data_dir, "postgres", "noida-db"), "the embedded PostgreSQL and broker running")
        up.send_signal(signal.SIGKILL)
        up.wait()
        _until(lambda: _started_from(data_dir) == [], "nothing left running")
    finally:
        up.kill()
        _stop_leftovers(data_dir)


def test_pim_demo_killed_leaves_no_pipeline_process(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    demo = _start(["demo"], data_dir, tmp_path)
    try:
        _until(lambda: _running(data_dir, "postgres", "noida-db", "--service relay"), "the pipeline process running")
        demo.send_signal(signal.SIGKILL)
        demo.wait()
        _until(lambda: _started_from(data_dir) == [], "nothing left running")
    finally:
        demo.kill()
        _stop_leftovers(data_dir)


def test_a_bench_stopped_with_sigterm_stops_its_embedded_servers(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    bench = _start(["bench", "ingest", "--rows", "2000000", "--output", str(tmp_path / "out.json")], data_dir,
                   tmp_path)  # fmt: skip
    try:
        _until(lambda: _running(data_dir, "postgres"), "the bench's embedded PostgreSQL running")
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(DEADLINE_S) == 128 + signal.SIGTERM
        assert _started_from(data_dir) == []  # stopped by the bench itself, before it exits
    finally:
        bench.kill()
        _stop_leftovers(data_dir)


def test_a_stranger_that_reused_nothing_is_left_alone_when_pim_ends_cleanly(tmp_path: Path) -> None:
    """The reaper stops only what it was told of, and nothing when PIM says it stopped everything itself."""
    program = (
        "import subprocess, sys\n"
        "from pim.reaper import Reaper\n"
        "reaper = Reaper()\n"
        "child = subprocess.Popen(['sleep', '600'], start_new_session=True, stdout=subprocess.DEVNULL,"
        " stderr=subprocess.DEVNULL)\n"
        "reaper.watch_process(child.pid)\n"
        "print(child.pid, flush=True)\n"
        "if sys.argv[1] == 'clean':\n"
        "    reaper.close()\n"
        "else:\n"
        "    sys.stdin.read()\n"
    )  # fmt: skip
    clean = subprocess.run([sys.executable, "-c", program, "clean"], capture_output=True, text=True, cwd=ROOT,
                           timeout=60, check=True)  # fmt: skip
    survivor = psutil.Process(int(clean.stdout))
    try:
        assert survivor.is_running() and survivor.status() != psutil.STATUS_ZOMBIE
    finally:
        survivor.kill()
    killed = subprocess.Popen([sys.executable, "-c", program, "kill"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=ROOT)  # fmt: skip
    assert killed.stdout is not None
    child = psutil.Process(int(killed.stdout.readline()))
    killed.kill()
    killed.wait()
    _until(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, "the watched process stopped")


def test_pim_up_stops_saying_why_when_its_embedded_broker_is_killed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    up = _start(["up", "--service", "relay"], data_dir, tmp_path, output=subprocess.PIPE)
    try:
        assert up.stdout is not None
        before = b""
        while b"Ctrl-C stops" not in before:  # up and serving (a broker killed while it starts fails the start)
            line = up.stdout.readline()
            assert line, before.decode()
            before += line
        (broker,) = [p for p in _started_from(data_dir) if "noida-db" in " ".join(p.cmdline())]
        broker.send_signal(signal.SIGKILL)  # as the kernel's out-of-memory killer does
        output, _ = up.communicate(timeout=DEADLINE_S)
        assert up.returncode == 1, output
        said = " ".join((before + output).decode().split())
        assert "the embedded noida broker was killed by signal 9" in said and "PIM stops" in said, said
        assert _started_from(data_dir) == []  # its PostgreSQL stopped on the way out
    finally:
        up.kill()
        _stop_leftovers(data_dir)
