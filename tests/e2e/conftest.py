"""The e2e tests share one `pim demo` run on a database of their own (it takes about a minute)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from rich.console import Console

from pim.demo.run import DemoResult, run_demo
from shared.db import create_pool
from shared.settings import Settings
from tests.conftest import fresh_database


@dataclass
class Demo:
    settings: Settings
    pool: asyncpg.Pool
    result: DemoResult
    printed: str
    board_pack: Path  # the meeting's pack the demo wrote (PDF; the HTML beside it)
    errors: list[str]  # what was logged as an error (or worse) while it ran: an operator reads them as errors


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture(scope="package")
async def demo(infra: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Demo]:
    """One `pim demo` run on a database of its own, shared by the tests that read its results."""
    async with fresh_database(infra) as settings:
        console = Console(record=True, width=200)
        board_pack = tmp_path_factory.mktemp("board-pack") / "pack.pdf"
        errors = _Errors()
        logging.getLogger().addHandler(errors)
        try:
            result = await run_demo(settings, console, board_pack)
        finally:
            logging.getLogger().removeHandler(errors)
        assert settings.database_url is not None
        pool = await create_pool(settings.database_url)
        try:
            yield Demo(settings, pool, result, console.export_text(), board_pack, errors.seen)
        finally:
            await pool.close()
