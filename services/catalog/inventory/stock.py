"""Stock levels: the optimistic adjustment and the bulk sync (the checkout owns the pessimistic
decrement). Each change bumps the variant's version and writes its events to the outbox in the
same transaction (services.common.inventory_events)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.common import cursor, outbox
from services.common.db import tenant_transaction
from services.common.errors import (
    Aborted,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Validator,
)
from services.common.ids import parse_uuid
from services.common.inventory_events import (
    Level,
    change_events,
    level_from_row,
    low_stock_threshold,
)
from services.common.tenancy import require_store_id

ALERT_KINDS: cursor.Kinds = {"newest": (datetime, str)}
MAX_SYNC_LINES = 1000
MAX_QUANTITY = 10**9
_NOT_FOUND = "no variant with this id in this store"


@dataclass(frozen=True)
class SyncOutcome:
    sku: str
    variant_id: uuid.UUID
    previous_quantity: int
    quantity: int
    version: int
    changed: bool


@dataclass(frozen=True)
class Alert:
    variant_id: uuid.UUID
    sku: str | None
    quantity: int
    threshold: int
    created_at: object


def _stock_floor_error(level: Level, target: int) -> FailedPrecondition:
    return FailedPrecondition(
        f"would leave {target} in stock (now {level.quantity}) and the variant does not allow"
        " backorders (inventory_policy DENY)"
    )


class Inventory:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def adjust(self, variant_id: str, delta: int, expected_version: int) -> Level:
        v = Validator()
        v.check(delta != 0, "delta", "must not be 0")
        v.check(abs(delta) <= MAX_QUANTITY, "delta", f"must be within ±{MAX_QUANTITY}")
        v.check(expected_version >= 1, "expected_version", "is required (the version you read)")
        v.raise_if_any()
        vid = parse_uuid(variant_id, "variant_id")
        store_id = require_store_id()
        async with tenant_transaction(self._pool) as conn:
            row = await conn.fetchrow(
                """UPDATE variants SET inventory_quantity = inventory_quantity + $2,
                       version = version + 1, updated_at = now()
                   WHERE store_id = $4 AND id = $1 AND version = $3
                     AND (inventory_policy = 'continue' OR inventory_quantity + $2 >= 0)
                   RETURNING id, sku, product_id, inventory_quantity, version, inventory_policy""",
                vid,
                delta,
                expected_version,
                store_id,
            )
            if row is None:
                raise await self._why_not_adjusted(conn, store_id, vid, delta, expected_version)
            after = level_from_row(row)
            before = Level(
                after.variant_id,
                after.sku,
                after.product_id,
                after.quantity - delta,
                after.version - 1,
                after.policy,
            )
            threshold = await low_stock_threshold(conn, store_id)
            await outbox.record(
                conn, *change_events(store_id, "adjusted", before, after, threshold)
            )
        return after

    async def _why_not_adjusted(
        self, conn: asyncpg.Connection, store_id: int, vid: uuid.UUID, delta: int, expected: int
    ) -> Exception:
        row = await conn.fetchrow(
            """SELECT id, sku, product_id, inventory_quantity, version, inventory_policy
               FROM variants WHERE store_id = $2 AND id = $1""",
            vid,
            store_id,
        )
        if row is None:
            return NotFound(_NOT_FOUND)
        level = level_from_row(row)
        if level.version != expected:
            return Aborted(
                f"version conflict: expected version {expected}, but the variant is at version"
                f" {level.version} with quantity {level.quantity}; re-read and retry"
            )
        return _stock_floor_error(level, level.quantity + delta)

    async def sync(self, lines: list[tuple[str, int]]) -> tuple[list[SyncOutcome], list[str]]:
        v = Validator()
        v.check(1 <= len(lines) <= MAX_SYNC_LINES, "lines", f"1 to {MAX_SYNC_LINES} lines a call")
        seen: dict[str, int] = {}
        for i, (sku, quantity) in enumerate(lines):
            v.check(bool(sku.strip()), f"lines[{i}].sku", "is required")
            v.check(
                abs(quantity) <= MAX_QUANTITY,
                f"lines[{i}].quantity",
                f"must be within ±{MAX_QUANTITY}",
            )
            if sku in seen:
                v.fail(f"lines[{i}].sku", f"duplicates lines[{seen[sku]}].sku")
            seen.setdefault(sku, i)
        v.raise_if_any()
        store_id = require_store_id()
        wanted = dict(lines)
        async with tenant_transaction(self._pool) as conn:
            # Lock in a fixed order (by id) so concurrent syncs and checkouts cannot deadlock.
            rows = await conn.fetch(
                """SELECT id, sku, product_id, inventory_quantity, version, inventory_policy
                   FROM variants WHERE store_id = $2 AND sku = ANY($1::text[])
                   ORDER BY id FOR UPDATE""",
                list(wanted),
                store_id,
            )
            levels = {r["sku"]: level_from_row(r) for r in rows}
            refused = [
                (i, sku)
                for i, (sku, q) in enumerate(lines)
                if sku in levels and q < 0 and levels[sku].policy == "deny"
            ]
            if refused:
                raise InvalidArgument([_negative_for_deny(i, sku) for i, sku in refused])
            changed = [levels[s] for s in wanted if s in levels and levels[s].quantity != wanted[s]]
            updated = {}
            if changed:
                result = await conn.fetch(
                    """UPDATE variants AS v SET inventory_quantity = u.quantity,
                           version = v.version + 1, updated_at = now()
                       FROM unnest($2::uuid[], $3::int[]) AS u(id, quantity)
                       WHERE v.store_id = $1 AND v.id = u.id
                       RETURNING v.id, v.sku, v.product_id, v.inventory_quantity, v.version,
                                 v.inventory_policy""",
                    store_id,
                    [lv.variant_id for lv in changed],
                    # Synced by SKU: every level here has one.
                    [wanted[lv.sku or ""] for lv in changed],
                )
                updated = {r["sku"]: level_from_row(r) for r in result}
                threshold = await low_stock_threshold(conn, store_id)
                events = [
                    e
                    for lv in changed
                    for e in change_events(store_id, "synced", lv, updated[lv.sku], threshold)
                ]
                await outbox.record(conn, *events)
        outcomes = [
            SyncOutcome(
                sku=sku,
                variant_id=levels[sku].variant_id,
                previous_quantity=levels[sku].quantity,
                quantity=updated.get(sku, levels[sku]).quantity,
                version=updated.get(sku, levels[sku]).version,
                changed=sku in updated,
            )
            for sku, _ in lines
            if sku in levels
        ]
        return outcomes, [sku for sku, _ in lines if sku not in levels]

    async def alerts(self, size: int, page_token: str) -> tuple[list[Alert], str]:
        """Newest first, keyset-paged on (created_at, event_key)."""
        after = cursor.decode(page_token, ALERT_KINDS, {})[1] if page_token else None
        store_id = require_store_id()
        where = "store_id = $1"
        args: list[object] = [store_id]
        if after is not None:
            # Newest first, ties by event key ascending: not one row comparison, so two.
            where += " AND (created_at < $2 OR (created_at = $2 AND event_key > $3))"
            args += [after[0], after[1]]
        args.append(size + 1)
        async with tenant_transaction(self._pool, readonly=True) as conn:
            rows = await conn.fetch(
                f"""SELECT variant_id, sku, quantity, threshold, created_at, event_key
                    FROM inventory_alerts WHERE {where}
                    ORDER BY created_at DESC, event_key LIMIT ${len(args)}""",
                *args,
            )
        token = ""
        if len(rows) > size:
            last = rows[size - 1]
            token = cursor.encode("newest", {}, (last["created_at"], last["event_key"]))
        return [
            Alert(**{k: v for k, v in dict(r).items() if k != "event_key"}) for r in rows[:size]
        ], token


def _negative_for_deny(i: int, sku: str) -> FieldViolation:
    return FieldViolation(
        f"lines[{i}].quantity",
        f"'{sku}' does not allow backorders (inventory_policy DENY): quantity must be >= 0",
    )
