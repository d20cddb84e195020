"""What an operator asks for, in domain terms, each call audited: reads get a row of their own,
changes write theirs in the change's transaction (so a change never exists without its row),
and a refused call (bad input, unknown store, wrong state, missing scope) gets a row saying
why."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg

from services.common.errors import DomainError, PermissionDenied
from services.store.lifecycle import rules as lifecycle
from services.store.lifecycle.repository import LifecycleRepository
from services.store.operators import audit
from services.store.operators.audit import AuditLog, AuditRecord
from services.store.operators.directory import StoreDirectory, StoreRecord
from services.store.operators.rules import (
    AuditEntry,
    AuditQuery,
    Operator,
    StoreQuery,
    decode_page_token,
    outcome_of,
    status_name,
)

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Operations:
    def __init__(
        self,
        directory: StoreDirectory,
        statuses: LifecycleRepository,
        audit_log: AuditLog,
        grace: timedelta,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._directory = directory
        self._statuses = statuses
        self._audit = audit_log
        self._grace = grace
        self._now = clock

    async def _audited(
        self, entry: AuditEntry, scope: str, operator: Operator, work: Callable[[], Awaitable[T]]
    ) -> T:
        """Runs `work`; a refusal or failure is recorded (the work records its own success)."""
        try:
            if scope not in operator.scopes:
                raise PermissionDenied(
                    f"the operator credential lacks the '{scope}' scope for {entry.action}"
                )
            return await work()
        except DomainError as exc:
            await self._audit.record(
                replace(entry, outcome=outcome_of(status_name(exc.code), exc.message))
            )
            raise
        except Exception as exc:
            await self._audit.record(replace(entry, outcome=f"INTERNAL: {type(exc).__name__}"))
            raise

    @staticmethod
    def entry(
        operator: Operator, action: str, request: dict[str, Any], store_id: int | None = None
    ) -> AuditEntry:
        return AuditEntry(
            actor=operator.name,
            operator_id=operator.id,
            action=action,
            request=request,
            store_id=store_id,
        )

    async def get_store(
        self, operator: Operator, request: dict[str, Any], parse: Callable[[], int]
    ) -> StoreRecord:
        entry = self.entry(operator, "GetStore", request)

        async def work() -> StoreRecord:
            store_id = parse()
            found = await self._directory.get(store_id)
            await self._audit.record(replace(entry, store_id=store_id))
            return found

        return await self._audited(entry, "read_stores", operator, work)

    async def list_stores(
        self, operator: Operator, request: dict[str, Any], parse: Callable[[], StoreQuery]
    ) -> tuple[list[StoreRecord], str]:
        entry = self.entry(operator, "ListStores", request)

        async def work() -> tuple[list[StoreRecord], str]:
            query = parse()
            after = decode_page_token(query.page_token, query.filters())
            found = await self._directory.page(query, after)
            await self._audit.record(entry)
            return found

        return await self._audited(entry, "read_stores", operator, work)

    async def audit_events(
        self, operator: Operator, request: dict[str, Any], parse: Callable[[], AuditQuery]
    ) -> tuple[list[AuditRecord], str]:
        entry = self.entry(operator, "ListAuditEvents", request)

        async def work() -> tuple[list[AuditRecord], str]:
            query = parse()
            before = decode_page_token(query.page_token, query.filters())
            found = await self._audit.page(query, before)
            await self._audit.record(replace(entry, store_id=query.store_id))
            return found

        return await self._audited(entry, "read_audit", operator, work)

    async def _change(
        self,
        operator: Operator,
        action: str,
        scope: str,
        request: dict[str, Any],
        parse: Callable[[], int],
        prepare: Callable[[], Callable[[lifecycle.Lifecycle], lifecycle.Lifecycle]],
    ) -> StoreRecord:
        """`prepare` validates the request (before any row is touched) and returns the
        decision to apply to the store's current state under its row lock."""
        entry = self.entry(operator, action, request)

        async def work() -> StoreRecord:
            store_id = parse()
            decide = prepare()

            async def trail(
                conn: asyncpg.Connection,
                before: lifecycle.Lifecycle,
                after: lifecycle.Lifecycle,
            ) -> None:
                await audit.record(
                    conn,
                    replace(
                        entry,
                        store_id=store_id,
                        before=before.audit_view(),
                        after=after.audit_view(),
                    ),
                )

            await self._statuses.change(store_id, decide, trail)
            return await self._directory.get(store_id)

        return await self._audited(entry, scope, operator, work)

    async def change_plan(
        self,
        operator: Operator,
        request: dict[str, Any],
        parse: Callable[[], int],
        raw_plan: str,
        raw_reason: str,
    ) -> StoreRecord:
        def prepare() -> Callable[[lifecycle.Lifecycle], lifecycle.Lifecycle]:
            plan = lifecycle.validate_plan(raw_plan)
            lifecycle.validate_reason(raw_reason, required=False)
            return lambda current: lifecycle.change_plan(current, plan)

        return await self._change(operator, "ChangePlan", "manage_plans", request, parse, prepare)

    async def suspend(
        self, operator: Operator, request: dict[str, Any], parse: Callable[[], int], raw: str
    ) -> StoreRecord:
        def prepare() -> Callable[[lifecycle.Lifecycle], lifecycle.Lifecycle]:
            reason = lifecycle.validate_reason(raw, required=True)
            now = self._now()
            return lambda current: lifecycle.suspend(current, reason, now)

        return await self._change(
            operator, "SuspendStore", "suspend_stores", request, parse, prepare
        )

    async def reinstate(
        self, operator: Operator, request: dict[str, Any], parse: Callable[[], int], raw: str
    ) -> StoreRecord:
        def prepare() -> Callable[[lifecycle.Lifecycle], lifecycle.Lifecycle]:
            lifecycle.validate_reason(raw, required=False)
            return lifecycle.reinstate

        return await self._change(
            operator, "ReinstateStore", "suspend_stores", request, parse, prepare
        )

    async def close(
        self, operator: Operator, request: dict[str, Any], parse: Callable[[], int], raw: str
    ) -> StoreRecord:
        def prepare() -> Callable[[lifecycle.Lifecycle], lifecycle.Lifecycle]:
            reason = lifecycle.validate_reason(raw, required=True)
            now = self._now()
            return lambda current: lifecycle.close(current, reason, now, self._grace)

        return await self._change(operator, "CloseStore", "close_stores", request, parse, prepare)
