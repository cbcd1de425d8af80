"""The relay: publishes the event store to the ledger topic, in order, exactly as stored."""

from services.relay.relay import Relay

__all__ = ["Relay"]
