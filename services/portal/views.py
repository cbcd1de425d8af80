"""What several pages show alike, read from the services for the person: a unit's year (chart and
stints), a person's units and their standing, an alert's page, and the explanation form."""

# No `from __future__ import annotations`, as in the routes.
import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from fastapi import Response
from markupsafe import Markup

from services.portal.chart import progress_chart
from services.portal.sessions import Session
from services.portal.upstream import Services
from services.portal.web import Portal, page
from shared.auth import Account
from shared.display import INDICATOR_LABELS


def year_view(year: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """The chart of a unit's year, and the stint of each head who answered for it."""
    if year is None:
        return {"chart": Markup(""), "stints": []}
    label = f"{name}: tỷ lệ so với tiến độ / rate against the pace, {year['plan_year']}"
    return {"chart": progress_chart(year["months"], year["plan_year"], label), "stints": year["stints"]}


async def clerk_view(services: Services, session: Session, today: dt.date) -> dict[str, Any]:
    """The clerk's units (`units_view`), and what they sent."""
    view = await units_view(services, session, today)
    view.update(upload=None, upload_status=None, filename=None, sent=await services.submissions(session.account),
                categories=await services.categories(session.account), report=None, report_status=None, typed={},
                form_key=secrets.token_urlsafe(24), upload_key=secrets.token_urlsafe(24),
                alerts=await services.alerts(session.account) if services.alerts_served else None)  # fmt: skip
    return view


async def units_view(services: Services, session: Session, today: dt.date) -> dict[str, Any]:
    """The person's units with each indicator's standing (rate, standing, rank, figures' date) and reporting
    on time, as the projector publishes them."""
    account = session.account
    units = await services.units(account)
    mine = {u["unit_code"] for u in units}
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for indicator in INDICATOR_LABELS:
        standings = await services.standings(account, today, indicator=indicator)
        for group in standings["groups"]:
            members = [u for lst in group["lists"] for u in (*lst["at_or_above"], *lst["below"])]
            for unit in members + group["not_assessed"]:
                if unit["unit_code"] in mine and (unit["unit_code"], indicator) not in rows:
                    rows[unit["unit_code"], indicator] = {"unit": unit, "group": group, "indicator": indicator}
        reporting = await services.reporting(account, today, indicator=indicator)
        for group in reporting["groups"]:
            for unit in group["units"]:
                if (unit["unit_code"], indicator) in rows:
                    rows[unit["unit_code"], indicator].setdefault("sent", unit)
    return {"units": units, "rows": sorted(rows.values(), key=lambda r: (r["unit"]["name"], r["indicator"])),
            "today": today}  # fmt: skip


async def alert_context(portal: Portal, account: Account, fingerprint: str) -> dict[str, Any] | None:
    """What the alert's page shows, read for `account`: None when it is not in their jurisdiction."""
    services, today = portal.services, portal.today
    found = await services.alert(account, fingerprint) if services.alerts_served else None
    if found is None:
        return None
    names = {u["unit_code"]: u["name"] for u in await services.units(account)}
    year = None
    if found["indicator"] is not None:  # a finding about a vote has no year of figures
        year = await services.unit_year(account, found["unit_code"], found["indicator"], found["plan_year"],
                                        today())  # fmt: skip
    rules = await services.review_rules(account)  # one call: the causes' labels and the due days
    return dict(alert=found, names=names, year=year, today=today(), review=found.get("review"),
                commitments=found.get("commitments", []), causes=rules["causes"],
                explanation_days=rules["explanation_working_days"],
                **year_view(year, names.get(found["unit_code"], found["unit_code"])))  # fmt: skip


async def explain_page(
    portal: Portal, session: Session | None, fingerprint: str, error: str | None, status_code: int,
    account: Account | None = None, token: str | None = None,
) -> Response:  # fmt: skip
    """The form for the person signed in, or (with `token`) for the one the e-mail's link was sent to."""
    services = portal.services
    account = session.account if session else account
    assert account is not None
    found = await services.alert_as_answerer(account, fingerprint) if services.alerts_served else None
    if found is None:
        none = "Không có yêu cầu giải trình này cho bạn / no such explanation asked of you"
        return page("refused.html.j2", 404, session=session, reason=none)
    causes = (await services.review_rules(account))["causes"]
    action = f"/act/{token}" if token else "/head/explain"
    return page("explain.html.j2", status_code, session=session, account=account, alert=found, causes=causes,
                error=error, today=portal.today(), form_action=action)  # fmt: skip


def explanation(form: Any) -> dict[str, Any]:
    """The explanation form as the alerts service takes it; ValueError naming a commitment row that is wrong."""
    return {"causes": [str(c) for c in form.getlist("causes")][:10], "text": str(form.get("text", ""))[:4000],
            "document": str(form.get("document", ""))[:200], "commitments": _commitments(form)}  # fmt: skip


def _commitments(form: Any) -> list[dict[str, str]]:
    """The form's commitment rows that are filled: indicator, date and a rate in percent ("70" or "70,5")."""
    made = []
    for n in range(1, 4):
        by, rate = str(form.get(f"c{n}_by", "")).strip(), str(form.get(f"c{n}_rate", "")).strip()
        if not by and not rate:
            continue
        if not by or not rate:
            raise ValueError(f"cam kết {n}: cần cả ngày và tỷ lệ / commitment {n}: needs both a date and a rate")
        try:
            share = Decimal(rate.replace("%", "").replace(",", ".").strip()) / 100
        except ArithmeticError:
            raise ValueError(f"cam kết {n}: {rate!r} không phải tỷ lệ / commitment {n}: {rate!r} is no rate") from None
        made.append({"indicator": str(form.get(f"c{n}_indicator", "")), "by": by, "rate": str(share)})
    return made
