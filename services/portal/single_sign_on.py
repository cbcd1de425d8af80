"""Signing in through the province's OpenID Connect provider instead of a PIM password (optional).

Authlib does the protocol: discovery, the authorization-code flow with PKCE, state and nonce, and the ID
token's signature, issuer, audience, expiry and nonce. PIM then needs one thing from the token: an e-mail
address the provider has verified. It must belong to an enabled PIM account, made by an admin as for a
password: the provider says who the person is; PIM's account says what they may do (role, units)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

PROVIDER = "province"


@dataclass(frozen=True)
class SingleSignOn:
    """The provider as an operator configures it (`PIM_OIDC_*`)."""

    issuer: str  # e.g. https://sso.example.gov.vn/realms/tinh (its /.well-known/openid-configuration)
    client_id: str
    client_secret: str
    state_secret: str  # signs the short cookie that carries the round trip's state (PIM_OIDC_STATE_SECRET)
    label: str = "Đăng nhập một lần của tỉnh / the province's single sign-on"

    def client(self) -> Any:
        # Imported only when a provider is configured. Authlib warns at import that it prefers the `httpx2`
        # package to `httpx` (the client PIM uses everywhere); the fallback works, so the warning is not
        # shown to every operator's `pim` command.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from authlib.integrations.starlette_client import OAuth

        oauth = OAuth()
        oauth.register(
            PROVIDER,
            client_id=self.client_id,
            client_secret=self.client_secret,
            server_metadata_url=f"{self.issuer.rstrip('/')}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
        )
        return oauth.create_client(PROVIDER)


class SignInRefused(Exception):
    """The provider's answer does not sign anyone in; the message says why, for the page."""


async def verified_email(client: Any, request: Request) -> str:
    """The e-mail the provider vouches for, from the ID token of the code in `request` (the callback)."""
    from authlib.integrations.starlette_client import OAuthError  # loaded by `client()` already

    try:
        token = await client.authorize_access_token(request)
    except OAuthError as error:  # a refusal at the provider, a replayed or forged callback, a bad token
        raise SignInRefused(f"nhà cung cấp đăng nhập từ chối / the provider refused: {error.error}") from None
    claims: dict[str, Any] = token.get("userinfo") or {}
    email = claims.get("email")
    if not isinstance(email, str) or not email:
        raise SignInRefused("nhà cung cấp không cho biết e-mail / the provider gave no e-mail")
    if claims.get("email_verified") is False:
        raise SignInRefused("e-mail chưa được nhà cung cấp xác minh / the provider has not verified this e-mail")
    return email
