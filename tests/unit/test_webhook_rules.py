import pytest

from services.common.errors import InvalidArgument
from services.store.webhooks.rules import MAX_OVERLAP_SECONDS, overlap_seconds


def test_unset_overlap_is_the_default_and_zero_means_at_once():
    assert overlap_seconds(None) == 24 * 3600
    assert overlap_seconds(None, default=60) == 60
    assert overlap_seconds(0) == 0
    assert overlap_seconds(MAX_OVERLAP_SECONDS) == MAX_OVERLAP_SECONDS


@pytest.mark.parametrize("value", [-1, MAX_OVERLAP_SECONDS + 1])
def test_overlap_out_of_range_names_the_field(value):
    with pytest.raises(InvalidArgument) as err:
        overlap_seconds(value)
    [violation] = err.value.violations
    assert violation.field == "overlap_seconds"
