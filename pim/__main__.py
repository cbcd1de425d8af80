"""`python -m pim`: the `pim` command, for a process started from this interpreter (the demo's own)."""

from pim.cli import app

app(prog_name="pim")
