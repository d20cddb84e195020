import pytest

from services.common.errors import InvalidArgument
from services.store.stores.rules import validate_new_store
from services.store.tokens.rules import hash_token, new_access_token


def _fields(exc: InvalidArgument) -> list[str]:
    return [v.field for v in exc.violations]


def test_normalises_case_and_whitespace():
    store = validate_new_store(" Acme ", " Acme-Shop ", "o@example.com", "usd")
    assert (store.name, store.subdomain, store.currency) == ("Acme", "acme-shop", "USD")


@pytest.mark.parametrize(
    "subdomain",
    ["ab", "a" * 64, "-abc", "abc-", "a_b", "ab.c", "www", "api", "admin", "xn--abc", "çava"],
)
def test_rejects_bad_subdomains(subdomain):
    with pytest.raises(InvalidArgument) as err:
        validate_new_store("Acme", subdomain, "o@example.com", "USD")
    assert _fields(err.value) == ["subdomain"]


@pytest.mark.parametrize("subdomain", ["abc", "a" * 63, "my-shop-2", "007"])
def test_accepts_good_subdomains(subdomain):
    assert validate_new_store("Acme", subdomain, "o@example.com", "USD").subdomain == subdomain


def test_reports_every_bad_field():
    with pytest.raises(InvalidArgument) as err:
        validate_new_store("", "ok-shop", "not-an-email", "DOLLARS")
    assert _fields(err.value) == ["name", "owner_email", "currency"]


def test_tokens_are_random_and_hashed():
    a, b = new_access_token(), new_access_token()
    assert a != b and a.startswith("shpat_") and len(a) > 40
    assert hash_token(a) != hash_token(b) and len(hash_token(a)) == 32
