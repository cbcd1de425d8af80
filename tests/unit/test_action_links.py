"""Signed action links and who gets which (pure): a link's every field is inside its signature; each role's
copy carries only what that role may do; a round's notifications read as one letter."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.alerts.mail import Letter, Person, letter_body, letter_subject, purposes_for
from shared import action_links
from shared.action_links import ActionLink, LinkRefused

NOW = dt.datetime(2025, 5, 5, 3, 0, tzinfo=dt.UTC)
LINK = ActionLink("abc", "acc-1", "da-lat/x/below_pace/2025", "acknowledge", NOW + dt.timedelta(days=14))


def test_a_link_reads_back_as_signed_and_nothing_in_it_can_be_changed() -> None:
    token = action_links.sign("s", LINK)
    assert action_links.read("s", token, NOW) == LINK
    with pytest.raises(LinkRefused) as refused:
        action_links.read("another secret", token, NOW)
    assert refused.value.reason == "tampered"
    for purpose in ("explain", "open"):  # the same link, re-signed by someone without the secret, is another
        forged = action_links.sign("guess", ActionLink("abc", "acc-1", LINK.fingerprint, purpose, LINK.expires_at))
        with pytest.raises(LinkRefused):
            action_links.read("s", forged, NOW)
    with pytest.raises(LinkRefused) as refused:
        action_links.read("s", token, LINK.expires_at)
    assert refused.value.reason == "expired"


def test_every_copy_of_one_notification_carries_the_same_link_id_for_one_person_and_purpose() -> None:
    assert action_links.link_id("pim-alert-5", "acc-1", "open") == action_links.link_id("pim-alert-5", "acc-1", "open")
    ids = {action_links.link_id("pim-alert-5", a, p) for a in ("acc-1", "acc-2") for p in ("open", "explain")}
    assert len(ids) == 4


def _message(kind: str, unit: str = "da-lat", **alert: Any) -> dict[str, Any]:
    return {
        "kind": kind, "idempotency_key": "pim-alert-7", "routed_to": "UBKT", "dashboard_url": "http://g",
        "event": {"leader_id": "L3", "due": "2025-05-12"},
        "alert": {"fingerprint": f"{unit}/x", "unit_code": unit, "unit_name": unit.title(), "rule": "below_pace",
                  "indicator": "public_investment_disbursement", "plan_year": 2025, "period": "2025-03",
                  "severity": "warning", "status": "open", "evidence": {}} | alert,
    }  # fmt: skip


def test_each_role_gets_only_the_links_it_may_use() -> None:
    member, head = Person("lan@x", "a1", "committee"), Person("ha@x", "a2", "head", "L3")
    assert purposes_for(_message("AlertRaised"), member) == ["acknowledge", "open"]
    assert purposes_for(_message("AlertRaised", acknowledged_by="Lan"), member) == ["open"]
    assert purposes_for(_message("ExplanationRequested"), head) == ["explain"]
    assert purposes_for(_message("ExplanationRequested"), Person("tu@x", "a3", "head", "L1")) == []  # not asked
    assert purposes_for(_message("AlertRaised"), head) == []
    assert purposes_for(_message("AlertRaised"), Person("someone@x")) == []  # no account: no link


def test_a_rounds_notifications_read_as_one_letter_grouped_by_unit_at_the_gravest_severity() -> None:
    letter = Letter(Person("lan@x"))
    for n, (unit, severity) in enumerate((("da-lat", "warning"), ("bao-loc", "critical"), ("da-lat", "warning"),
                                          ("di-linh", "warning"))):  # fmt: skip
        letter.items.append((n, _message("AlertRaised", unit, severity=severity), {}))
    assert letter_subject(letter) == (
        "[PIM · Nghiêm trọng / critical] 4 thông báo / notifications — Da-Lat, Bao-Loc và 1 đơn vị khác / and 1 more"
    )
    body = letter_body(letter, None)
    assert body.index("== Da-Lat (da-lat) ==") < body.index("== Bao-Loc (bao-loc) ==") < body.index("== Di-Linh")
    assert body.count("-- 1.") == 3 and body.count("-- 2.") == 1  # Đà Lạt's two under its heading
