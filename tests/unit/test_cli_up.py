"""`pim up --service`: the services named, and a name it does not know refused before anything starts."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

import pim.cli
from pim.cli import app
from shared.http_server import http_server


def test_pim_up_runs_only_the_services_named_in_the_order_of_the_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(pim.cli, "_run_services", lambda services, verbose, sample=False: ran.append(list(services)))
    result = CliRunner().invoke(app, ["up", "--service", "alerts", "--service", "relay"])
    assert result.exit_code == 0, result.output
    assert ran == [["relay", "alerts"]]
    assert CliRunner().invoke(app, ["up"]).exit_code == 0
    assert ran[-1] == ["ingest", "relay", "projector", "alerts", "portal"]


def test_pim_up_refuses_a_service_it_does_not_know() -> None:
    result = CliRunner().invoke(app, ["up", "--service", "relay", "--service", "projecter"])
    assert result.exit_code == 2
    assert "no such service: projecter" in result.output


def test_the_services_keep_an_idle_connection_longer_than_their_clients_do() -> None:
    """A client reusing a connection the server is closing at that moment gets a read error: so the
    servers outwait httpx (the portal's and the benches' client), which then always closes first."""
    server = http_server(None, "127.0.0.1", 0)
    assert server.config.timeout_keep_alive > httpx.Limits().keepalive_expiry  # type: ignore[operator]
