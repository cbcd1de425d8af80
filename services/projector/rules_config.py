"""The progress rules from settings: tolerance, and pace curves from PIM_PACE_FILE when it is set."""

from __future__ import annotations

from decimal import Decimal

from services.projector.progress import DEFAULT_CURVES, ProgressRules, parse_pace_curves
from shared.settings import Settings


def progress_rules(settings: Settings) -> ProgressRules:
    curves = DEFAULT_CURVES
    if settings.pim_pace_file is not None:
        curves = parse_pace_curves(settings.pim_pace_file.read_text(encoding="utf-8"))
    return ProgressRules(tolerance=Decimal(settings.pim_disbursement_tolerance_pp) / 100, curves=curves)
