"""The projector: the read models (progress, standings, accountability) built from the ledger topic.

What the rest of PIM (the `pim` command, the stack, the wings) may use; everything else is internal.
"""

from services.projector.cli import projector as projector_commands
from services.projector.progress import ProgressRules
from services.projector.rules_config import progress_rules
from services.projector.service import Projector
from services.projector.time_travel import progress_as_known_on

__all__ = [
    "ProgressRules", "Projector", "progress_as_known_on", "progress_rules", "projector_commands",
]  # fmt: skip
