"""Assessment groups: the groups file and who is compared with whom, without I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.projector.assessment import DEFAULT_CONFIG, Unit, groups_and_members, parse_assessment_config

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
