"""One Alertmanager timing, whoever writes the configuration: `pim alerts alertmanager-config` wrote a
repeat interval of 168 h while `pim init` wrote 96 h (within Alertmanager's 120-hour notification log)."""

import typer

from services.alerts.alertmanager_config import Timing
from services.alerts.cli import alerts


def test_the_commands_defaults_are_the_configurations_defaults() -> None:
    command = typer.main.get_command(alerts).commands["alertmanager-config"]  # type: ignore[attr-defined]
    defaults = {param.name: param.default for param in command.params}
    shipped = Timing()
    assert (defaults["group_wait"], defaults["group_interval"], defaults["repeat_interval"]) == (
        shipped.group_wait,
        shipped.group_interval,
        shipped.repeat_interval,
    )
    # Alertmanager forgets a notification after 120 h: a longer repeat would repeat early
    assert int(shipped.repeat_interval.removesuffix("h")) < 120
