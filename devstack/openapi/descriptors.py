"""The descriptor set `make proto` writes (gen/shop.pb, with source info), indexed for the
OpenAPI generator: every message, enum and service by full name, with its proto comments."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Imported for their side effect: the extensions they define are registered, so the options
# parsed out of the descriptor set expose google.api.http and the scope options.
from google.api import annotations_pb2  # noqa: F401
from google.protobuf import descriptor_pb2
from shop.options.v1 import access_pb2  # noqa: F401

# Source-info path numbers (descriptor.proto field numbers).
_MESSAGE, _ENUM, _SERVICE = 4, 5, 6  # in FileDescriptorProto
_FIELD, _NESTED, _NESTED_ENUM = 2, 3, 4  # in DescriptorProto
_VALUE = 2  # in EnumDescriptorProto
_METHOD = 2  # in ServiceDescriptorProto


def _comment(raw: str) -> str:
    """A proto comment as prose: lines rejoined, paragraphs kept."""
    paragraphs = [" ".join(line.strip() for line in p.splitlines()) for p in raw.split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p).strip()


@dataclass
class Message:
    full_name: str
    proto: descriptor_pb2.DescriptorProto
    comment: str
    field_comments: dict[str, str]


@dataclass
class Enum:
    full_name: str
    proto: descriptor_pb2.EnumDescriptorProto
    comment: str
    value_comments: dict[str, str]


@dataclass
class Service:
    full_name: str
    proto: descriptor_pb2.ServiceDescriptorProto
    comment: str
    method_comments: dict[str, str]


@dataclass
class Index:
    messages: dict[str, Message] = field(default_factory=dict)
    enums: dict[str, Enum] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)


def load(path: Path) -> Index:
    files = descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes()).file
    index = Index()
    for file in files:
        comments = {
            tuple(loc.path): _comment(loc.leading_comments)
            for loc in file.source_code_info.location
            if loc.leading_comments
        }
        package = f".{file.package}" if file.package else ""

        def add_enum(enum, prefix: str, at: tuple[int, ...], comments=comments) -> None:
            name = f"{prefix}.{enum.name}"
            index.enums[name] = Enum(
                name,
                enum,
                comments.get(at, ""),
                {v.name: comments.get((*at, _VALUE, i), "") for i, v in enumerate(enum.value)},
            )

        def add_message(message, prefix: str, at: tuple[int, ...], comments=comments) -> None:
            name = f"{prefix}.{message.name}"
            index.messages[name] = Message(
                name,
                message,
                comments.get(at, ""),
                {f.name: comments.get((*at, _FIELD, i), "") for i, f in enumerate(message.field)},
            )
            for i, nested in enumerate(message.nested_type):
                add_message(nested, name, (*at, _NESTED, i))
            for i, enum in enumerate(message.enum_type):
                add_enum(enum, name, (*at, _NESTED_ENUM, i))

        for i, message in enumerate(file.message_type):
            add_message(message, package, (_MESSAGE, i))
        for i, enum in enumerate(file.enum_type):
            add_enum(enum, package, (_ENUM, i))
        for i, service in enumerate(file.service):
            index.services[f"{file.package}.{service.name}"] = Service(
                f"{file.package}.{service.name}",
                service,
                comments.get((_SERVICE, i), ""),
                {
                    m.name: comments.get((_SERVICE, i, _METHOD, j), "")
                    for j, m in enumerate(service.method)
                },
            )
    return index
