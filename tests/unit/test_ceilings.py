"""The ceilings a bench run's measures imply (pim/bench/ceilings.py)."""

from __future__ import annotations

import pytest

from pim.bench.ceilings import CpuPerReport, import_ceiling


def test_the_import_ceiling_replaces_only_the_append_with_the_store_copy() -> None:
    # 200,000 rows in 8 s, 3 of them appending; the store's COPY writes them in 2 s: 5 + 2 = 7 s.
    assert import_ceiling(200_000, 8.0, 3.0, 100_000) == pytest.approx(200_000 / 7)


def test_the_cores_are_all_busy_when_the_reports_cpu_fills_them() -> None:
    assert CpuPerReport(api_ms=2.0, database_ms=1.5, load_ms=0.5).ceiling(2) == pytest.approx(500)
    # A database elsewhere spends none of this machine's CPU.
    assert CpuPerReport(api_ms=2.0, database_ms=None, load_ms=0.5).ceiling(2) == pytest.approx(800)
