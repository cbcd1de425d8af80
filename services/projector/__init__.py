"""The projector: the read models (progress, standings, accountability) built from the ledger topic, and
the board pack made from them (`pim report board`, the boards' API).

What the rest of PIM (the `pim` command, the stack, the wings) may use; everything else is internal.
"""

from services.projector.api import create_projector_app
from services.projector.board_pack.make import write_board_pack
from services.projector.bootstrap import bootstrap_projector
from services.projector.cli import projector as projector_commands
from services.projector.head_score_inputs import head_scores
from services.projector.head_scores import Period, ScoringScheme
from services.projector.progress_rules import ProgressRules, progress_rules
from services.projector.rebuild import rebuild
from services.projector.reporting_on_time import GroupReporting, reporting
from services.projector.service import Projector
from services.projector.standings import GroupStandings, UnitStanding, plan_years_on, standings, standings_json
from services.projector.time_travel import progress_as_known_on

__all__ = [
    "GroupReporting",
    "GroupStandings",
    "Period",
    "ProgressRules",
    "Projector",
    "ScoringScheme",
    "UnitStanding",
    "bootstrap_projector",
    "create_projector_app",
    "head_scores",
    "plan_years_on",
    "progress_as_known_on",
    "progress_rules",
    "projector_commands",
    "rebuild",
    "reporting",
    "standings",
    "standings_json",
    "write_board_pack",
]  # fmt: skip
