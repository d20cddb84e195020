"""Installed packages that share files must end up in the right state (pip installs in no
guaranteed order; `make venv` and the images reinstall opentelemetry-proto last)."""


def test_otlp_exporter_has_its_own_protos_not_the_copy_inside_xds_protos():
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope

    assert OTLPSpanExporter and InstrumentationScope.DESCRIPTOR.name == "InstrumentationScope"
