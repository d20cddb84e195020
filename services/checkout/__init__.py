"""Checkout service: carts, idempotent checkout and payments (built in the checkout issue)."""
