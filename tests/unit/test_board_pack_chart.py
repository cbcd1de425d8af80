"""The board pack's charts as SVG: many on one page, so their ids must not collide."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from services.projector.board_pack.chart import progress_svg
from services.projector.board_pack.contents import ChartPoint
from shared.pace import DISBURSEMENT_MILESTONES


def _chart(unit: str) -> str:
    points = [ChartPoint(dt.date(2025, m, 28), Decimal(m) / 20, Decimal(m) / 15) for m in range(1, 11)]
    return progress_svg(unit, points, DISBURSEMENT_MILESTONES, 2025, Decimal("0.6"))


def test_two_units_charts_share_no_id_and_every_reference_resolves() -> None:
    first, second = _chart("gia-lai"), _chart("son-la")
    ids = [set(re.findall(r' id="([^"]+)"', svg)) for svg in (first, second)]
    assert ids[0] and not ids[0] & ids[1]  # two charts on one page: one anchor each
    for svg, own in zip((first, second), ids, strict=True):
        assert set(re.findall(r"url\(#([^)]+)\)", svg)) <= own
    assert "<text" in first and "Bình quân" in first  # text stays text
