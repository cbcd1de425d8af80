"""The relay's composition root: the relay loop on its own login's pool."""

from __future__ import annotations

import asyncpg

from services.relay.relay import Relay
from shared.service_parts import ServiceParts
from shared.settings import RelaySettings


def bootstrap_relay(settings: RelaySettings, pool: asyncpg.Pool) -> ServiceParts:
    return ServiceParts(loops={"relay": Relay(settings, pool).run})
