"""What an evaluation changes, decided purely from the findings and the alerts already open.

- a finding with no open alert raises one (never a second while one is open);
- a finding with an open alert refreshes its evidence and severity;
- a finding that asks for escalation escalates its alert once, to the committee one level up;
- an open alert whose finding is gone is resolved by the system ("no longer found").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from services.alerts.rules import Finding


@dataclass(frozen=True)
class OpenAlert:
    fingerprint: str
    rule: str
    severity: str
    escalated_to: str | None


@dataclass(frozen=True)
class Decision:
    raise_: list[Finding] = field(default_factory=list)
    refresh: list[Finding] = field(default_factory=list)
    escalate: list[Finding] = field(default_factory=list)
    resolve: list[OpenAlert] = field(default_factory=list)


def decide(unit_code: str, findings: Iterable[Finding], open_alerts: Mapping[str, OpenAlert]) -> Decision:
    """`open_alerts`: the unit's open alerts in the scope that was evaluated, by fingerprint."""
    decision = Decision()
    found = set()
    for finding in findings:
        key = finding.fingerprint(unit_code)
        found.add(key)
        current = open_alerts.get(key)
        if current is None:
            decision.raise_.append(finding)
        else:
            decision.refresh.append(finding)
        if finding.escalate and (current is None or current.escalated_to is None):
            decision.escalate.append(finding)
    decision.resolve.extend(alert for key, alert in sorted(open_alerts.items()) if key not in found)
    return decision
