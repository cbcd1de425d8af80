"""What a service's bootstrap hands to the process that runs it: its adapters already wired, nothing started.

Each service has one `bootstrap` (services/<name>/bootstrap.py) that builds its collaborators from its own
settings and its own database pool and hands them in; `pim/stack.py` only starts what it is given, in the
same way for every service: the brokers' subscribers, the supervised loops (they wait for PostgreSQL or the
broker and start again), the HTTP APIs, and at the end closes what the service opened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from faststream.kafka import KafkaBroker
from starlette.applications import Starlette


@dataclass(frozen=True)
class Api:
    """An HTTP API to serve: its app and the port configured for it (0: any free port)."""

    app: Starlette
    port: int


@dataclass
class ServiceParts:
    brokers: list[KafkaBroker] = field(default_factory=list)  # started before the loops, stopped after them
    loops: dict[str, Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=dict)  # each supervised by name
    apis: dict[str, Api] = field(default_factory=dict)  # by the name the process reports its address under
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # what it opened (HTTP clients)
