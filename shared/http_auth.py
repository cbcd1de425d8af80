"""Who an HTTP request speaks for, for both APIs: a bearer token, declared to OpenAPI as a security scheme
(so the docs page has its "Authorize" button), and a 401 that says how to authenticate (WWW-Authenticate)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import asyncpg
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth import ACCOUNT_HEADER, Principal, Unauthenticated, authenticate_for
from shared.request_log import note_who

BEARER = HTTPBearer(
    auto_error=False,
    description="An API token (`pim tokens create NAME --role department|committee|board|admin`), sent as"
    " `Authorization: Bearer <token>`.",
)


async def request_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
) -> Principal:
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "send Authorization: Bearer <token>", headers={"WWW-Authenticate": "Bearer"}
        )
    async with request.app.state.pool.acquire() as conn:
        who = await authenticated(conn, credentials.credentials, request.headers.get(ACCOUNT_HEADER))
    note_who(who.name)  # for the request's log line
    return who


Anyone = Annotated[Principal, Depends(request_principal)]  # any valid token (or a portal acting for an account)


def principal_with_role(*roles: str, refusal: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the request's principal when its role is one of `roles`, else a 403 saying `refusal`."""

    async def check(who: Anyone) -> Principal:
        if who.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, refusal)
        return who

    return check


async def authenticated(conn: asyncpg.Connection, token: str, account_id: str | None = None) -> Principal:
    """The token's principal (the portal's: the person it acts for), or a 401 that says why."""
    try:
        return await authenticate_for(conn, token.strip(), account_id)
    except Unauthenticated as error:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(error), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from None
