"""The relay: publishes the event store to the ledger topic, in order, exactly as stored."""

from services.relay.bootstrap import bootstrap_relay
from services.relay.relay import Relay

__all__ = ["Relay", "bootstrap_relay"]
