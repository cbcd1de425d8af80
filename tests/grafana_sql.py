"""Grafana's PostgreSQL macros and dashboard variables expanded as Grafana expands them, for the tests
that run the dashboards' SQL without a Grafana server."""

from __future__ import annotations

import re
from collections.abc import Mapping

WHOLE_SAMPLE = ("2024-01-01T00:00:00Z", "2026-12-31T23:59:59Z")


def expand(sql: str, values: Mapping[str, str], time_range: tuple[str, str] = WHOLE_SAMPLE) -> str:
    """The time filter between the range's ends; a variable in `sqlstring` format quoted, its quotes doubled."""
    since, until = time_range
    sql = re.sub(r"\$__timeFilter\(([\w.]+)\)", rf"\1 BETWEEN '{since}' AND '{until}'", sql)
    sql = re.sub(r"\$\{(\w+):sqlstring\}", lambda m: "'" + values[m[1]].replace("'", "''") + "'", sql)
    assert "$" not in sql, f"unexpanded macro or variable in: {sql}"
    return sql
