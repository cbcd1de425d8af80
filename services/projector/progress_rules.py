"""The projector's rules: the pace rules every service shares (shared/pace.py), the assessment groups
(who is compared with whom) and the heads' scoring scheme, which only the projector applies; read from the
settings' files (PIM_PACE_FILE, PIM_ASSESSMENT_FILE, PIM_SCORING_FILE), the built-in defaults where unset."""

from __future__ import annotations

from dataclasses import dataclass

from services.projector.assessment import DEFAULT_CONFIG, AssessmentConfig, parse_assessment_config
from services.projector.head_scores import DEFAULT_SCHEME, ScoringScheme, parse_scoring_scheme
from shared.pace import PaceRules, pace_curves_and_tolerances
from shared.settings import ProjectorSettings


@dataclass(frozen=True)
class ProgressRules(PaceRules):
    assessment: AssessmentConfig = DEFAULT_CONFIG
    scoring: ScoringScheme = DEFAULT_SCHEME


def progress_rules(settings: ProjectorSettings) -> ProgressRules:
    curves, tolerances = pace_curves_and_tolerances(settings)
    assessment = DEFAULT_CONFIG
    if settings.pim_assessment_file is not None:
        path = settings.pim_assessment_file
        assessment = parse_assessment_config(path.read_text(encoding="utf-8"), f"PIM_ASSESSMENT_FILE ({path.name})")
    return ProgressRules(tolerances=tolerances, curves=curves, assessment=assessment, scoring=_scoring_scheme(settings))


def _scoring_scheme(settings: ProjectorSettings) -> ScoringScheme:
    """The heads' scoring scheme; ScoringFileError naming the setting, the field and why."""
    path = settings.pim_scoring_file
    if path is None:
        return DEFAULT_SCHEME
    return parse_scoring_scheme(path.read_text(encoding="utf-8"), f"PIM_SCORING_FILE ({path.name})")
