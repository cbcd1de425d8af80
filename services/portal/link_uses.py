"""The uses of signed action links (shared/action_links.py): a link opens nothing after its first use. The use
is written in the transaction of the action it makes, so two clicks at once act once (the second waits on the
first's row, then finds it)."""

from __future__ import annotations

import asyncpg

from shared.action_links import ActionLink


async def was_used(conn: asyncpg.Connection, link: ActionLink) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM portal_action_link_uses WHERE link_id = $1", link.link_id))


async def claim(conn: asyncpg.Connection, link: ActionLink, client: str) -> bool:
    """Record the link's use (inside the caller's transaction); False when it had been used already."""
    made = await conn.fetchval(
        "INSERT INTO portal_action_link_uses (link_id, account_id, fingerprint, purpose, client)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (link_id) DO NOTHING RETURNING 1",
        link.link_id, link.account_id, link.fingerprint, link.purpose, client,
    )  # fmt: skip
    return made is not None
