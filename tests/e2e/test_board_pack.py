"""The sample's board pack, as a board member gets it: the PDF `pim demo` writes, its pages rendered to PNG
(`pdftoppm`) and its text (`pdftotext`) checked against the projector's tables; the pack as known on a
past meeting; the command."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import re
import subprocess
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from services.ingest import create_app
from services.projector import Period, head_scores, progress_as_known_on
from services.projector.api import create_projector_app
from services.projector.board_pack.changes import changes_since
from services.projector.board_pack.contents import read_pack
from services.projector.head_scores import DEFAULT_SCHEME
from services.projector.known_on_workspace import known_on
from services.projector.progress_rules import ProgressRules
from services.projector.reporting_on_time import reporting
from services.projector.standings import standings
from shared.auth import create_token
from shared.display import BAND_LABELS, billions, percent, score, vnd
from tests.e2e.conftest import Demo
from tests.e2e.test_demo import pim_cli
from tests.integration.receivers import serving

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

DISBURSEMENT = "public_investment_disbursement"
MEETING = dt.date(2025, 11, 10)


def pdf_text(path: Path) -> str:
    """The PDF's text with every run of whitespace one space: table cells wrap their words."""
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    match = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    assert match, info
    return int(match[1])


def check_pages(pdf: Path, folder: Path) -> None:
    """Every page renders (`pdftoppm`) and draws something dark on white; the fonts are embedded."""
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(folder / "page")], check=True)
    images = sorted(folder.glob("page-*.png"))
    assert len(images) == pdf_pages(pdf) > 5
    for image in images:
        extrema = Image.open(image).convert("L").getextrema()
        assert isinstance(extrema[0], int) and isinstance(extrema[1], int)
        assert extrema[0] < 100 and extrema[1] > 200, image.name
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"DejaVu-Sans\s.*\byes\s+yes\s+yes\b", fonts), fonts  # embedded, subset, Unicode map
    assert pdf.with_suffix(".html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


async def test_the_demos_board_pack_holds_the_projectors_numbers_with_their_sources(demo: Demo, tmp_path: Path) -> None:
    await asyncio.to_thread(check_pages, demo.board_pack, tmp_path)
    text = pdf_text(demo.board_pack)
    async with demo.pool.acquire() as conn:
        (national,) = await standings(conn, MEETING, DISBURSEMENT, 2025, "national")
        stints = await conn.fetch(
            "SELECT leader_id, leader_name, sum(months_behind) AS months FROM leader_accountability"
            " WHERE plan_year = 2025 AND leader_id IS NOT NULL AND stint_start <= $1 GROUP BY 1, 2",
            MEETING,
        )
        alerts = await conn.fetch("SELECT unit_code, summary FROM alerts WHERE status = 'open' AND plan_year = 2025")
        (sent,) = await reporting(conn, MEETING, DISBURSEMENT, 2025, "national")
    assert f"Bình quân / average: {percent(national.average)}" in text
    # Reporting on time, the indicator of its own, as the projector counts it.
    assert f"reports on time: {percent(sent.rate)} ({sent.on_time}/{sent.expected}" in text
    late = next((u for u in sent.units if u.late or u.missing), None)
    assert late is not None and late.name in text  # the sample has late reports (Điện Biên's August)
    assert f"{national.at_or_above_count} bằng hoặc trên / at or above" in text
    assert f"{national.below_count} dưới / below" in text
    listed = [u for lst in national.lists for u in (*lst.at_or_above, *lst.below)]
    for unit in listed:
        assert unit.name in text
        assert f"{billions(unit.actual)}" in text and percent(unit.rate) in text, unit.unit_code
        assert f"Lũy kế {vnd(unit.actual)} đến ngày {unit.figures_as_of:%d/%m/%Y}" in text, unit.unit_code
    below = {u.unit_code: u for lst in national.lists for u in lst.below}
    for unit in below.values():  # each has its page, with its rate against the average
        assert f"{unit.name} — dưới bình quân / below the average" in text
        assert (
            f"Tỷ lệ / rate {percent(unit.rate)} so với bình quân / against the average {percent(national.average)}"
            in text
        )
    answerable = {u.unit_code for u in below.values()}
    for alert in alerts:
        if alert["unit_code"] in answerable:
            assert " ".join(alert["summary"].split()) in text
    months = {r["leader_id"]: (r["leader_name"], r["months"]) for r in stints}
    cards = re.findall(r"([^—]+?) \((\w+)\) — (\d+) tháng chậm tiến độ / months behind pace", text)
    assert cards, "no scorecards"
    for _, leader_id, count in cards:  # a scorecard's months behind is the sum of the leader's stints'
        assert int(count) == months[leader_id][1], leader_id
    # Nghệ An's October local-budget report was sent twice: its note names the one it superseded.
    assert re.search(r"year to date of nghe-an .*? supersedes event #\d+", text)


def sample_rows(name: str) -> list[dict[str, str]]:
    with (resources.files("pim.demo") / "sample" / name).open(encoding="utf-8") as source:
        return list(csv.DictReader(source))


def sample_figures() -> list[dict[str, str]]:
    return sample_rows("figures.csv")


async def test_the_pack_as_known_on_a_meeting_is_what_was_known_then_and_says_what_changed(demo: Demo) -> None:
    day = dt.date(2025, 10, 31)
    rules = ProgressRules()
    async with demo.pool.acquire() as conn:
        before = await conn.fetchval(
            "SELECT (SELECT count(*) || '/' || sum(actual_ytd) FROM unit_progress_history)"
            " || (SELECT '/' || count(*) || '/' || sum(average) FROM assessment_totals)"
        )
        async with known_on(conn, day, rules):
            pack = await read_pack(conn, MEETING, DISBURSEMENT, "national", day)
        assert pack is not None
        # The live read models are as they were: the workspace was rolled back.
        assert (
            await conn.fetchval(
                "SELECT (SELECT count(*) || '/' || sum(actual_ytd) FROM unit_progress_history)"
                " || (SELECT '/' || count(*) || '/' || sum(average) FROM assessment_totals)"
            )
            == before
        )
        then_known: dict[str, dict[dt.date, Decimal]] = {}
        for r in await progress_as_known_on(conn, day, rules):
            if (r["indicator"], r["plan_year"], r["category"]) == (DISBURSEMENT, 2025, "") and r["as_of"] <= MEETING:
                then_known.setdefault(r["unit_code"], {})[r["as_of"]] = r["actual_ytd"]
        changes = await changes_since(conn, pack.groups, MEETING, day, "national")
        (now,) = await standings(conn, MEETING, DISBURSEMENT, 2025, "national")
    (national,) = pack.groups
    for lst in national.lists:
        for unit in (*lst.at_or_above, *lst.below):
            if unit.reported:  # the other owner of "as known on" agrees on each year to date then
                known = then_known[unit.unit_code]
                assert (unit.figures_as_of, unit.actual) == (max(known), known[max(known)]), unit.unit_code
    assert national.as_of < now.as_of  # the October reports were not known on 31 October
    national_members = {u["unit_code"] for u in sample_rows("units.csv") if u["level"] in ("province", "central")}
    learned_later = {
        r["unit_code"] for r in sample_figures()
        if r["indicator"] == DISBURSEMENT and r["plan_year"] == "2025" and r["document_date"] > day.isoformat()
        and r["as_of"] <= MEETING.isoformat() and r["unit_code"] in national_members
    }  # fmt: skip
    assert learned_later and {c.unit_code for c in changes if c.reports} == learned_later
    for change in changes:  # then and now are each the owner's: the workspace's and the live standings
        assert change.then is not None and change.now is not None
        members = [*now.not_assessed, *(u for lst in now.lists for u in (*lst.at_or_above, *lst.below))]
        live = next(u for u in members if u.unit_code == change.unit_code)
        assert change.now == live


async def test_pim_report_board_writes_html_and_pdf_and_refuses_what_it_cannot_write(
    demo: Demo, tmp_path: Path
) -> None:
    out = tmp_path / "pack.html"
    made = await asyncio.to_thread(
        pim_cli, demo.settings, "report", "board", "--as-of", "2025-11-10", "--known-on", "2025-10-31",
        "--group", "national", "--out", str(out),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    html = out.read_text(encoding="utf-8")
    assert "Thay đổi sau ngày 31/10/2025 / what changed after 31/10/2025" in html  # not "since the meeting"
    assert "Tỉnh Lâm Đồng" in html
    assert not re.search(r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//""", html)  # nothing to fetch
    wrong = await asyncio.to_thread(
        pim_cli, demo.settings, "report", "board", "--as-of", "2025-11-10", "--out", str(tmp_path / "pack.docx")
    )
    assert wrong.returncode == 2 and "give a .pdf or .html file" in wrong.stderr
    early = await asyncio.to_thread(
        pim_cli, demo.settings, "report", "board", "--as-of", "2020-01-31", "--out", str(tmp_path / "old.pdf")
    )
    assert early.returncode == 1 and "No standings on or before 31/01/2020" in early.stdout


async def test_a_board_token_gets_the_pack_over_http_and_nothing_else(demo: Demo) -> None:
    async with demo.pool.acquire() as conn:  # the demo's pool is the owner's: it may make tokens
        board = await create_token(conn, "Ban Tổ chức Trung ương", "board")
        lam_dong_board = await create_token(conn, "Ban Tổ chức Tỉnh ủy Lâm Đồng", "board", ["lam-dong"])
        department = await create_token(conn, "Sở Tài chính Lâm Đồng", "department", ["lam-dong"])
        (national,) = await standings(conn, MEETING, DISBURSEMENT, 2025, "national")
    boards = create_projector_app(demo.pool, ProgressRules())
    async with serving(boards) as url, serving(create_app(demo.pool)) as ingest, httpx.AsyncClient(timeout=120) as http:

        def pack(token: str | None, **query: str) -> Any:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return http.get(f"{url}/v1/board-pack", params={"as_of": "2025-11-10", **query}, headers=headers)

        html = await pack(board, group="national", format="html")
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert f"Bình quân / average: <b>{percent(national.average)}</b>" in html.text
        pdf = await pack(board, group="national", known_on="2025-10-31")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert "known-on-2025-10-31.pdf" in pdf.headers["content-disposition"]
        assert (await pack(None)).status_code == 401
        assert (await pack(department, group="national")).status_code == 403  # a department reports, reads no pack
        refused = await pack(lam_dong_board, group="national")  # its units do not cover the national group
        assert refused.status_code == 403 and "outside your units" in refused.json()["detail"]
        assert (await pack(board, known_on="2025-11-30")).status_code == 422
        assert (await pack(board, as_of="2020-01-31")).status_code == 404
        # Read-only: the board token reports no figures and registers no unit.
        figures = {"disbursements": [{"unit_code": "lam-dong", "plan_year": 2025, "category": "local_budget",
                                      "as_of": "2025-10-31", "amount": "1"}]}  # fmt: skip
        posted = await http.post(f"{ingest}/v1/figures", json=figures, headers={"Authorization": f"Bearer {board}"})
        assert posted.status_code == 403
        units = {"units": [{"unit_code": "x", "name": "X", "level": "province", "committee": "UBKT"}]}
        registered = await http.post(f"{ingest}/v1/units", json=units, headers={"Authorization": f"Bearer {board}"})
        assert registered.status_code == 403


async def test_the_pack_shows_each_review_as_it_stood_on_its_date(demo: Demo) -> None:
    """Lâm Đồng's page holds its review from the ledger: asked, explained with causes and a promise, the
    promise broken by the October report, the conclusion; its head's scorecard counts the broken promise.
    The pack as of 30 September, before the verdict and the conclusion, holds only what had happened then."""
    html = " ".join(demo.board_pack.with_suffix(".html").read_text(encoding="utf-8").split())
    asked = html.index("05/08/2025 — yêu cầu Đặng Văn Mai giải trình, hạn 12/08/2025")
    review = html[asked : html.index("</ul>", asked)]
    for said in ("Giải phóng mặt bằng, tái định cư / site clearance and resettlement",
                 "cam kết / promised 70,00 %", "không giữ / missed", "đạt / reached 60,",
                 "kết luận / concluded: <b>Phê bình / criticism</b>"):  # fmt: skip
        assert said in review, said
    assert "1 không giữ / missed" in html  # in Đặng Văn Mai's scorecard
    async with demo.pool.acquire() as conn:  # and her score of the quarter to the meeting: the owner's, in words
        mai = await conn.fetchval("SELECT leader_id FROM leader_accountability WHERE leader_name = 'Đặng Văn Mai'")
        (q4,) = await head_scores(conn, Period.parse("2025-Q4"), MEETING, DEFAULT_SCHEME, mai)
    assert q4.score is not None and q4.band is not None
    assert f"2025-Q4 (đến / to 10/11/2025): <b>{score(q4.score)}</b> — {BAND_LABELS[q4.band]}" in html
    lost = {c.criterion: c.points for c in q4.criteria}
    assert lost["commitments_kept"] == 0 and lost["conclusions_with_fault"] == 10  # the broken promise, the criticism
    async with demo.pool.acquire() as conn:
        september = await read_pack(conn, dt.date(2025, 9, 30), DISBURSEMENT, "national", None)
    assert september is not None
    then = next(p for p in september.units if p.unit.unit_code == "lam-dong")
    assert [s["event_type"] for s in then.review] == ["ExplanationRequested", "ExplanationSubmitted"]
