import pytest

from services.common.errors import InvalidArgument
from services.store.stores.settings_rules import MAX_SETTINGS_BYTES, validate_settings_change


def _fields(**kwargs) -> list[str]:
    args = {"name": None, "theme_id": None, "low_stock_threshold": None, "settings": None}
    with pytest.raises(InvalidArgument) as err:
        validate_settings_change(**{**args, **kwargs})
    return [v.field for v in err.value.violations]


def test_only_given_fields_are_in_the_change():
    change = validate_settings_change(
        name=" Shop ", theme_id=None, low_stock_threshold=0, settings=None
    )
    assert (change.name, change.theme_id, change.low_stock_threshold, change.settings) == (
        "Shop",
        None,
        0,
        None,
    )


def test_schema_violations_carry_their_json_paths():
    assert _fields(
        settings={"checkout": {"tipping_percentages": [5, 500]}, "languages": ["en", "EN"]}
    ) == ["settings.checkout.tipping_percentages[1]", "settings.languages[1]"]


def test_oversized_settings_are_refused():
    assert _fields(settings={"announcement": "x" * 100, "pad": "y" * MAX_SETTINGS_BYTES}) == [
        "settings"
    ]


def test_empty_request_is_refused():
    assert _fields() == ["request"]


def test_deeply_nested_settings_are_refused_by_name():
    from services.common.errors import Validator
    from services.store.stores.settings_rules import settings_violations

    nested: object = "x"
    for _ in range(12):
        nested = {"a": nested}
    v = Validator()
    settings_violations({"social_links": nested}, v)
    assert [x.field for x in v.violations] == ["settings"]
    assert "nest at most 8 levels" in v.violations[0].description
