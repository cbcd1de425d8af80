"""What this machine could reach at best, from what a bench run measured: the ceilings beside which issue 28's
targets are read.

- The import, were its append as cheap as the store's own COPY and everything else it does (read and stage,
  check, remember the figures) as measured: how far a faster append alone could take it.
- Single reports, from the CPU each one costs every process on the path (the API's, PostgreSQL's, and the
  load generator's, which shares the machine): the rate at which the machine's cores are all busy, whatever
  the software's queues do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil


def import_ceiling(rows: int, seconds: float, append_seconds: float, store_copy_rows_per_s: float) -> float:
    """Rows a second an import of `rows` taking `seconds` (`append_seconds` of them appending) would reach were
    its append as fast as the store's own COPY."""
    return rows / (seconds - append_seconds + rows / store_copy_rows_per_s)


@dataclass(frozen=True)
class CpuPerReport:
    """CPU milliseconds one single report cost each process on its path, over a run at a steady rate."""

    api_ms: float
    database_ms: float | None  # None: the database is not on this machine (its CPU is not ours to read)
    load_ms: float  # the bench's own process, sending the reports and reading the answers

    @property
    def total_ms(self) -> float:
        return self.api_ms + (self.database_ms or 0.0) + self.load_ms

    def ceiling(self, cores: int) -> float:
        """Reports a second at which `cores` would all be busy."""
        return cores * 1000 / self.total_ms


def cores() -> int:
    return len(os.sched_getaffinity(0))


class CpuMeter:
    """CPU time spent, between `start` and `stop`, by the API's processes, the database server's (the
    postmaster's whole tree, when it runs here) and this process."""

    def __init__(self, database_backend_pid: int | None) -> None:
        self._database = _postmaster(database_backend_pid)
        self._api: list[psutil.Process] = []
        self._started: tuple[float, float | None, float] = (0.0, None, 0.0)
        self.result: CpuPerReport | None = None

    def start(self, api_pids: list[int]) -> None:
        self._api = [psutil.Process(pid) for pid in api_pids]
        self._started = self._spent()

    def stop(self, reports: int) -> CpuPerReport:
        """Per report, over the `reports` sent since `start`; read before the API's processes end."""
        api, database, load = self._spent()
        api0, database0, load0 = self._started
        per = 1000 / max(reports, 1)
        self.result = CpuPerReport(
            round((api - api0) * per, 3),
            None if database is None or database0 is None else round((database - database0) * per, 3),
            round((load - load0) * per, 3),
        )
        return self.result

    def _spent(self) -> tuple[float, float | None, float]:
        database = None if self._database is None else _tree_cpu(self._database)
        return sum(_cpu(p) for p in self._api), database, _cpu(psutil.Process())


def _postmaster(backend_pid: int | None) -> psutil.Process | None:
    """The server a backend belongs to, if it runs on this machine (a remote one's pid means nothing here)."""
    if backend_pid is None:
        return None
    try:
        backend = psutil.Process(backend_pid)
        if "postgres" not in backend.name():
            return None
        return backend.parent()
    except psutil.Error:
        return None


def _cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:  # ended since: its time is gone with it (a backend that closed)
        return 0.0
    return float(times.user + times.system)


def _tree_cpu(root: psutil.Process) -> float:
    try:
        children = root.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    return _cpu(root) + sum(_cpu(child) for child in children)
