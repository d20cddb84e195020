"""Structured logs: one JSON object per line on stdout, for every logger in the process.

structlog renders both our own request log (a fast native logger: it runs once per call) and
every standard-library logger (our modules, grpc, asyncpg) through the same processors, so
every line has the same shape and passes the same redaction. Inside a request each line carries
the method, store id, trace id and span id, read from context variables only when a line is
actually written, so a request that logs nothing pays nothing for them."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import structlog
from opentelemetry import trace

from services.common.logging_redaction import redact_event
from services.common.tenancy import current_store_id


@dataclass(frozen=True, slots=True)
class RequestInfo:
    method: str
    # The raw invocation metadata; `traceparent` is parsed from it only when a line is logged.
    metadata: Any


current_request: ContextVar[RequestInfo | None] = ContextVar("current_request", default=None)


def _traceparent_ids(metadata: Any) -> tuple[str, str] | None:
    """Envoy's trace and span id from a W3C `traceparent`: lets lines carry the edge's trace id
    even when this process exports no spans of its own."""
    for key, value in metadata or ():
        if key == "traceparent":
            parts = str(value).split("-")
            if len(parts) == 4 and len(parts[1]) == 32 and len(parts[2]) == 16:
                return parts[1], parts[2]
    return None


def add_request_context(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    info = current_request.get()
    if info is not None:
        event.setdefault("method", info.method)
    store_id = current_store_id.get()
    if store_id is not None:
        event.setdefault("store_id", store_id)
    if "trace_id" not in event:
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            event["trace_id"] = format(span.trace_id, "032x")
            event["span_id"] = format(span.span_id, "016x")
        elif info is not None and (ids := _traceparent_ids(info.metadata)):
            event["trace_id"], event["span_id"] = ids
    return event


def _json(event: dict[str, Any], **kwargs: Any) -> str:
    return json.dumps(event, default=str, separators=(",", ":"))


def _processors(service: str) -> list[Any]:
    def add_service(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
        event["service"] = service
        return event

    return [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        add_service,
        add_request_context,
        structlog.processors.format_exc_info,
        # Last before rendering: sees the message, every field and the formatted traceback.
        redact_event,
    ]


def configure_logging(service: str, level: str) -> None:
    """JSON lines on stdout at `level` for structlog and the standard library alike."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    chain = _processors(service)
    renderer = structlog.processors.JSONRenderer(serializer=_json)

    structlog.configure(
        processors=[*chain, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *chain],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)


def request_logger() -> Any:
    """The per-call request log (see telemetry_interceptor)."""
    return structlog.get_logger().bind(logger="request")
