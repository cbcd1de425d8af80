"""The ingest service: figures and registry facts from finance departments into the event store.

What the rest of PIM (the `pim` command, the stack, the wings) may use; everything else is internal.
"""

from services.ingest.bootstrap import bootstrap_ingest, create_app
from services.ingest.cli import import_command
from services.ingest.cli import ingest as ingest_commands
from services.ingest.cli import tokens as tokens_commands
from services.ingest.figure_intake import FigureIntake
from services.ingest.file_import import import_figure_file
from services.ingest.raw_intake import RawIntake, build_raw_intake_broker
from services.ingest.registry import Registry
from services.ingest.submissions import FiguresSubmission

__all__ = [
    "FigureIntake", "FiguresSubmission", "RawIntake", "Registry", "bootstrap_ingest", "build_raw_intake_broker",
    "create_app", "import_command", "import_figure_file", "ingest_commands", "tokens_commands",
]  # fmt: skip
