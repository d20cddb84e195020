"""Conversions between catalog protobuf messages and domain/repository objects."""

from __future__ import annotations

from shop.catalog.v1 import catalog_pb2 as pb
from shop.common.v1 import money_pb2

from services.catalog.products.repository import ProductRow, VariantRow
from services.catalog.products.rules import (
    AdminQuery,
    ImageInput,
    MoneyInput,
    ProductDraft,
    VariantDraft,
)
from services.catalog.products.rules import admin_query as validate_admin_query
from services.catalog.products.writes import ProductPatch, VariantPatch
from services.common.messages import optional_money, to_timestamp

_STATUS_IN = {
    pb.PRODUCT_STATUS_UNSPECIFIED: "draft",
    pb.PRODUCT_STATUS_DRAFT: "draft",
    pb.PRODUCT_STATUS_ACTIVE: "active",
    pb.PRODUCT_STATUS_ARCHIVED: "archived",
}
_STATUS_OUT = {
    "draft": pb.PRODUCT_STATUS_DRAFT,
    "active": pb.PRODUCT_STATUS_ACTIVE,
    "archived": pb.PRODUCT_STATUS_ARCHIVED,
}
_POLICY_IN = {
    pb.INVENTORY_POLICY_UNSPECIFIED: "deny",
    pb.INVENTORY_POLICY_DENY: "deny",
    pb.INVENTORY_POLICY_CONTINUE: "continue",
}
_POLICY_OUT = {"deny": pb.INVENTORY_POLICY_DENY, "continue": pb.INVENTORY_POLICY_CONTINUE}


_ADMIN_SORTS = {
    pb.ADMIN_PRODUCT_SORT_UNSPECIFIED: "newest",
    pb.ADMIN_PRODUCT_SORT_NEWEST: "newest",
    pb.ADMIN_PRODUCT_SORT_TITLE: "title",
}
_STATUS_FILTER = {
    pb.PRODUCT_STATUS_UNSPECIFIED: "",
    pb.PRODUCT_STATUS_DRAFT: "draft",
    pb.PRODUCT_STATUS_ACTIVE: "active",
    pb.PRODUCT_STATUS_ARCHIVED: "archived",
}


def admin_query(request: pb.AdminListProductsRequest) -> AdminQuery:
    return validate_admin_query(
        sort=_ADMIN_SORTS.get(request.sort, "?"),
        status=_STATUS_FILTER.get(request.status, "?"),
        tag=request.tag,
        product_type=request.product_type,
        vendor=request.vendor,
        query=request.query,
    )


def _money_in(message: money_pb2.Money, present: bool) -> MoneyInput | None:
    if not present:
        return None
    return MoneyInput(message.amount_minor, message.currency_code)


def variant_draft(v: pb.VariantInput) -> VariantDraft:
    return VariantDraft(
        sku=v.sku,
        title=v.title,
        price=_money_in(v.price, v.HasField("price")),
        compare_at_price=_money_in(v.compare_at_price, v.HasField("compare_at_price")),
        inventory_quantity=v.inventory_quantity,
        # Unknown enum numbers pass through as "?" so validation names the field.
        inventory_policy=_POLICY_IN.get(v.inventory_policy, "?"),
        option_values=tuple(v.option_values),
        weight_grams=v.weight_grams if v.HasField("weight_grams") else None,
    )


def _images_in(images) -> tuple[ImageInput, ...]:
    return tuple(ImageInput(i.url, i.alt_text, i.position) for i in images)


def product_draft(request: pb.CreateProductRequest) -> ProductDraft:
    return ProductDraft(
        title=request.title,
        handle=request.handle,
        description=request.description,
        status=_STATUS_IN.get(request.status, "?"),
        options=tuple(request.options),
        variants=tuple(variant_draft(v) for v in request.variants),
        images=_images_in(request.images),
        tags=tuple(request.tags),
        product_type=request.product_type,
        vendor=request.vendor,
    )


def _mask_paths(mask, present: set[str]) -> frozenset[str]:
    """The paths to update: the mask when given, else the fields present in the request."""
    return frozenset(mask.paths) if mask.paths else frozenset(present)


def product_patch(request: pb.UpdateProductRequest) -> ProductPatch:
    p = request.product
    present = {f.name for f, _ in p.ListFields()}
    return ProductPatch(
        paths=_mask_paths(request.update_mask, present),
        title=p.title,
        handle=p.handle,
        description=p.description,
        status=_STATUS_IN.get(p.status, "?") if p.status else "?",
        options=tuple(p.options),
        images=_images_in(p.images),
        tags=tuple(p.tags),
        product_type=p.product_type,
        vendor=p.vendor,
    )


def variant_patch(request: pb.UpdateVariantRequest) -> VariantPatch:
    v = request.variant
    present = {f.name for f, _ in v.ListFields()}
    return VariantPatch(
        paths=_mask_paths(request.update_mask, present),
        sku=v.sku,
        title=v.title,
        price=_money_in(v.price, v.HasField("price")),
        compare_at_price=_money_in(v.compare_at_price, v.HasField("compare_at_price")),
        inventory_policy=_POLICY_IN.get(v.inventory_policy, "?"),
        option_values=tuple(v.option_values),
        weight_grams=v.weight_grams if v.HasField("weight_grams") else None,
    )


def admin_variant(v: VariantRow, product_id: str = "") -> pb.Variant:
    return pb.Variant(
        product_id=product_id,
        id=str(v.id),
        sku=v.sku or "",
        title=v.title,
        price=optional_money(v.price, v.currency),
        compare_at_price=optional_money(v.compare_at_price, v.currency),
        inventory_quantity=v.inventory_quantity,
        inventory_policy=_POLICY_OUT[v.inventory_policy],
        option_values=list(v.option_values),
        position=v.position,
        version=v.version,
        weight_grams=v.weight_grams or 0,
    )


def admin_product(p: ProductRow) -> pb.Product:
    return pb.Product(
        id=str(p.id),
        handle=p.handle,
        title=p.title,
        description=p.description,
        status=_STATUS_OUT[p.status],
        options=list(p.options),
        variants=[admin_variant(v, str(p.id)) for v in p.variants],
        created_at=to_timestamp(p.created_at),
        updated_at=to_timestamp(p.updated_at),
        images=images_out(p),
        tags=list(p.tags),
        product_type=p.product_type,
        vendor=p.vendor,
    )


def images_out(p: ProductRow) -> list[pb.ProductImage]:
    return [pb.ProductImage(url=i.url, alt_text=i.alt_text, position=i.position) for i in p.images]


def storefront_product(p: ProductRow) -> pb.StorefrontProduct:
    variants = [
        pb.StorefrontVariant(
            id=str(v.id),
            sku=v.sku or "",
            title=v.title,
            price=optional_money(v.price, v.currency),
            compare_at_price=optional_money(v.compare_at_price, v.currency),
            available=v.available,
            option_values=list(v.option_values),
        )
        for v in p.variants
    ]
    return pb.StorefrontProduct(
        id=str(p.id),
        handle=p.handle,
        title=p.title,
        description=p.description,
        options=list(p.options),
        variants=variants,
        available=any(v.available for v in variants),
        images=images_out(p),
    )
