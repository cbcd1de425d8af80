"""When the projector recomputes its derived rows: at once when caught up, rarely while behind."""

from __future__ import annotations

from services.projector.service import MIN_STALENESS_S, recompute_due


def test_caught_up_recomputes_at_once() -> None:
    assert recompute_due(0.0, behind=False, last_recompute_s=30.0)


def test_behind_waits_as_long_as_the_last_recompute_took() -> None:
    assert not recompute_due(9.9, behind=True, last_recompute_s=10.0)
    assert recompute_due(10.0, behind=True, last_recompute_s=10.0)


def test_behind_waits_at_least_the_minimum_after_quick_recomputes() -> None:
    assert not recompute_due(MIN_STALENESS_S / 2, behind=True, last_recompute_s=0.01)
    assert recompute_due(MIN_STALENESS_S, behind=True, last_recompute_s=0.01)
