"""Customers' and accounts' pure rules: emails, tags, updates, what an order's address gives a
customer, signed-in checkout defaults, passwords, tokens and keys, the client address, pages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.checkout.customers import page_rules, password_rules, session_rules
from services.checkout.customers.rules import (
    Customer,
    MarketingConsent,
    address_for_customer,
    checkout_defaults,
    like_prefix,
    new_customer_from_order,
    normalise_tags,
    order_link_allowed,
    validate_change,
    validate_email,
    validate_query,
)
from services.common.errors import InvalidArgument

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _field(exc: pytest.ExceptionInfo[InvalidArgument]) -> str:
    return exc.value.violations[0].field


def _customer(**changes) -> Customer:
    base = dict(
        id=uuid.uuid4(),
        email="Ada@Example.com",
        name="Ada",
        phone=None,
        default_address={"name": "Ada", "line1": "1 Main St", "city": "X", "country": "US"},
        consent=MarketingConsent(),
        tags=(),
        note=None,
        orders_count=0,
        total_spent=0,
        currency="USD",
        has_account=True,
        created_at=NOW,
        updated_at=NOW,
    )
    return Customer(**{**base, **changes})


@pytest.mark.parametrize(
    "raw", ["", "ada", "ada@", "@example.com", "ada@localhost", "a b@example.com", "a\x00@x.io"]
)
def test_emails_that_are_not_addresses_are_refused(raw):
    with pytest.raises(InvalidArgument) as exc:
        validate_email(raw)
    assert _field(exc) == "email"


def test_email_bound_and_trim():
    assert validate_email("  ada@example.com ") == "ada@example.com"
    with pytest.raises(InvalidArgument):
        validate_email("a" * 250 + "@x.io")


def test_tags_are_trimmed_deduplicated_case_insensitively_and_bounded():
    assert normalise_tags([" VIP", "vip", "Wholesale "]) == ("VIP", "Wholesale")
    for bad, field in ((["x" * 41], "tags[0]"), (["ok", ""], "tags[1]"), (["a,b"], "tags[0]")):
        with pytest.raises(InvalidArgument) as exc:
            normalise_tags(bad)
        assert _field(exc) == field
    with pytest.raises(InvalidArgument) as exc:
        normalise_tags([f"t{i}" for i in range(51)])
    assert _field(exc) == "tags"
    assert len(normalise_tags([f"t{i}" for i in range(50)])) == 50


def test_a_change_names_something_and_is_bounded():
    with pytest.raises(InvalidArgument) as exc:
        validate_change(None, None, None)
    assert _field(exc) == "update"
    with pytest.raises(InvalidArgument) as exc:
        validate_change("x" * 5001, None, None)
    assert _field(exc) == "note"
    with pytest.raises(InvalidArgument) as exc:
        validate_change(None, None, "not_subscribed")
    assert _field(exc) == "marketing_consent.state"
    change = validate_change("", [], "subscribed")
    assert change.note == "" and change.tags == () and change.consent_state == "subscribed"


def test_query_is_a_literal_prefix():
    assert like_prefix("50%_off\\") == "50\\%\\_off\\\\%"
    assert like_prefix("Ada") == "ada%"
    with pytest.raises(InvalidArgument):
        validate_query("x" * 255)


def test_an_odd_address_is_dropped_never_refused():
    assert address_for_customer({"line1": "x" * 256, "city": "Y", "bogus": "z"}) == {"city": "Y"}
    assert address_for_customer({"line1": "a\x00b"}) is None
    assert address_for_customer({"city": 5}) is None
    # Within every field's bound but too big as a whole (ASCII-escaped JSON).
    assert address_for_customer({k: "\U0001f600" * 255 for k in ("name", "line1")}) is None
    new = new_customer_from_order("ada@example.com", {"name": " Ada\x00 ", "city": "Y"})
    # The name is cleaned for the customer; the address drops the field with a NUL.
    assert new.name == "Ada" and new.default_address == {"city": "Y"}


def test_orders_of_emails_no_customer_can_hold_stay_unlinked():
    assert order_link_allowed("ada@example.com")
    assert not order_link_allowed("ada@localhost") and not order_link_allowed("")


def test_signed_in_checkout_takes_the_accounts_email_and_address():
    me = _customer()
    empty = {"name": "", "line1": "", "city": "", "postal_code": "", "country": ""}
    assert checkout_defaults(me, "", empty) == ("Ada@Example.com", me.default_address)
    own = {"name": "B", "line1": "2 Side St"}
    assert checkout_defaults(me, "ada@example.COM", own) == ("Ada@Example.com", own)
    with pytest.raises(InvalidArgument) as exc:
        checkout_defaults(me, "eve@example.com", own)
    assert _field(exc) == "email"


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("short1", "at least 8"),
        ("x" * 129, "at most 128"),
        ("password1", "most common"),
        ("QWERTYUIOP", "most common"),
        ("ab\x00cdefghij", "NUL"),
    ],
)
def test_weak_or_malformed_passwords_are_refused(password, says):
    with pytest.raises(InvalidArgument) as exc:
        password_rules.check_new_password(password, "password")
    assert _field(exc) == "password" and says in exc.value.message


def test_passwords_are_nfkc_normalised_and_sign_in_candidates_bounded():
    # The fullwidth and the ASCII spelling are one password.
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c != "-" else c for c in "plum-otter-91")
    assert password_rules.check_new_password(fullwidth, "p") == "plum-otter-91"
    assert password_rules.candidate("x" * 600) is None
    assert password_rules.candidate("a\x00b") is None
    assert password_rules.candidate(fullwidth) == "plum-otter-91"


def test_tokens_are_prefixed_random_and_stored_as_hashes():
    a, b = session_rules.new_session_token(), session_rules.new_session_token()
    assert a != b and a.startswith("shpss_") and len(a) > 40
    assert session_rules.plausible(a, session_rules.SESSION_PREFIX)
    assert not session_rules.plausible(a, session_rules.EMAIL_TOKEN_PREFIX)
    assert not session_rules.plausible("shpss_" + "x" * 200, session_rules.SESSION_PREFIX)
    hashed = session_rules.token_hash(a)
    assert a not in session_rules.session_key(7, hashed)
    assert session_rules.session_key(7, hashed) != session_rules.session_key(8, hashed)


def test_throttle_keys_never_hold_the_email():
    keys = session_rules.throttle_keys("signin", 3, "ada@example.com", "198.51.100.7")
    assert len(keys) == 2 and not any("ada" in k for k in keys)
    assert keys[1].endswith("client:198.51.100.7")
    assert session_rules.throttle_keys("token", 3, None, "x") == ["shopper:throttle:token:client:x"]


@pytest.mark.parametrize(
    ("forwarded", "peer", "client"),
    [
        (["203.0.113.9,198.51.100.7"], "ipv4:127.0.0.1:5000", "198.51.100.7"),
        (["203.0.113.9", "198.51.100.8"], "ipv4:127.0.0.1:5000", "198.51.100.8"),
        ([], "ipv4:10.1.2.3:40000", "10.1.2.3"),
        ([], "ipv6:[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"),
        (["::ffff:192.0.2.1"], "", "192.0.2.1"),
        (["not-an-address"], "", "unknown"),
    ],
)
def test_the_client_is_the_last_hop_envoy_appended(forwarded, peer, client):
    assert session_rules.client_address(forwarded, peer) == client


def test_page_tokens_are_bound_to_their_query_and_sort():
    row = uuid.uuid4()
    token = page_rules.encode("total_spent", {"query": "ada"}, 4500, row)
    assert page_rules.decode(token, "total_spent", {"query": "ada"}) == (4500, row)
    for kind, criteria in (("newest", {"query": "ada"}), ("total_spent", {"query": "bob"})):
        with pytest.raises(InvalidArgument) as exc:
            page_rules.decode(token, kind, criteria)
        assert _field(exc) == "page_token"
    with pytest.raises(InvalidArgument):
        page_rules.decode("bm90IGEgdG9rZW4", "newest", {})
    stamp = page_rules.encode("newest", {}, NOW, row)
    assert page_rules.decode(stamp, "newest", {}) == (NOW, row)
    assert page_rules.page_size(0, 50, 250) == 50 and page_rules.page_size(999, 50, 250) == 250
    with pytest.raises(InvalidArgument):
        page_rules.page_size(-1, 50, 250)
