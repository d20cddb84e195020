"""Stripe's search query language, the part PaymentIntents and Charges need: clauses `field:value`,
`metadata['key']:'value'`, numeric `amount>1000` (`>`, `<`, `>=`, `<=`), negation `-field:value`,
`field:null`, joined by AND or by OR (not both in one query, as on Stripe)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from devstack.stripe_emulator.errors import invalid

_CLAUSE = re.compile(
    r"""\s*(?P<neg>-)?
    (?P<field>metadata\[(?:'(?P<k1>[^']*)'|"(?P<k2>[^"]*)")\]|[a-z_]+)
    (?P<op>>=|<=|:|>|<)
    (?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s'"]+)\s*""",
    re.VERBOSE,
)
_JOIN = re.compile(r"(AND|OR)\s+")
FIELDS = {
    "payment_intent": {"amount", "created", "currency", "status", "customer"},
    "charge": {
        "amount",
        "created",
        "currency",
        "status",
        "customer",
        "payment_intent",
        "refunded",
        "disputed",
    },
}
_NUMERIC = {"amount", "created"}

Predicate = Callable[[dict[str, Any]], bool]


def _bad(message: str) -> Exception:
    return invalid(message, param="query", code="parameter_invalid_string")


def _clause(m: re.Match, fields: set[str]) -> Predicate:
    key = m.group("k1") if m.group("k1") is not None else m.group("k2")
    field = m.group("field") if key is None else None
    if field is not None and field not in fields:
        raise _bad(f"Field '{field}' is not supported in search queries.")
    op, raw = m.group("op"), m.group("value")
    quoted = raw[0] in "'\""
    value: Any = re.sub(r"\\(.)", r"\1", raw[1:-1]) if quoted else raw
    if op != ":" and field not in _NUMERIC:
        raise _bad(f"Operator {op} needs a numeric field (amount, created).")
    if field in _NUMERIC and not (value == "null" and not quoted):
        try:
            value = int(value)
        except ValueError:
            raise _bad(f"'{raw}' is not a number.") from None

    def actual(obj: dict[str, Any]) -> Any:
        return obj.get("metadata", {}).get(key) if key is not None else obj.get(field)

    def test(obj: dict[str, Any]) -> bool:
        have = actual(obj)
        if value == "null" and not quoted:
            return have is None
        if have is None:
            return False
        if op == ":":
            if isinstance(have, bool):
                return str(have).lower() == str(value).lower()
            if key is None and isinstance(have, str):
                return have.lower() == str(value).lower()
            return have == value
        return {">": have > value, "<": have < value, ">=": have >= value, "<=": have <= value}[op]

    if m.group("neg"):
        return lambda obj: not test(obj)
    return test


def compile_query(query: str, kind: str = "payment_intent") -> Predicate:
    if not query or not query.strip():
        raise _bad("Missing required param: query.")
    clauses: list[Predicate] = []
    joins: set[str] = set()
    pos = 0
    while True:
        m = _CLAUSE.match(query, pos)
        if not m:
            raise _bad(f"Invalid search query near position {pos}: {query[pos : pos + 30]!r}")
        clauses.append(_clause(m, FIELDS[kind]))
        pos = m.end()
        if pos == len(query):
            break
        j = _JOIN.match(query, pos)
        if not j:
            raise _bad(f"Expected AND or OR at position {pos}.")
        joins.add(j.group(1))
        pos = j.end()
    if len(joins) > 1:
        raise _bad("A search query cannot combine AND and OR.")
    if joins == {"OR"}:
        return lambda obj: any(c(obj) for c in clauses)
    return lambda obj: all(c(obj) for c in clauses)
