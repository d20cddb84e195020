"""Conversions between collection protobuf messages and domain objects."""

from __future__ import annotations

from shop.catalog.v1 import catalog_pb2 as pb
from shop.catalog.v1 import collections_pb2 as cpb

from services.catalog.collections.admin import CollectionPatch
from services.catalog.collections.repository import CollectionRow
from services.catalog.collections.rules import CollectionDraft, RuleInput
from services.common.messages import to_timestamp

KIND_IN = {pb.COLLECTION_KIND_MANUAL: "manual", pb.COLLECTION_KIND_AUTOMATED: "automated"}
KIND_OUT = {v: k for k, v in KIND_IN.items()}
SORT_IN = {
    pb.PRODUCT_SORT_UNSPECIFIED: "",
    pb.PRODUCT_SORT_NEWEST: "newest",
    pb.PRODUCT_SORT_PRICE_ASC: "price_asc",
    pb.PRODUCT_SORT_PRICE_DESC: "price_desc",
    pb.PRODUCT_SORT_TITLE: "title",
    pb.PRODUCT_SORT_MANUAL: "manual",
}
SORT_OUT = {v: k for k, v in SORT_IN.items() if v}


def _rules(rules) -> tuple[RuleInput, ...]:
    return tuple(RuleInput(r.field.strip(), r.relation.strip(), r.value) for r in rules)


def collection_draft(c: cpb.CollectionInput) -> CollectionDraft:
    return CollectionDraft(
        title=c.title,
        handle=c.handle,
        description=c.description,
        # Unknown numbers pass through as "?" so validation names the field.
        kind=KIND_IN.get(c.kind, "?"),
        rules=_rules(c.rules),
        disjunctive=c.disjunctive,
        product_ids=tuple(c.product_ids),
        sort=SORT_IN.get(c.sort, "?"),
        published=c.published if c.HasField("published") else True,
    )


def collection_patch(request: cpb.UpdateCollectionRequest) -> CollectionPatch:
    c = request.collection
    present = {f.name for f, _ in c.ListFields()}
    paths = frozenset(request.update_mask.paths) if request.update_mask.paths else present
    return CollectionPatch(
        paths=frozenset(paths),
        title=c.title,
        handle=c.handle,
        description=c.description,
        rules=_rules(c.rules),
        disjunctive=c.disjunctive,
        product_ids=tuple(c.product_ids),
        sort=SORT_IN.get(c.sort, "?") or "?",
        published=c.published,
    )


def collection_message(c: CollectionRow) -> pb.Collection:
    return pb.Collection(
        id=str(c.id),
        handle=c.handle,
        title=c.title,
        description=c.description,
        kind=KIND_OUT[c.kind],
        rules=[
            pb.CollectionRule(field=r.field, relation=r.relation, value=str(r.value))
            for r in c.rules
        ],
        disjunctive=c.disjunctive,
        sort=SORT_OUT[c.sort],
        published=c.published,
        created_at=to_timestamp(c.created_at),
        updated_at=to_timestamp(c.updated_at),
    )


def storefront_collection(c: CollectionRow) -> pb.StorefrontCollection:
    return pb.StorefrontCollection(
        id=str(c.id), handle=c.handle, title=c.title, description=c.description
    )
