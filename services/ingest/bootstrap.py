"""The ingest's composition root: its store, registry and figure intake on its own login's pool, handed to
the HTTP API and to the raw topic's subscriber."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import asyncpg
from fastapi import FastAPI

from services.ingest.api import ingest_api
from services.ingest.figure_intake import FigureIntake
from services.ingest.raw_intake import RawIntake, build_raw_intake_broker
from services.ingest.registry import Registry
from services.ingest.web import Ingest
from shared.event_store import EventStore
from shared.http_auth import token_authenticator
from shared.service_parts import Api, ServiceParts
from shared.settings import IngestSettings


def create_app(pool: asyncpg.Pool, clock: Callable[[], dt.date] = dt.date.today) -> FastAPI:
    """The ingest API on PostgreSQL: the tokens, the store, the registry and the intake of `pool`."""
    ingest = Ingest(pool, EventStore(pool), Registry(pool), FigureIntake(pool, clock))
    return ingest_api(ingest, token_authenticator(pool))


def bootstrap_ingest(settings: IngestSettings, pool: asyncpg.Pool) -> ServiceParts:
    return ServiceParts(
        brokers=[build_raw_intake_broker(settings, RawIntake(pool))],
        apis={"ingest": Api(create_app(pool), settings.pim_api_port)},
    )
