"""The progress rules from settings: tolerance, pace curves from PIM_PACE_FILE and assessment groups from
PIM_ASSESSMENT_FILE when they are set."""

from __future__ import annotations

from decimal import Decimal

from services.projector.assessment import DEFAULT_CONFIG, parse_assessment_config
from services.projector.progress import DEFAULT_CURVES, ProgressRules, parse_pace_curves
from shared.settings import Settings


def progress_rules(settings: Settings) -> ProgressRules:
    curves = DEFAULT_CURVES
    if settings.pim_pace_file is not None:
        curves = parse_pace_curves(settings.pim_pace_file.read_text(encoding="utf-8"))
    assessment = DEFAULT_CONFIG
    if settings.pim_assessment_file is not None:
        path = settings.pim_assessment_file
        assessment = parse_assessment_config(path.read_text(encoding="utf-8"), f"PIM_ASSESSMENT_FILE ({path.name})")
    return ProgressRules(
        tolerance=Decimal(settings.pim_disbursement_tolerance_pp) / 100, curves=curves, assessment=assessment
    )
