import uuid
from datetime import UTC, datetime

import pytest

from services.common import cursor
from services.common.errors import InvalidArgument


def test_round_trip_keeps_microseconds_and_id():
    position = cursor.Position(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), uuid.uuid4())
    assert cursor.decode(cursor.encode(position)) == position


@pytest.mark.parametrize("token", ["garbage!", "e30", cursor.encode.__name__, "eyJ2IjogMn0"])
def test_foreign_tokens_are_invalid_argument(token):
    with pytest.raises(InvalidArgument) as err:
        cursor.decode(token)
    assert err.value.violations[0].field == "page_token"
