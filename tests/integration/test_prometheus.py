"""PIM's own health, as Prometheus sees it: the scrape configuration and the rules pass promtool's checks,
the rules fire (and stay quiet) as tests/prometheus/rules_test.yml records, every series a rule reads is
one a PIM process exports, and the exposition itself passes promtool's lint."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY, generate_latest

import pim.stack  # noqa: F401  # every service's metrics registered, as in a process that runs them all
from pim.grafana.dashboards import dashboard_json
from pim.grafana.operations import expressions

ROOT = Path(__file__).parents[2]
RULES = ROOT / "infra" / "prometheus" / "rules.yml"
CONFIG = ROOT / "infra" / "prometheus" / "prometheus.yml"


def promtool(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not installed: `make test` installs Debian's prometheus")
    return subprocess.run([binary, *args], input=stdin.decode() if stdin else None, capture_output=True, text=True,
                          cwd=cwd, timeout=60, check=False)  # fmt: skip


def _exported() -> set[str]:
    """Every series name a PIM process exports (a counter's `_total`, a histogram's buckets, count and sum)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    return {f"{family.name}{end}" for family in REGISTRY.collect() for end in suffixes.get(family.type, ("",))}


def test_the_rules_and_the_configuration_pass_promtools_checks(tmp_path: Path) -> None:
    rules = promtool("check", "rules", str(RULES))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert config["rule_files"] == ["/etc/prometheus/pim/rules.yml"]  # where compose mounts infra/prometheus
    config["rule_files"] = [str(RULES)]
    here = tmp_path / "prometheus.yml"
    here.write_text(yaml.safe_dump(config), encoding="utf-8")
    checked = promtool("check", "config", str(here))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_rules_fire_as_recorded() -> None:
    tested = promtool("test", "rules", "rules_test.yml", cwd=ROOT / "tests" / "prometheus")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_series_a_rule_reads_is_exported() -> None:
    exported = _exported()
    read = set(re.findall(r"\bpim_[a-z_]+", RULES.read_text(encoding="utf-8")))
    assert read and read <= exported, read - exported


def test_the_exposition_passes_promtools_lint() -> None:
    linted = promtool("check", "metrics", stdin=generate_latest(REGISTRY))
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_operators_dashboard_asks_prometheus_what_it_can_answer(tmp_path: Path) -> None:
    """Each of its expressions is valid PromQL (promtool checks them as recording rules) and reads only series
    a PIM process exports; the committed JSON is the one the code writes."""
    recorded = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"pim:dashboard_{n}", "expr": expr} for n, expr in enumerate(expressions())
    ]}]}  # fmt: skip
    rules = tmp_path / "dashboard.yml"
    rules.write_text(yaml.safe_dump(recorded), encoding="utf-8")
    checked = promtool("check", "rules", str(rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    exported = _exported()
    read = {name for expr in expressions() for name in re.findall(r"\bpim_[a-z_]+", expr)}
    assert read <= exported, read - exported
    committed = json.loads((ROOT / "infra" / "grafana" / "dashboards" / "pim-operations.json").read_text("utf-8"))
    assert committed == dashboard_json("operations"), "run `pim grafana dashboards`"
