"""Streams the bundled sample dataset (pim/sample/) through the ingest HTTP API, as a finance
department and a registry clerk would."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from importlib import resources
from typing import Any

import httpx
from rich.progress import Progress

SUBMITTED_BY = "sample-loader"


def sample_rows(name: str) -> list[dict[str, str]]:
    with (resources.files("pim") / "sample" / name).open(encoding="utf-8") as source:
        return list(csv.DictReader(source))


def _blank_to_none(row: dict[str, str]) -> dict[str, Any]:
    return {key: (value if value != "" else None) for key, value in row.items()}


def _figure_reports() -> Iterator[tuple[str, dict[str, list[dict[str, str]]]]]:
    """One report per unit and date, in file order (a later report for the same date supersedes)."""
    rows = sample_rows("figures.csv")
    for index, ((unit, as_of), group) in enumerate(itertools.groupby(rows, key=lambda r: (r["unit_code"], r["as_of"]))):
        body: dict[str, list[dict[str, str]]] = {"disbursements": [], "revenues": []}
        for row in group:
            fields = {k: v for k, v in row.items() if k != "indicator"}
            kind = "disbursements" if row["indicator"] == "public_investment_disbursement" else "revenues"
            body[kind].append(fields)
        yield f"figures/{unit}/{as_of}/{index}", body


def load_sample(api_url: str) -> int:
    """Submit the whole sample; return the number of events it produced."""
    tenures = sample_rows("tenures.csv")
    registry: list[tuple[str, str, dict[str, Any]]] = [
        ("/v1/units", "registry/units", {"units": [_blank_to_none(r) for r in sample_rows("units.csv")]}),
        (
            "/v1/appointments",
            "registry/appointments",
            {"appointments": [_blank_to_none({k: v for k, v in r.items() if k != "end_date"}) for r in tenures]},
        ),
        (
            "/v1/departures",
            "registry/departures",
            {
                "departures": [
                    {"tenure_id": r["tenure_id"], "unit_code": r["unit_code"], "end_date": r["end_date"]}
                    for r in tenures
                    if r["end_date"]
                ]
            },
        ),
        ("/v1/targets", "targets/2025", {"targets": sample_rows("targets.csv")}),
    ]
    submissions = registry + [("/v1/figures", key, body) for key, body in _figure_reports()]
    events = 0
    with httpx.Client(base_url=api_url, timeout=30) as client, Progress(transient=True) as progress:
        task = progress.add_task("Submitting sample reports", total=len(submissions))
        for path, key, body in submissions:
            response = client.post(
                path, json=body, headers={"X-PIM-Submitted-By": SUBMITTED_BY, "Idempotency-Key": key}
            )
            response.raise_for_status()
            events += len(response.json()["event_ids"])
            progress.advance(task)
    return events
