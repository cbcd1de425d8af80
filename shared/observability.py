"""Health, readiness and Prometheus metrics of a PIM process, and its log format.

Every `pim` service process can serve `/health` (the process answers), `/ready` (its database answers and
none of its services has crashed) and `/metrics` (Prometheus text format) on PIM_OPS_PORT.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

EVENTS_RELAYED = Counter("pim_events_relayed", "Events published from the store to the ledger topic")
EVENTS_PROJECTED = Counter("pim_events_projected", "Ledger events applied to the read models")
PROJECTOR_BATCH_SECONDS = Histogram("pim_projector_batch_seconds", "Time to write the facts of one ledger batch")
PROJECTOR_RECOMPUTE_SECONDS = Histogram(
    "pim_projector_recompute_seconds", "Time to bring the derived read models up to date with the facts"
)
ALERT_EVENTS_RECORDED = Counter("pim_alert_events", "Alert lifecycle events recorded", ["type"])
ALERT_DELIVERIES = Counter("pim_alert_deliveries", "Alert notification deliveries", ["channel", "outcome"])
OUTBOX_WAITING = Gauge("pim_alert_outbox_waiting", "Alert deliveries not yet made (being retried)", ["channel"])
OUTBOX_OLDEST_WAITING_SECONDS = Gauge(
    "pim_alert_outbox_oldest_waiting_seconds", "Age of the oldest alert delivery not yet made", ["channel"]
)
OUTBOX_DEAD_LETTERED = Gauge(
    "pim_alert_outbox_dead_lettered",
    "Alert deliveries given up after their last attempt (pim alerts deliveries)",
    ["channel"],
)
ALERT_EVALUATION_SECONDS = Histogram("pim_alert_evaluation_seconds", "Time to evaluate the rules for one unit and year")
ALERT_EVALUATION_FAILURES = Counter(
    "pim_alert_evaluation_failures", "Evaluations of a unit and plan year that failed on its facts (the others go on)"
)

# Where each stage of the pipeline stands, for the lag rules (infra/prometheus/rules.yml): each set by the
# service whose work it is, so the lags are differences Prometheus takes, not numbers a service recomputes.
STORE_HEAD_POSITION = Gauge("pim_store_head_position", "The newest event's position in the store (seen by the relay)")
RELAY_PUBLISHED_POSITION = Gauge("pim_relay_published_position", "The last position the relay published")
PROJECTOR_POSITION = Gauge("pim_projector_position", "The furthest ledger position the projector has applied")
PROJECTOR_RECOMPUTED = Gauge(
    "pim_projector_recomputed_timestamp_seconds", "When the read models were last brought up to date"
)
REPORTS_PER_TRANSACTION = Histogram(
    "pim_ingest_reports_per_transaction",
    "Single reports written in one transaction: more than one when reports gathered while the writer was busy",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
IMPORT_PHASE_SECONDS = Histogram(
    "pim_ingest_import_phase_seconds",
    "Where a file import's time goes: read (parsed and staged), check, wait (for its units' streams, held by"
    " other writers), recheck (what the checks read changed meanwhile), append, remember (the figures the next"
    " checks read), finish (receipt and commit)",
    ["phase"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
)
LAST_REPORT_STORED = Gauge(
    "pim_last_report_stored_timestamp_seconds", "When ingest last stored a figure report (since it started)"
)
SERVICE_WAITING = Gauge(
    "pim_service_waiting", "1 while a service waits for a dependency (PostgreSQL, the broker) to come back", ["service"]
)


def import_phases() -> dict[str, tuple[float, float]]:
    """Each phase of the file imports this process has run: (how many times, seconds in all)."""
    seen: dict[str, dict[str, float]] = {}
    for sample in next(iter(IMPORT_PHASE_SECONDS.collect())).samples:
        for end in ("_count", "_sum"):
            if sample.name.endswith(end):
                seen.setdefault(sample.labels["phase"], {})[end] = sample.value
    return {phase: (values.get("_count", 0.0), values.get("_sum", 0.0)) for phase, values in seen.items()}


Check = Callable[[], Awaitable[None]]


def ops_app(checks: Mapping[str, Check]) -> Starlette:
    """/health, /ready (each check must pass) and /metrics."""

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> Response:
        failures = {}
        for name, check in checks.items():
            try:
                await check()
            except Exception as error:  # a readiness probe reports every failure, whatever its kind
                failures[name] = f"{type(error).__name__}: {error}"
        if failures:
            return JSONResponse({"status": "not ready", "failures": failures}, status_code=503)
        return JSONResponse({"status": "ready", "checks": sorted(checks)})

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[Route("/health", health), Route("/ready", ready), Route("/metrics", metrics)],
    )


# Fields a line may carry beside its message (`extra=`): a request's, or a unit of work's.
LOGGED_FIELDS = ("service", "request_id", "status", "duration_ms", "who", "route", "correlation_ids", "positions",
                 "events", "fingerprint", "submission")  # fmt: skip


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in LOGGED_FIELDS:  # what a line of work names, as fields a log collector can search
            if getattr(record, field, None) is not None:
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(verbose: bool, log_format: str = "text", work: bool = False) -> None:
    """Text lines by default; one JSON object per line with `log_format` "json" (for log collectors).
    PIM's own lines of work (a request answered, events published, a batch applied, an alert raised) at
    INFO when `work`; the libraries' only from WARNING unless `verbose`."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
    for own in ("pim", "services", "shared"):
        logging.getLogger(own).setLevel(logging.INFO if verbose or work else logging.WARNING)
