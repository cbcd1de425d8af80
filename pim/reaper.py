"""What PIM starts on this machine is stopped even when PIM itself is killed (SIGKILL, the kernel's
out-of-memory killer) and cannot stop it: the embedded PostgreSQL, the embedded broker, the demo's
pipeline process.

A small process of its own (`python -m pim.reaper`, in its own session) reads from a pipe whose other end
only PIM's process holds: PIM writes what it started, as it starts it, and "done" when it has stopped it
all. When the pipe ends without "done" — PIM is gone, the kernel closed its end — the reaper stops what it
was told of: each process's group with SIGTERM (SIGKILL after a grace), PostgreSQL with a fast shutdown
(SIGINT to the postmaster of that data folder). A process is stopped only if it is still the one
registered (its pid and start time), never a stranger that reused the pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from contextvars import ContextVar
from pathlib import Path
from typing import IO

import psutil

GRACE_S = 15.0  # as the demo gives its pipeline (and Compose a container)
POSTGRES_GRACE_S = 30.0


class Reaper:
    """PIM's end of the pipe. Not started: nothing to watch."""

    def __init__(self) -> None:
        read_end, write_end = os.pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "pim.reaper"], stdin=read_end, start_new_session=True, close_fds=True,
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
        finally:
            os.close(read_end)
        self._pipe: IO[str] = os.fdopen(write_end, "w", buffering=1, encoding="utf-8")

    def watch_process(self, pid: int) -> None:
        """Stop the process (and its group: it was started in a session of its own) if PIM dies first."""
        created = psutil.Process(pid).create_time()
        self._pipe.write(f"process {pid} {created!r}\n")

    def watch_postgres(self, data_dir: Path) -> None:
        self._pipe.write(f"postgres {data_dir}\n")

    def close(self) -> None:
        """PIM stopped everything itself: the reaper ends, stopping nothing."""
        with contextlib.suppress(BrokenPipeError):  # the reaper was killed: nothing to tell it
            self._pipe.write("done\n")
            self._pipe.close()
        self._process.wait()


# The reaper of the embedded servers this run started (`pim.embedded.infrastructure`), for what it starts
# besides them (the demo's pipeline process); None when nothing embedded runs.
WATCHING: ContextVar[Reaper | None] = ContextVar("reaper", default=None)


def _stop_processes(processes: list[tuple[int, float]]) -> None:
    alive = []
    for pid, created in processes:
        try:
            process = psutil.Process(pid)
            if process.create_time() != created:
                continue  # the pid was reused by a stranger
            os.killpg(pid, signal.SIGTERM)
            alive.append(process)
        except (psutil.NoSuchProcess, ProcessLookupError, PermissionError):
            continue
    _, still = psutil.wait_procs(alive, timeout=GRACE_S)
    for process in still:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def _stop_postgres(data_dir: Path) -> None:
    """A fast shutdown of the postmaster that runs `data_dir` (its first line of postmaster.pid)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
        postmaster = psutil.Process(pid)
        if str(data_dir) not in " ".join(postmaster.cmdline()):
            return  # a stale file, the pid someone else's
        postmaster.send_signal(signal.SIGINT)
        postmaster.wait(POSTGRES_GRACE_S)
    except (OSError, ValueError, IndexError, psutil.Error):
        return


def main() -> None:
    processes: list[tuple[int, float]] = []
    data_dirs: list[Path] = []
    for line in sys.stdin:
        kind, _, rest = line.strip().partition(" ")
        if kind == "done":
            return
        if kind == "process":
            pid, created = rest.split()
            processes.append((int(pid), float(created)))
        elif kind == "postgres":
            data_dirs.append(Path(rest))
    # The pipe ended without "done": PIM's process is gone. Its own processes first (they hold connections),
    # then PostgreSQL.
    _stop_processes(processes)
    for data_dir in data_dirs:
        _stop_postgres(data_dir)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in PIM's terminal is PIM's to handle
    main()
