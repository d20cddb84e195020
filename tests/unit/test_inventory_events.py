import uuid

from services.common.inventory_events import Level, change_events, crossed_low


def _level(quantity: int, version: int) -> Level:
    return Level(uuid.UUID(int=1), "SKU-1", uuid.UUID(int=2), quantity, version, "deny")


def test_low_stock_fires_only_when_falling_to_the_threshold_from_above():
    assert crossed_low(6, 5, 5) and crossed_low(10, 0, 5)
    assert not crossed_low(5, 4, 5)  # already low
    assert not crossed_low(3, 8, 5)  # restock
    assert not crossed_low(9, 6, 5)  # still above


def test_change_events_keys_follow_the_new_version():
    events = change_events(7, "adjusted", _level(6, 3), _level(4, 4), 5)
    assert [e.routing_key for e in events] == ["inventory.adjusted.7", "inventory.low.7"]
    assert events[0].key == f"inventory:{uuid.UUID(int=1)}:4"
    assert events[0].data["delta"] == -2 and events[1].data["threshold"] == 5
    assert [e.routing_key for e in change_events(7, "synced", _level(4, 4), _level(3, 5), 5)] == [
        "inventory.synced.7"
    ]
