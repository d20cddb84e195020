"""Request decoding that never fails with a Python class name.

grpc's own handling of a request that does not parse answers UNKNOWN "Unexpected <class
'google.protobuf.message.DecodeError'>…", and a string holding NUL parses fine but makes
PostgreSQL fail later (a 500). The error interceptor wraps every unary method's deserializer
with `guarded`: a request that cannot be decoded (invalid UTF-8 in a string field, nesting past
protobuf's recursion limit, malformed bytes) or that carries NUL in any string field becomes an
`Undecodable` naming the field, which the interceptor answers with INVALID_ARGUMENT before the
servicer runs. One place, so every string field of every service is covered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf import descriptor, message

from services.common.errors import FieldViolation

# Deeper than protobuf's own parse limit (100), so the walk below never gives up first.
_MAX_WALK_DEPTH = 128
_NUL = "must not contain NUL characters"


class Undecodable:
    """Stands in for a request that must not reach the servicer."""

    __slots__ = ("violations",)

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations


def guarded(deserialize: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """`deserialize` (a generated `Message.FromString`), returning `Undecodable` instead of
    raising, and for requests holding NUL in a string field."""
    request_type = getattr(deserialize, "__self__", None)
    message_descriptor = getattr(request_type, "DESCRIPTOR", None)
    if not isinstance(message_descriptor, descriptor.Descriptor):
        return deserialize

    def decode(raw: bytes) -> Any:
        try:
            request = deserialize(raw)
        except Exception:  # DecodeError, or recursion in a pure-Python protobuf
            return Undecodable([why_undecodable(raw, message_descriptor)])
        # A fast C scan first: most requests have no zero byte at all.
        if b"\x00" in raw:
            found = nul_fields(request)
            if found:
                return Undecodable([FieldViolation(f, _NUL) for f in found])
        return request

    return decode


def nul_fields(request: message.Message, prefix: str = "") -> list[str]:
    """Paths (e.g. `variants[0].sku`) of the string fields holding NUL."""
    found: list[str] = []
    for field, value in request.ListFields():
        where = prefix + field.name
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            for key, item in value.items():
                if isinstance(key, str) and "\x00" in key:
                    found.append(where)
                if value_field.message_type is not None:
                    found += nul_fields(item, f"{where}[{key!r}].")
                elif isinstance(item, str) and "\x00" in item:
                    found.append(f"{where}[{key!r}]")
        elif field.type == descriptor.FieldDescriptor.TYPE_STRING:
            items = value if field.is_repeated else [value]
            for i, item in enumerate(items):
                if "\x00" in item:
                    found.append(f"{where}[{i}]" if field.is_repeated else where)
        elif field.type == descriptor.FieldDescriptor.TYPE_MESSAGE:
            items = value if field.is_repeated else [value]
            for i, item in enumerate(items):
                sub = f"{where}[{i}]." if field.is_repeated else f"{where}."
                found += nul_fields(item, sub)
    return found


def why_undecodable(raw: bytes, message_descriptor: descriptor.Descriptor) -> FieldViolation:
    """The field that made `raw` unparsable, found by walking the wire format ourselves
    (protobuf's error names no field)."""
    try:
        found = _walk(memoryview(raw), message_descriptor, "", 0)
    except (IndexError, ValueError):
        found = None
    return found or FieldViolation(
        "request", f"is not a valid encoding of {message_descriptor.full_name}"
    )


def _varint(buf: memoryview, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _walk(
    buf: memoryview, message_descriptor: descriptor.Descriptor, path: str, depth: int
) -> FieldViolation | None:
    i = 0
    seen: dict[int, int] = {}
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, i = _varint(buf, i)
            continue
        if wire_type in (1, 5):
            i += 8 if wire_type == 1 else 4
            continue
        if wire_type != 2:
            return None  # groups: not in our API
        size, i = _varint(buf, i)
        chunk, i = buf[i : i + size], i + size
        if len(chunk) != size:
            return None
        field = message_descriptor.fields_by_number.get(number)
        if field is None:
            continue
        where = path + field.name
        if field.is_repeated:
            seen[number] = seen.get(number, 0) + 1
            where += f"[{seen[number] - 1}]"
        if field.type == descriptor.FieldDescriptor.TYPE_STRING:
            try:
                bytes(chunk).decode("utf-8")
            except UnicodeDecodeError:
                return FieldViolation(where, "must be valid UTF-8")
        elif field.message_type is not None:
            if depth >= _MAX_WALK_DEPTH:
                return None
            found = _walk(chunk, field.message_type, where + ".", depth + 1)
            if found is not None:
                return found
            if depth == 0 and _depth(chunk, field.message_type) > _MAX_WALK_DEPTH // 2:
                # Past protobuf's recursion limit: name the top-level field, not a path of
                # a hundred segments.
                return FieldViolation(field.name, "is nested too deeply")
    return None


def _depth(buf: memoryview, message_descriptor: descriptor.Descriptor, level: int = 1) -> int:
    """How many message levels `buf` nests (stops counting past the walk limit)."""
    deepest = level
    i = 0
    while i < len(buf) and deepest <= _MAX_WALK_DEPTH:
        key, i = _varint(buf, i)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, i = _varint(buf, i)
            continue
        if wire_type in (1, 5):
            i += 8 if wire_type == 1 else 4
            continue
        if wire_type != 2:
            break
        size, i = _varint(buf, i)
        chunk, i = buf[i : i + size], i + size
        field = message_descriptor.fields_by_number.get(number)
        if field is not None and field.message_type is not None:
            deepest = max(deepest, _depth(chunk, field.message_type, level + 1))
    return deepest
