import json
import logging

import httpx

from shared.observability import JsonFormatter, ops_app


def test_json_log_lines_keep_vietnamese_and_the_exception() -> None:
    try:
        raise ValueError("số liệu âm")
    except ValueError:
        record = logging.LogRecord("pim.ingest", logging.ERROR, __file__, 1, "từ chối %s", ("Lâm Đồng",), None)
        import sys

        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "từ chối Lâm Đồng" and entry["level"] == "ERROR" and entry["logger"] == "pim.ingest"
    assert "ValueError: số liệu âm" in entry["exception"] and "\n" not in line


async def test_ready_reports_each_failing_check_with_503() -> None:
    async def ok() -> None:
        pass

    async def down() -> None:
        raise ConnectionError("database unreachable")

    transport = httpx.ASGITransport(app=ops_app({"database": down, "services": ok}))
    async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["failures"] == {"database": "ConnectionError: database unreachable"}
        assert (await client.get("/health")).status_code == 200
        assert "pim_events_relayed_total" in (await client.get("/metrics")).text


def test_a_database_url_is_printed_without_its_password() -> None:
    from shared.db import redacted

    assert redacted("postgresql://pim:s3cr%C3%AAt@db:5432/pim") == "postgresql://pim:***@db:5432/pim"
    assert redacted("postgresql://postgres:@/pim?host=/tmp/pim") == "postgresql://postgres:@/pim?host=/tmp/pim"
