"""`pim bench national` in CI size: a registry of Vietnam's shape (ministries, a province, its departments and
communes, the 1 July 2025 mergers) through the real path for a plan year — every list equals a rebuild's
and every registered unit is counted. Correctness only: the speed is the bench's, by hand, at full size."""

from __future__ import annotations

import pytest
from rich.console import Console

from pim.bench.national import Shape, merged_away, run_national_bench, units
from pim.grafana.dashboards import DASHBOARDS, dashboard_json
from pim.grafana.panel_sql import queries
from shared.settings import Settings

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def test_the_shape_is_vietnams() -> None:
    country = Shape()
    assert (country.central_agencies, country.provinces, country.departments, country.communes) == (60, 34, 20, 100)
    assert len(units(country)) == 60 + 34 * (1 + 20 + 100)
    assert len(merged_away(country)) == 34 * 10  # one commune in ten merged into its neighbour


async def test_a_small_country_through_the_real_path_lists_equal_a_rebuild_and_every_unit_counts(
    settings: Settings,
) -> None:
    shape = Shape(scale=0.03, province_size=0.03, plan_years=(2025,))
    result = await run_national_bench(settings, shape, Console(quiet=True))
    assert result.units == len(units(shape)) and result.events > 1000
    assert result.lists_equal_a_rebuild and result.lists >= 2 * 2  # national and the province's, two indicators
    assert result.units_counted == result.units_expected
    # each measure the bench reports was taken: the packs drawn, every dashboard query run as the reader login
    assert result.board_pack_national_seconds > 0 and result.board_pack_province_seconds > 0
    assert result.dashboard_queries == sum(len(list(queries(dashboard_json(name)))) for name in DASHBOARDS)
    assert result.raw_getmany_events_per_s > 0 and result.live_events_per_s > 0
