"""The projector's rules from settings: the pace file (PIM_PACE_FILE), the assessment groups
(PIM_ASSESSMENT_FILE) and the heads' scoring scheme (PIM_SCORING_FILE), the built-in defaults where unset."""

from __future__ import annotations

from services.projector.assessment import DEFAULT_CONFIG, parse_assessment_config
from services.projector.head_scores import DEFAULT_SCHEME, ScoringScheme, parse_scoring_scheme
from services.projector.progress import ProgressRules
from shared.pace import pace_curves_and_tolerances
from shared.settings import Settings


def progress_rules(settings: Settings) -> ProgressRules:
    curves, tolerances = pace_curves_and_tolerances(settings)
    assessment = DEFAULT_CONFIG
    if settings.pim_assessment_file is not None:
        path = settings.pim_assessment_file
        assessment = parse_assessment_config(path.read_text(encoding="utf-8"), f"PIM_ASSESSMENT_FILE ({path.name})")
    return ProgressRules(tolerances=tolerances, curves=curves, assessment=assessment, scoring=_scoring_scheme(settings))


def _scoring_scheme(settings: Settings) -> ScoringScheme:
    """The heads' scoring scheme; ScoringFileError naming the setting, the field and why."""
    path = settings.pim_scoring_file
    if path is None:
        return DEFAULT_SCHEME
    return parse_scoring_scheme(path.read_text(encoding="utf-8"), f"PIM_SCORING_FILE ({path.name})")
