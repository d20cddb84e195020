"""Refuses REST/JSON request bodies that carry fields the API does not define.

Envoy's gRPC-JSON transcoder drops unknown JSON fields silently (no option to refuse them), so
a typo such as {"compare_price": ...} would be accepted and lost. An ext_authz instance placed
before the transcoder, enabled only on REST writes, sends the raw body here; we walk it against
the request message's descriptor, resolved from the same google.api.http rules the transcoder
uses. Storefront reads (GET) never come here."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from google.api import annotations_pb2
from google.protobuf import descriptor, descriptor_pool

from services.common import limits
from services.store.edge.api import TRANSCODED_SERVICES


@dataclass(frozen=True)
class _Rule:
    verb: str
    pattern: re.Pattern[str]
    message: descriptor.Descriptor
    body: str  # "*" = the whole request message; else the field that holds the body


def _rules() -> list[_Rule]:
    pool = descriptor_pool.Default()
    rules = []
    for service_name in TRANSCODED_SERVICES:
        for method in pool.FindServiceByName(service_name).methods:
            options = method.GetOptions()
            if not options.HasExtension(annotations_pb2.http):
                continue
            http = options.Extensions[annotations_pb2.http]
            verb = http.WhichOneof("pattern")
            template = getattr(http, verb)
            if not http.body or verb == "custom":
                continue
            regex = re.sub(
                r"\{[^}]+\}", "[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
            )
            rules.append(
                _Rule(verb.upper(), re.compile(f"^{regex}$"), method.input_type, http.body)
            )
    return rules


def _is_well_known(message: descriptor.Descriptor) -> bool:
    return message.full_name.startswith("google.protobuf.")


def unknown_fields(value: object, message: descriptor.Descriptor, path: str = "") -> list[str]:
    """Paths (e.g. `variants[0].cost`) of JSON keys the message does not define."""
    if not isinstance(value, dict) or _is_well_known(message):
        return []
    by_name = {f.name: f for f in message.fields} | {f.json_name: f for f in message.fields}
    found = []
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        field = by_name.get(key)
        if field is None:
            found.append(where)
            continue
        sub = field.message_type
        if sub is None or sub.GetOptions().map_entry:
            continue
        if field.is_repeated and isinstance(item, list):
            for i, element in enumerate(item):
                found += unknown_fields(element, sub, f"{where}[{i}]")
        else:
            found += unknown_fields(item, sub, where)
    return found


class JsonBodyGuard:
    def __init__(self) -> None:
        self._rules = _rules()

    def violations(self, verb: str, path: str, body: bytes) -> list[tuple[str, str]]:
        """(field, why) for each problem of a REST body: too deep, or unknown fields."""
        path = path.split("?", 1)[0]
        rule = next((r for r in self._rules if r.verb == verb and r.pattern.match(path)), None)
        if rule is None or not body:
            return []
        too_deep = [("body", f"JSON must nest at most {limits.MAX_JSON_DEPTH} levels")]
        try:
            document = json.loads(body)
        except RecursionError:
            return too_deep  # deeper than Python's own limit: far past ours
        except ValueError:
            return []  # the transcoder answers malformed JSON with its own 400
        if limits.json_depth(document) > limits.MAX_JSON_DEPTH:
            return too_deep
        return [(where, "unknown field") for where in self._unknown(rule, document)]

    def unknown_fields(self, verb: str, path: str, body: bytes) -> list[str]:
        return [where for where, why in self.violations(verb, path, body) if why == "unknown field"]

    @staticmethod
    def _unknown(rule: _Rule, document: object) -> list[str]:
        if rule.body == "*":
            return unknown_fields(document, rule.message)
        field = rule.message.fields_by_name[rule.body]
        # google.api.HttpBody takes the raw body as it is (e.g. Stripe's signed webhooks).
        if field.message_type is None or field.message_type.full_name == "google.api.HttpBody":
            return []
        return unknown_fields(document, field.message_type, rule.body)
