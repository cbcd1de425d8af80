"""Commitments held to the figures: a head promised a rate of the plan (or an amount) by a date; the unit's
reported year to date decides, with no one ticking a box. Pure: the service reads the commitments due and
the unit's reports, and records what this decides (a `CommitmentChecked`, and for a missed one an alert of
its own naming the head who made it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from shared.display import percent, vnd
from shared.events import AlertRaised, CommitmentChecked, Indicator

COMMITMENT_MISSED = "commitment_missed"


@dataclass(frozen=True)
class DueCommitment:
    position: int  # of the explanation that made it
    ordinal: int
    fingerprint: str  # the alert reviewed
    unit_code: str
    leader_id: str | None
    leader_name: str | None
    indicator: Indicator
    plan_year: int
    due: dt.date
    rate: Decimal | None
    amount: Decimal | None
    committee: str  # where the reviewed alert is routed now


@dataclass(frozen=True)
class Report:
    as_of: dt.date
    rate: Decimal | None
    actual: Decimal


def decide(commitment: DueCommitment, reports: list[Report], today: dt.date, grace_until: dt.date) -> Report | None:
    """The report that decides `commitment`: the first dated on or after its date; once the grace period
    is over with none, the last before it (a unit that stops reporting does not escape its promise). None:
    not decided yet. A `Report` with no figures at all stands for "nothing reported by then"."""
    after = [r for r in reports if r.as_of >= commitment.due]
    if after:
        return min(after, key=lambda r: r.as_of)
    if today <= grace_until:
        return None
    before = [r for r in reports if r.as_of <= commitment.due]
    return max(before, key=lambda r: r.as_of) if before else Report(commitment.due, None, Decimal(0))


def checked(commitment: DueCommitment, basis: Report, reported: bool) -> list[AlertRaised | CommitmentChecked]:
    """The verdict on `commitment` from `basis`, and for a missed one its alert."""
    reached = basis.rate if commitment.rate is not None else basis.actual
    target = commitment.rate if commitment.rate is not None else commitment.amount
    assert target is not None
    kept = reached is not None and reached >= target
    verdict = CommitmentChecked(
        fingerprint=commitment.fingerprint, unit_code=commitment.unit_code, leader_id=commitment.leader_id,
        commitment_position=commitment.position, ordinal=commitment.ordinal, indicator=commitment.indicator,
        due=commitment.due, rate=commitment.rate, amount=commitment.amount, kept=kept,
        figures_as_of=basis.as_of if reported else None, reached=reached,
    )  # fmt: skip
    if kept:
        return [verdict]
    shown = percent if commitment.rate is not None else vnd
    day = f"{commitment.due:%d/%m/%Y}"
    summary = (
        f"Không giữ cam kết đạt {shown(target)} trước {day}: đạt {shown(reached)} / committed to {shown(target)}"
        f" by {commitment.due}, reached {shown(reached)}"
    )
    missed = AlertRaised(
        fingerprint=f"{commitment.unit_code}/{commitment.indicator.value}/{COMMITMENT_MISSED}/{commitment.plan_year}"
        f"/{commitment.due}/{commitment.position}-{commitment.ordinal}",
        unit_code=commitment.unit_code, indicator=commitment.indicator, plan_year=commitment.plan_year,
        rule=COMMITMENT_MISSED, period=commitment.due.isoformat(), severity="warning",
        as_of=basis.as_of if reported else commitment.due, summary=summary,
        responsible_leader_id=commitment.leader_id, responsible_leader_name=commitment.leader_name,
        committee=commitment.committee,
        evidence={"commitment": str(target), "reached": None if reached is None else str(reached),
                  "figures_as_of": basis.as_of.isoformat() if reported else None,
                  "explanation_of": commitment.fingerprint},
    )  # fmt: skip
    return [verdict, missed]
