"""Writes the bundled SYNTHETIC sample dataset (pim/demo/sample/*.csv). Run again to regenerate it.

Province names are real; every leader, amount and vote is invented. The numbers are shaped so the
sample holds units clearly on track, behind and badly behind, one mid-year change of head, one acting
head later confirmed, one vacant post and one corrected report.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import random
import unicodedata
from pathlib import Path
from typing import Any

Row = list[Any]  # a CSV row: text, numbers and dates as they are written
OUT = Path(__file__).resolve().parent.parent / "pim" / "demo" / "sample"
PLAN_YEAR = 2025
REPORT_MONTHS = range(1, 11)  # monthly cumulative reports, January to October
BILLION = 1_000_000_000

PROVINCES = [
    "Hà Nội",
    "Huế",
    "Lai Châu",
    "Điện Biên",
    "Sơn La",
    "Lạng Sơn",
    "Quảng Ninh",
    "Thanh Hóa",
    "Nghệ An",
    "Hà Tĩnh",
    "Cao Bằng",
    "Tuyên Quang",
    "Lào Cai",
    "Thái Nguyên",
    "Phú Thọ",
    "Bắc Ninh",
    "Hưng Yên",
    "Hải Phòng",
    "Ninh Bình",
    "Quảng Trị",
    "Đà Nẵng",
    "Quảng Ngãi",
    "Gia Lai",
    "Khánh Hòa",
    "Lâm Đồng",
    "Đắk Lắk",
    "Hồ Chí Minh",
    "Đồng Nai",
    "Tây Ninh",
    "Cần Thơ",
    "Vĩnh Long",
    "Đồng Tháp",
    "Cà Mau",
    "An Giang",
]
FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Quốc", "Hữu", "Thanh", "Ngọc", "Xuân", "Thế"]
GIVEN = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hùng",
    "Khoa",
    "Lâm",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Phúc",
    "Quang",
    "Sơn",
    "Tâm",
    "Thảo",
    "Thắng",
    "Trung",
    "Tú",
    "Việt",
    "Yến",
    "Đạt",
    "Ánh",
    "Khánh",
    "Nhung",
]

# Ministries and central agencies (bộ, cơ quan trung ương): compared with the provinces against one
# national average, published as a list of their own. Their plans are smaller than most provinces'.
CENTRAL_AGENCIES = [
    "Bộ Giao thông vận tải",
    "Bộ Nông nghiệp và Môi trường",
    "Bộ Xây dựng",
    "Bộ Y tế",
    "Bộ Giáo dục và Đào tạo",
    "Bộ Công an",
    "Bộ Quốc phòng",
    "Bộ Tài chính",
    "Bộ Khoa học và Công nghệ",
    "Bộ Văn hóa, Thể thao và Du lịch",
    "Đại học Quốc gia Hà Nội",
    "Ủy ban Dân tộc",
]
SILENT = "Ủy ban Dân tộc"  # has a 2025 plan, never reports: counts with 0, marked "no report"
LATE_SUPPLEMENT = "Quảng Ngãi"  # capital supplemented on 20 October 2025: not assessed from then on
OWN_MILESTONES = "Khánh Hòa"  # its own last-quarter disbursement targets, by a decision of 20 September 2025
REVISED_IN_DECEMBER = "Hải Phòng"  # plan cut by a decision of 15 December 2025: the lists change from then only

# Disbursement profiles: multiple of the expected pace the unit reaches.
PROFILES = {"on_track": (1.00, 1.25), "behind": (0.78, 0.88), "badly_behind": (0.30, 0.42)}
DISBURSEMENT_SPLIT = {"central_budget": 0.6, "local_budget": 0.4}
REVENUE_SPLIT = {"taxes": 0.7, "fees_and_charges": 0.1, "land_levies": 0.2}

# Special tenure stories, by province.
HEAD_CHANGED = "Lâm Đồng"  # head replaced on 1 June
ACTING_THEN_CONFIRMED = "Gia Lai"  # head left 15 March; acting head, confirmed on 1 August
VACANT = "Cà Mau"  # head left 15 September; post vacant since
CORRECTED = "Nghệ An"  # re-sends its October report with a higher figure
CORRECTION_REASON = "Bổ sung khối lượng nghiệm thu tháng 10 chưa tổng hợp / October works accepted but left out"
# Alert stories.
MISSING_SEPTEMBER = "Sơn La"  # never sent its September 2025 disbursement report
LATE_AUGUST = "Điện Biên"  # sent its August 2025 report on 15 September, ten days late
DISMISSAL_VOTE = "Tuyên Quang"  # its head got two thirds "low" in the October 2025 vote
BACK_LOADED = ("Hà Tĩnh", "Cao Bằng", "Quảng Trị")  # did little of 2024's plan before October
# The 2025 reform inside one province: its district abolished on 1 July 2025, the district's capital split
# between the provincial project board and two communes that exist from that day; the province holds them
# to its own plans (kế hoạch địa phương giao), and has a plan of its own beside the Prime Minister's.
REFORMED = "Ninh Bình"
DISSOLVED_ON = dt.date(2025, 7, 1)
LOCAL_PLAN_SHARE = 1.13  # localities reached 113 % of the Prime Minister's plan with their own capital in 2025
DISBURSEMENT = "public_investment_disbursement"


def slug(name: str) -> str:
    plain = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in plain if not unicodedata.combining(c) and c != ",").lower().replace(" ", "-")


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def disbursement_pace(day: dt.date) -> float:
    points = [
        (dt.date(2024, 12, 31), 0.0),
        (dt.date(2025, 6, 30), 0.4),
        (dt.date(2025, 9, 30), 0.6),
        (dt.date(2026, 1, 31), 0.95),
    ]
    for (d0, s0), (d1, s1) in itertools.pairwise(points):
        if day <= d1:
            return s0 + (s1 - s0) * (day - d0).days / (d1 - d0).days
    return 0.95


def revenue_pace(day: dt.date) -> float:
    return day.timetuple().tm_yday / 365


def main() -> None:
    rng = random.Random(2025)
    names = iter(rng.sample([f"{f} {m} {g}" for f in FAMILY for m in MIDDLE for g in GIVEN], 200))
    profiles = ["on_track"] * 20 + ["behind"] * 9 + ["badly_behind"] * 5
    rng.shuffle(profiles)
    disbursement_profile = dict(zip(PROVINCES, profiles, strict=True))
    disbursement_profile.update({HEAD_CHANGED: "behind", ACTING_THEN_CONFIRMED: "badly_behind", VACANT: "behind"})
    revenue_profiles = ["on_track"] * 26 + ["behind"] * 6 + ["badly_behind"] * 2
    rng.shuffle(revenue_profiles)
    revenue_profile = dict(zip(PROVINCES, revenue_profiles, strict=True))

    units: list[Row] = []
    tenures: list[Row] = []
    targets: list[Row] = []
    figures: list[Row] = []
    leader_no = 0

    def tenure(code: str, role: str, start: str, end: str = "", indicator: str = "", name: str = "") -> str:
        nonlocal leader_no
        leader_no += 1
        leader_name = name or next(names)
        tenures.append(
            [
                f"{code}-{len(tenures) + 1}",
                code,
                f"L{leader_no:03d}",
                leader_name,
                role,
                indicator,
                start,
                end,
            ]
        )
        return leader_name

    for province in PROVINCES:
        code = slug(province)
        units.append(
            [
                code,
                f"Tỉnh {province}"
                if province not in ("Hà Nội", "Huế", "Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ")
                else f"Thành phố {province}",
                "province",
                "",
                "Ủy ban Kiểm tra Trung ương",
            ]
        )
        if province == HEAD_CHANGED:
            tenure(code, "head", "2021-06-01", "2025-05-31")
            tenure(code, "head", "2025-06-01")
        elif province == ACTING_THEN_CONFIRMED:
            tenure(code, "head", "2021-06-01", "2025-03-15")
            acting = tenure(code, "acting_head", "2025-03-16", "2025-07-31")
            leader_no -= 1  # the same person, confirmed
            tenure(code, "head", "2025-08-01", name=acting)
        elif province == VACANT:
            tenure(code, "head", "2021-06-01", "2025-09-15")
        else:
            tenure(code, "head", "2021-06-01")
        tenure(code, "deputy_in_charge", "2021-06-01", indicator="public_investment_disbursement")

        scale = 8 if province in ("Hà Nội", "Hồ Chí Minh") else 1
        capital_plan = rng.randrange(3_000, 40_000) * scale * BILLION
        revenue_estimate = rng.randrange(4_000, 60_000) * scale * BILLION
        for indicator, amount, number in (
            ("public_investment_disbursement", capital_plan, "1500/QĐ-TTg"),
            ("budget_revenue", revenue_estimate, "2500/QĐ-BTC"),
        ):
            targets.append([code, indicator, PLAN_YEAR, amount, number, "2024-12-10", "Thủ tướng Chính phủ"])

        d_low, d_high = PROFILES[disbursement_profile[province]]
        r_low, r_high = PROFILES[revenue_profile[province]]
        d_factor, r_factor = rng.uniform(d_low, d_high), rng.uniform(r_low, r_high)
        for month in REPORT_MONTHS:
            as_of = month_end(PLAN_YEAR, month)
            wobble = 1 + rng.uniform(-0.02, 0.02) * (month < 10)  # the last month sits on the profile
            disbursed = capital_plan * disbursement_pace(as_of) * d_factor * wobble
            collected = revenue_estimate * revenue_pace(as_of) * r_factor * wobble
            for indicator, total, split in (
                ("public_investment_disbursement", disbursed, DISBURSEMENT_SPLIT),
                ("budget_revenue", collected, REVENUE_SPLIT),
            ):
                for category, share in split.items():
                    amount = round(total * share / 1_000_000) * 1_000_000
                    figures.append([code, indicator, PLAN_YEAR, category, as_of.isoformat(), amount])

    corrected = next(r for r in figures if r[0] == slug(CORRECTED) and r[4] == "2025-10-31" and r[3] == "local_budget")
    # A changed figure is a correction: it carries its reason (a re-sent figure without one is refused).
    resent = [*corrected[:5], corrected[5] + round(corrected[5] * 0.1 / 1_000_000) * 1_000_000]
    figures.append(resent)
    # Rows of the alert stories; a generator of their own keeps the 2025 numbers above unchanged.
    stories = random.Random(2024)
    missing = (slug(MISSING_SEPTEMBER), DISBURSEMENT, PLAN_YEAR)
    figures = [r for r in figures if not (tuple(r[:3]) == missing and r[4] == "2025-09-30")]
    for row in figures:  # the date on the department's report: 1–5 days after the period, in time
        row.append((dt.date.fromisoformat(row[4]) + dt.timedelta(days=stories.randint(1, 5))).isoformat())
        if row[0] == slug(LATE_AUGUST) and row[4] == "2025-08-31":
            row[-1] = "2025-09-15"
    central_tenures, central_targets, central_figures = central_agencies(random.Random(2026), len(tenures))
    units += [[slug(name), name, "central", "", "Ủy ban Kiểm tra Trung ương"] for name in CENTRAL_AGENCIES]
    tenures += central_tenures
    targets += central_targets
    figures += central_figures
    plan = next(t for t in targets if t[0] == slug(LATE_SUPPLEMENT) and t[1] == DISBURSEMENT)
    supplement = 1_500 * BILLION
    adjustments = [[slug(LATE_SUPPLEMENT), DISBURSEMENT, PLAN_YEAR, int(plan[3]) + supplement, supplement,
                    "Bổ sung kế hoạch vốn sau 30/9", "1890/QĐ-TTg", "2025-10-20", "Thủ tướng Chính phủ"]]  # fmt: skip
    revised = next(t for t in targets if t[0] == slug(REVISED_IN_DECEMBER) and t[1] == DISBURSEMENT)
    cut = int(revised[3]) * 9 // 10 // BILLION * BILLION
    reason = "Điều chỉnh giảm kế hoạch vốn / plan cut"
    adjustments.append([slug(REVISED_IN_DECEMBER), DISBURSEMENT, PLAN_YEAR, cut, 0, reason, "2150/QĐ-TTg", "2025-12-15",
                        "Thủ tướng Chính phủ"])  # fmt: skip
    targets_2024, figures_2024 = history_2024(stories, targets)
    reform_units, reform_targets, reform_figures, dissolutions = reformed_province(targets)
    units += reform_units
    targets += reform_targets + targets_2024
    figures = figures_2024 + figures + reform_figures
    votes = [
        vote_row(tenures, ACTING_THEN_CONFIRMED, "head", 30, 17),  # > 1/2 low: review
        vote_row(tenures, DISMISSAL_VOTE, "head", 30, 21),  # ≥ 2/3 low: dismissal recommended
        vote_row(tenures, "Hà Nội", "head", 30, 3),
    ]

    write("units.csv", ["unit_code", "name", "level", "parent_code", "committee", "effective_from"],
          [row + [""] * (6 - len(row)) for row in units])  # fmt: skip
    write(
        "tenures.csv",
        ["tenure_id", "unit_code", "leader_id", "leader_name", "role", "indicator", "start_date", "end_date"],
        tenures,
    )
    write(
        "targets.csv",
        [
            "unit_code",
            "indicator",
            "plan_year",
            "amount",
            "decision_number",
            "decision_date",
            "decision_authority",
            "assigned_by",
        ],
        [row + ["prime_minister"] * (8 - len(row)) for row in targets],
    )
    write(
        "dissolutions.csv",
        ["unit_code", "effective_date", "decision_number", "receivers_report", "receiver_code", "indicator",
         "plan_year", "plan", "year_to_date"],
        dissolutions,
    )  # fmt: skip
    for row in figures:
        row.append(CORRECTION_REASON if row is resent else "")
    write(
        "figures.csv",
        ["unit_code", "indicator", "plan_year", "category", "as_of", "amount", "document_date", "correction_reason"],
        figures,
    )
    write(
        "adjustments.csv",
        ["unit_code", "indicator", "plan_year", "amount", "late_supplement", "reason", "decision_number",
         "decision_date", "decision_authority"],
        adjustments,
    )  # fmt: skip
    write("votes.csv", ["unit_code", "leader_id", "vote_date", "voters", "high", "confidence", "low"], votes)
    decision = [slug(OWN_MILESTONES), DISBURSEMENT, PLAN_YEAR, "2345/QĐ-UBND", "2025-09-20", "UBND tỉnh Khánh Hòa"]
    write(
        "milestones.csv",
        [
            "unit_code",
            "indicator",
            "plan_year",
            "decision_number",
            "decision_date",
            "decision_authority",
            "by",
            "share",
        ],
        [
            [*decision, by, share]
            for by, share in (("2025-10-31", "0.75"), ("2025-11-30", "0.85"), ("2025-12-31", "0.95"))
        ],
    )


def central_agencies(rng: random.Random, tenure_count: int) -> tuple[list[Row], ...]:
    """2025 disbursement of the central agencies: a head each, a plan, monthly reports to October (none
    from SILENT). A generator of their own keeps the provinces' numbers unchanged."""
    names = iter(rng.sample([f"{f} {m} {g}" for f in FAMILY for m in MIDDLE for g in GIVEN], len(CENTRAL_AGENCIES)))
    tenures, targets, figures = [], [], []
    for number, agency in enumerate(CENTRAL_AGENCIES, start=1):
        code = slug(agency)
        tenures.append([f"{code}-{tenure_count + number}", code, f"C{number:03d}", next(names), "head", "",
                        "2021-06-01", ""])  # fmt: skip
        plan = rng.randrange(800, 30_000) * BILLION
        targets.append([code, DISBURSEMENT, PLAN_YEAR, plan, "1500/QĐ-TTg", "2024-12-10", "Thủ tướng Chính phủ"])
        if agency == SILENT:
            continue
        factor = rng.uniform(*PROFILES[rng.choice(["on_track", "on_track", "behind", "badly_behind"])])
        for month in REPORT_MONTHS:
            as_of = month_end(PLAN_YEAR, month)
            amount = round(plan * disbursement_pace(as_of) * factor / 1_000_000) * 1_000_000
            known = as_of + dt.timedelta(days=rng.randint(1, 5))
            figures.append(
                [code, DISBURSEMENT, PLAN_YEAR, "central_budget", as_of.isoformat(), amount, known.isoformat()]
            )
    return tenures, targets, figures


def history_2024(rng: random.Random, targets: list[Row]) -> tuple[list[Row], list[Row]]:
    """Plan year 2024, complete: January 2024 to January 2025 for disbursement, to December for revenue.
    Most units follow the pace curve; BACK_LOADED ones did little until October and then rushed."""
    plan_rows, rows = [], []
    for province in PROVINCES:
        code = slug(province)
        plans = {t[1]: int(t[3]) * rng.uniform(0.85, 1.0) for t in targets if t[0] == code}
        final_rate = rng.uniform(0.88, 1.02)
        outturn = rng.choice([0.90, 0.95, 1.0, 1.02, 1.08, 1.14, 1.20])
        for indicator, split, months in (
            (DISBURSEMENT, DISBURSEMENT_SPLIT, [(2024, m) for m in range(1, 13)] + [(2025, 1)]),
            ("budget_revenue", REVENUE_SPLIT, [(2024, m) for m in range(1, 13)]),
        ):
            plan = round(plans[indicator] / BILLION) * BILLION
            plan_rows.append([code, indicator, 2024, plan, "1600/QĐ-TTg", "2023-12-08", "Thủ tướng Chính phủ"])
            for year, month in months:
                as_of = month_end(year, month)
                if indicator == DISBURSEMENT:
                    shape = disbursement_pace(month_end(year + 1, month)) / 0.95
                    if province in BACK_LOADED:
                        shape = shape * 0.45 if as_of <= dt.date(2024, 9, 30) else min(1.0, shape * 1.05)
                    total = plan * final_rate * shape
                else:
                    total = plan * outturn * as_of.timetuple().tm_yday / 366
                for category, share in split.items():
                    amount = round(total * share / 1_000_000) * 1_000_000
                    known = as_of + dt.timedelta(days=rng.randint(1, 5))
                    rows.append([code, indicator, 2024, category, as_of.isoformat(), amount, known.isoformat()])
    return plan_rows, rows


def reformed_province(targets: list[Row]) -> tuple[list[Row], list[Row], list[Row], list[Row]]:
    """The units, plans, figures and dissolution of the reform story (`REFORMED`): a district reporting until
    June, its plan and year to date handed on 1 July to the provincial project board (half) and two new
    communes (a third, a sixth), which report, consolidated, from July; all on pace."""
    province = slug(REFORMED)
    committee = f"Ủy ban Kiểm tra Tỉnh ủy {REFORMED}"
    district, board = "huyen-gia-vien", f"ban-qlda-{province}"
    communes = ("xa-gia-vien", "xa-gia-hung")
    units: list[Row] = [
        [district, "Huyện Gia Viễn", "district", province, committee, ""],
        [board, f"Ban Quản lý dự án đầu tư xây dựng tỉnh {REFORMED}", "department", province, committee, ""],
        [communes[0], "Xã Gia Viễn", "commune", province, committee, DISSOLVED_ON.isoformat()],
        [communes[1], "Xã Gia Hưng", "commune", province, committee, DISSOLVED_ON.isoformat()],
    ]
    authority = f"UBND tỉnh {REFORMED}"
    pm_plan = next(int(t[3]) for t in targets if t[0] == province and t[1] == DISBURSEMENT and t[2] == PLAN_YEAR)
    district_plan, board_plan = 600 * BILLION, 2_400 * BILLION
    local = [
        [province, DISBURSEMENT, PLAN_YEAR, round(pm_plan * LOCAL_PLAN_SHARE / BILLION) * BILLION, "30/QĐ-UBND",
         "2024-12-25", authority, "province"],
        [district, DISBURSEMENT, PLAN_YEAR, district_plan, "25/QĐ-UBND", "2024-12-20", authority, "province"],
        [board, DISBURSEMENT, PLAN_YEAR, board_plan, "25/QĐ-UBND", "2024-12-20", authority, "province"],
    ]  # fmt: skip

    def figure(code: str, month: int, plan: int, factor: float) -> Row:
        as_of = month_end(PLAN_YEAR, month)
        amount = round(plan * disbursement_pace(as_of) * factor / 1_000_000) * 1_000_000
        return [code, DISBURSEMENT, PLAN_YEAR, "local_budget", as_of.isoformat(), amount,
                (as_of + dt.timedelta(days=3)).isoformat()]  # fmt: skip

    figures = [figure(district, month, district_plan, 1.05) for month in range(1, DISSOLVED_ON.month)]
    handed_ytd = int(figures[-1][5])
    parts = {board: (district_plan // 2, handed_ytd // 2), communes[0]: (district_plan // 3, handed_ytd // 3)}
    parts[communes[1]] = (
        district_plan - sum(p for p, _ in parts.values()),
        handed_ytd - sum(y for _, y in parts.values()),
    )
    for month in REPORT_MONTHS:
        own = board_plan + (parts[board][0] if month >= DISSOLVED_ON.month else 0)
        figures.append(figure(board, month, own, 1.08))
    for code in communes:
        figures += [figure(code, month, parts[code][0], 1.04) for month in REPORT_MONTHS if month >= DISSOLVED_ON.month]
    decision = [district, DISSOLVED_ON.isoformat(), "1656/NQ-UBTVQH15", "consolidated"]
    dissolutions = [[*decision, code, DISBURSEMENT, PLAN_YEAR, plan, ytd] for code, (plan, ytd) in parts.items()]
    return units, local, figures, dissolutions


def vote_row(tenures: list[Row], province: str, role: str, voters: int, low: int) -> list[object]:
    """A confidence vote of 15 October 2025 on the person in `role` at the province then."""
    code = slug(province)
    leader = next(t for t in reversed(tenures) if t[1] == code and t[4] == role)
    high = (voters - low) // 2
    return [code, leader[2], "2025-10-15", voters, high, voters - low - high, low]


def write(name: str, header: list[str], rows: list[Row]) -> None:
    with (OUT / name).open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


if __name__ == "__main__":
    main()
