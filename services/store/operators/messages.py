"""Operator API messages ⇄ domain objects."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2
from shop.platform.v1 import operations_pb2
from shop.store.v1 import store_pb2

from services.common.messages import to_timestamp
from services.store.lifecycle.rules import Status
from services.store.operators.audit import AuditRecord
from services.store.operators.directory import StoreRecord

STATUS_MESSAGES = {
    Status.ACTIVE: store_pb2.STORE_STATUS_ACTIVE,
    Status.SUSPENDED: store_pb2.STORE_STATUS_SUSPENDED,
    Status.CLOSED: store_pb2.STORE_STATUS_CLOSED,
}
_STATUS_BY_MESSAGE: dict[int, Status] = {int(v): k for k, v in STATUS_MESSAGES.items()}


def status_filter(value: int) -> Status | None:
    """Unspecified (or a number this API does not know) filters nothing."""
    return _STATUS_BY_MESSAGE.get(value)


_MAX_AUDITED_TEXT = 1000


def request_dict(request: Any) -> dict[str, Any]:
    """The request as the audit trail keeps it (proto JSON, field names as in the proto), long
    strings cut short: a refused oversized request is still recorded."""
    fields = json_format.MessageToDict(request, preserving_proto_field_name=True)
    return {
        k: v[:_MAX_AUDITED_TEXT] + "…" if isinstance(v, str) and len(v) > _MAX_AUDITED_TEXT else v
        for k, v in fields.items()
    }


def _struct(value: dict[str, Any] | None) -> struct_pb2.Struct | None:
    if value is None:
        return None
    message = struct_pb2.Struct()
    json_format.ParseDict(value, message)
    return message


def store_record(store: StoreRecord) -> operations_pb2.StoreRecord:
    life = store.lifecycle
    return operations_pb2.StoreRecord(
        id=str(store.id),
        name=store.name,
        subdomain=store.subdomain,
        owner_email=store.owner_email,
        currency=store.currency,
        plan=life.plan,
        status=STATUS_MESSAGES[life.status],
        status_reason=life.status_reason or "",
        created_at=to_timestamp(store.created_at),
        suspended_at=to_timestamp(life.suspended_at),
        closed_at=to_timestamp(life.closed_at),
        erase_after=to_timestamp(life.erase_after),
        erase_started_at=to_timestamp(life.erase_started_at),
        custom_domains=list(store.custom_domains),
        charges_enabled=store.charges_enabled,
    )


def audit_event(record: AuditRecord) -> operations_pb2.AuditEvent:
    return operations_pb2.AuditEvent(
        id=str(record.id),
        at=to_timestamp(record.at),
        operator_id=str(record.operator_id) if record.operator_id else "",
        actor=record.actor,
        action=record.action,
        store_id=str(record.store_id) if record.store_id is not None else "",
        request=_struct(record.request),
        outcome=record.outcome,
        before=_struct(record.before),
        after=_struct(record.after),
    )
