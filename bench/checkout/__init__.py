"""Checkout through Envoy over REST, against the Stripe emulator, and the database's own limit.

1. Spread (spread.py): every checkout buys two random variants out of 10,000 (one unit each),
   at 32 concurrent with the emulator answering in 0 ms and in 100 ms, and at 256 concurrent
   with 100 ms (whose orders/s is compared with the 0 ms figure: target >= 80%). Reported:
   orders/s, p50 / p99 of the checkout request, serialization retries (the checkout's
   Prometheus counter), and CPU ms per order summed over every process of the platform: Envoy,
   the store, catalog and checkout services, the outbox relay, the consumers, the Stripe
   emulator and this database's PostgreSQL backends. The CPU window runs from the first
   request until the order.created events are published and the confirmation emails sent, so
   the asynchronous work an order causes (relay, email consumer, Stripe's webhook back through
   Envoy) is in it. A 5 s warm-up runs first, then ANALYZE (see __main__: fresh, never-analyzed
   checkout tables make the planner pick a plan that fails most reservations); the warm-up's
   figures are kept in the JSON as "warmup_cold_stats". Checkouts that wrk cuts off when its
   time is up are finished by the recovery worker (30 s lease) between runs, outside any window.
1b. Shipping and tax (shipping_tax.py): at 32 concurrent, 0 ms, runs alternate a store with no
   shipping zone or tax rate and the same store with a zone, a flat rate and a tax rate on lines
   and shipping (checkouts send shipping_rate_id and a taxed address), twice each; reported:
   both orders/s and mean(with) / mean(without), target >= 0.90 (issue 12).
   `--shipping-only 1` runs only the warm-up and this phase.
2. Hot SKU (hot_sku.py): one variant with stock 50, 200 buyers at once (each with its own
   cart; a 409 is retried with the same Idempotency-Key, as a client would): orders placed
   (must be 50), time until the 50th order was confirmed, 400 (sold out) and 409 counts.
   Opposite-order carts (opposite.py): 200 buyers at once whose carts hold the same two
   variants, half in one order and half in the other, with stock for all: every buyer must get
   an order, with 0 contention 409s and the stock left exact.
3. pgbench (pgbench.py, reference_sql.py), 8 clients, as shop_app (RLS applies), spread over
   the same variants, with the services stopped: "minimal", the smallest correct order
   transaction (READ COMMITTED), the fixed physical reference: "reference" in the JSON holds
   checkout orders/s (32c, 0 ms) / its TPS, target >= 0.15; "serializable" and "as-service", the
   statements the service ran up to c9bfe3a, in one SERIALIZABLE transaction or split as it
   split them (kept for comparison with earlier runs). The ratio checkout orders/s (spread,
   32, 0 ms) / pgbench TPS is printed for each.

Seeding (bench.seeding) bypasses the API where the API would be the slow part: the 10,000
variants are COPYed as the admin (superuser) role with session_replication_role = replica, and
every cart is written straight to Redis in the checkout service's own format (carts.py), ahead
of its measured window, so the measured requests are checkouts only; one cart of each batch is
read back through GET /v1/carts to check the format. The store signs up through the API, is
onboarded to Stripe Connect on the emulator (devstack.payments) and is put on the enterprise
plan (SQL as admin) so Envoy's per-store limit does not cap the run; the hot SKU is created
through the admin API.

The load generator is wrk (C) with a Lua script reading cart ids and Idempotency-Keys from a
pre-generated file (load.py); its CPU is reported on its own, as is that of the SMTP sink (it
stands in for the mail provider; it runs in this process). Redis and RabbitMQ are shared with
whatever else runs on the machine: their CPU is shown but left out of the per-order total.

The machine is shared: each run also reports how busy all cores were and how much of that
was not this benchmark ("others_busy_cores").

Run with `make bench` or `python -m bench.checkout --seconds 20` (about 4 minutes);
`--smoke` for a tiny run."""
