"""The demo's pipeline process: ready when its services are, its log lines the demo's, and its failure
the demo's failure (with what it said), never a wait for a pipeline that is gone."""

from __future__ import annotations

import logging
import socket

import pytest

from pim.demo.pipeline import PipelinePorts, pipeline_process
from shared.settings import Settings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def test_the_pipeline_process_comes_up_and_serves_the_boards_api(settings: Settings) -> None:
    assert settings.database_url is not None
    ports = PipelinePorts.free()
    assert len({ports.boards, ports.alerts, ports.ops}) == 3
    async with pipeline_process(settings, ports, settings.database_url) as pipeline:
        await pipeline.ready()
        assert pipeline.process.returncode is None
    assert pipeline.process.returncode is not None  # stopped on the way out


async def test_a_pipeline_that_cannot_start_fails_the_demo_with_its_own_words(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    assert settings.database_url is not None
    with socket.socket() as taken:  # the boards' API's port, held by someone else
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        free = PipelinePorts.free()
        ports = PipelinePorts(taken.getsockname()[1], free.alerts, free.ops)
        with caplog.at_level(logging.ERROR):
            async with pipeline_process(settings, ports, settings.database_url) as pipeline:
                with pytest.raises(RuntimeError, match="the pipeline's process exited") as failed:
                    await pipeline.ready()
    assert "address already in use" in str(failed.value).lower()
    assert any("address already in use" in r.getMessage().lower() for r in caplog.records), caplog.text
