"""The heads' scores `pim demo` prints: each person answerable in a period, scored as the projector works it
out (Quy định 366: 100 points and a band), with what weighed most."""

from __future__ import annotations

import datetime as dt

import asyncpg
from rich.table import Table

from services.projector import Period, ScoringScheme, head_scores
from shared.display import BAND_LABELS, CRITERION_LABELS, percent


async def scores_table(
    conn: asyncpg.Connection, period: str, today: dt.date, scheme: ScoringScheme, lowest: int = 10
) -> Table:
    """The `lowest` scores of the period as known `today` (a period not over counts what is due by then)."""
    scored = [s for s in await head_scores(conn, Period.parse(period), today, scheme) if s.score is not None]
    made = sorted(scored, key=lambda s: (s.score, s.leader_name))[:lowest]
    table = Table(
        title=f"Điểm đánh giá người đứng đầu {period} (đến {today:%d/%m/%Y}) / heads' scores to {today:%d/%m/%Y}"
        f" (Quy định 366, 100 điểm / points): {len(made)} thấp nhất trong {len(scored)} / the lowest {len(made)}"
        f" of {len(scored)}"
    )
    for column in (
        "Người / Leader",
        "Điểm / Score",
        "Xếp loại / Band",
        "Báo cáo trễ / Late",
        "Điểm mất nhiều nhất / Most lost",
    ):
        table.add_column(column)
    for s in made:
        lost = max(s.criteria, key=lambda c: c.weight - c.points)
        table.add_row(
            s.leader_name, f"{s.score}".replace(".", ","), BAND_LABELS[s.band or "not_complete"],
            "—" if s.late_share is None else percent(s.late_share, 0),
            f"{CRITERION_LABELS[lost.criterion].split(' / ')[0]} ({lost.points}/{lost.weight})".replace(".", ","),
        )  # fmt: skip
    return table
