import pytest

from services.catalog.products.rules import (
    MoneyInput,
    ProductDraft,
    VariantDraft,
    is_available,
    slugify,
    validate_product,
)
from services.common.errors import InvalidArgument


def _variant(**kw) -> VariantDraft:
    return VariantDraft(**{"price": MoneyInput(1000, ""), **kw})


def _fields(draft: ProductDraft) -> list[str]:
    with pytest.raises(InvalidArgument) as err:
        validate_product(draft, "USD")
    return [v.field for v in err.value.violations]


def test_generates_handle_and_defaults():
    product = validate_product(ProductDraft(title="Blue Shirt!", variants=(_variant(),)), "USD")
    assert product.handle == "blue-shirt" and product.handle_generated
    assert product.status == "draft"
    assert product.variants[0].title == "Default Title"
    assert product.variants[0].position == 1


def test_slugify_strips_accents_and_symbols():
    assert slugify("  Crème Brûlée — 2 pack ") == "creme-brulee-2-pack"


def test_needs_at_least_one_and_at_most_100_variants():
    assert _fields(ProductDraft(title="x")) == ["variants"]
    assert _fields(ProductDraft(title="x", variants=tuple(_variant() for _ in range(101)))) == [
        "variants"
    ]


def test_prices():
    assert _fields(ProductDraft(title="x", variants=(VariantDraft(),))) == ["variants[0].price"]
    assert _fields(ProductDraft(title="x", variants=(_variant(price=MoneyInput(-1, "")),))) == [
        "variants[0].price.amount_minor"
    ]
    assert _fields(
        ProductDraft(title="x", variants=(_variant(compare_at_price=MoneyInput(999, "")),))
    ) == ["variants[0].compare_at_price"]
    assert _fields(ProductDraft(title="x", variants=(_variant(price=MoneyInput(5, "EUR")),))) == [
        "variants[0].price.currency_code"
    ]


def test_option_values_must_match_options_and_be_distinct():
    draft = ProductDraft(
        title="x",
        options=("Size",),
        variants=(_variant(option_values=("S",)), _variant(option_values=("s",)), _variant()),
    )
    assert _fields(draft) == ["variants[2].option_values", "variants[1].option_values"]


def test_duplicate_skus_in_one_request():
    draft = ProductDraft(title="x", variants=(_variant(sku="A-1"), _variant(sku="A-1")))
    assert _fields(draft) == ["variants[1].sku"]


def test_negative_stock_only_with_continue_policy():
    assert _fields(ProductDraft(title="x", variants=(_variant(inventory_quantity=-1),))) == [
        "variants[0].inventory_quantity"
    ]
    ok = validate_product(
        ProductDraft(
            title="x",
            variants=(_variant(inventory_quantity=-1, inventory_policy="continue"),),
        ),
        "USD",
    )
    assert ok.variants[0].inventory_quantity == -1


def test_explicit_handle_rules_and_option_limit():
    assert _fields(ProductDraft(title="x", handle="Not A Slug", variants=(_variant(),))) == [
        "handle"
    ]
    assert "options" in _fields(
        ProductDraft(
            title="x", options=("a", "b", "c", "d"), variants=(_variant(option_values=("1",) * 4),)
        )
    )


def test_availability():
    assert is_available(1, "deny") and not is_available(0, "deny")
    assert is_available(0, "continue") and is_available(-3, "continue")
