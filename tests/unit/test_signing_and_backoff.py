import itertools
import random
import time

from services.events.backoff import max_attempts, nominal_delay, retry_delay
from services.events.signing import sign, verify

SECRET = "s3cret"
BODY = b'{"order_number": 1001}'


def test_signature_round_trip():
    ts = int(time.time())
    assert verify(SECRET, str(ts), BODY, sign(SECRET, ts, BODY))


def test_tampered_body_or_wrong_secret_fails():
    ts = int(time.time())
    signature = sign(SECRET, ts, BODY)
    assert not verify(SECRET, str(ts), BODY.replace(b"1001", b"1002"), signature)
    assert not verify("other", str(ts), BODY, signature)


def test_old_or_future_timestamp_fails_even_with_a_valid_signature():
    old = int(time.time()) - 301
    assert not verify(SECRET, str(old), BODY, sign(SECRET, old, BODY))
    future = int(time.time()) + 301
    assert not verify(SECRET, str(future), BODY, sign(SECRET, future, BODY))
    assert not verify(SECRET, "not-a-number", BODY, sign(SECRET, 0, BODY))


def test_signature_binds_the_timestamp():
    ts = int(time.time())
    assert not verify(SECRET, str(ts - 1), BODY, sign(SECRET, ts, BODY))


def test_delays_grow_with_jitter_and_budget_is_about_four_hours():
    rng = random.Random(7)
    delays = [retry_delay(15, n, rng) for n in range(1, 9)]
    assert all(b >= a for a, b in itertools.pairwise(delays))
    assert all(
        nominal_delay(15, n) / 2 <= d <= nominal_delay(15, n) for n, d in enumerate(delays, 1)
    )
    attempts = max_attempts(15, 4 * 3600)
    spent = sum(nominal_delay(15, n) for n in range(1, attempts))
    assert 3 * 3600 <= spent <= 4 * 3600
    assert 10 <= attempts <= 14
