"""Who an HTTP request speaks for, for both APIs: a bearer token, declared to OpenAPI as a security scheme
(so the docs page has its "Authorize" button), and a 401 that says how to authenticate (WWW-Authenticate).

An app is handed the authenticator its routes use (`serve_tokens`): the tokens in PostgreSQL
(`token_authenticator`), or a fake in a handler test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol

import asyncpg
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth import ACCOUNT_HEADER, Principal, Unauthenticated, authenticate_for
from shared.request_log import note_who

BEARER = HTTPBearer(
    auto_error=False,
    description="An API token (`pim tokens create NAME --role department|committee|board|admin`), sent as"
    " `Authorization: Bearer <token>`.",
)


class Authenticator(Protocol):
    async def __call__(self, token: str, account_id: str | None) -> Principal:
        """The token's principal (the portal's: the person it acts for); raises `Unauthenticated`, saying why."""
        ...


def token_authenticator(pool: asyncpg.Pool) -> Authenticator:
    """The API tokens (and the portal's accounts) stored in PostgreSQL."""

    async def authenticate(token: str, account_id: str | None) -> Principal:
        async with pool.acquire() as conn:
            return await authenticate_for(conn, token, account_id)

    return authenticate


def serve_tokens(app: FastAPI, authenticate: Authenticator) -> None:
    """Make `authenticate` the app's: `Anyone` and `principal_of` ask it."""
    app.state.authenticate = authenticate


async def principal_of(request: Request, token: str) -> Principal:
    """The principal a token (and the account header) stands for, or a 401 that says why."""
    authenticate: Authenticator = request.app.state.authenticate
    try:
        return await authenticate(token.strip(), request.headers.get(ACCOUNT_HEADER))
    except Unauthenticated as error:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(error), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from None


async def request_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
) -> Principal:
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "send Authorization: Bearer <token>", headers={"WWW-Authenticate": "Bearer"}
        )
    who = await principal_of(request, credentials.credentials)
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
