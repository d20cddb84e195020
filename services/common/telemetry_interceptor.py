"""One interceptor for what every call reports: Prometheus count and latency by method and status,
the request log line, and the store on the trace span.

It sits inside the OpenTelemetry interceptor (so its log line carries the server span's ids) and
outside the error mapping (so it sees the final status). The per-method work is done once: the
labelled metric children and the wrapped handler are cached per method."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

import grpc

from services.common import metrics, telemetry
from services.common.interceptors import Behaviour, UnaryInterceptor
from services.common.logging_config import RequestInfo, current_request, request_logger
from services.common.tenancy import STORE_ID_HEADER, parse_store_id

# Probes and reflection are not requests anyone asked for: no metrics, no log line.
_UNOBSERVED = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def _store_of(metadata: Any) -> int | None:
    """The store the tenant interceptor will see (same header, same parsing); None if absent
    or malformed (that call is then refused as UNAUTHENTICATED and logged as such)."""
    values = [v for k, v in metadata or () if k == STORE_ID_HEADER]
    if not values:
        return None
    try:
        return parse_store_id(values)
    except Exception:
        return None


def _final_code(context: grpc.aio.ServicerContext, exc: BaseException | None) -> str:
    if isinstance(exc, asyncio.CancelledError):
        return "CANCELLED"
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    return "UNKNOWN" if exc is not None else "OK"


class TelemetryInterceptor(UnaryInterceptor):
    def __init__(self, *, log_requests: bool, unobserved: Iterable[str] = _UNOBSERVED) -> None:
        super().__init__(skip=unobserved)
        self._log_requests = log_requests

    def wrap(self, method: str, inner: Behaviour) -> Behaviour:
        service, _, name = method.lstrip("/").partition("/")
        seconds = metrics.RPC_SECONDS.labels(service, name)
        handled: dict[str, Any] = {}
        # Decided once per method: below INFO the request line would be dropped anyway, so the
        # store id is not even parsed for it.
        log_requests = self._log_requests and logging.getLogger().isEnabledFor(logging.INFO)
        request_log = request_logger() if log_requests else None
        tracing = telemetry.tracing_enabled()

        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            metadata = context.invocation_metadata()
            token = current_request.set(RequestInfo(method, metadata))
            store_id = _store_of(metadata) if (log_requests or tracing) else None
            if tracing and store_id is not None:
                telemetry.tag_store(store_id)
            error: BaseException | None = None
            try:
                return await inner(request, context)
            except BaseException as exc:
                error = exc
                raise
            finally:
                elapsed = time.perf_counter() - started
                code = _final_code(context, error)
                seconds.observe(elapsed)
                counter = handled.get(code)
                if counter is None:
                    counter = handled[code] = metrics.RPC_HANDLED.labels(service, name, code)
                counter.inc()
                if request_log is not None:
                    fields: dict[str, Any] = {
                        "status": code,
                        "duration_ms": round(elapsed * 1e3, 3),
                    }
                    if store_id is not None:
                        fields["store_id"] = store_id
                    request_log.info("rpc", **fields)
                current_request.reset(token)

        return call
