"""Assessment groups (nhóm đánh giá): who is compared with whom, on which plan, and how the lists are
presented, as the Ministry of Finance publishes its monthly disbursement lists. Pure: the groups file
parsed and validated, and each group's members worked out from the registry. No I/O.

Rules (docs/assessment-rules.md gives their sources):
- the group's average is weighted: total disbursed (or collected) over total plan of its assessed members;
- every member with a plan counts, reported or not (no report yet: 0, marked "no report");
- a member without a plan, or with a plan of 0, is not assessed and stays outside the average;
- capital supplemented after 30 September: by default the member is not assessed from the supplement's
  decision on (the Ministry's lists leave such units out of both lists); a group may instead assess it
  on the plan without the supplement (`late_supplement: comparable_plan`);
- a unit merged into another leaves every group on the merger date;
- a list as of a date counts the members of the hierarchy as it stood that day: each registration of a
  unit is in force from its date (`UnitVersion`), and a membership holds from the day the registry put
  the unit in the group until the day it left.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.config_files import parse_yaml_file
from shared.events import Indicator, PlanAssignedBy

Level = Literal["central", "province", "department", "district", "commune"]
GroupId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")]
Basis = Literal["plan", "comparable_plan"]
LateSupplement = Literal["not_assessed", "comparable_plan"]


class AssessmentList(BaseModel):
    """One of the lists a group is published as (e.g. ministries and central agencies; localities)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: GroupId
    name: Annotated[str, Field(min_length=1, max_length=300)]
    levels: Annotated[list[Level], Field(min_length=1)]


class AssessmentGroup(BaseModel):
    """Units compared against one weighted average. Members are units of `levels`; with `within`, only
    those in that unit's subtree; with `units`, exactly those listed. `for_each` makes one group per unit
    of that level, of the members in its subtree (its id and name take the unit's code and name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: GroupId
    name: Annotated[str, Field(min_length=1, max_length=300)]
    indicators: Annotated[list[Indicator], Field(min_length=1)] = Field(default_factory=lambda: list(Indicator))
    levels: list[Level] = Field(default_factory=list)
    within: str | None = None
    units: list[str] = Field(default_factory=list)
    for_each: Level | None = None
    basis: Basis = "plan"
    # Whose plan the group ranks on where a member has both: the Prime Minister's (the Ministry's lists) or
    # the province's (a province holding its departments and communes to it). One plan: that one.
    plan_assigned_by: PlanAssignedBy = "prime_minister"
    late_supplement: LateSupplement = "not_assessed"
    lists: list[AssessmentList] = Field(default_factory=list)

    @model_validator(mode="after")
    def _members_are_named(self) -> AssessmentGroup:
        if not self.levels and not self.units:
            raise ValueError("name the members: `levels` (optionally `within` or `for_each`) or `units`")
        if self.units and (self.levels or self.within or self.for_each):
            raise ValueError("`units` lists the members exactly: leave out `levels`, `within` and `for_each`")
        if self.within and self.for_each:
            raise ValueError("`within` and `for_each` exclude each other")
        listed = [level for lst in self.lists for level in lst.levels]
        if len(listed) != len(set(listed)):
            raise ValueError("a level is in two lists")
        if self.lists and self.levels and set(self.levels) - set(listed):
            raise ValueError(f"levels {sorted(set(self.levels) - set(listed))} are in no list")
        if len({lst.id for lst in self.lists}) != len(self.lists):
            raise ValueError("two lists have the same id")
        return self


class AssessmentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    groups: Annotated[list[AssessmentGroup], Field(min_length=1)]
    # A month's report is due this many days after the month ends: the reporting-on-time indicator and the
    # missing-report alert count from it (by the 5th: the monthly disbursement reports to the Ministry).
    report_due_days: Annotated[int, Field(ge=0, le=90)] = 5

    @model_validator(mode="after")
    def _ids_unique(self) -> AssessmentConfig:
        ids = [g.id for g in self.groups]
        if len(ids) != len(set(ids)):
            raise ValueError(f"group ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
        return self


NATIONAL = AssessmentGroup(
    id="national",
    name="Cả nước / National",
    levels=["central", "province"],
    lists=[
        AssessmentList(
            id="central", name="Bộ, cơ quan trung ương / Ministries and central agencies", levels=["central"]
        ),
        AssessmentList(id="local", name="Địa phương / Localities", levels=["province"]),
    ],
)
PROVINCIAL = AssessmentGroup(
    id="province",
    name="Các sở, ngành và xã của {name} / Departments and communes of {name}",
    levels=["department", "district", "commune"],
    for_each="province",
    plan_assigned_by="province",
    lists=[
        AssessmentList(id="departments", name="Sở, ngành / Departments", levels=["department"]),
        AssessmentList(id="local", name="Huyện, xã / Districts and communes", levels=["district", "commune"]),
    ],
)
DEFAULT_CONFIG = AssessmentConfig(groups=[NATIONAL, PROVINCIAL])


def parse_assessment_config(text: str, source: str = "assessment groups") -> AssessmentConfig:
    """The groups file (YAML), validated; raises ConfigFileError naming each setting that is wrong and why."""
    return parse_yaml_file(AssessmentConfig, text, source)


@dataclass(frozen=True)
class Unit:
    unit_code: str
    name: str
    level: str
    parent_code: str | None


@dataclass(frozen=True)
class Group:
    """A group as the projector keeps it: a configured group, or one instance of a `for_each` group."""

    group_id: str
    name: str
    indicators: tuple[str, ...]
    basis: Basis
    late_supplement: LateSupplement
    plan_assigned_by: PlanAssignedBy
    lists: tuple[tuple[str, str, tuple[str, ...]], ...]  # (list id, name, levels), in publishing order
    ordinal: int  # config order: a unit's first group is its home group (the one alerts compare it with)


ALWAYS = dt.date.min  # a first registration with no date: the unit was there since always


@dataclass(frozen=True)
class UnitVersion:
    """One registration of a unit, as the log holds it."""

    unit: Unit
    position: int
    effective_from: dt.date | None  # as registered
    recorded_on: dt.date


def registry_on(versions: Iterable[UnitVersion], day: dt.date) -> list[Unit]:
    """The registry as it stood on `day`: each unit's latest registration in force then. A registration is in
    force from its `effective_from`; without one, a unit's first since always and a later one from the day
    it was recorded (an undated change never rewrites a past list). A unit first in force later is absent."""
    latest: dict[str, tuple[dt.date, int, Unit]] = {}
    for code, own in _by_unit(versions).items():
        for n, version in enumerate(own):
            since = in_force_from(version, first=n == 0)
            if since <= day and (code not in latest or (since, version.position) > latest[code][:2]):
                latest[code] = (since, version.position, version.unit)
    return [unit for _, _, unit in latest.values()]


def versions_in_force(versions: Iterable[UnitVersion]) -> dict[int, dt.date]:
    """Each registration's (by position) first day in force, by `registry_on`'s rule."""
    return {v.position: in_force_from(v, n == 0) for own in _by_unit(versions).values() for n, v in enumerate(own)}


def in_force_from(version: UnitVersion, first: bool) -> dt.date:
    if version.effective_from is not None:
        return version.effective_from
    return ALWAYS if first else version.recorded_on


def _by_unit(versions: Iterable[UnitVersion]) -> dict[str, list[UnitVersion]]:
    by_unit: dict[str, list[UnitVersion]] = {}
    for version in sorted(versions, key=lambda v: v.position):
        by_unit.setdefault(version.unit.unit_code, []).append(version)
    return by_unit


@dataclass(frozen=True, order=True)
class Membership:
    group_id: str
    unit_code: str
    list_id: str
    home: bool
    member_from: dt.date = ALWAYS
    member_until: dt.date | None = None  # the first day it is no longer a member; None: still


def dated_groups_and_members(
    config: AssessmentConfig, versions: Sequence[UnitVersion]
) -> tuple[list[Group], list[Membership]]:
    """Every group and its dated memberships over the hierarchy's history: the registry is taken as it stood
    from each date a registration came into force, and a membership runs while the unit stays in the same
    group, list and home. A group takes its name and place from the latest registry it exists in."""
    by_unit = _by_unit(versions)
    epochs = sorted({ALWAYS} | {in_force_from(v, n == 0) for own in by_unit.values() for n, v in enumerate(own)})
    groups: dict[str, Group] = {}
    running: dict[tuple[str, str], tuple[str, bool, dt.date]] = {}  # (group, unit) -> (list, home, since)
    ended: list[Membership] = []
    for epoch in epochs:
        epoch_groups, members = groups_and_members(config, registry_on(versions, epoch))
        groups.update((g.group_id, g) for g in epoch_groups)
        now = {(m.group_id, m.unit_code): (m.list_id, m.home) for m in members}
        for key, (list_id, home, since) in list(running.items()):
            if now.get(key) != (list_id, home):
                ended.append(Membership(*key, list_id, home, since, epoch))
                del running[key]
        for key, (list_id, home) in now.items():
            running.setdefault(key, (list_id, home, epoch))
    ordered = sorted(groups.values(), key=lambda g: (g.ordinal, g.group_id))
    return (
        [replace(g, ordinal=n) for n, g in enumerate(ordered)],
        sorted(ended + [Membership(*key, list_id, home, since) for key, (list_id, home, since) in running.items()]),
    )


def groups_and_members(config: AssessmentConfig, units: Iterable[Unit]) -> tuple[list[Group], list[Membership]]:
    """Every group (`for_each` ones once per unit of their level) and its members, from the registry as it
    stands. A unit merged away stays a member: it leaves on the merger date (the standings read the date)."""
    units = sorted(units, key=lambda u: u.unit_code)
    by_code = {u.unit_code: u for u in units}
    groups: list[Group] = []
    members: list[Membership] = []
    homed: set[str] = set()
    for spec in config.groups:
        for anchor, candidates in _instances(spec, units, by_code):
            ordinal = len(groups)
            group_id = spec.id if anchor is None else f"{spec.id}/{anchor.unit_code}"
            name = spec.name if anchor is None else spec.name.replace("{name}", anchor.name)
            lists = tuple((lst.id, lst.name, tuple(lst.levels)) for lst in spec.lists) or (
                ("all", name, tuple(spec.levels)),
            )
            list_of: dict[str, str] = {level: list_id for list_id, _, levels in lists for level in levels}
            groups.append(
                Group(group_id, name, tuple(i.value for i in spec.indicators), spec.basis, spec.late_supplement,
                      spec.plan_assigned_by, lists, ordinal)
            )  # fmt: skip
            for unit in candidates:
                home = unit.unit_code not in homed
                homed.add(unit.unit_code)
                members.append(Membership(group_id, unit.unit_code, list_of.get(unit.level, lists[0][0]), home))
    return groups, members


def _instances(
    spec: AssessmentGroup, units: Sequence[Unit], by_code: Mapping[str, Unit]
) -> Iterable[tuple[Unit | None, list[Unit]]]:
    if spec.units:
        yield None, [by_code[code] for code in spec.units if code in by_code]
        return
    of_level = [u for u in units if u.level in spec.levels]
    if spec.for_each is None:
        root = spec.within
        yield None, [u for u in of_level if root is None or _under(u, root, by_code)]
        return
    for anchor in (u for u in units if u.level == spec.for_each):
        yield anchor, [u for u in of_level if _under(u, anchor.unit_code, by_code)]


def _under(unit: Unit, root: str, by_code: Mapping[str, Unit]) -> bool:
    """Whether `unit` is below `root` in the registry (not `root` itself)."""
    seen: set[str] = set()
    parent = unit.parent_code
    while parent is not None and parent not in seen:
        if parent == root:
            return True
        seen.add(parent)
        parent = by_code[parent].parent_code if parent in by_code else None
    return False
