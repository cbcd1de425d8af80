"""The projector's rules: the pace rules every service shares (shared/pace.py), the assessment groups
(who is compared with whom) and the heads' scoring scheme, which only the projector applies."""

from __future__ import annotations

from dataclasses import dataclass

from services.projector.assessment import DEFAULT_CONFIG, AssessmentConfig
from services.projector.head_scores import DEFAULT_SCHEME, ScoringScheme
from shared.pace import PaceRules


@dataclass(frozen=True)
class ProgressRules(PaceRules):
    assessment: AssessmentConfig = DEFAULT_CONFIG
    scoring: ScoringScheme = DEFAULT_SCHEME
