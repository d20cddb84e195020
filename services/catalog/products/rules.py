"""Catalog rules: what a valid product is. Plain Python: no gRPC, SQL or Redis here."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from services.common import limits
from services.common.errors import Validator
from services.common.stock_rules import in_stock

MAX_VARIANTS = 100
MAX_OPTIONS = 3
MAX_IMAGES = 250
# 10^13 minor units: far above any real price, far below int64 overflow in any sum.
MAX_AMOUNT = 10**13
MAX_INVENTORY = 10**9
MAX_TAGS = 250
MAX_TEXT = limits.NAME  # a tag, a product type, a vendor
HANDLE_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
STATUSES = ("draft", "active", "archived")
POLICIES = ("deny", "continue")

# A variant's weight per unit (100 t): the database CHECK's bound too (migration 0012).
MAX_WEIGHT_GRAMS = 100_000_000


@dataclass(frozen=True)
class MoneyInput:
    amount_minor: int
    currency: str  # "" means the store's currency


@dataclass(frozen=True)
class VariantDraft:
    sku: str = ""
    title: str = ""
    price: MoneyInput | None = None
    compare_at_price: MoneyInput | None = None
    inventory_quantity: int = 0
    inventory_policy: str = "deny"
    option_values: tuple[str, ...] = ()
    # Grams per unit (weight-band shipping rates); None: weighs nothing.
    weight_grams: int | None = None


@dataclass(frozen=True)
class ImageInput:
    url: str
    alt_text: str = ""
    position: int = 0


@dataclass(frozen=True)
class Image:
    url: str
    alt_text: str
    position: int


@dataclass(frozen=True)
class ProductDraft:
    title: str
    handle: str = ""
    description: str = ""
    status: str = "draft"
    options: tuple[str, ...] = ()
    variants: tuple[VariantDraft, ...] = field(default_factory=tuple)
    images: tuple[ImageInput, ...] = ()
    tags: tuple[str, ...] = ()
    product_type: str = ""
    vendor: str = ""


@dataclass(frozen=True)
class NewVariant:
    position: int
    sku: str | None
    title: str
    price: int
    compare_at_price: int | None
    inventory_quantity: int
    inventory_policy: str
    option_values: tuple[str, ...]
    weight_grams: int | None = None


@dataclass(frozen=True)
class NewProduct:
    title: str
    handle: str
    handle_generated: bool
    description: str
    status: str
    options: tuple[str, ...]
    variants: tuple[NewVariant, ...]
    images: tuple[Image, ...] = ()
    tags: tuple[str, ...] = ()
    product_type: str = ""
    vendor: str = ""


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:200].rstrip("-")


def _money(v: Validator, name: str, money: MoneyInput | None, currency: str) -> int | None:
    if money is None:
        return None
    ok = v.check(
        0 <= money.amount_minor <= MAX_AMOUNT,
        f"{name}.amount_minor",
        f"must be between 0 and {MAX_AMOUNT} minor units",
    )
    if money.currency and money.currency.upper() != currency:
        v.fail(f"{name}.currency_code", f"must be the store's currency {currency} (or empty)")
        ok = False
    return money.amount_minor if ok else None


def check_variant(
    v: Validator,
    f: str,
    position: int,
    draft: VariantDraft,
    options: tuple[str, ...],
    currency: str,
) -> NewVariant:
    """Validates one variant; `f` prefixes field names (e.g. "variants[2]" or "variant")."""
    sku = draft.sku.strip()
    if sku:
        v.check(
            bool(SKU_RE.match(sku)),
            f"{f}.sku",
            "must be 1 to 64 characters of letters, digits and . _ / -",
        )
    if draft.price is None:
        v.fail(f"{f}.price", "is required")
    price = _money(v, f"{f}.price", draft.price, currency)
    compare_at = _money(v, f"{f}.compare_at_price", draft.compare_at_price, currency)
    if price is not None and compare_at is not None and compare_at < price:
        v.fail(f"{f}.compare_at_price", "must be greater than or equal to price")
    policy = draft.inventory_policy
    v.check(policy in POLICIES, f"{f}.inventory_policy", "must be DENY or CONTINUE")
    qty = draft.inventory_quantity
    v.check(
        abs(qty) <= MAX_INVENTORY, f"{f}.inventory_quantity", f"must be within ±{MAX_INVENTORY}"
    )
    if qty < 0 and policy != "continue":
        v.fail(f"{f}.inventory_quantity", "must be >= 0 unless inventory_policy is CONTINUE")
    values = tuple(x.strip() for x in draft.option_values)
    if len(values) != len(options):
        v.fail(
            f"{f}.option_values",
            f"needs exactly {len(options)} value(s), one per product option {list(options)}",
        )
    for j, value in enumerate(values):
        if limits.check_text(v, f"{f}.option_values[{j}]", value, limits.NAME):
            v.check(bool(value), f"{f}.option_values[{j}]", "must be 1 to 255 characters")
    if draft.weight_grams is not None:
        v.check(
            0 <= draft.weight_grams <= MAX_WEIGHT_GRAMS,
            f"{f}.weight_grams",
            f"must be 0 to {MAX_WEIGHT_GRAMS} grams",
        )
    title = draft.title.strip() or (" / ".join(values) if values else "Default Title")
    limits.check_text(v, f"{f}.title", title, limits.NAME)
    return NewVariant(
        position=position,
        sku=sku or None,
        title=title,
        price=price or 0,
        compare_at_price=compare_at,
        inventory_quantity=qty,
        inventory_policy=policy,
        option_values=values,
        weight_grams=draft.weight_grams,
    )


def check_title(v: Validator, title: str) -> str:
    title = title.strip()
    if limits.check_text(v, "title", title, limits.NAME):
        v.check(bool(title), "title", f"must be 1 to {limits.NAME} characters")
    return title


def check_description(v: Validator, description: str) -> str:
    limits.check_text(v, "description", description, limits.DESCRIPTION)
    return description


def check_handle(v: Validator, handle: str) -> str:
    handle = handle.strip().lower()
    if not (1 <= len(handle) <= 255 and HANDLE_RE.match(handle)):
        v.fail("handle", "must be lowercase letters, digits and single hyphens, e.g. 'blue-shirt'")
    return handle


def check_status(v: Validator, status: str) -> str:
    v.check(status in STATUSES, "status", "must be DRAFT, ACTIVE or ARCHIVED")
    return status


def check_options(v: Validator, options: tuple[str, ...]) -> tuple[str, ...]:
    options = tuple(o.strip() for o in options)
    v.check(len(options) <= MAX_OPTIONS, "options", f"at most {MAX_OPTIONS} options per product")
    for i, name in enumerate(options):
        if limits.check_text(v, f"options[{i}]", name, limits.NAME):
            v.check(bool(name), f"options[{i}]", "must be 1 to 255 characters")
    if len({o.lower() for o in options}) != len(options):
        v.fail("options", "option names must be unique")
    return options


def check_text(v: Validator, name: str, value: str, maximum: int = MAX_TEXT) -> str:
    """Trimmed free text of at most `maximum` characters, without NUL."""
    value = " ".join(value.split())
    limits.check_text(v, name, value, maximum)
    return value


def check_tags(v: Validator, tags: tuple[str, ...]) -> tuple[str, ...]:
    """Trimmed, inner whitespace collapsed, unique ignoring case (the first spelling wins)."""
    v.check(len(tags) <= MAX_TAGS, "tags", f"at most {MAX_TAGS} tags per product")
    kept: dict[str, str] = {}
    for i, raw in enumerate(tags[: MAX_TAGS + 1]):
        tag = check_text(v, f"tags[{i}]", raw)
        v.check(bool(tag), f"tags[{i}]", "must not be empty")
        kept.setdefault(tag.lower(), tag)
    return tuple(kept.values())


def check_images(v: Validator, images: tuple[ImageInput, ...]) -> tuple[Image, ...]:
    """Validated images in display order (by position, then as given), renumbered 1..n."""
    v.check(len(images) <= MAX_IMAGES, "images", f"at most {MAX_IMAGES} images per product")
    for i, image in enumerate(images):
        url = image.url.strip()
        if limits.check_text(v, f"images[{i}].url", url, limits.URL):
            try:
                parts = urlsplit(url)
                ok = parts.scheme == "https" and bool(parts.hostname) and " " not in url
            except ValueError:  # e.g. an unclosed IPv6 bracket
                ok = False
            # https only, as the API says: a storefront on https cannot show http images.
            v.check(
                ok,
                f"images[{i}].url",
                f"must be an https:// URL of at most {limits.URL} characters",
            )
        limits.check_text(v, f"images[{i}].alt_text", image.alt_text, limits.ALT_TEXT)
        v.check(image.position >= 0, f"images[{i}].position", "must be >= 0")
    ordered = sorted(
        enumerate(images), key=lambda item: (item[1].position or len(images) + 1, item[0])
    )
    return tuple(
        Image(url=img.url.strip(), alt_text=img.alt_text, position=n)
        for n, (_, img) in enumerate(ordered, 1)
    )


def validate_product(draft: ProductDraft, currency: str) -> NewProduct:
    """Checks every field and reports all problems at once, each naming its field."""
    v = Validator()
    title = check_title(v, draft.title)
    check_description(v, draft.description)
    generated = not draft.handle.strip()
    handle = (slugify(title) or "product") if generated else check_handle(v, draft.handle)
    check_status(v, draft.status)
    options = check_options(v, draft.options)
    images = check_images(v, draft.images)
    tags = check_tags(v, draft.tags)
    product_type = check_text(v, "product_type", draft.product_type)
    vendor = check_text(v, "vendor", draft.vendor)
    if not draft.variants:
        v.fail("variants", "at least one variant (with its price) is required")
    if len(draft.variants) > MAX_VARIANTS:
        v.fail(
            "variants", f"at most {MAX_VARIANTS} variants per product, got {len(draft.variants)}"
        )
        v.raise_if_any()
    variants = tuple(
        check_variant(v, f"variants[{i}]", i + 1, d, options, currency)
        for i, d in enumerate(draft.variants)
    )
    seen_skus: dict[str, int] = {}
    seen_values: dict[tuple[str, ...], int] = {}
    for i, variant in enumerate(variants):
        if variant.sku is not None:
            if variant.sku in seen_skus:
                v.fail(f"variants[{i}].sku", f"duplicates variants[{seen_skus[variant.sku]}].sku")
            seen_skus.setdefault(variant.sku, i)
        if options:
            key = tuple(x.lower() for x in variant.option_values)
            if key in seen_values:
                v.fail(
                    f"variants[{i}].option_values",
                    f"same options as variants[{seen_values[key]}]",
                )
            seen_values.setdefault(key, i)
    v.raise_if_any()
    return NewProduct(
        title=title,
        handle=handle,
        handle_generated=generated,
        description=draft.description,
        status=draft.status,
        options=options,
        variants=variants,
        images=images,
        tags=tags,
        product_type=product_type,
        vendor=vendor,
    )


def is_available(quantity: int, policy: str) -> bool:
    return in_stock(policy, quantity)


ADMIN_SORTS = ("newest", "title")


@dataclass(frozen=True)
class AdminQuery:
    """The merchant's product list: every status unless one is asked for."""

    sort: str = "newest"
    status: str = ""
    tag: str = ""  # lower-case
    product_type: str = ""  # lower-case
    vendor: str = ""  # lower-case
    query: str = ""  # as typed (trimmed): a title substring or a SKU prefix

    @property
    def filters(self) -> dict[str, object]:
        return {
            "status": self.status,
            "tag": self.tag,
            "type": self.product_type,
            "vendor": self.vendor,
            "q": self.query,
        }


def admin_query(
    sort: str, status: str, tag: str, product_type: str, vendor: str, query: str
) -> AdminQuery:
    v = Validator()
    v.check(sort in ADMIN_SORTS, "sort", "must be NEWEST or TITLE")
    if status:
        check_status(v, status)
    values = {
        name: check_text(v, name, value)
        for name, value in (
            ("tag", tag),
            ("product_type", product_type),
            ("vendor", vendor),
            ("query", query),
        )
    }
    v.raise_if_any()
    return AdminQuery(
        sort=sort,
        status=status,
        tag=values["tag"].lower(),
        product_type=values["product_type"].lower(),
        vendor=values["vendor"].lower(),
        query=values["query"],
    )
