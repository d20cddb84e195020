"""Events: the outbox relay (PostgreSQL → RabbitMQ) and the consumers (email, webhooks,
inventory alerts). Each runs as its own process."""
