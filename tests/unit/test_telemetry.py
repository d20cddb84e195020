"""Carrying the trace context across processes (events, internal calls) and the on/off rule."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.common import telemetry
from services.common.tenancy import current_store_id


def test_tracing_is_off_unless_an_endpoint_is_configured():
    assert not telemetry.tracing_configured({})
    assert telemetry.tracing_configured({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"})
    assert telemetry.tracing_configured({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4317"})
    on = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}
    assert not telemetry.tracing_configured({**on, "OTEL_SDK_DISABLED": "true"})
    assert not telemetry.tracing_configured({**on, "OTEL_TRACES_EXPORTER": "none"})


def test_no_active_span_injects_nothing():
    assert telemetry.inject_context({}) == {}
    assert telemetry.link_from({}) == []


def test_context_survives_a_round_trip_through_message_headers():
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("checkout") as span:
        headers = telemetry.inject_context({"content-type": "application/json"})
        token = current_store_id.set(7)
        try:
            metadata = dict(telemetry.outgoing_metadata())
        finally:
            current_store_id.reset(token)
    ids = span.get_span_context()
    assert headers["traceparent"].startswith(f"00-{ids.trace_id:032x}-{ids.span_id:016x}-")
    assert metadata["x-store-id"] == "7" and metadata["traceparent"] == headers["traceparent"]

    # AMQP header values may arrive as bytes.
    received = {k: v.encode() for k, v in headers.items()}
    [link] = telemetry.link_from(received)
    assert link.context.trace_id == ids.trace_id and link.context.span_id == ids.span_id
    with tracer.start_as_current_span(
        "consume", context=telemetry.extract_context(received)
    ) as child:
        assert child.get_span_context().trace_id == ids.trace_id


def test_consumer_span_links_to_the_producing_trace(monkeypatch):
    with telemetry.consumer_span("consume", {}):  # tracing off: a no-op
        pass
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(telemetry, "_provider", provider)

    with provider.get_tracer("test").start_as_current_span("checkout") as producer:
        headers = telemetry.inject_context({})
    with telemetry.consumer_span("consume orders.email", headers, store_id=7):
        pass
    consumer = next(s for s in exporter.get_finished_spans() if s.name == "consume orders.email")
    assert consumer.context.trace_id != producer.get_span_context().trace_id
    [link] = consumer.links
    assert link.context.trace_id == producer.get_span_context().trace_id
    assert consumer.attributes["store.id"] == 7
