"""What a valid collection is. Plain Python: no gRPC, SQL or Redis here.

The rules of an automated collection are evaluated by the database (collection_rules_match in
migration 0014), on every product change and when the rules change; this module only decides
which rules are well formed and stores them in the shape that function reads (text values
lower-case, prices as integers)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.catalog.products.rules import (
    MAX_AMOUNT,
    check_handle,
    check_text,
    check_title,
    slugify,
)
from services.common import limits
from services.common.errors import Validator

KINDS = ("manual", "automated")
SORTS = ("manual", "newest", "price_asc", "price_desc", "title")
MAX_RULES = 60
MAX_MANUAL_PRODUCTS = 1000
MAX_DESCRIPTION = limits.COLLECTION_DESCRIPTION
RELATIONS = {
    "tag": ("equals", "not_equals"),
    "product_type": ("equals", "not_equals", "contains"),
    "vendor": ("equals", "not_equals", "contains"),
    "price": ("greater_than", "less_than"),
}


@dataclass(frozen=True)
class RuleInput:
    field: str
    relation: str
    value: str


@dataclass(frozen=True)
class Rule:
    field: str
    relation: str
    value: str | int

    def as_json(self) -> dict[str, object]:
        return {"field": self.field, "relation": self.relation, "value": self.value}


@dataclass(frozen=True)
class CollectionDraft:
    title: str
    kind: str
    handle: str = ""
    description: str = ""
    rules: tuple[RuleInput, ...] = ()
    disjunctive: bool = False
    product_ids: tuple[str, ...] = ()
    sort: str = ""  # "" = the kind's default
    published: bool = True


@dataclass(frozen=True)
class NewCollection:
    title: str
    handle: str
    handle_generated: bool
    description: str
    kind: str
    rules: tuple[Rule, ...]
    disjunctive: bool
    product_ids: tuple[uuid.UUID, ...]
    sort: str
    published: bool


def default_sort(kind: str) -> str:
    return "manual" if kind == "manual" else "newest"


def check_rules(v: Validator, kind: str, rules: tuple[RuleInput, ...]) -> tuple[Rule, ...]:
    if kind == "manual":
        v.check(not rules, "rules", "a manual collection has no rules (list its product_ids)")
        return ()
    if not 1 <= len(rules) <= MAX_RULES:
        v.fail("rules", f"an automated collection needs 1 to {MAX_RULES} rules")
        return ()
    checked = []
    for i, rule in enumerate(rules):
        name = f"rules[{i}]"
        relations = RELATIONS.get(rule.field)
        if relations is None:
            v.fail(f"{name}.field", f"must be one of {sorted(RELATIONS)}")
            continue
        if rule.relation not in relations:
            v.fail(f"{name}.relation", f"for {rule.field} must be one of {list(relations)}")
            continue
        if rule.field == "price":
            raw = rule.value.strip()
            if not (raw.isdigit() and int(raw) <= MAX_AMOUNT):
                v.fail(f"{name}.value", f"must be an amount in minor units, 0 to {MAX_AMOUNT}")
                continue
            checked.append(Rule(rule.field, rule.relation, int(raw)))
            continue
        value = check_text(v, f"{name}.value", rule.value)
        if v.check(bool(value), f"{name}.value", "must not be empty"):
            checked.append(Rule(rule.field, rule.relation, value.lower()))
    return tuple(checked)


def check_product_ids(v: Validator, kind: str, ids: tuple[str, ...]) -> tuple[uuid.UUID, ...]:
    if kind != "manual":
        v.check(not ids, "product_ids", "an automated collection's products come from its rules")
        return ()
    if len(ids) > MAX_MANUAL_PRODUCTS:
        v.fail("product_ids", f"at most {MAX_MANUAL_PRODUCTS} products per manual collection")
        return ()
    parsed: list[uuid.UUID] = []
    seen: dict[uuid.UUID, int] = {}
    for i, raw in enumerate(ids):
        try:
            pid = uuid.UUID(raw)
        except ValueError:
            v.fail(f"product_ids[{i}]", "is not a valid id (a UUID)")
            continue
        if pid in seen:
            v.fail(f"product_ids[{i}]", f"repeats product_ids[{seen[pid]}]")
            continue
        seen[pid] = i
        parsed.append(pid)
    return tuple(parsed)


def check_sort(v: Validator, kind: str, sort: str) -> str:
    sort = sort or default_sort(kind)
    if sort not in SORTS:
        v.fail("sort", "must be MANUAL, NEWEST, PRICE_ASC, PRICE_DESC or TITLE")
    elif sort == "manual" and kind != "manual":
        v.fail("sort", "MANUAL is the order of manual collections only")
    return sort


def check_description(v: Validator, description: str) -> str:
    limits.check_text(v, "description", description, MAX_DESCRIPTION)
    return description


def validate_collection(draft: CollectionDraft) -> NewCollection:
    """Every field checked, all problems reported at once, each naming its field."""
    v = Validator()
    title = check_title(v, draft.title)
    generated = not draft.handle.strip()
    handle = (slugify(title) or "collection") if generated else check_handle(v, draft.handle)
    if draft.kind not in KINDS:
        v.fail("kind", "must be MANUAL or AUTOMATED")
        v.raise_if_any()
    rules = check_rules(v, draft.kind, draft.rules)
    product_ids = check_product_ids(v, draft.kind, draft.product_ids)
    sort = check_sort(v, draft.kind, draft.sort)
    description = check_description(v, draft.description)
    v.raise_if_any()
    return NewCollection(
        title=title,
        handle=handle,
        handle_generated=generated,
        description=description,
        kind=draft.kind,
        rules=rules,
        disjunctive=draft.disjunctive,
        product_ids=product_ids,
        sort=sort,
        published=draft.published,
    )


def rules_condition(
    rules: tuple[Rule, ...], disjunctive: bool, first_param: int
) -> tuple[str, list[object]]:
    """The rules as one SQL condition over products `p` (placeholders from $first_param),
    for re-sorting a whole store at once: the same meaning as collection_rules_match() in
    migration 0014, which the products trigger calls per product (a function call per row costs
    ~20x this at 100,000 products; a test keeps the two equal)."""
    params: list[object] = []

    def add(value: object) -> str:
        params.append(value)
        return f"${first_param + len(params) - 1}"

    parts = []
    for rule in rules:
        if rule.field == "tag":
            has = f"EXISTS (SELECT 1 FROM unnest(p.tags) t WHERE lower(t) = {add(rule.value)})"
            parts.append(has if rule.relation == "equals" else f"NOT {has}")
        elif rule.field in ("product_type", "vendor"):
            column = f"lower(p.{rule.field})"
            if rule.relation == "equals":
                parts.append(f"{column} = {add(rule.value)}")
            elif rule.relation == "not_equals":
                parts.append(f"{column} <> {add(rule.value)}")
            else:
                parts.append(f"strpos({column}, {add(rule.value)}) > 0")
        else:
            if rule.relation == "greater_than":
                parts.append(f"coalesce(p.max_price > {add(rule.value)}::bigint, false)")
            else:
                parts.append(f"coalesce(p.min_price < {add(rule.value)}::bigint, false)")
    if not parts:
        return "false", params
    joiner = " OR " if disjunctive else " AND "
    return "(" + joiner.join(f"({x})" for x in parts) + ")", params
