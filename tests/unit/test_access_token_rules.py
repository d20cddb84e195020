import pytest

from services.common.errors import InvalidArgument, PermissionDenied
from services.store.tokens.rules import ALL_SCOPES, validate_new_token


def test_scopes_are_deduplicated_and_sorted():
    new = validate_new_token(
        " sync ", ["write_inventory", "read_products", "read_products"], ALL_SCOPES
    )
    assert new == validate_new_token("sync", ["read_products", "write_inventory"], ALL_SCOPES)
    assert new.scopes == ("read_products", "write_inventory")


def test_cannot_grant_a_scope_the_caller_lacks():
    with pytest.raises(PermissionDenied) as err:
        validate_new_token("x", ["read_products", "write_orders"], frozenset({"read_products"}))
    assert "write_orders" in err.value.message


@pytest.mark.parametrize(
    ("name", "scopes", "field"),
    [
        ("x", ["nope"], "scopes"),
        ("x", [], "scopes"),
        ("", ["read_store"], "name"),
        ("y" * 101, ["read_store"], "name"),
    ],
)
def test_invalid(name, scopes, field):
    with pytest.raises(InvalidArgument) as err:
        validate_new_token(name, scopes, ALL_SCOPES)
    assert [v.field for v in err.value.violations] == [field]
