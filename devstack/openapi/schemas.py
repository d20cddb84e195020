"""Protobuf messages as JSON Schema (OpenAPI 3.1), in the proto3 JSON mapping Envoy's
transcoder speaks: field names as in the proto (the edge prints them so), 64-bit integers as
decimal strings, enums by name, bytes as base64, well-known types in their JSON forms."""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2

from devstack.openapi.descriptors import Index

F = descriptor_pb2.FieldDescriptorProto
Schema = dict[str, Any]

_INT64 = {"type": "string", "format": "int64", "pattern": r"^-?[0-9]{1,19}$"}
_UINT64 = {"type": "string", "format": "uint64", "pattern": r"^[0-9]{1,20}$"}
_FLOAT_WORDS = {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}
SCALARS: dict[int, Schema] = {
    F.TYPE_STRING: {"type": "string"},
    F.TYPE_BOOL: {"type": "boolean"},
    F.TYPE_BYTES: {"type": "string", "format": "byte", "contentEncoding": "base64"},
    F.TYPE_INT32: {"type": "integer", "format": "int32"},
    F.TYPE_SINT32: {"type": "integer", "format": "int32"},
    F.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    F.TYPE_UINT32: {"type": "integer", "format": "uint32", "minimum": 0, "maximum": 2**32 - 1},
    F.TYPE_FIXED32: {"type": "integer", "format": "uint32", "minimum": 0, "maximum": 2**32 - 1},
    F.TYPE_INT64: _INT64,
    F.TYPE_SINT64: _INT64,
    F.TYPE_SFIXED64: _INT64,
    F.TYPE_UINT64: _UINT64,
    F.TYPE_FIXED64: _UINT64,
    F.TYPE_DOUBLE: {"oneOf": [{"type": "number", "format": "double"}, _FLOAT_WORDS]},
    F.TYPE_FLOAT: {"oneOf": [{"type": "number", "format": "float"}, _FLOAT_WORDS]},
}
# int32 bounds, so generated clients and fuzzers know them.
for _t in (F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32):
    SCALARS[_t] = {**SCALARS[_t], "minimum": -(2**31), "maximum": 2**31 - 1}

_WRAPPERS = {
    "DoubleValue": F.TYPE_DOUBLE,
    "FloatValue": F.TYPE_FLOAT,
    "Int64Value": F.TYPE_INT64,
    "UInt64Value": F.TYPE_UINT64,
    "Int32Value": F.TYPE_INT32,
    "UInt32Value": F.TYPE_UINT32,
    "BoolValue": F.TYPE_BOOL,
    "StringValue": F.TYPE_STRING,
    "BytesValue": F.TYPE_BYTES,
}
WELL_KNOWN: dict[str, Schema] = {
    ".google.protobuf.Timestamp": {
        "type": "string",
        "format": "date-time",
        "description": "RFC 3339, e.g. 2026-01-31T12:00:00Z",
    },
    ".google.protobuf.Duration": {
        "type": "string",
        "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$",
        "description": "seconds with an `s` suffix, e.g. 1.5s",
    },
    ".google.protobuf.FieldMask": {
        "type": "string",
        "description": "comma-separated field paths, e.g. title,status",
    },
    ".google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    ".google.protobuf.Value": {"description": "any JSON value"},
    ".google.protobuf.ListValue": {"type": "array", "items": {}},
    ".google.protobuf.Empty": {"type": "object", "additionalProperties": False},
    ".google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
    **{
        f".google.protobuf.{name}": {
            **(
                {"oneOf": [*SCALARS[kind]["oneOf"], {"type": "null"}]}
                if "oneOf" in SCALARS[kind]
                else {**SCALARS[kind], "type": [SCALARS[kind]["type"], "null"]}
            )
        }
        for name, kind in _WRAPPERS.items()
    },
}


def component_name(type_name: str) -> str:
    return type_name.lstrip(".")


def ref(type_name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{component_name(type_name)}"}


class SchemaBuilder:
    """Collects the component schemas the operations reference, message by message."""

    def __init__(self, index: Index) -> None:
        self._index = index
        self.components: dict[str, Schema] = {}

    def type_schema(self, type_name: str) -> Schema:
        """A message or enum type: inline for well-known types, else a $ref."""
        if type_name in WELL_KNOWN:
            return dict(WELL_KNOWN[type_name])
        name = component_name(type_name)
        if name not in self.components:
            if type_name in self._index.enums:
                self.components[name] = self._enum(type_name)
            else:
                self.components[name] = {}  # placeholder: recursive messages end here
                self.components[name] = self.message_schema(type_name)
        return ref(type_name)

    def _enum(self, type_name: str) -> Schema:
        enum = self._index.enums[type_name]
        lines = [f"- `{v}`: {c}" for v, c in enum.value_comments.items() if c]
        description = "\n".join(filter(None, [enum.comment, *lines]))
        schema: Schema = {"type": "string", "enum": [v.name for v in enum.proto.value]}
        if description:
            schema["description"] = description
        return schema

    def field_schema(self, f: descriptor_pb2.FieldDescriptorProto, comment: str = "") -> Schema:
        if f.type in (F.TYPE_MESSAGE, F.TYPE_GROUP):
            entry = self._map_entry(f)
            if entry is not None:
                key, value = entry
                schema: Schema = {
                    "type": "object",
                    "additionalProperties": self.field_schema(value),
                }
                if key.type not in (F.TYPE_STRING,):
                    schema["propertyNames"] = {"pattern": SCALARS[key.type].get("pattern", ".*")}
            else:
                schema = self.type_schema(f.type_name)
        elif f.type == F.TYPE_ENUM:
            schema = self.type_schema(f.type_name)
        else:
            schema = dict(SCALARS[f.type])
        if f.label == F.LABEL_REPEATED and self._map_entry(f) is None:
            schema = {"type": "array", "items": schema}
        if comment:
            # A $ref may have siblings in 3.1; the description is the field's own.
            schema = {**schema, "description": comment}
        return schema

    def _map_entry(self, f: descriptor_pb2.FieldDescriptorProto):
        message = self._index.messages.get(f.type_name)
        if message is None or not message.proto.options.map_entry:
            return None
        key, value = message.proto.field
        return key, value

    def message_schema(self, type_name: str, without: frozenset[str] = frozenset()) -> Schema:
        message = self._index.messages[type_name]
        properties = {
            f.name: self.field_schema(f, message.field_comments.get(f.name, ""))
            for f in message.proto.field
            if f.name not in without
        }
        schema: Schema = {"type": "object", "properties": properties}
        # The JSON body guard at the edge refuses fields the API does not define.
        schema["additionalProperties"] = False
        if message.comment:
            schema["description"] = message.comment
        return schema

    def fields(self, type_name: str) -> list[tuple[descriptor_pb2.FieldDescriptorProto, str]]:
        message = self._index.messages[type_name]
        return [(f, message.field_comments.get(f.name, "")) for f in message.proto.field]

    def is_message(self, f: descriptor_pb2.FieldDescriptorProto) -> bool:
        return (
            f.type == F.TYPE_MESSAGE
            and f.type_name not in WELL_KNOWN
            and self._map_entry(f) is None
        )
