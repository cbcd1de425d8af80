"""What an evaluation records, decided from the facts, the findings and the unit's open alerts alone (no
I/O, so tests hand it facts built in memory): each raise, refresh, escalation and resolution as the event
the store will hold, with the fingerprint of the alert it is about."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from services.alerts.config import Routing
from services.alerts.lifecycle import OpenAlert, decide
from services.alerts.routing import committee_for, escalation_target
from services.alerts.rules import Finding
from services.alerts.unit_year_facts import UnitYearFacts
from shared.events import AlertEscalated, AlertRaised, AlertRefreshed, AlertResolved, DomainEvent
from shared.responsibility import responsible_on


@dataclass(frozen=True)
class CurrentAlert:
    """An open alert as its row holds it: what a refresh compares the finding with."""

    fingerprint: str
    rule: str
    severity: str
    escalated_to: str | None
    summary: str
    evidence: dict[str, str]
    responsible_leader_id: str | None


@dataclass(frozen=True)
class CommitteeResolution:
    """A finding a committee closed with its conclusion: it holds until the finding gets worse."""

    severity: str
    resolution: str


SEVERITY_RANK = {"warning": 1, "critical": 2}


def alert_events(
    facts: UnitYearFacts, findings: list[Finding], current: Mapping[str, CurrentAlert], routing: Routing,
    today: dt.date, resolved: Mapping[str, CommitteeResolution] | None = None,
) -> list[tuple[DomainEvent, str]]:  # fmt: skip
    """The events one evaluation records, in order, each with its alert's fingerprint. `resolved`: the
    findings of the unit a committee resolved, by fingerprint: one found again is not raised again unless
    its severity rose, and then the new alert says which resolution it reopens (a new period is a new
    fingerprint, so a new alert anyway)."""
    unit_code = facts.unit.unit_code
    open_alerts = {key: OpenAlert(key, a.rule, a.severity, a.escalated_to) for key, a in current.items()}
    decision = decide(unit_code, findings, open_alerts)
    committee = committee_for(facts.unit, routing.top_committee)
    recorded: list[tuple[DomainEvent, str]] = []
    held_findings: set[str] = set()
    for finding in decision.raise_:
        key = finding.fingerprint(unit_code)
        earlier = (resolved or {}).get(key)
        if earlier is not None and SEVERITY_RANK[finding.severity] <= SEVERITY_RANK[earlier.severity]:
            held_findings.add(key)  # the committee's conclusion stands
            continue
        raised = _raised(facts, finding, committee)
        if earlier is not None:
            raised = raised.model_copy(update={"reopens": earlier.resolution})
        recorded.append((raised, key))
    for finding in decision.refresh:  # still found: the latest evidence, and who answers for it now
        key = finding.fingerprint(unit_code)
        refreshed = _refreshed(facts, finding, current[key])
        if refreshed is not None:  # every change to an alert is an event: the log holds its whole story
            recorded.append((refreshed, key))
    for finding in decision.escalate:
        if finding.fingerprint(unit_code) in held_findings:
            continue
        escalated = AlertEscalated(
            fingerprint=finding.fingerprint(unit_code),
            unit_code=unit_code,
            from_committee=committee,
            to_committee=escalation_target(facts.unit, routing.top_committee, routing.top_escalation),
            reason=f"chậm tiến độ {finding.evidence.get('consecutive_reports_behind')} kỳ báo cáo liên tiếp"
            f" / behind pace on {finding.evidence.get('consecutive_reports_behind')} consecutive reports",
            as_of=finding.on,
        )
        recorded.append((escalated, finding.fingerprint(unit_code)))
    for alert in decision.resolve:
        gone = AlertResolved(
            fingerprint=alert.fingerprint,
            unit_code=unit_code,
            as_of=_data_date(facts, today),
            reason="không còn vi phạm (đã bắt kịp tiến độ hoặc số liệu được điều chỉnh)"
            " / condition no longer found (back on track or corrected figures)",
        )
        recorded.append((gone, alert.fingerprint))
    return recorded


def _data_date(facts: UnitYearFacts, today: dt.date) -> dt.date:
    """The date of the latest figures behind an evaluation (what a finding that is gone was last checked
    against), or `today` when the unit has none: an alert resolved by a report is resolved as of its date."""
    latest = [year.points[-1].as_of for year in facts.indicators if year.points]
    return max(latest, default=today)


def _raised(facts: UnitYearFacts, finding: Finding, committee: str) -> AlertRaised:
    leader_id, leader_name, evidence = _answerable(facts, finding)
    return AlertRaised(
        fingerprint=finding.fingerprint(facts.unit.unit_code),
        unit_code=facts.unit.unit_code,
        indicator=finding.indicator,
        plan_year=facts.plan_year,
        rule=finding.rule,
        period=finding.period,
        severity=finding.severity,
        as_of=finding.on,
        summary=finding.summary,
        responsible_leader_id=leader_id,
        responsible_leader_name=leader_name,
        committee=committee,
        evidence=evidence,
    )


def _refreshed(facts: UnitYearFacts, finding: Finding, alert: CurrentAlert) -> AlertRefreshed | None:
    """The event that brings an open alert up to a finding that persists, or None if nothing changed."""
    leader_id, leader_name, evidence = _answerable(facts, finding)
    now = (finding.severity, finding.summary, evidence, leader_id)
    if now == (alert.severity, alert.summary, alert.evidence, alert.responsible_leader_id):
        return None
    return AlertRefreshed(
        fingerprint=finding.fingerprint(facts.unit.unit_code),
        unit_code=facts.unit.unit_code,
        severity=finding.severity,
        previous_severity=alert.severity if alert.severity != finding.severity else None,
        as_of=finding.on,
        summary=finding.summary,
        responsible_leader_id=leader_id,
        responsible_leader_name=leader_name,
        evidence=evidence,
    )


def _answerable(facts: UnitYearFacts, finding: Finding) -> tuple[str | None, str | None, dict[str, str]]:
    """The head (or acting head) in post on the finding's date — none when vacant — and the evidence with
    the deputy in charge of the indicator added. For a vote, the leader voted on."""
    evidence = dict(finding.evidence)
    if finding.indicator is None:
        return evidence["leader_id"], evidence["leader_name"] or None, evidence
    responsible = responsible_on(facts.tenures, finding.indicator, finding.on)
    if responsible.deputy is not None:
        evidence["deputy_in_charge"] = responsible.deputy.leader_name
    head = responsible.head
    return (head.leader_id if head else None), (head.leader_name if head else None), evidence
