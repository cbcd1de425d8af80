"""Which inspection committee an alert goes to, and where an escalation goes."""

from __future__ import annotations

from services.alerts.facts import UnitInfo


def committee_for(unit: UnitInfo, top_committee: str) -> str:
    """The unit's own committee from the registry; by default the committee of its parent level."""
    return unit.committee or unit.parent_committee or top_committee


def escalation_target(unit: UnitInfo, top_committee: str, top_escalation: str) -> str:
    """One level up: the parent unit's committee; for a unit the top committee already oversees, the
    committee's own leadership (`top_escalation`)."""
    own = committee_for(unit, top_committee)
    if unit.parent_committee and unit.parent_committee != own:
        return unit.parent_committee
    return top_committee if own != top_committee else top_escalation
