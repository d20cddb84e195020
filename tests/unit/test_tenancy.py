import pytest

from services.common.errors import Unauthenticated
from services.common.tenancy import current_store_id, parse_store_id, require_store_id


def test_parses_one_positive_id():
    assert parse_store_id(["42"]) == 42


@pytest.mark.parametrize(
    "values", [[], [""], ["0"], ["-1"], ["1.5"], ["abc"], ["1", "2"], ["٣"], [str(2**63)]]
)
def test_missing_ambiguous_or_malformed_is_unauthenticated(values):
    with pytest.raises(Unauthenticated):
        parse_store_id(values)


def test_no_store_in_context_fails_closed():
    assert current_store_id.get() is None
    with pytest.raises(Unauthenticated):
        require_store_id()
