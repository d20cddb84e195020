"""Distributed tracing: OpenTelemetry SDK, exporting over OTLP/gRPC as the standard `OTEL_*`
variables say, plus the helpers that carry a trace across process boundaries.

Tracing is on only when an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and not disabled (`OTEL_SDK_DISABLED=true`,
`OTEL_TRACES_EXPORTER=none`). Off, nothing is installed: no interceptor, no asyncpg wrapper, no
span objects, so the hot path pays nothing. Everything else (sampler, batch delay, headers,
resource attributes, service name) is read by the SDK from the standard variables."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from typing import Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter

from services.common.tenancy import STORE_ID_HEADER, current_store_id

# The span attribute every span of a tenant request carries (Envoy's, the services', SQL's).
STORE_ID_ATTRIBUTE = "store.id"

# Long-lived streams and probes make useless spans: health checks (every few seconds from the
# kubelet), reflection (grpcurl) and Envoy's xDS stream (open for hours).
UNTRACED_SERVICES = (
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
    "envoy.service.discovery.v3.AggregatedDiscoveryService",
)

_provider: Any = None


def tracing_configured(env: Mapping[str, str] = os.environ) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() in ("none", ""):
        return False
    return bool(
        env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    )


def tracing_enabled() -> bool:
    return _provider is not None


def setup_tracing(service: str) -> bool:
    """Installs the SDK for this process if configured; returns whether tracing is on.
    SDK modules are imported only here, so a process with tracing off never loads them."""
    global _provider
    if _provider is not None or not tracing_configured():
        return _provider is not None
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win over this default.
    resource = Resource.create({SERVICE_NAME: f"shop-{service}"})
    if os.environ.get("OTEL_SERVICE_NAME"):
        resource = Resource.create({})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(_store_id_span_processor())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    # Statement text only; parameters stay out of spans (they can hold customer data).
    AsyncPGInstrumentor(capture_parameters=False).instrument(tracer_provider=provider)
    _provider = provider
    return True


def shutdown_tracing() -> None:
    """Flushes spans still in the batch queue; called after the server has drained."""
    global _provider
    if _provider is not None:
        _provider.shutdown()
        _provider = None


def server_interceptors() -> list[grpc.aio.ServerInterceptor]:
    """The OpenTelemetry server interceptor (continues the caller's trace from `traceparent`),
    or nothing when tracing is off."""
    if _provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_server_interceptor, filters

    untraced = filters.any_of(*(filters.service_name(s) for s in UNTRACED_SERVICES))
    return [aio_server_interceptor(tracer_provider=_provider, filter_=filters.negate(untraced))]


def tag_store(store_id: int) -> None:
    """Puts the store on the current span (the server span is started before the tenant
    interceptor has read the store, so the span processor cannot do it)."""
    if _provider is not None:
        trace.get_current_span().set_attribute(STORE_ID_ATTRIBUTE, store_id)


def _store_id_span_processor() -> Any:
    from opentelemetry.sdk.trace import SpanProcessor

    class StoreIdSpanProcessor(SpanProcessor):
        """Tags every span started inside a tenant request (SQL, outgoing calls) with its
        store."""

        def on_start(self, span: Any, parent_context: Any = None) -> None:
            store_id = current_store_id.get()
            if store_id is not None:
                span.set_attribute(STORE_ID_ATTRIBUTE, store_id)

    return StoreIdSpanProcessor()


# --- carrying the context across processes ---------------------------------------------------


class _HeaderGetter(Getter[Mapping[str, Any]]):
    """Reads message headers whose values may arrive as bytes (AMQP) or lists (HTTP)."""

    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        value = carrier.get(key)
        if value is None:
            return None
        if isinstance(value, bytes | bytearray):
            value = value.decode("latin-1")
        if isinstance(value, list | tuple):
            return [v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in value]
        return [str(value)]

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return list(carrier)


_GETTER = _HeaderGetter()


def inject_context(headers: MutableMapping[str, Any] | None = None) -> MutableMapping[str, Any]:
    """Writes the current trace context (`traceparent`, `tracestate`) into `headers` and returns
    them, e.g. the headers of an outbox event or a RabbitMQ message. Writes nothing when there
    is no active span (tracing off)."""
    carrier: MutableMapping[str, Any] = {} if headers is None else headers
    propagate.inject(carrier)
    return carrier


def extract_context(headers: Mapping[str, Any] | None) -> otel_context.Context:
    """The trace context carried by `headers`; pass it as `context=` when starting the
    consumer's span, or make a `trace.Link` from `trace.get_current_span(ctx)`."""
    return propagate.extract(headers or {}, getter=_GETTER)


def link_from(headers: Mapping[str, Any] | None) -> Sequence[trace.Link]:
    """A span link to the trace that produced a message (for consumers that start their own
    trace per message); empty when the message carried no context."""
    span_context = trace.get_current_span(extract_context(headers)).get_span_context()
    return [trace.Link(span_context)] if span_context.is_valid else []


def outgoing_metadata(store_id: int | None = None) -> tuple[tuple[str, str], ...]:
    """gRPC metadata for an internal call: the store (`x-store-id`) and the trace context."""
    metadata: dict[str, str] = {}
    sid = current_store_id.get() if store_id is None else store_id
    if sid is not None:
        metadata[STORE_ID_HEADER] = str(sid)
    inject_context(metadata)
    return tuple(metadata.items())


@contextmanager
def consumer_span(
    name: str, headers: Mapping[str, Any] | None, store_id: int | None = None, **attributes: Any
) -> Iterator[None]:
    """The span of one consumed message: a trace of its own (a message may be handled long after
    the request that produced it) linked to the producer's trace by the `traceparent` the
    outbox row carried. Nothing at all when tracing is off."""
    if _provider is None:
        yield
        return
    attrs = {"messaging.system": "rabbitmq", **attributes}
    if store_id is not None:
        attrs[STORE_ID_ATTRIBUTE] = store_id
    tracer = _provider.get_tracer("services.events")
    with tracer.start_as_current_span(
        name, kind=trace.SpanKind.CONSUMER, links=link_from(headers), attributes=attrs
    ):
        yield
