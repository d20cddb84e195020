"""Local runtime: finds or starts PostgreSQL and Redis, migrates, and runs the services and
Envoy as processes. Used by `make run`, the test suite and the benchmarks, so all three run
the platform the same way. A development tool: the services never import it."""
