"""Assessment groups: the groups file and who is compared with whom, without I/O."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from services.projector.assessment import (
    ALWAYS,
    DEFAULT_CONFIG,
    Membership,
    Unit,
    UnitVersion,
    dated_groups_and_members,
    groups_and_members,
    parse_assessment_config,
    registry_on,
)

INFRA = Path(__file__).parents[2] / "infra" / "assessment.yaml"


def test_the_shipped_file_holds_the_built_in_defaults() -> None:
    assert parse_assessment_config(INFRA.read_text(encoding="utf-8")) == DEFAULT_CONFIG


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("groups: [{id: x, name: X}]", "groups.0: name the members"),
        ("groups: [{id: x, name: X, levels: [province], basis: planned}]", "groups.0.basis"),
        ("groups: [{id: x, name: X, levels: [province], late_supplement: skip}]", "groups.0.late_supplement"),
        ("groups: [{id: x, name: X, levels: [provnce]}]", "groups.0.levels.0"),
        ("groups: [{id: x, name: X, levels: [province]}, {id: x, name: Y, levels: [central]}]", "group ids repeat"),
        ("groups: [{id: x, name: X, levels: [province, central], lists: [{id: a, name: A, levels: [central]}]}]",
         "['province'] are in no list"),
        ("groups: [{id: x, name: X, levels: [province], colour: red}]", "groups.0.colour"),
        ("groups: [", "not valid YAML"),
    ],
)  # fmt: skip
def test_a_wrong_setting_is_refused_naming_it(text: str, named: str) -> None:
    with pytest.raises(ValueError, match="PIM_ASSESSMENT_FILE") as error:
        parse_assessment_config(text, "PIM_ASSESSMENT_FILE")
    assert named in str(error.value)


REGISTRY = [
    Unit("viet-nam", "Việt Nam", "central", None),
    Unit("bo-tai-chinh", "Bộ Tài chính", "central", "viet-nam"),
    Unit("lam-dong", "Tỉnh Lâm Đồng", "province", "viet-nam"),
    Unit("so-xay-dung", "Sở Xây dựng Lâm Đồng", "department", "lam-dong"),
    Unit("da-lat", "Thành phố Đà Lạt", "district", "lam-dong"),
    Unit("xuan-huong", "Phường Xuân Hương", "commune", "da-lat"),
    Unit("hue", "Thành phố Huế", "province", None),
]


def test_the_default_groups_the_nation_whatever_the_parent_and_each_province_its_subtree() -> None:
    groups, members = groups_and_members(DEFAULT_CONFIG, REGISTRY)
    assert [g.group_id for g in groups] == ["national", "province/hue", "province/lam-dong"]
    of = {(m.group_id, m.unit_code): (m.list_id, m.home) for m in members}
    assert {u for g, u in of if g == "national"} == {"viet-nam", "bo-tai-chinh", "lam-dong", "hue"}
    assert of[("national", "bo-tai-chinh")] == ("central", True)
    assert of[("national", "lam-dong")] == ("local", True)
    assert {u for g, u in of if g == "province/lam-dong"} == {"so-xay-dung", "da-lat", "xuan-huong"}
    assert of[("province/lam-dong", "so-xay-dung")] == ("departments", True)
    assert groups[2].name == "Các sở, ngành và xã của Tỉnh Lâm Đồng / Departments and communes of Tỉnh Lâm Đồng"


def test_a_unit_in_two_groups_is_at_home_in_the_first() -> None:
    config = parse_assessment_config(
        "groups: [{id: national, name: N, levels: [province]}, {id: pilot, name: P, units: [hue, nowhere]}]"
    )
    _, members = groups_and_members(config, REGISTRY)
    hue = sorted((m.group_id, m.home) for m in members if m.unit_code == "hue")
    assert hue == [("national", True), ("pilot", False)]
    assert {m.unit_code for m in members if m.group_id == "pilot"} == {"hue"}  # unknown codes are skipped


RECORDED = dt.date(2026, 3, 10)


def version(position: int, code: str, parent: str | None, since: dt.date | None = None, level: str = "commune",
            ) -> UnitVersion:  # fmt: skip
    return UnitVersion(Unit(code, f"Đơn vị {code}", level, parent), position, since, RECORDED)


def test_a_registration_is_in_force_from_its_date_and_an_undated_change_from_the_day_recorded() -> None:
    versions = [
        version(1, "p", None, level="province"),
        version(2, "x", "p"),
        version(3, "new", "p", since=dt.date(2026, 2, 1)),  # exists from 1 February
        version(4, "x", "q", since=dt.date(2026, 1, 1)),
        version(5, "x", "r"),  # undated, recorded on 10 March
    ]
    assert {u.unit_code: u.parent_code for u in registry_on(versions, dt.date(2025, 12, 31))} == {"p": None, "x": "p"}
    assert {u.unit_code: u.parent_code for u in registry_on(versions, dt.date(2026, 2, 1))} == {
        "p": None, "x": "q", "new": "p"}  # fmt: skip
    assert registry_on(versions, RECORDED - dt.timedelta(days=1))[1].parent_code == "q"
    assert registry_on(versions, RECORDED)[1].parent_code == "r"


def test_memberships_run_from_the_day_a_unit_joins_a_group_until_the_day_it_leaves() -> None:
    moved = dt.date(2025, 7, 1)
    versions = [
        version(1, "p", None, level="province"),
        version(2, "q", None, level="province"),
        version(3, "x", "p"),
        version(4, "x", "q", since=moved),
    ]
    groups, members = dated_groups_and_members(DEFAULT_CONFIG, versions)
    assert [g.group_id for g in groups] == ["national", "province/p", "province/q"]
    assert [m for m in members if m.unit_code == "x"] == [
        Membership("province/p", "x", "local", True, ALWAYS, moved),
        Membership("province/q", "x", "local", True, moved, None),
    ]
    assert Membership("national", "p", "local", True, ALWAYS, None) in members  # unchanged: one open row
