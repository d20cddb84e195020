"""Erasing a closed store, as decisions: the order tables are emptied in (rows that point at
others go first, so every batch is a plain bounded delete and no cascade ever deletes an
unbounded number of rows), and when the shop/redact announcement has had its chance to reach
the store's webhooks. Plain Python: no SQL, Redis or gRPC here."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta

# Read across stores through platform.* functions (routing, token lookup): emptied after the
# tenant tables; the `stores` row itself goes last of all, in its own transaction.
PLATFORM_TABLES = frozenset({"store_domains", "api_tokens"})
STORES = "stores"
# The consumer whose dedupe row says the shop/redact event has been turned into deliveries.
WEBHOOK_CONSUMER = "webhook"


@dataclass(frozen=True)
class Table:
    name: str
    # Primary key columns: batches are chosen by key (no ctid, so it works on Citus too).
    key: tuple[str, ...]
    # Tables this one references by foreign key (itself excluded).
    parents: frozenset[str]


def erase_order(tables: list[Table]) -> list[Table]:
    """Every table before the tables it references; among the tables that are free to go,
    tenant tables before platform-wide ones, then by name (a stable order run after run)."""
    by_name = {t.name: t for t in tables}
    missing_key = sorted(t.name for t in tables if not t.key)
    if missing_key:
        raise ValueError(f"tables without a primary key cannot be erased in batches: {missing_key}")
    # How many not-yet-erased tables reference each table.
    referrers = {t.name: 0 for t in tables}
    for t in tables:
        for parent in t.parents & by_name.keys():
            referrers[parent] += 1
    ready = [(name in PLATFORM_TABLES, name) for name, n in referrers.items() if n == 0]
    heapq.heapify(ready)
    ordered: list[Table] = []
    while ready:
        _, name = heapq.heappop(ready)
        table = by_name[name]
        ordered.append(table)
        for parent in sorted(table.parents & by_name.keys()):
            referrers[parent] -= 1
            if referrers[parent] == 0:
                heapq.heappush(ready, (parent in PLATFORM_TABLES, parent))
    if len(ordered) != len(tables):
        stuck = sorted(set(by_name) - {t.name for t in ordered})
        raise ValueError(f"foreign keys form a cycle among {stuck}")
    return ordered


@dataclass(frozen=True)
class RedactProgress:
    """Where the shop/redact announcement is, as the store's own rows tell it."""

    started_at: datetime
    # The outbox row is gone: an earlier pass was already erasing (it only does once settled).
    outbox_gone: bool
    published: bool
    # The webhook consumer has turned the event into deliveries (its dedupe row exists).
    processed: bool
    pending_deliveries: int


def redact_settled(progress: RedactProgress, now: datetime, wait: timedelta) -> bool:
    """The store's data may go once every shop/redact delivery has ended (delivered, or failed
    after its retries), or once the wait is over whatever happened (a broker or consumer that
    never came back must not keep a closed store's data forever)."""
    if progress.outbox_gone:
        return True
    if progress.published and progress.processed and progress.pending_deliveries == 0:
        return True
    return now - progress.started_at >= wait
