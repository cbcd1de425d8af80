"""The benches' load generator for single reports: POSTs over keep-alive connections, spoken with h11 on
asyncio's streams. httpx (the same h11 underneath, with its clients, requests, URLs and timeouts around it)
cost the bench about 2.2 ms of CPU a request, as much as the API it measured, on the same two cores: at
200 reports a second the generator took 44 % of a core and the reports' capacity read was the machine's
share left to them, not theirs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable

import h11


class ServerClosed(ConnectionError):
    pass


class _Connection:
    """One keep-alive connection; one request at a time on it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._http = h11.Connection(h11.CLIENT)

    async def post(self, request: h11.Request, body: bytes) -> int:
        """Send `request` with `body`; its status once the whole answer has come back."""
        http = self._http
        self._writer.write(http.send(request) + http.send(h11.Data(data=body)) + http.send(h11.EndOfMessage()))
        status = 0
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                data = await self._reader.read(65_536)
                http.receive_data(data)
                if not data and http.their_state is not h11.DONE:
                    raise ServerClosed("the server closed the connection before answering")
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                http.start_next_cycle()
                return status
            elif isinstance(event, h11.ConnectionClosed):
                raise ServerClosed("the server closed the connection")

    def close(self) -> None:
        self._writer.close()


class Poster:
    """POSTs to one server, each on a free keep-alive connection or a new one (an open-loop load opens as many
    as it has requests waiting: the queue is what it measures)."""

    def __init__(self, host: str, port: int, headers: Iterable[tuple[str, str]]) -> None:
        self._host, self._port = host, port
        self._headers = [("host", f"{host}:{port}"), ("content-type", "application/json"), *headers]
        self._free: list[_Connection] = []
        self._all: list[_Connection] = []

    async def post(self, path: str, body: bytes, headers: Iterable[tuple[str, str]] = ()) -> int:
        connection = self._free.pop() if self._free else await self._open()
        request = h11.Request(
            method="POST", target=path, headers=[*self._headers, ("content-length", str(len(body))), *headers]
        )
        try:
            status = await connection.post(request, body)
        except BaseException:
            connection.close()
            self._all.remove(connection)
            raise
        self._free.append(connection)
        return status

    async def _open(self) -> _Connection:
        connection = _Connection(*await asyncio.open_connection(self._host, self._port))
        self._all.append(connection)
        return connection

    def close(self) -> None:
        for connection in self._all:
            connection.close()
        self._all.clear()
        self._free.clear()


@contextlib.asynccontextmanager
async def poster(host: str, port: int, headers: Iterable[tuple[str, str]]) -> AsyncIterator[Poster]:
    posting = Poster(host, port, headers)
    try:
        yield posting
    finally:
        posting.close()
