"""Which inspection committee an alert goes to, and where an escalation goes."""

from __future__ import annotations

from services.alerts.unit_year_facts import UnitInfo


def committee_for(unit: UnitInfo, top_committee: str) -> str:
    """The unit's own committee from the registry; by default the committee of its parent level."""
    return unit.committee or unit.parent_committee or top_committee


def next_level(unit: UnitInfo, routed_to: str, top_committee: str, top_escalation: str) -> str:
    """The committee one level above where an alert is routed now: the unit's own, its parent's, the top
    committee, the top committee's leadership; at the top it stays there."""
    ladder: list[str] = []
    for committee in (committee_for(unit, top_committee), unit.parent_committee, top_committee, top_escalation):
        if committee and committee not in ladder:
            ladder.append(committee)
    if routed_to not in ladder:
        return ladder[1] if len(ladder) > 1 else ladder[0]
    return ladder[min(ladder.index(routed_to) + 1, len(ladder) - 1)]


def escalation_target(unit: UnitInfo, top_committee: str, top_escalation: str) -> str:
    """One level up: the parent unit's committee; for a unit the top committee already oversees, the
    committee's own leadership (`top_escalation`)."""
    own = committee_for(unit, top_committee)
    if unit.parent_committee and unit.parent_committee != own:
        return unit.parent_committee
    return top_committee if own != top_committee else top_escalation
