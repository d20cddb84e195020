"""Retry schedule for webhook deliveries: doubling delays with "equal jitter" (each delay is
random in [d/2, d]), so delays still grow attempt after attempt, until the budget (~4 h) is
spent; then the delivery is marked failed (dead-lettered) and can be redelivered by hand."""

from __future__ import annotations

import random

MAX_DELAY_SECONDS = 3600.0


def nominal_delay(base: float, attempt: int) -> float:
    """Delay before retry number `attempt` (1 = first retry)."""
    return min(base * 2 ** (attempt - 1), MAX_DELAY_SECONDS)


def retry_delay(base: float, attempt: int, rng: random.Random | None = None) -> float:
    d = nominal_delay(base, attempt)
    return d / 2 + (rng or random).uniform(0, d / 2)


def max_attempts(base: float, budget: float) -> int:
    """Attempts (the first one included) whose nominal delays fit within the budget."""
    attempts, spent = 1, 0.0
    while spent + nominal_delay(base, attempts) <= budget:
        spent += nominal_delay(base, attempts)
        attempts += 1
    return attempts
