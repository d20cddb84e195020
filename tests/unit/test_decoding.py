"""Requests that cannot be decoded, or carry NUL, are named by field before any servicer runs."""

from __future__ import annotations

from google.protobuf import struct_pb2
from shop.catalog.v1 import catalog_pb2
from shop.store.v1 import store_pb2

from services.common.decoding import Undecodable, guarded
from services.common.errors import FieldViolation

decode_product = guarded(catalog_pb2.CreateProductRequest.FromString)


def _with_bad_utf8(request, marker: str) -> bytes:
    raw = request.SerializeToString()
    assert raw.count(marker.encode()) == 1
    return raw.replace(marker.encode(), b"\xff\xfe" + b"x" * (len(marker) - 2))


def test_a_valid_request_decodes():
    request = catalog_pb2.CreateProductRequest(title="Tee", options=["Size"])
    assert decode_product(request.SerializeToString()) == request


def test_invalid_utf8_names_the_field():
    raw = _with_bad_utf8(catalog_pb2.CreateProductRequest(title="MARKER"), "MARKER")
    assert decode_product(raw).violations == [FieldViolation("title", "must be valid UTF-8")]


def test_invalid_utf8_in_a_nested_repeated_field_names_its_path():
    request = catalog_pb2.CreateProductRequest(
        title="Tee",
        variants=[catalog_pb2.VariantInput(sku="A-1"), catalog_pb2.VariantInput(sku="MARKER")],
    )
    found = decode_product(_with_bad_utf8(request, "MARKER"))
    assert found.violations == [FieldViolation("variants[1].sku", "must be valid UTF-8")]


def test_nul_names_every_field_holding_it():
    request = catalog_pb2.CreateProductRequest(
        title="A\x00B",
        description="ok",
        tags=["fine", "bad\x00"],
        variants=[catalog_pb2.VariantInput(sku="S\x00")],
    )
    found = decode_product(request.SerializeToString())
    assert isinstance(found, Undecodable)
    assert [v.field for v in found.violations] == ["title", "variants[0].sku", "tags[1]"]


def test_nul_inside_a_struct_is_found():
    decode = guarded(store_pb2.UpdateStoreSettingsRequest.FromString)
    settings = struct_pb2.Struct()
    settings.update({"announcement": "hi\x00"})
    found = decode(store_pb2.UpdateStoreSettingsRequest(settings=settings).SerializeToString())
    assert isinstance(found, Undecodable)
    assert found.violations[0].field.startswith("settings.fields")


def test_nesting_past_protobufs_limit_names_the_top_field():
    decode = guarded(store_pb2.UpdateStoreSettingsRequest.FromString)
    # Each JSON level is three protobuf levels (Struct → map entry → Value), so 40 levels
    # exceed protobuf's parse limit of 100: serialise by hand, level by level.
    value = struct_pb2.Value(string_value="x").SerializeToString()
    struct = b""
    for _ in range(40):
        entry = b"\x0a\x01a" + b"\x12" + _len(value) + value  # key "a", its Value
        struct = b"\x0a" + _len(entry) + entry  # Struct.fields
        value = b"\x2a" + _len(struct) + struct  # Value.struct_value
    raw = b"\x22" + _len(struct) + struct  # UpdateStoreSettingsRequest.settings
    found = decode(raw)
    assert isinstance(found, Undecodable)
    assert found.violations == [FieldViolation("settings", "is nested too deeply")]


def test_garbage_is_named_as_the_request_without_python_names():
    found = decode_product(b"\x0a\xff\xff\xff")
    assert isinstance(found, Undecodable)
    (violation,) = found.violations
    assert violation.field == "request"
    assert "shop.catalog.v1.CreateProductRequest" in violation.description
    assert "class" not in violation.description and "Error" not in violation.description


def _len(data: bytes) -> bytes:
    out = bytearray()
    n = len(data)
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
