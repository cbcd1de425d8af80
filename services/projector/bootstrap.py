"""The projector's composition root: the projection loop and the boards' API, sharing one set of rules."""

from __future__ import annotations

import asyncpg

from services.projector.api import create_projector_app
from services.projector.service import Projector
from shared.service_parts import Api, ServiceParts
from shared.settings import ProjectorSettings


def bootstrap_projector(settings: ProjectorSettings, pool: asyncpg.Pool) -> ServiceParts:
    projector = Projector.from_settings(settings, pool)
    return ServiceParts(
        loops={"projector": projector.run},
        apis={"boards-api": Api(create_projector_app(pool, projector.rules), settings.pim_boards_api_port)},
    )
