"""`pim demo` as a user runs it: its own embedded PostgreSQL and broker, two tables, exit 0, nothing
left running. Two at once must not clash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def test_two_demos_at_once_both_succeed_and_leave_nothing_running(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    pim = str(Path(sys.executable).with_name("pim"))
    runs = []
    for name in ("first", "second"):
        data_dir = tmp_path / name
        runs.append(
            (
                data_dir,
                subprocess.Popen(
                    [pim, "demo"],
                    env={**env, "PIM_DATA_DIR": str(data_dir)},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                ),
            )
        )
    for data_dir, process in runs:
        output, _ = process.communicate(timeout=240)
        assert process.returncode == 0, output
        assert "Progress against target and pace" in output
        assert "Flagged below target" in output
        leftovers = [
            p.info["name"]
            for p in psutil.process_iter(attrs=["name", "cmdline"])
            if any(str(data_dir) in part for part in (p.info["cmdline"] or []))
        ]
        assert leftovers == []
