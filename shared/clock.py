"""Today where the units are: Vietnam (UTC+7), whatever the server's time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

VIETNAM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


def vietnam_today() -> dt.date:
    return dt.datetime.now(VIETNAM).date()


def vietnam_now() -> dt.datetime:
    return dt.datetime.now(VIETNAM)
