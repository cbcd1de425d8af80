"""Fixtures of the integration tests."""

from tests.integration.ingest_fixtures import ingest

__all__ = ["ingest"]
