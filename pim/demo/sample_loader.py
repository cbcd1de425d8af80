"""Streams the bundled sample dataset (pim/demo/sample/) through the ingest HTTP API, as a finance
department and a registry clerk would."""

from __future__ import annotations

import asyncio
import csv
import itertools
from collections.abc import Iterator
from importlib import resources
from typing import Any

import httpx
from rich.progress import Progress


def sample_rows(name: str) -> list[dict[str, str]]:
    with (resources.files("pim.demo") / "sample" / name).open(encoding="utf-8") as source:
        return list(csv.DictReader(source))


def _blank_to_none(row: dict[str, str]) -> dict[str, Any]:
    return {key: (value if value != "" else None) for key, value in row.items()}


def _figure_reports() -> Iterator[tuple[str, dict[str, list[dict[str, str]]]]]:
    """One report per unit and date, in file order (a later report for the same date supersedes)."""
    rows = sample_rows("figures.csv")
    for index, ((unit, as_of), group) in enumerate(itertools.groupby(rows, key=lambda r: (r["unit_code"], r["as_of"]))):
        body: dict[str, list[dict[str, str]]] = {"disbursements": [], "revenues": [], "corrections": []}
        for row in group:
            fields = {k: v for k, v in row.items() if k not in ("indicator", "correction_reason") and v != ""}
            if row.get("correction_reason"):  # a changed figure is sent as a correction, with its reason
                body["corrections"].append(fields | {"indicator": row["indicator"], "reason": row["correction_reason"]})
                continue
            kind = "disbursements" if row["indicator"] == "public_investment_disbursement" else "revenues"
            body[kind].append(fields)
        yield f"figures/{unit}/{as_of}/{index}", body


def _milestone_decisions() -> list[dict[str, Any]]:
    """Units' own milestones, a row per milestone in the file, one decision per unit, indicator and year."""
    decisions: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in sample_rows("milestones.csv"):
        fields = {k: v for k, v in row.items() if k not in ("by", "share")}
        decision = decisions.setdefault(tuple(fields.values()), fields | {"milestones": []})
        decision["milestones"].append({"by": row["by"], "share": row["share"]})
    return list(decisions.values())


def _dissolutions() -> list[dict[str, Any]]:
    """Units abolished, a row per receiver in the file, one dissolution per unit."""
    decisions: dict[str, dict[str, Any]] = {}
    for row in sample_rows("dissolutions.csv"):
        head = ("unit_code", "effective_date", "decision_number", "receivers_report")
        decision = decisions.setdefault(row["unit_code"], {k: row[k] for k in head} | {"handovers": []})
        decision["handovers"].append({k: v for k, v in row.items() if k not in head})
    return list(decisions.values())


CONCURRENT_UNITS = 8  # units whose reports are in flight at once; each unit's reports stay in file order


async def load_sample(api_url: str, admin_token: str) -> int:
    """Submit the whole sample; return the number of events it produced. The registry, plans and votes
    first, in order; then each unit's reports in file order (a later one may correct an earlier), several
    units at a time, as departments report side by side."""
    tenures = [_blank_to_none(r) for r in sample_rows("tenures.csv")]
    registry: list[tuple[str, str, dict[str, Any]]] = [
        ("/v1/units", "registry/units", {"units": [_blank_to_none(r) for r in sample_rows("units.csv")]}),
        ("/v1/tenures", "registry/tenures", {"tenures": tenures}),
        ("/v1/targets", "targets", {"targets": sample_rows("targets.csv")}),
        ("/v1/targets", "targets/adjustments", {"adjustments": sample_rows("adjustments.csv")}),
        ("/v1/targets", "targets/milestones", {"milestones": _milestone_decisions()}),
        ("/v1/votes", "registry/votes", {"votes": sample_rows("votes.csv")}),
        ("/v1/mergers", "registry/dissolutions", {"dissolutions": _dissolutions()}),
    ]
    by_unit: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for key, body in _figure_reports():
        by_unit.setdefault(key.split("/")[1], []).append((key, body))
    headers = {"Authorization": f"Bearer {admin_token}"}
    events = 0
    limits = httpx.Limits(max_connections=CONCURRENT_UNITS)
    async with httpx.AsyncClient(base_url=api_url, timeout=30, headers=headers, limits=limits) as client:
        with Progress(transient=True) as progress:
            task = progress.add_task("Submitting sample reports", total=len(registry) + sum(map(len, by_unit.values())))

            async def send(path: str, key: str, body: dict[str, Any]) -> int:
                response = await client.post(path, json=body, headers={"Idempotency-Key": key})
                if response.is_error:
                    raise RuntimeError(f"{path} ({key}) refused with {response.status_code}: {response.text}")
                progress.advance(task)
                count: int = response.json()["count"]
                return count

            for path, key, body in registry:
                events += await send(path, key, body)
            units = asyncio.Queue[list[tuple[str, dict[str, Any]]]]()
            for reports in by_unit.values():
                units.put_nowait(reports)

            async def department() -> int:
                sent = 0
                while not units.empty():
                    for key, body in units.get_nowait():
                        sent += await send("/v1/figures", key, body)
                return sent

            events += sum(await asyncio.gather(*(department() for _ in range(CONCURRENT_UNITS))))
    return events
