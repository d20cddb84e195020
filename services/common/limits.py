"""Every input bound in one place: message and metadata sizes, JSON depth, and the maximum
length of each kind of text field, with the one check every service's validation uses
(`check_text`). The README's "Limits" section lists them; migrations/0019a__input_bounds.sql
holds the same lengths as database CHECKs, so a path that skips validation still cannot store
more. Plain Python: rule modules import it."""

from __future__ import annotations

from collections.abc import Iterable

from services.common.errors import Validator

# gRPC messages the services accept, and Envoy's transcoder response cap (envoy/bootstrap.yaml): one
# figure, so a response the service can send is one the edge can deliver.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# gRPC metadata the services accept. Envoy refuses request headers above 16 KiB with its own
# 431 (max_request_headers_kb); this leaves room for the headers Envoy adds on the way.
MAX_METADATA_BYTES = 32 * 1024
# JSON nesting: the REST body guard refuses deeper bodies before parsing them, and the store
# settings schema allows less (its objects are at most a few levels deep by design).
MAX_JSON_DEPTH = 32
MAX_SETTINGS_DEPTH = 8

# Maximum lengths in characters (Unicode code points, as PostgreSQL's char_length counts).
NAME = 255  # titles, store/token/collection names, option names and values, tags, vendors
HANDLE = 255
SKU = 64
DESCRIPTION = 65_535  # product descriptions (HTML): Shopify-sized, far below the message cap
COLLECTION_DESCRIPTION = 20_000
TOKEN_NAME = 100
URL = 2048
ALT_TEXT = 512
EMAIL = 254  # RFC 5321 path limit


def text_problem(value: str, maximum: int) -> str | None:
    """Why `value` cannot be stored as text of at most `maximum` characters, or None.

    NUL cannot be stored by PostgreSQL at all (a 500 before this check existed); lone
    surrogates are not Unicode scalar values and have no UTF-8 encoding."""
    if len(value) > maximum:
        return f"must be at most {maximum} characters"
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid UTF-8"
    return None


def check_text(v: Validator, field: str, value: str, maximum: int) -> bool:
    """Records a violation naming `field` when `value` is too long, holds NUL or is not
    UTF-8; True when it is fine."""
    problem = text_problem(value, maximum)
    if problem is not None:
        v.fail(field, problem)
    return problem is None


def json_depth(document: object) -> int:
    """How deeply `document` nests arrays and objects (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(document, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children: Iterable[object] = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest
