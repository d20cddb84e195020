import itertools
import random
import time

from services.events.backoff import max_attempts, nominal_delay, retry_delay
from services.events.signing import sign, signature_header, signatures, verify

SECRET = "s3cret"
BODY = b'{"order_number": 1001}'


def test_signature_round_trip():
    ts = int(time.time())
    assert verify(SECRET, str(ts), BODY, signature_header([SECRET], ts, BODY))


def test_tampered_body_or_wrong_secret_fails():
    ts = int(time.time())
    signature = signature_header([SECRET], ts, BODY)
    assert not verify(SECRET, str(ts), BODY.replace(b"1001", b"1002"), signature)
    assert not verify("other", str(ts), BODY, signature)


def test_old_or_future_timestamp_fails_even_with_a_valid_signature():
    old = int(time.time()) - 301
    assert not verify(SECRET, str(old), BODY, signature_header([SECRET], old, BODY))
    future = int(time.time()) + 301
    assert not verify(SECRET, str(future), BODY, signature_header([SECRET], future, BODY))
    assert not verify(SECRET, "not-a-number", BODY, signature_header([SECRET], 0, BODY))


def test_signature_binds_the_timestamp():
    ts = int(time.time())
    assert not verify(SECRET, str(ts - 1), BODY, signature_header([SECRET], ts, BODY))


def test_header_with_two_secrets_verifies_with_either_and_nothing_else():
    ts = int(time.time())
    header = signature_header(["new", "old"], ts, BODY)
    assert header == f"v1={sign('new', ts, BODY)},v1={sign('old', ts, BODY)}"
    assert signatures(header) == [sign("new", ts, BODY), sign("old", ts, BODY)]
    assert verify("new", str(ts), BODY, header)
    assert verify("old", str(ts), BODY, header)
    assert not verify("third", str(ts), BODY, header)


def test_only_v1_values_count():
    ts = int(time.time())
    assert not verify(SECRET, str(ts), BODY, f"v0={sign(SECRET, ts, BODY)}")
    assert not verify(SECRET, str(ts), BODY, sign(SECRET, ts, BODY))  # a bare value
    assert verify(SECRET, str(ts), BODY, f"v0=x, v1={sign(SECRET, ts, BODY)}")


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
