"""Grafana's PostgreSQL macros and dashboard variables expanded as Grafana expands them: for running the
dashboards' SQL without a Grafana server (the tests, and `pim bench national`'s dashboard timings)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

WHOLE_SAMPLE = ("2024-01-01T00:00:00Z", "2026-12-31T23:59:59Z")


def expand(sql: str, values: Mapping[str, str], time_range: tuple[str, str] = WHOLE_SAMPLE) -> str:
    """The time filter between the range's ends; a variable in `sqlstring` format quoted, its quotes doubled."""
    since, until = time_range
    sql = re.sub(r"\$__timeFilter\(([\w.]+)\)", rf"\1 BETWEEN '{since}' AND '{until}'", sql)
    sql = re.sub(r"\$\{(\w+):sqlstring\}", lambda m: "'" + values[m[1]].replace("'", "''") + "'", sql)
    if "$" in sql:
        raise ValueError(f"unexpanded macro or variable in: {sql}")
    return sql


def queries(board: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Each (what, SQL) a dashboard runs: its query variables' and its panels' targets'."""
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            yield f"variable {variable['name']}", variable["query"]
    for panel in board["panels"]:
        for target in panel["targets"]:
            yield panel["title"], target["rawSql"]
