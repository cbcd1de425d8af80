"""The services' published APIs, called for a signed-in person: the portal's token and the account it acts
for (`ACCOUNT_HEADER`), so each service applies that person's role and scope and records their name. The
portal computes no number of its own: every rate, standing, rank and count on its pages comes from here."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from shared.auth import ACCOUNT_HEADER, Account
from shared.request_log import REQUEST_ID_HEADER, current_request_id

NDJSON = "application/x-ndjson"  # the ingest's progress stream of an upload


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


class Services:
    def __init__(
        self, ingest: httpx.AsyncClient, portal_token: str, alerts: httpx.AsyncClient | None = None,
        boards: httpx.AsyncClient | None = None,
    ) -> None:  # fmt: skip
        self._ingest = ingest
        self._alerts = alerts  # the committees' alerts API; None: its pages say it is not running
        self._boards = boards  # the boards' API, served by the projector: its numbers, the pack, the scores
        self._token = portal_token

    def _as(self, account: Account) -> dict[str, str]:
        asked = {"Authorization": f"Bearer {self._token}", ACCOUNT_HEADER: account.account_id}
        request_id = current_request_id()  # the page's request: one id in the portal's and the API's lines
        return asked if request_id is None else asked | {REQUEST_ID_HEADER: str(request_id)}

    @property
    def _projector(self) -> httpx.AsyncClient:
        """The projector's API: the lists, reporting, a unit's year, the dated registry, leaders."""
        if self._boards is None:
            raise httpx.ConnectError("the projector's API (PIM_BOARDS_URL) is not configured")
        return self._boards

    async def _get(self, account: Account, path: str, client: httpx.AsyncClient | None = None,
                   **params: str) -> dict[str, Any]:  # fmt: skip
        response = await (client or self._ingest).get(path, headers=self._as(account), params=params)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def units(self, account: Account) -> list[dict[str, str]]:
        units: list[dict[str, str]] = (await self._get(account, "/v1/units"))["units"]
        return units

    async def standings(self, account: Account, as_of: dt.date, indicator: str) -> dict[str, Any]:
        return await self._get(account, "/v1/standings", self._projector, as_of=as_of.isoformat(), indicator=indicator)

    async def reporting(self, account: Account, as_of: dt.date, indicator: str) -> dict[str, Any]:
        return await self._get(account, "/v1/reporting", self._projector, as_of=as_of.isoformat(), indicator=indicator)

    async def categories(self, account: Account) -> dict[str, list[dict[str, str]]]:
        """Per indicator, the categories a figure may name, each with its label."""
        named: dict[str, list[dict[str, str]]] = await self._get(account, "/v1/categories", labelled="true")
        return named

    async def declare_category(self, account: Account, indicator: str, code: str, name: str) -> Answer:
        """A new capital source or revenue category, declared by an admin in their own name."""
        response = await self._ingest.post(
            "/v1/categories", headers=self._as(account),
            json={"categories": [{"indicator": indicator, "code": code, "name": name}]},
        )  # fmt: skip
        return Answer(response.status_code, response.json())

    async def registry(self, account: Account, as_of: dt.date) -> list[dict[str, Any]]:
        """The unit registry as it stood on `as_of` (the units of the person's scope)."""
        units: list[dict[str, Any]] = (
            await self._get(account, "/v1/registry", self._projector, as_of=as_of.isoformat())
        )["units"]
        return units

    async def template_xlsx(self, account: Account) -> bytes:
        response = await self._ingest.get("/v1/templates/figures.xlsx", headers=self._as(account))
        response.raise_for_status()
        return response.content

    async def import_figures(
        self, account: Account, filename: str, content: bytes, media_type: str, key: str | None = None
    ) -> Answer:
        """The file as the clerk sent it, to the ingest's import: stored whole, or refused row by row. With
        `key` (Idempotency-Key), sending it again returns the first answer and stores nothing twice."""
        headers = self._as(account) | ({"Idempotency-Key": key} if key else {})
        response = await self._ingest.post(
            "/v1/imports/figures", headers=headers, files={"file": (filename, content, media_type)}, timeout=300
        )
        return Answer(response.status_code, response.json())

    async def import_progress(
        self, account: Account, filename: str, content: bytes, media_type: str, key: str | None = None
    ) -> AsyncIterator[dict[str, Any] | Answer]:
        """The same import, asking for its progress: each progress line (`phase`, `rows_read`, `rows_total`)
        as the ingest sends it, then the answer."""
        headers = self._as(account) | {"Accept": NDJSON} | ({"Idempotency-Key": key} if key else {})
        async with self._ingest.stream(
            "POST", "/v1/imports/figures", headers=headers, files={"file": (filename, content, media_type)},
            timeout=httpx.Timeout(30, read=300),
        ) as response:  # fmt: skip
            if NDJSON not in response.headers.get("content-type", ""):  # refused before the import began
                yield Answer(response.status_code, json.loads(await response.aread()))
                return
            async for line in response.aiter_lines():
                if line.strip():
                    item = json.loads(line)
                    yield item["progress"] if "progress" in item else Answer(item["status"], item["body"])

    @property
    def alerts_served(self) -> bool:
        return self._alerts is not None

    async def alerts(self, account: Account, alert_status: str = "open") -> list[dict[str, Any]]:
        """The alerts of the person's jurisdiction, each with its age as the alerts service counts it."""
        assert self._alerts is not None
        response = await self._alerts.get("/v1/alerts", headers=self._as(account), params={"status": alert_status})
        response.raise_for_status()
        alerts: list[dict[str, Any]] = response.json()["alerts"]
        return alerts

    async def alert_action(self, account: Account, fingerprint: str, action: str, body: dict[str, Any]) -> Answer:
        """acknowledge | resolve an alert, as the person."""
        assert self._alerts is not None
        response = await self._alerts.post(f"/v1/alerts/{fingerprint}/{action}", headers=self._as(account), json=body)
        return Answer(response.status_code, response.json())

    async def standings_of(self, account: Account, as_of: dt.date, indicator: str, group: str | None) -> dict[str, Any]:
        params = {"as_of": as_of.isoformat(), "indicator": indicator} | ({"group": group} if group else {})
        found = await self._found(account, "/v1/standings", **params)
        return found if found is not None else {"groups": [], "plan_years": []}

    async def board_pack(
        self, account: Account, as_of: dt.date, indicator: str, group: str, known_on: dt.date | None = None
    ) -> httpx.Response:
        """The board pack as PDF, as the person (a board member or an admin); as known on a meeting date."""
        assert self._boards is not None
        params = {"as_of": as_of.isoformat(), "indicator": indicator, "group": group, "format": "pdf"}
        if known_on is not None:
            params["known_on"] = known_on.isoformat()
        return await self._boards.get("/v1/board-pack", headers=self._as(account), timeout=300, params=params)

    async def _found(self, account: Account, path: str, **params: str) -> dict[str, Any] | None:
        """A GET of the projector's that may find nothing (404: none, or outside the person's scope)."""
        response = await self._projector.get(path, headers=self._as(account), params=params)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def unit_year(
        self, account: Account, unit_code: str, indicator: str, plan_year: int, as_of: dt.date
    ) -> dict[str, Any] | None:
        """A unit's plan year up to `as_of` as the projector keeps it: each reported date's rate against the
        pace, and the stints of whoever answered for it."""
        return await self._found(
            account, f"/v1/units/{quote(unit_code, safe='')}/progress", indicator=indicator,
            plan_year=str(plan_year), as_of=as_of.isoformat(),
        )  # fmt: skip

    async def leader(self, account: Account, leader_id: str) -> dict[str, Any] | None:
        """A leader's scorecard (per plan year and every stint), as the projector totals it."""
        return await self._found(account, f"/v1/leaders/{quote(leader_id, safe='')}")

    async def scores(self, account: Account, leader_id: str, year: int) -> dict[str, Any] | None:
        """The person's scores for the year's periods, as the projector works them out; None when there is
        none to read (or the boards' API is not running)."""
        if self._boards is None:
            return None
        response = await self._boards.get(f"/v1/scores/{quote(leader_id, safe='')}", headers=self._as(account),
                                          params={"year": str(year)})  # fmt: skip
        if response.status_code in (403, 404):
            return None
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    async def submissions(self, account: Account) -> list[dict[str, Any]]:
        """What the person sent, newest first, with each submission's receipt."""
        sent: list[dict[str, Any]] = (await self._get(account, "/v1/submissions"))["submissions"]
        return sent

    async def alerts_naming(self, account: Account) -> list[dict[str, Any]]:
        """For a head: the open alerts that name them as the one who answers."""
        assert self._alerts is not None
        response = await self._alerts.get("/v1/alerts/naming-me", headers=self._as(account))
        response.raise_for_status()
        alerts: list[dict[str, Any]] = response.json()["alerts"]
        return alerts

    async def review_rules(self, account: Account) -> dict[str, Any]:
        """The review's rules as the alerts service's rules file sets them: `explanation_working_days`, and
        the `causes` an explanation may name (code → label)."""
        assert self._alerts is not None
        response = await self._alerts.get("/v1/review/rules", headers=self._as(account))
        response.raise_for_status()
        rules: dict[str, Any] = response.json()
        return rules

    async def digest(self, account: Account, month: str) -> dict[str, Any]:
        """A committee's month in its jurisdiction, as the alerts service counts it."""
        assert self._alerts is not None
        response = await self._alerts.get("/v1/review/digest", headers=self._as(account), params={"month": month})
        response.raise_for_status()
        counted: dict[str, Any] = response.json()
        return counted

    async def alert_as_answerer(self, account: Account, fingerprint: str) -> dict[str, Any] | None:
        """The alert whose explanation is asked and not yet given, for the head asked (or, on their behalf,
        their unit's clerk); None otherwise."""
        if account.role == "head":
            found = next((a for a in await self.alerts_naming(account) if a["fingerprint"] == fingerprint), None)
        else:
            found = await self.alert(account, fingerprint)
        if found is None or not found.get("explanation_due") or found.get("explained_at"):
            return None
        if account.role == "head" and found.get("explanation_asked_of") != account.leader_id:
            return None
        return found

    async def alert(self, account: Account, fingerprint: str) -> dict[str, Any] | None:
        """One alert of the person's jurisdiction; None when there is none (or it lies outside)."""
        assert self._alerts is not None
        response = await self._alerts.get(f"/v1/alerts/{quote(fingerprint, safe='/')}", headers=self._as(account))
        if response.status_code == 404:
            return None
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found
