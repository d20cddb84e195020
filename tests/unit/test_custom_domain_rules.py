from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import InvalidArgument
from services.store.domains.rules import Lookup, normalise_domain, recheck, verification_name

PLATFORM = "myshop.localhost"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Shop.Example.COM.", "shop.example.com"),
        ("  shop.example.com  ", "shop.example.com"),
        ("bücher.example.de", "xn--bcher-kva.example.de"),
        ("BÜCHER.example.de", "xn--bcher-kva.example.de"),
        ("a-b.c-d.example.co.uk", "a-b.c-d.example.co.uk"),
        ("shop.xn--p1ai", "shop.xn--p1ai"),
    ],
)
def test_normalised(raw, expected):
    assert normalise_domain(raw, PLATFORM) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        ".",
        "localhost",
        "10.0.0.1",
        "shop.example.123",
        "-shop.example.com",
        "shop-.example.com",
        "sh op.example.com",
        "shop..example.com",
        "under_score.example.com",
        f"{'a' * 64}.example.com",
        ".".join(["abcdefghi"] * 26) + ".com",  # > 253 characters
        PLATFORM,
        f"acme.{PLATFORM}",
        f"ACME.{PLATFORM.upper()}.",
    ],
)
def test_refused(raw):
    with pytest.raises(InvalidArgument) as err:
        normalise_domain(raw, PLATFORM)
    assert [v.field for v in err.value.violations] == ["domain"]


def test_verification_record_name():
    assert verification_name("shop.example.com", "myshop") == "_myshop-verify.shop.example.com"


NOW = datetime(2026, 1, 1, tzinfo=UTC)
GRACE = timedelta(hours=72)


def test_match_clears_failure():
    outcome = recheck(Lookup.MATCH, NOW - timedelta(hours=100), NOW, GRACE)
    assert outcome.failing_since is None and not outcome.unverify


def test_first_miss_starts_the_grace_period():
    outcome = recheck(Lookup.MISSING, None, NOW, GRACE)
    assert outcome.failing_since == NOW and not outcome.unverify


def test_miss_within_grace_keeps_the_domain():
    since = NOW - GRACE + timedelta(seconds=1)
    outcome = recheck(Lookup.MISSING, since, NOW, GRACE)
    assert outcome.failing_since == since and not outcome.unverify


def test_miss_past_grace_unverifies():
    assert recheck(Lookup.MISSING, NOW - GRACE, NOW, GRACE).unverify


@pytest.mark.parametrize("since", [None, NOW - GRACE * 10])
def test_lookup_errors_never_unverify_nor_start_the_clock(since):
    outcome = recheck(Lookup.ERROR, since, NOW, GRACE)
    assert outcome.failing_since == since and not outcome.unverify
