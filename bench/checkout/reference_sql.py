"""The database's own limit: one checkout's SQL as pgbench scripts, written out here and fixed.

The statements are the bench's own, not imported from the service (whose SQL is private and
moves): a change to the service does not silently change the reference, and the smoke run
(tests/bench) proves every script still runs against the current schema. Each script buys two
different variants out of the spread catalog, one unit each, as shop_app (RLS applies).

- "minimal": the fixed physical reference the checkout is compared with (REFERENCE; its
  ratio is the one with a target, >= 0.15): the smallest transaction that places an order
  correctly, READ COMMITTED; lock the two variants FOR UPDATE in id order and decrement them;
  the idempotency row (checkouts), the store's next order number, the order, its two items and
  one order.created outbox row (VALUES). Defined once here and never changed with the service.
- "serializable": the statements the checkout service ran for one order up to c9bfe3a (claim,
  reserve with its two inventory.reserved events, account look-up, finalise), all in one
  SERIALIZABLE transaction, as the benchmark brief first worded it.
- "as-service": the same statements split the way the service ran them up to c9bfe3a: claim,
  SERIALIZABLE reserve, read-only account look-up, finalise in READ COMMITTED. The service has
  moved on since (a6a3d0a: stock taken under READ COMMITTED in the transaction that also reads
  the payments account, more columns per record); these two stay as they were so their
  figures compare with earlier runs, and are not what the service runs today."""

from __future__ import annotations

import json
import uuid

from bench.checkout.shopping import ADDRESS, CHECKOUT_BODY, variant_sql

MODES = ("minimal", "serializable", "as-service")
# The mode the checkout's ratio target is set against.
REFERENCE = "minimal"
A, B = variant_sql(":a"), variant_sql(":b")
IDS = f"ARRAY[{A}, {B}]::uuid[]"
TENANT = "SELECT set_config('app.current_store_id', :store::text, true);"
# What the service reads of a checkout record.
RECORD = """id, state, attempt, request::text AS request, reserved_lines::text AS reserved_lines,
            currency, amount, payment_intent_id, client_secret, order_id, response, error_code,
            error_message"""


def text(value: object) -> str:
    """A SQL string literal (JSON for anything but a string)."""
    return "'" + (value if isinstance(value, str) else json.dumps(value)).replace("'", "''") + "'"


def outbox_insert(count: int, type_: str, exchange: str, routing_key: str, key: str) -> str:
    """`count` outbox rows, built the way the service builds them (one statement for all)."""

    def array(value: str) -> str:
        return f"ARRAY[{', '.join([value] * count)}]::text[]"

    data = text({"variant_id": "v", "quantity": 1, "delta": -1, "version": 2})
    return f"""INSERT INTO outbox (store_id, event_type, exchange, routing_key, idempotency_key,
                        payload, headers)
SELECT s.store_id, e.type, e.exchange, e.routing_key, e.key,
       jsonb_build_object('event', e.type, 'timestamp', to_jsonb(clock_timestamp()),
                          'idempotencyKey', e.key, 'storeId', s.store_id::text,
                          'data', e.data::jsonb),
       e.headers::jsonb
FROM unnest({array(type_)}, {array(exchange)}, {array(routing_key)}, {array(key)},
            {array(data)}, {array("'{}'")}) AS e(type, exchange, routing_key, key, data, headers),
     (SELECT current_setting('app.current_store_id')::bigint AS store_id) s
ON CONFLICT (store_id, idempotency_key) DO NOTHING;"""


REQUEST = text({"cart_id": "pgbench", **CHECKOUT_BODY, "billing_address": ADDRESS})
LINE = {"product_id": str(uuid.UUID(int=1)), "sku": "SP", "title": "Spread", "quantity": 1}
RESERVED = text([{**LINE, "variant_id": "a", "unit_price": 1000}] * 2)
ORDER_CREATED = outbox_insert(
    1, "'order.created'", "'orders.events'", "'order.created'", "'order-created:' || :o_id"
)
# The reference's one outbox row, written with VALUES and naming its store like every
# statement on a tenant table: the least a correct order costs.
ORDER_CREATED_ROW = f"""INSERT INTO outbox (store_id, event_type, exchange, routing_key,
                    idempotency_key, payload, headers)
VALUES (:store, 'order.created', 'orders.events', 'order.created', 'order-created:' || :o_id,
        jsonb_build_object('event', 'order.created', 'timestamp', to_jsonb(clock_timestamp()),
                           'idempotencyKey', 'order-created:' || :o_id,
                           'storeId', :store::text, 'data', {text({"order_id": "o"})}::jsonb),
        '{{}}'::jsonb);"""

CLAIM = [
    f"""INSERT INTO checkouts (store_id, idempotency_key, fingerprint, state, lease_until, request)
VALUES (:store, 'pgbench-' || gen_random_uuid(), sha256(gen_random_uuid()::text::bytea),
        'processing', clock_timestamp() + make_interval(secs => 30), {REQUEST}::jsonb)
ON CONFLICT (store_id, idempotency_key) DO NOTHING
RETURNING {RECORD} \\gset c_"""
]
RESERVE = [
    f"SELECT {RECORD} FROM checkouts WHERE store_id = :store AND id = :c_id FOR UPDATE;",
    f"""SELECT v.id, v.product_id, v.sku, v.price, v.currency, v.inventory_quantity, v.version,
       v.inventory_policy, p.status,
       p.title || CASE WHEN v.title = 'Default Title' THEN '' ELSE ' - ' || v.title END AS title
FROM variants v JOIN products p ON p.store_id = v.store_id AND p.id = v.product_id
WHERE v.store_id = :store AND v.id = ANY({IDS})
ORDER BY v.id
FOR UPDATE OF v;""",
    f"""UPDATE variants AS v SET inventory_quantity = v.inventory_quantity + u.delta,
       version = v.version + 1, updated_at = clock_timestamp()
FROM unnest({IDS}, ARRAY[-1, -1]::int[]) AS u(id, delta)
WHERE v.id = u.id
RETURNING v.id, v.sku, v.product_id, v.inventory_quantity, v.version, v.inventory_policy;""",
    "SELECT low_stock_threshold FROM stores;",
    outbox_insert(
        2,
        "'inventory.reserved'",
        "'inventory.events'",
        "'inventory.reserved.' || :store",
        "gen_random_uuid()::text",
    ),
    f"""UPDATE checkouts SET state = 'reserved', reserved_lines = {RESERVED}::jsonb,
       currency = 'USD', amount = 2000, updated_at = clock_timestamp()
WHERE store_id = :store AND id = :c_id;""",
    """UPDATE checkouts SET lease_until = clock_timestamp() + make_interval(secs => 30),
       updated_at = clock_timestamp() WHERE store_id = :store AND id = :c_id;""",
    f"SELECT {RECORD} FROM checkouts WHERE store_id = :store AND id = :c_id;",
]
ACCOUNT = ["SELECT stripe_account_id FROM stores WHERE id = :store;"]
NEXT_NUMBER = """INSERT INTO store_order_counters (store_id, last_number) VALUES (:store, 1001)
ON CONFLICT (store_id) DO UPDATE SET last_number = store_order_counters.last_number + 1
RETURNING last_number AS number \\gset"""
# The order's totals add up (orders_totals_add_up, migration 0012): no shipping, tax or
# discount here, so subtotal = total.
ORDER = f"""INSERT INTO orders (store_id, number, checkout_id, status, email, currency, subtotal,
                    total, shipping_address, billing_address, payment_intent_id)
VALUES (:store, :number, :c_id, 'paid', 'ada@example.com', 'USD', 2000, 2000,
        {text(ADDRESS)}::jsonb, {text(ADDRESS)}::jsonb, 'pi_pgbench')
RETURNING id AS o_id \\gset"""
ITEM = """INSERT INTO order_items (store_id, order_id, line, variant_id, product_id, sku, title,
                         quantity, unit_price)
VALUES (:store, :o_id, {n}, {v}, '00000000-0000-0000-0000-000000000001', 'SP',
        'Spread Item - M', 1, 1000);"""
ITEMS = [ITEM.format(n=1, v=A), ITEM.format(n=2, v=B)]
FINALISE = [
    f"SELECT {RECORD} FROM checkouts WHERE store_id = :store AND id = :c_id FOR UPDATE;",
    NEXT_NUMBER,
    ORDER,
    *ITEMS,
    """SELECT o.id, o.number, o.status, o.email, o.currency, o.total, o.refunded,
       o.shipping_address::text AS shipping, o.billing_address::text AS billing,
       o.payment_intent_id, o.created_at, o.updated_at,
       ARRAY(SELECT ROW(i.variant_id, i.product_id, i.sku, i.title, i.quantity, i.unit_price,
                        i.refunded_quantity)
             FROM order_items i WHERE i.store_id = o.store_id AND i.order_id = o.id
             ORDER BY i.line) AS lines
FROM orders o WHERE o.store_id = :store AND o.id = :o_id;""",
    ORDER_CREATED,
    """UPDATE checkouts SET state = 'completed', order_id = :o_id,
       payment_intent_id = 'pi_pgbench', client_secret = NULL,
       response = sha256(:o_id::text::bytea), updated_at = clock_timestamp()
WHERE store_id = :store AND id = :c_id;""",
]
MINIMAL = [
    f"""SELECT id FROM variants WHERE store_id = :store AND id = ANY({IDS})
ORDER BY id FOR UPDATE;""",
    f"""UPDATE variants SET inventory_quantity = inventory_quantity - 1, version = version + 1
WHERE store_id = :store AND id = ANY({IDS});""",
    f"""INSERT INTO checkouts (store_id, idempotency_key, fingerprint, state, lease_until, request)
VALUES (:store, 'pgbench-' || gen_random_uuid(), sha256(gen_random_uuid()::text::bytea),
        'completed', clock_timestamp(), {REQUEST}::jsonb)
RETURNING id AS c_id \\gset""",
    NEXT_NUMBER,
    ORDER,
    *ITEMS,
    ORDER_CREATED_ROW,
]


def transaction(isolation: str, statements: list[str], read_only: bool = False) -> list[str]:
    begin = "BEGIN" + (f" ISOLATION LEVEL {isolation}" if isolation else "")
    return [begin + (" READ ONLY;" if read_only else ";"), TENANT, *statements, "COMMIT;"]


def pgbench_script(store_id: int, variants: int, mode: str) -> str:
    """One order's SQL for pgbench (variables :store, :a and :b, a != b)."""
    head = [
        f"\\set store {store_id}",
        f"\\set a random(1, {variants})",
        # A second, different variant: a + 1 .. a + variants - 1, wrapped.
        f"\\set b 1 + (:a + random(0, {variants - 2})) % {variants}",
    ]
    if mode == "minimal":
        body = transaction("READ COMMITTED", MINIMAL)
    elif mode == "serializable":
        body = transaction("SERIALIZABLE", [*CLAIM, *RESERVE, *ACCOUNT, *FINALISE])
    elif mode == "as-service":
        body = [
            *transaction("", CLAIM),
            *transaction("SERIALIZABLE", RESERVE),
            *transaction("", ACCOUNT, read_only=True),
            *transaction("", FINALISE),
        ]
    else:
        raise ValueError(f"unknown pgbench mode {mode!r}; one of {MODES}")
    return "\n".join(head + body) + "\n"
