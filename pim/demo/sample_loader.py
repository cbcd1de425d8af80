"""Streams the bundled sample dataset (pim/demo/sample/) through the ingest HTTP API, as a finance
department and a registry clerk would."""

from __future__ import annotations

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


def load_sample(api_url: str, admin_token: str) -> int:
    """Submit the whole sample; return the number of events it produced."""
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
    submissions = registry + [("/v1/figures", key, body) for key, body in _figure_reports()]
    headers = {"Authorization": f"Bearer {admin_token}"}
    events = 0
    with httpx.Client(base_url=api_url, timeout=30, headers=headers) as client, Progress(transient=True) as progress:
        task = progress.add_task("Submitting sample reports", total=len(submissions))
        for path, key, body in submissions:
            response = client.post(path, json=body, headers={"Idempotency-Key": key})
            if response.is_error:
                raise RuntimeError(f"{path} ({key}) refused with {response.status_code}: {response.text}")
            events += response.json()["count"]
            progress.advance(task)
    return events
