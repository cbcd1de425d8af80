"""The read-only role of Grafana's login is granted exactly what the provisioned dashboards read: a table
granted and read by no panel is a table a board's login did not need to see."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pim.grafana.panel_sql import queries
from shared.db import PUBLISHED, migration_files

ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(r"\b(?:FROM|JOIN)\s+(?:LATERAL\s+)?(?:public\.)?([a-z_]+)\s*(\()?", re.I)
FUNCTION = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+([a-z_]+)\s*\(.*?\$\$(.*?)\$\$", re.I | re.S)
GRANT_READER = re.compile(r"GRANT\s+SELECT\s+ON\s+(.*?)\s+TO\s+pim_reader", re.I | re.S)
# Read by no dashboard, granted on purpose.
ALSO_GRANTED = {"unit_progress": "each unit as it stands, for a board's own query in Grafana's Explore"}


def _reads(sql: str, functions: dict[str, str]) -> set[str]:
    """The relations `sql` reads, through the migrations' functions it calls (theirs run as the caller)."""
    found: set[str] = set()
    for name, call in READ.findall(sql):
        name = name.lower()
        if call and name in functions:
            found |= _reads(functions[name], functions)
        elif not call:
            found.add(name)
    return found


def _last_reader_grant() -> set[str]:
    last = None
    for _, text in migration_files():
        for body in re.findall(r"FUNCTION\s+pim_grant_reader\(\).*?\$\$(.*?)\$\$", text, re.S):
            last = body
    assert last is not None
    (listed,) = GRANT_READER.findall(last)
    return {name.strip() for name in listed.split(",")}


def test_the_reader_is_granted_what_the_dashboards_read_and_nothing_more() -> None:
    functions = {name.lower(): body for _, text in migration_files() for name, body in FUNCTION.findall(text)}
    needed: set[str] = set()
    for path in sorted((ROOT / "infra" / "grafana" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        if "list" not in board["templating"]:  # no SQL: PIM's own metrics, from Prometheus
            continue
        for _, sql in queries(board):
            needed |= _reads(sql, functions)
    needed -= {"generate_series"}
    assert _last_reader_grant() == needed | set(ALSO_GRANTED)


def test_the_reader_sees_only_what_the_projector_and_the_alerts_publish() -> None:
    assert _last_reader_grant() <= PUBLISHED["projector"] | PUBLISHED["alerts"]
