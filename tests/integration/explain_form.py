"""The explanation form as a head (or a clerk on their behalf) fills it in the browser: the causes ticked,
what happened, a document, the first commitment's date and rate, then send."""

from __future__ import annotations

from playwright.async_api import Page

SITE_CLEARANCE = "Giải phóng mặt bằng, tái định cư / site clearance and resettlement"


async def send_explanation(
    page: Page, causes: list[str], text: str, *, document: str = "", by: str = "", rate: str = ""
) -> None:
    for cause in causes:
        await page.get_by_label(cause).check()
    await page.get_by_label("Giải trình / What happened, and what is being done").fill(text)
    if document:
        await page.get_by_label("Văn bản (số, ngày) / Document (number, date)").fill(document)
    if by:
        await page.get_by_label("Đạt trước ngày / By").first.fill(by)
    if rate:
        await page.get_by_label("Tỷ lệ kế hoạch (%) / Share of the plan (%)").first.fill(rate)
    await page.get_by_role("button", name="Gửi giải trình / Send the explanation").click()
    await page.wait_for_load_state()
