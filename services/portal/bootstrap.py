"""The portal's composition root: clients of the services' APIs it acts on (the configured addresses, else
those this process serves), single sign-on when configured, and the pages on its own login's pool."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping

import asyncpg
import httpx

from services.portal.app import create_portal_app
from services.portal.single_sign_on import SingleSignOn
from services.portal.upstream import Services
from shared.service_parts import Api, ServiceParts
from shared.settings import PortalSettings

log = logging.getLogger(__name__)
BOARDS_TIMEOUT_S = 300  # a board pack of the whole country is drawn while the page waits


def bootstrap_portal(settings: PortalSettings, pool: asyncpg.Pool, served: Mapping[str, str]) -> ServiceParts:
    """`served`: the addresses of the APIs this process already serves, by name ("ingest", "alerts-api",
    "boards-api"). Without a portal token or an ingest API to call there are no pages to serve."""
    ingest_url = settings.pim_ingest_url or served.get("ingest")
    if not settings.pim_portal_token or not ingest_url:
        return ServiceParts()
    parts = ServiceParts()

    def client(url: str, timeout: float) -> httpx.AsyncClient:
        opened = httpx.AsyncClient(base_url=url, timeout=timeout)
        parts.closers.append(opened.aclose)
        return opened

    alerts_url = settings.pim_alerts_url or served.get("alerts-api")
    boards_url = settings.pim_boards_url or served.get("boards-api")
    if boards_url is None:  # every page with a number reads the projector's API: they will say 503
        log.warning("portal: PIM_BOARDS_URL is not set; pages that show numbers answer 503")
    services = Services(
        client(ingest_url, 30), settings.pim_portal_token,
        client(alerts_url, 30) if alerts_url else None,
        client(boards_url, BOARDS_TIMEOUT_S) if boards_url else None,
    )  # fmt: skip
    sso = None
    if settings.pim_oidc_issuer:
        sso = SingleSignOn(settings.pim_oidc_issuer, settings.pim_oidc_client_id,
                           settings.pim_oidc_client_secret or "",
                           settings.pim_oidc_state_secret or secrets.token_urlsafe(32))  # fmt: skip
    app = create_portal_app(pool, services, sso=sso, public_url=settings.pim_portal_public_url,
                            link_secret=settings.pim_action_link_secret)  # fmt: skip
    parts.apis["portal"] = Api(app, settings.pim_portal_port)
    return parts
