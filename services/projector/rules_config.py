"""The progress rules from settings: pace curves and tolerances from PIM_PACE_FILE and assessment groups
from PIM_ASSESSMENT_FILE when they are set (the built-in defaults otherwise)."""

from __future__ import annotations

import os

from services.projector.assessment import DEFAULT_CONFIG, parse_assessment_config
from services.projector.progress import DEFAULT_CURVES, DEFAULT_TOLERANCES, ProgressRules, parse_pace_file
from shared.settings import Settings

# Settings that moved: set, they would silently do nothing, so they stop the service with where they went.
MOVED = {
    "PIM_DISBURSEMENT_TOLERANCE_PP": "`tolerance_pp` of each indicator in the pace file (PIM_PACE_FILE, see "
    "infra/pace.toml): one tolerance for the progress rows, the dashboards and the alerts",
}


def progress_rules(settings: Settings) -> ProgressRules:
    for name, where in MOVED.items():
        if name in os.environ:
            raise ValueError(f"{name} is no longer read: set {where}")
    curves, tolerances = dict(DEFAULT_CURVES), dict(DEFAULT_TOLERANCES)
    if settings.pim_pace_file is not None:
        curves, tolerances = parse_pace_file(settings.pim_pace_file.read_text(encoding="utf-8"))
    assessment = DEFAULT_CONFIG
    if settings.pim_assessment_file is not None:
        path = settings.pim_assessment_file
        assessment = parse_assessment_config(path.read_text(encoding="utf-8"), f"PIM_ASSESSMENT_FILE ({path.name})")
    return ProgressRules(tolerances=tolerances, curves=curves, assessment=assessment)
